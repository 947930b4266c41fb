//! Weights of `pallet-training`'s calls and hooks.
//!
//! These are derived from each function's storage accesses (the dominant cost of this pallet)
//! plus a fixed compute allowance; frame-benchmarking v2 measurements replace them when the full
//! pallet lands (see the pallet issue). One set of formulas, [`DbWeighted`], serves both the
//! runtime ([`SubstrateWeight`], with its configured database weights) and `()` (RocksDB weights,
//! so the mock runtime and tests see realistic figures).

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{RuntimeDbWeight, Weight, constants::RocksDbWeight},
};

/// Weight functions needed by `pallet-training`.
pub trait WeightInfo {
	/// `register`: peer, count, next index, the account and its holds; writes all of them.
	fn register() -> Weight;
	/// `set_storage_location`: reads and writes the peer.
	fn set_storage_location() -> Weight;
	/// `deregister`: reads and writes the peer.
	fn deregister() -> Weight;
	/// `withdraw_deposit`: peer, count, the account and its holds; writes all of them.
	fn withdraw_deposit() -> Weight;
	/// `commit_gradient`: peer, current window, commitment, hash owner; writes the last two.
	fn commit_gradient() -> Weight;
	/// `on_initialize` in a block that opens no window.
	fn on_initialize_idle() -> Weight;
	/// `bond`: peer, account, holds; writes account and holds.
	fn bond() -> Weight;
	/// `unbond`: account and holds; writes both.
	fn unbond() -> Weight;
	/// `submit_gauntlet_results` with `r` results: peer, permits, stake, the submission, the
	/// aggregation set and each named peer; writes the submission.
	fn submit_gauntlet_results(r: u32) -> Weight;
	/// Closing a scoring period with `v` submissions naming `p` peers: reads the submissions,
	/// their validators' stake and every peer; writes every miner's weight and the verdict.
	fn on_initialize_close_scoring(v: u32, p: u32) -> Weight;
	/// `on_initialize` in a block that opens a window, prunes up to `p` commitments and reads
	/// `v` peers (and their stake) to grant permits.
	fn on_initialize_open_window(p: u32, v: u32) -> Weight;
}

/// Compute allowance per call (picoseconds of ref time), on top of storage access.
const BASE_REF_TIME: u64 = 15_000_000;
/// Allowance per pruned storage item.
const PER_ITEM_REF_TIME: u64 = 2_000_000;

fn formulas<DbWeight: Get<RuntimeDbWeight>>(reads: u64, writes: u64) -> Weight {
	Weight::from_parts(BASE_REF_TIME, 1_000)
		.saturating_add(DbWeight::get().reads_writes(reads, writes))
}

/// The formulas, over the database weights `D`.
pub struct DbWeighted<D>(PhantomData<D>);

/// Weights for a runtime, using its configured database weights.
pub type SubstrateWeight<T> = DbWeighted<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for DbWeighted<D> {
	fn register() -> Weight {
		formulas::<D>(5, 5).saturating_add(Weight::from_parts(0, 700))
	}
	fn set_storage_location() -> Weight {
		formulas::<D>(1, 1).saturating_add(Weight::from_parts(0, 700))
	}
	fn deregister() -> Weight {
		formulas::<D>(1, 1).saturating_add(Weight::from_parts(0, 700))
	}
	fn withdraw_deposit() -> Weight {
		formulas::<D>(4, 4).saturating_add(Weight::from_parts(0, 700))
	}
	fn commit_gradient() -> Weight {
		formulas::<D>(4, 2).saturating_add(Weight::from_parts(0, 160))
	}
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(1_000_000, 0)
	}
	fn bond() -> Weight {
		formulas::<D>(3, 2)
	}
	fn submit_gauntlet_results(r: u32) -> Weight {
		formulas::<D>(6, 1).saturating_add(D::get().reads(r.into())).saturating_add(
			Weight::from_parts(PER_ITEM_REF_TIME.saturating_mul(r.into()), 64 * u64::from(r)),
		)
	}
	fn on_initialize_close_scoring(v: u32, p: u32) -> Weight {
		formulas::<D>(2, 2)
			.saturating_add(D::get().reads_writes(2u64.saturating_mul(v.into()), 0))
			.saturating_add(D::get().reads_writes(2u64.saturating_mul(p.into()), p.into()))
			.saturating_add(Weight::from_parts(
				PER_ITEM_REF_TIME.saturating_mul(u64::from(v).saturating_mul(p.into())),
				0,
			))
	}
	fn unbond() -> Weight {
		formulas::<D>(2, 2)
	}
	fn on_initialize_open_window(p: u32, v: u32) -> Weight {
		formulas::<D>(3, 6)
			.saturating_add(Weight::from_parts(PER_ITEM_REF_TIME.saturating_mul(p.into()), 0))
			.saturating_add(D::get().writes(2u64.saturating_mul(p.into())))
			.saturating_add(Weight::from_parts(PER_ITEM_REF_TIME.saturating_mul(v.into()), 0))
			.saturating_add(D::get().reads(2u64.saturating_mul(v.into())))
	}
}

/// Weights for tests and runtimes without their own database weights: the same formulas with
/// RocksDB's.
impl WeightInfo for () {
	fn register() -> Weight {
		DbWeighted::<RocksDbWeight>::register()
	}
	fn set_storage_location() -> Weight {
		DbWeighted::<RocksDbWeight>::set_storage_location()
	}
	fn deregister() -> Weight {
		DbWeighted::<RocksDbWeight>::deregister()
	}
	fn withdraw_deposit() -> Weight {
		DbWeighted::<RocksDbWeight>::withdraw_deposit()
	}
	fn commit_gradient() -> Weight {
		DbWeighted::<RocksDbWeight>::commit_gradient()
	}
	fn on_initialize_idle() -> Weight {
		DbWeighted::<RocksDbWeight>::on_initialize_idle()
	}
	fn bond() -> Weight {
		DbWeighted::<RocksDbWeight>::bond()
	}
	fn unbond() -> Weight {
		DbWeighted::<RocksDbWeight>::unbond()
	}
	fn submit_gauntlet_results(r: u32) -> Weight {
		DbWeighted::<RocksDbWeight>::submit_gauntlet_results(r)
	}
	fn on_initialize_close_scoring(v: u32, p: u32) -> Weight {
		DbWeighted::<RocksDbWeight>::on_initialize_close_scoring(v, p)
	}
	fn on_initialize_open_window(p: u32, v: u32) -> Weight {
		DbWeighted::<RocksDbWeight>::on_initialize_open_window(p, v)
	}
}
