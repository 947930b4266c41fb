//! Plain data kept in `pallet-training` storage: peers, windows and gradient commitments.

use crate::location::StorageLocation;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// Index of a training window. Windows start at 1 and follow each other without a gap: window 1
/// opens at block `window_length` (the genesis parameter), window `w + 1` where window `w` ends
/// (its `start_block + length`).
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
	/// Its length in blocks: window `w + 1` opens at `start_block + length`.
	pub length: BlockNumber,
	/// Blocks after its end during which its payloads are revealed.
	pub reveal_blocks: BlockNumber,
	/// Blocks after its end during which validators' results for it are accepted; the block
	/// `start_block + length + score_deadline_blocks` publishes its verdict.
	pub score_deadline_blocks: BlockNumber,
}

impl<BlockNumber: sp_runtime::traits::Saturating + Copy> WindowInfo<BlockNumber> {
	/// First block after the window (the next window's first block).
	pub fn end(&self) -> BlockNumber {
		self.start_block.saturating_add(self.length)
	}

	/// The block that closes its scoring period and publishes its verdict.
	pub fn score_deadline(&self) -> BlockNumber {
		self.end().saturating_add(self.score_deadline_blocks)
	}
}

/// When the next window opens and which scoring period closes next: what `on_initialize` reads
/// every block.
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct Schedule<BlockNumber> {
	/// The block that opens the next window.
	pub next_open: BlockNumber,
	/// The window whose scoring period is running and the block that closes it.
	pub closing: Option<(WindowIndex, BlockNumber)>,
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
