//! Plain data kept in `pallet-training` storage: peers, windows and gradient commitments.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// Index of a training window. Window `w` opens at block `w * WindowLength` (windows start at 1).
pub type WindowIndex = u64;

/// A registered peer.
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
pub struct PeerInfo<BlockNumber> {
	/// Position in registration order (0-based); the bootstrap aggregation order.
	pub index: u32,
	/// Block at which the peer registered (0 for genesis peers).
	pub registered_at: BlockNumber,
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
pub struct Commitment<BlockNumber> {
	/// BLAKE2b-256 of the payload bytes.
	pub payload_hash: H256,
	/// Length of the payload in bytes.
	pub payload_len: u32,
	/// Block in which the commitment was included.
	pub committed_at: BlockNumber,
}
