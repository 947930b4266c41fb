//! Plain data kept in `pallet-training` storage: peers, windows and gradient commitments.

use crate::location::StorageLocation;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// Index of a training window. Window `w` opens at block `w * WindowLength` (windows start at 1).
pub type WindowIndex = u64;

/// What a peer does in the network.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum Role {
	/// Trains and commits gradients.
	Miner,
	/// Scores miners' gradients.
	Validator,
}

/// A registered peer.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct PeerInfo<BlockNumber, Balance> {
	/// Position in registration order (0-based); the bootstrap aggregation order.
	pub index: u32,
	/// Miner or validator.
	pub role: Role,
	/// Where its payloads can be read.
	pub location: StorageLocation,
	/// The deposit held from its account while it is registered.
	pub deposit: Balance,
	/// Block at which the peer registered (0 for genesis peers).
	pub registered_at: BlockNumber,
	/// Block at which it asked to leave; its deposit is released `DeregisterCooldown` later.
	pub leaving_at: Option<BlockNumber>,
}

/// What the chain records when a window opens.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct WindowInfo<BlockNumber> {
	/// Hash of block `start_block - 1`: unknown before the window opens.
	pub seed: H256,
	/// First block of the window.
	pub start_block: BlockNumber,
}

/// A miner's commitment to the payload it will reveal for a window.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Commitment<BlockNumber> {
	/// BLAKE2b-256 of the payload bytes.
	pub payload_hash: H256,
	/// Length of the payload in bytes.
	pub payload_len: u32,
	/// Block in which the commitment was included.
	pub committed_at: BlockNumber,
	/// The miner's storage location when it committed: its payload is read from there even
	/// after the miner moved or left.
	pub location: StorageLocation,
}

/// Stake on its way out: held (so it cannot be lent to someone else's vote meanwhile) but no
/// longer counted, until `unlock_at`.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct Unbonding<Balance, BlockNumber> {
	/// Amount unbonding (every `unbond` adds to it).
	pub amount: Balance,
	/// First block at which `withdraw_unbonded` releases it (the latest `unbond` plus
	/// `UnbondingPeriod`).
	pub unlock_at: BlockNumber,
}
