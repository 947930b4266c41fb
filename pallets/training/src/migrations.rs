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

/// Version 2 → 3 (join late and resync):
/// - every [`crate::Commitments`] entry gains the `location` its payload is read from: the
///   committer's registered location at the upgrade (empty, and so unreadable as before, when it
///   already left and was removed);
/// - the run manifest ([`crate::Run`]) gains its `history`: the runtime's `RetainWindows`, a
///   checkpoint every 10 windows, 2 kept (capped to `MaxCheckpoints`).
///
/// No checkpoint is on chain before the upgrade.
pub mod v3 {
	use super::*;
	use crate::{
		CodecManifest, Commitment, Commitments, Config, HistoryManifest, InnerManifest,
		ModelManifest, OuterManifest, Pallet, Peers, Run, RunManifest, StorageLocation,
	};
	use codec::{Decode, Encode};
	use frame_support::{
		BoundedVec,
		pallet_prelude::Weight,
		traits::{Get, UncheckedOnRuntimeUpgrade},
	};
	use sp_core::H256;

	/// A commitment as version 2 stored it.
	#[derive(Encode, Decode)]
	pub struct CommitmentV2<BlockNumber> {
		/// BLAKE2b-256 of the payload.
		pub payload_hash: H256,
		/// Its length.
		pub payload_len: u32,
		/// Block that included it.
		pub committed_at: BlockNumber,
	}

	/// The run manifest as version 2 stored it.
	#[derive(Encode, Decode)]
	pub struct RunManifestV2 {
		/// The model.
		pub model: ModelManifest,
		/// Tokenizer hash.
		pub tokenizer: H256,
		/// Dataset hash.
		pub dataset: H256,
		/// Inner optimizer.
		pub inner: InnerManifest,
		/// Outer step.
		pub outer: OuterManifest,
		/// Codec.
		pub codec: CodecManifest,
	}

	/// Checkpoint interval given to a run started before version 3.
	pub const DEFAULT_CHECKPOINT_INTERVAL: u32 = 10;

	/// The migration itself, without the version check (see [`MigrateV2ToV3`]).
	pub struct InnerMigrateV2ToV3<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV2ToV3<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut commitments = 0u64;
			Commitments::<T>::translate::<
				CommitmentV2<frame_system::pallet_prelude::BlockNumberFor<T>>,
				_,
			>(|_, who, old| {
				commitments += 1;
				let location = Peers::<T>::get(&who).map_or(
					StorageLocation {
						endpoint: BoundedVec::new(),
						bucket: BoundedVec::new(),
						prefix: BoundedVec::new(),
					},
					|p| p.location,
				);
				Some(Commitment {
					payload_hash: old.payload_hash,
					payload_len: old.payload_len,
					committed_at: old.committed_at,
					location,
				})
			});
			let mut runs = 0u64;
			let _ = Run::<T>::translate::<RunManifestV2, _>(|old| {
				runs += 1;
				old.map(|old| {
					// RetainWindows ≥ 3 (`integrity_test`): at least one checkpoint fits.
					let retain = T::RetainWindows::get();
					let kept =
						2u32.min(T::MaxCheckpoints::get()).min(retain.saturating_sub(2)).max(1);
					// The longest interval the retention allows, at most the default.
					let interval =
						(retain.saturating_sub(2) / kept).clamp(1, DEFAULT_CHECKPOINT_INTERVAL);
					RunManifest {
						model: old.model,
						tokenizer: old.tokenizer,
						dataset: old.dataset,
						inner: old.inner,
						outer: old.outer,
						codec: old.codec,
						history: HistoryManifest {
							retain_windows: retain,
							checkpoint_interval: interval,
							checkpoints_kept: kept,
						},
					}
				})
			});
			log::info!(
				target: crate::LOG_TARGET,
				"storage v2 → v3: {commitments} commitments given their location, {runs} run manifest(s) their history"
			);
			T::DbWeight::get().reads_writes(
				commitments.saturating_mul(2).saturating_add(runs),
				commitments.saturating_add(runs),
			)
		}
	}

	/// Version 2 → 3, run once.
	pub type MigrateV2ToV3<T> = VersionedMigration<
		2,
		3,
		InnerMigrateV2ToV3<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}

/// Version 3 → 4 (governed parameters):
/// - [`crate::Parameters`] is set to the runtime's `Config` values (what was in force);
/// - every retained [`crate::Windows`] record gains its timing (`length`, `reveal_blocks`,
///   `score_deadline_blocks`): the `Config` values, which were every window's;
/// - [`crate::WindowSchedule`] is set from the uniform timing version 3 ran with, read from the
///   stored window starts (window `w` opened at `w × L`, so `L` = the current window's start /
///   its index; the `Config` value before window 1): the next window opens at
///   `(current + 1) × L`, and the current window's predecessor is scored until its start plus
///   `ScoreDeadlineBlocks`. Retained windows are given that `L` as their length.
pub mod v4 {
	use super::*;
	use crate::{
		Config, CurrentWindow, Pallet, Parameters, Schedule, WindowIndex, WindowInfo,
		WindowSchedule, Windows,
	};
	use codec::{Decode, Encode};
	use frame_support::{
		pallet_prelude::Weight,
		traits::{Get, UncheckedOnRuntimeUpgrade},
	};
	use sp_core::H256;
	use sp_runtime::traits::{Saturating, UniqueSaturatedInto};

	/// A window record as version 3 stored it.
	#[derive(Encode, Decode)]
	pub struct WindowInfoV3<BlockNumber> {
		/// Its seed.
		pub seed: H256,
		/// Its first block.
		pub start_block: BlockNumber,
	}

	/// The migration itself, without the version check (see [`MigrateV3ToV4`]).
	pub struct InnerMigrateV3ToV4<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV3ToV4<T> {
		fn on_runtime_upgrade() -> Weight {
			let p = Pallet::<T>::config_parameters();
			Parameters::<T>::put(p);
			let current = CurrentWindow::<T>::get();
			// The length version 3 ran with (an upgrade may also change the constant).
			let old: Option<WindowInfoV3<frame_system::pallet_prelude::BlockNumberFor<T>>> =
				frame_support::storage::unhashed::get(&Windows::<T>::hashed_key_for(current));
			let length = match old {
				Some(info) if current >= 1 => {
					let c: frame_system::pallet_prelude::BlockNumberFor<T> =
						current.unique_saturated_into();
					info.start_block / c
				},
				_ => p.window_length,
			};
			let mut windows = 0u64;
			Windows::<T>::translate::<
				WindowInfoV3<frame_system::pallet_prelude::BlockNumberFor<T>>,
				_,
			>(|_, old| {
				windows += 1;
				Some(WindowInfo {
					seed: old.seed,
					start_block: old.start_block,
					length,
					reveal_blocks: p.reveal_blocks,
					score_deadline_blocks: p.score_deadline_blocks,
				})
			});
			let start = |w: WindowIndex| {
				let w: frame_system::pallet_prelude::BlockNumberFor<T> = w.unique_saturated_into();
				w.saturating_mul(length)
			};
			let closing = (current >= 2)
				.then(|| (current - 1, start(current).saturating_add(p.score_deadline_blocks)));
			WindowSchedule::<T>::put(Schedule {
				next_open: start(current.saturating_add(1)),
				closing,
			});
			log::info!(
				target: crate::LOG_TARGET,
				"storage v3 → v4: parameters set from the runtime's constants, {windows} windows given their timing"
			);
			T::DbWeight::get().reads_writes(windows.saturating_add(2), windows.saturating_add(2))
		}
	}

	/// Version 3 → 4, run once.
	pub type MigrateV3ToV4<T> = VersionedMigration<
		3,
		4,
		InnerMigrateV3ToV4<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
