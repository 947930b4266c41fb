//! What validators report for a window (DESIGN.md §3, §5) and what the chain concludes from it.
//! All numbers are fixed-point integers: losses in millionths of a nat, relative improvements in
//! parts per million (signed), ratings in millionths, scores as `Perbill`.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::Perbill;

/// Why a peer's update was set aside: a bit set.
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
pub struct Flags(pub u8);

impl Flags {
	/// No readable payload when the reveal period ended: nothing at the key, or (for an
	/// aggregation-set member) no commitment at all.
	pub const MISSING: u8 = 1 << 0;
	/// Uploaded after the reveal period.
	pub const LATE: u8 = 1 << 1;
	/// Uploaded before the window closed.
	pub const EARLY: u8 = 1 << 2;
	/// Hash mismatch, decode error or non-finite values.
	pub const INVALID: u8 = 1 << 3;
	/// A copy (or near copy) of another peer's update.
	pub const COPIED: u8 = 1 << 4;
	/// Trained from parameters other than the window's θ.
	pub const DIVERGED: u8 = 1 << 5;
	/// Every defined bit.
	pub const ALL: u8 = (1 << 6) - 1;
}

/// One validator's evaluation of one peer in a window.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct PeerResult<AccountId> {
	/// The evaluated peer.
	pub peer: AccountId,
	/// Loss of θ_w on the peer's assigned data, before its update (µnats).
	pub loss_before_assigned: u32,
	/// … after its update alone.
	pub loss_after_assigned: u32,
	/// Loss on random data, before (µnats).
	pub loss_before_random: u32,
	/// … after.
	pub loss_after_random: u32,
	/// Relative improvement on random data, parts per million (negative: worse).
	pub gradient_score: i32,
	/// The payload's θ_w hash equals the chain's.
	pub synced: bool,
	/// Plackett–Luce rating mean (millionths).
	pub rating_mu: u32,
	/// Plackett–Luce rating deviation (millionths).
	pub rating_sigma: u32,
	/// The final score the validator gives the peer.
	pub final_score: Perbill,
	/// Why the update was set aside, if it was.
	pub flags: Flags,
}

/// A validator's submission for a window.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Submission<T: Config> {
	/// One result per evaluated peer.
	pub results: BoundedVec<PeerResult<T::AccountId>, T::MaxPeers>,
	/// The members of the window's aggregation set whose updates it applied, in set order.
	pub inclusion: BoundedVec<T::AccountId, T::AggregationSize>,
	/// Hash of θ_{w+1} after applying them.
	pub theta_hash: H256,
	/// When it was submitted.
	pub submitted_at: BlockNumberFor<T>,
}

/// The chain's conclusion for a window.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Verdict<T: Config> {
	/// Stake-weighted median score of every evaluated peer, sorted by account.
	pub scores: BoundedVec<(T::AccountId, Perbill), T::MaxPeers>,
	/// The inclusion list backed by the most stake, when it binds (empty otherwise).
	pub inclusion: BoundedVec<T::AccountId, T::AggregationSize>,
	/// The θ_{w+1} hash submitted with that list, when it binds (zero otherwise).
	pub theta_hash: H256,
	/// Validators whose submissions counted (with stake).
	pub validators: u32,
	/// The share of the counted stake behind the best-backed list and θ hash.
	pub backing: Perbill,
	/// Whether that share is above `BindingThreshold`: every peer then applies exactly
	/// `inclusion` and must reach `theta_hash`; otherwise each keeps its own outer step.
	pub binding: bool,
}
