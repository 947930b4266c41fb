//! What the chain records about one window, in the trainer's own types: the aggregation set and
//! every commitment ([`WindowRecord`], [`Committed`]), and the validators' published [`Verdict`].
//! [`crate::network`] reads them from storage; the peer's round and follower work on them.

use tessera_store::Location;

/// One commitment of a window, with what a peer needs to fetch its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
	/// The miner.
	pub account: [u8; 32],
	/// BLAKE2b-256 of the payload it will reveal.
	pub payload_hash: [u8; 32],
	/// Its announced length in bytes.
	pub payload_len: u32,
	/// The block that included the commitment.
	pub committed_at: u64,
	/// The miner's storage location (`None` once it deregistered and was removed).
	pub location: Option<Location>,
}

/// What the chain records about a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowRecord {
	/// The window.
	pub window: u64,
	/// Its aggregation set, in on-chain order.
	pub set: Vec<[u8; 32]>,
	/// Every commitment, in commit order (block, then account).
	pub commitments: Vec<Committed>,
}

impl WindowRecord {
	/// The commitment of `account`, if it committed.
	pub fn commitment(&self, account: &[u8; 32]) -> Option<&Committed> {
		self.commitments.iter().find(|c| &c.account == account)
	}
}

/// A window's published verdict (DESIGN.md §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
	/// The window.
	pub window: u64,
	/// Stake-weighted median score of each evaluated peer (parts per billion); a validator that
	/// did not list a peer counts as a score of 0.
	pub scores: Vec<([u8; 32], u32)>,
	/// The aggregation set members whose updates form the window's outer step, in set order
	/// (empty unless the verdict binds).
	pub inclusion: Vec<[u8; 32]>,
	/// Hash of θ after the window's outer step (zero unless the verdict binds).
	pub theta_hash: [u8; 32],
	/// Validators whose results counted (0: no validator with stake scored the window).
	pub validators: u32,
	/// Whether more than the chain's binding threshold (⅔) of the counted stake backed
	/// `inclusion` and `theta_hash`.
	pub binding: bool,
}

impl Verdict {
	/// Whether the verdict's inclusion list and θ hash bind every peer. When not (no validator
	/// scored the window, or no list had ⅔ of the stake), each peer keeps the outer step its
	/// own screening produced.
	pub fn is_binding(&self) -> bool {
		self.validators > 0 && self.binding
	}
}
