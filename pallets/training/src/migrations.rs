//! Storage migrations of `pallet-training`, one module per storage version. Each is a
//! [`VersionedMigration`]: it runs once, when the on-chain version is the one it starts from, and
//! sets the new version; a runtime lists them in its `Migrations`.

use frame_support::migrations::VersionedMigration;

/// Version 1 → 2 (the adversarial-hardening release):
/// - [`crate::Verdicts`] gain `backing` and `binding`. A verdict published under version 1 bound
///   its inclusion list and θ hash by plurality whenever any validator submitted; it is kept as
///   binding with `backing` 100 % (the split of stake behind it was not recorded), and one with
///   no validator as not binding.
/// - `HashOwner` (the first committer of a hash owned it, which let a front-runner make an honest
///   commitment fail) is removed: at most `RetainWindows × MaxPeers` entries.
/// - `PermitStakes` starts empty; a window opened before the upgrade counts its validators'
///   current stake.
pub mod v2 {
	use super::*;
	use crate::{Config, Pallet, Verdict, Verdicts, WindowIndex};
	use codec::{Decode, Encode};
	use frame_support::{
		BoundedVec,
		pallet_prelude::{Identity, OptionQuery, Twox64Concat, Weight},
		storage_alias,
		traits::{Get, UncheckedOnRuntimeUpgrade},
	};
	use sp_core::H256;
	use sp_runtime::Perbill;

	/// A verdict as version 1 stored it.
	#[derive(Encode, Decode)]
	pub struct VerdictV1<AccountId, MaxPeers: Get<u32>, AggregationSize: Get<u32>> {
		/// Stake-weighted median score of every evaluated peer.
		pub scores: BoundedVec<(AccountId, Perbill), MaxPeers>,
		/// The inclusion list backed by the most stake.
		pub inclusion: BoundedVec<AccountId, AggregationSize>,
		/// The θ hash submitted with it.
		pub theta_hash: H256,
		/// Validators whose submissions counted.
		pub validators: u32,
	}

	/// Version 1's verdict of this runtime.
	pub type VerdictV1Of<T> = VerdictV1<
		<T as frame_system::Config>::AccountId,
		<T as Config>::MaxPeers,
		<T as Config>::AggregationSize,
	>;

	/// Version 1's owner of each committed hash: window → hash → first committer.
	#[storage_alias]
	pub type HashOwner<T: Config> = StorageDoubleMap<
		Pallet<T>,
		Twox64Concat,
		WindowIndex,
		Identity,
		H256,
		<T as frame_system::Config>::AccountId,
		OptionQuery,
	>;

	/// The migration itself, without the version check (see [`MigrateV1ToV2`]).
	pub struct InnerMigrateV1ToV2<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV1ToV2<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut verdicts = 0u64;
			Verdicts::<T>::translate::<VerdictV1Of<T>, _>(|_, old| {
				verdicts += 1;
				let binding = old.validators > 0;
				Some(Verdict::<T> {
					scores: old.scores,
					inclusion: if binding { old.inclusion } else { BoundedVec::new() },
					theta_hash: if binding { old.theta_hash } else { H256::zero() },
					validators: old.validators,
					backing: if binding { Perbill::one() } else { Perbill::zero() },
					binding,
				})
			});
			let owners = HashOwner::<T>::clear(u32::MAX, None);
			log::info!(
				target: crate::LOG_TARGET,
				"storage v1 → v2: {verdicts} verdicts translated, {} hash owners removed",
				owners.unique
			);
			T::DbWeight::get().reads_writes(
				verdicts.saturating_add(owners.loops.into()),
				verdicts.saturating_add(owners.unique.into()),
			)
		}
	}

	/// Version 1 → 2, run once.
	pub type MigrateV1ToV2<T> = VersionedMigration<
		1,
		2,
		InnerMigrateV1ToV2<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
