//! # pallet-training
//!
//! The on-chain half of tessera (DESIGN.md §2–3): who may train, when each training window opens
//! and with which seed, and which gradient payload each miner committed to in a window.
//!
//! - Time is counted in windows of the governed `window_length` ([`Parameters`], starting from
//!   [`Config::WindowLength`]). Window 1 opens at block `window_length`, each next one where the
//!   previous ends ([`WindowSchedule`]); `on_initialize` of that block stores [`Windows`]`[w]`
//!   (seed = hash of the previous block, via [`Config::SeedSource`], and the window's timing)
//!   and emits [`Event::WindowOpened`].
//! - [`Pallet::set_parameters`] ([`Config::AdminOrigin`]) schedules a new set of governed
//!   parameters (window timing, deposits, stake, periods, emission and split, EMA rates); it
//!   takes effect when the next window opens (`parameters.rs`).
//! - [`Pallet::register`] makes the caller a peer (permissionless): a miner or a validator, with a
//!   storage location (endpoint, bucket, prefix — never a secret) and [`Config::PeerDeposit`] held
//!   from its account. [`Pallet::deregister`] starts a cool-down of
//!   [`Config::DeregisterCooldown`] blocks, after which [`Pallet::withdraw_deposit`] releases the
//!   deposit and removes the peer.
//! - Validators back themselves with stake ([`Pallet::bond`] / [`Pallet::unbond`] in this runtime;
//!   any source through [`Config::Stake`]). When a window opens, the top
//!   [`Config::MaxValidators`] validators by stake above [`Config::MinValidatorStake`] receive its
//!   permits ([`WindowValidators`]). The window's aggregation set is fixed at the same moment:
//!   the top [`Config::AggregationSize`] miners by incentive weight (registration order while all
//!   weights are equal).
//! - Permit holders send [`Pallet::submit_gauntlet_results`] for window `w` during its scoring
//!   period, `[start of w+1, start of w+1 + ScoreDeadlineBlocks)`. When it closes, each peer any
//!   validator scored gets the stake-weighted median over *every* submitting validator, a
//!   validator that did not list the peer counting as a score of 0; the inclusion list and θ hash
//!   bind only when more than [`Config::BindingThreshold`] of the submitting stake backs them
//!   ([`Verdicts`]); and every miner's incentive weight moves by an EMA towards its verdict
//!   ([`IncentiveWeights`]).
//! - [`Pallet::commit_gradient`] records a miner's `(payload_hash, payload_len)` for the open
//!   window, once per account per window, with the storage location the payload will be read
//!   from (kept after the miner moves or leaves).
//! - Windows older than [`Config::RetainWindows`] are pruned when a new window opens, with work
//!   bounded by [`Config::MaxPeers`].
//!
//! Where things are: this file holds the pallet's configuration, storage, genesis, hooks, view
//! functions and calls; `events.rs` its events and errors (a pallet section imported here);
//! `register.rs` (with eviction), `lifecycle.rs` (opening and pruning windows), `scoring.rs`
//! (the scoring period and the verdict), `stake.rs` (bonded and unbonding stake),
//! `config_check.rs` (the `integrity_test`) and `try_state.rs` the rest of `impl Pallet`; the other modules hold plain
//! types and pure functions (`consensus`, `permits`, `location`, `seed`, `history`); `parameters.rs` the governed parameters.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod checkpoints;
mod config_check;
pub mod consensus;
mod events;
pub mod gauntlet;
mod genesis;
pub mod history;
mod lifecycle;
pub mod location;
pub mod migrations;
pub mod parameters;
pub mod permits;
mod register;
pub mod rewards;
pub mod run;
pub mod runtime_api;
mod scoring;
pub mod seed;
mod stake;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use checkpoints::{CheckpointCopy, CheckpointRecord};
pub use gauntlet::{Flags, PeerResult, Submission, Verdict};
pub use genesis::GenesisPeer;
pub use history::WindowReport;
pub use location::StorageLocation;
pub use pallet::*;
pub use parameters::{GovernedEmission, ParameterProblem, ParametersOf, RunParameters};
pub use permits::{HeldStake, StakeInfo};
pub use rewards::{Mint, RewardSource};
pub use run::{
	CodecManifest, HistoryManifest, InnerManifest, ManifestLimits, ModelManifest, OuterManifest,
	RunManifest,
};
pub use seed::{ParentHashSeed, WindowSeedSource};
pub use types::{Commitment, PeerInfo, Role, Schedule, Unbonding, WindowIndex, WindowInfo};
pub use weights::WeightInfo;

use frame_support::pallet_macros::import_section;

/// Target of this pallet's log lines.
pub const LOG_TARGET: &str = "runtime::training";

#[import_section(events::events_and_errors)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::{
		Perbill,
		traits::{Saturating, UniqueSaturatedInto, Zero},
	};

	/// Balance of the currency deposits are held in.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A peer record of this runtime.
	pub type PeerOf<T> = PeerInfo<BlockNumberFor<T>, BalanceOf<T>>;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(4);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Genesis value of the governed `window_length` ([`RunParameters`]): blocks per window.
		#[pallet::constant]
		type WindowLength: Get<BlockNumberFor<Self>>;

		/// How many windows of commitments are kept before pruning. Must be at least 1.
		#[pallet::constant]
		type RetainWindows: Get<u32>;

		/// Maximum number of registered peers.
		#[pallet::constant]
		type MaxPeers: Get<u32>;

		/// Largest payload a commitment may announce, in bytes.
		#[pallet::constant]
		type MaxPayloadLen: Get<u32>;

		/// Where a window's seed comes from.
		type SeedSource: WindowSeedSource;

		/// The currency peer deposits are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// Genesis value of the governed `peer_deposit`: held from a peer's account while it is
		/// registered.
		#[pallet::constant]
		type PeerDeposit: Get<BalanceOf<Self>>;

		/// Genesis value of the governed `deregister_cooldown`: blocks between `deregister` and
		/// the deposit's release (at least a window and its scoring period).
		#[pallet::constant]
		type DeregisterCooldown: Get<BlockNumberFor<Self>>;

		/// Where a validator's stake comes from.
		type Stake: StakeInfo<Self::AccountId, BalanceOf<Self>>;

		/// Most validators holding a permit in a window.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Genesis value of the governed `min_validator_stake`: least stake for a permit.
		#[pallet::constant]
		type MinValidatorStake: Get<BalanceOf<Self>>;

		/// Genesis value of the governed `score_deadline_blocks`: blocks after the end of a
		/// window during which its results are accepted.
		#[pallet::constant]
		type ScoreDeadlineBlocks: Get<BlockNumberFor<Self>>;

		/// Genesis value of the governed `reveal_blocks`: blocks after the end of a window
		/// during which miners reveal (upload) its payloads;
		/// every peer applies the window's outer step when it ends. Off-chain peers read it from
		/// here so they all agree; it must end before the scoring deadline.
		#[pallet::constant]
		type RevealBlocks: Get<BlockNumberFor<Self>>;

		/// Most miners in a window's aggregation set.
		#[pallet::constant]
		type AggregationSize: Get<u32>;

		/// Genesis value of the governed `incentive_alpha`: weight of a new verdict in the
		/// incentive EMA.
		#[pallet::constant]
		type IncentiveAlpha: Get<Perbill>;

		/// A miner stays in the aggregation set while its incentive weight is at least this
		/// fraction of the best miner's: updates that keep scoring (next to) nothing leave the
		/// aggregate even when there are free places.
		#[pallet::constant]
		type AggregationWeightFloor: Get<Perbill>;

		/// The share of the submitting validators' stake that must back one inclusion list and
		/// θ hash, strictly more than this, for a verdict to bind them (e.g. ⅔). Below it the
		/// verdict records no list ([`Verdict::binding`] false) and every peer keeps the outer
		/// step its own screening produced.
		#[pallet::constant]
		type BindingThreshold: Get<Perbill>;

		/// Genesis value of the governed `unbonding_period`: blocks between `unbond` (or
		/// leaving, for a validator with stake) and the release of
		/// the stake. At least a window plus its scoring period, so stake that gave a permit
		/// stays held until that window's verdict: borrowing stake for a few blocks buys nothing.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Genesis value of the governed `immunity_period`: blocks after registration during
		/// which a peer cannot be evicted to make room for a
		/// newcomer (when the peer set is full, the registration evicts the lowest-weighted idle
		/// peer past this period).
		#[pallet::constant]
		type ImmunityPeriod: Get<BlockNumberFor<Self>>;

		/// Checkpoints a run may keep at most (its `checkpoints_kept`): bounds the checkpoint
		/// records on chain.
		#[pallet::constant]
		type MaxCheckpoints: Get<u32>;

		/// Where each window's emission comes from and how it is paid (this runtime mints; a
		/// Bittensor-style runtime plugs its subnet's emission in here).
		type Rewards: RewardSource<Self::AccountId, BalanceOf<Self>>;

		/// Genesis value of the governed `miners_share`: paid to miners by incentive weight.
		#[pallet::constant]
		type MinersShare: Get<Perbill>;

		/// Genesis value of the governed `validators_share`: paid to validators by stake ×
		/// agreement.
		#[pallet::constant]
		type ValidatorsShare: Get<Perbill>;

		/// Who receives the rest of each window's emission (the owner's share and rounding
		/// dust); `None`: it is not paid.
		type RewardsOwner: Get<Option<Self::AccountId>>;

		/// Genesis value of the governed `agreement_alpha`: weight of a window's agreement
		/// sample in a validator's agreement EMA.
		#[pallet::constant]
		type AgreementAlpha: Get<Perbill>;

		/// Genesis value of the governed `emission_per_window` (what [`GovernedEmission`] pays
		/// a window).
		#[pallet::constant]
		type EmissionPerWindow: Get<BalanceOf<Self>>;

		/// The most a window may pay (bounds `set_parameters`).
		#[pallet::constant]
		type MaxEmissionPerWindow: Get<BalanceOf<Self>>;

		/// Who may change the governed parameters (`set_parameters`): root (sudo) in this
		/// runtime; a governance origin can replace it.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// The governed parameters in force (absent only on a chain not yet migrated to storage
	/// version 4: then the `Config` values, [`Pallet::params`]).
	#[pallet::storage]
	pub type Parameters<T: Config> = StorageValue<_, ParametersOf<T>, OptionQuery>;

	/// Parameters scheduled by `set_parameters`, put in force when the next window opens.
	#[pallet::storage]
	pub type PendingParameters<T: Config> = StorageValue<_, ParametersOf<T>, OptionQuery>;

	/// The block that opens the next window and the scoring period that closes next.
	#[pallet::storage]
	pub type WindowSchedule<T: Config> = StorageValue<_, Schedule<BlockNumberFor<T>>, ValueQuery>;

	/// The most recently opened window (0 until window 1 opens).
	#[pallet::storage]
	pub type CurrentWindow<T: Config> = StorageValue<_, WindowIndex, ValueQuery>;

	/// Seed, first block and timing of every retained window.
	#[pallet::storage]
	pub type Windows<T: Config> =
		StorageMap<_, Twox64Concat, WindowIndex, WindowInfo<BlockNumberFor<T>>, OptionQuery>;

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a registered peer.
		PeerDeposit,
		/// Stake bonded by a peer (what [`HeldStake`] reports).
		ValidatorStake,
	}

	/// The least stake each retained window's permits were given for (`min_validator_stake`
	/// when it opened): a permit holder must still hold it to submit, whatever the minimum in
	/// force by then.
	#[pallet::storage]
	pub type PermitThresholds<T: Config> =
		StorageMap<_, Twox64Concat, WindowIndex, BalanceOf<T>, OptionQuery>;

	/// The validators permitted to score each retained window, highest stake first.
	#[pallet::storage]
	pub type WindowValidators<T: Config> = StorageMap<
		_,
		Twox64Concat,
		WindowIndex,
		BoundedVec<T::AccountId, T::MaxValidators>,
		ValueQuery,
	>;

	/// The miners whose updates form each retained window's aggregate, in aggregation order.
	#[pallet::storage]
	pub type AggregationSets<T: Config> = StorageMap<
		_,
		Twox64Concat,
		WindowIndex,
		BoundedVec<T::AccountId, T::AggregationSize>,
		ValueQuery,
	>;

	/// Every validator's submission for each retained window.
	#[pallet::storage]
	pub type Submissions<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		WindowIndex,
		Blake2_128Concat,
		T::AccountId,
		Submission<T>,
		OptionQuery,
	>;

	/// The verdict of each retained window whose scoring period has closed.
	#[pallet::storage]
	pub type Verdicts<T: Config> =
		StorageMap<_, Twox64Concat, WindowIndex, Verdict<T>, OptionQuery>;

	/// Each miner's incentive weight: an EMA of its verdicts.
	#[pallet::storage]
	pub type IncentiveWeights<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Perbill, ValueQuery>;

	/// Registered peers.
	#[pallet::storage]
	pub type Peers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, PeerOf<T>, OptionQuery>;

	/// Number of registered peers.
	#[pallet::storage]
	pub type PeerCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Registration index the next peer receives.
	#[pallet::storage]
	pub type NextPeerIndex<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Stake each peer is unbonding: still held, no longer counted.
	#[pallet::storage]
	pub type UnbondingStake<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Unbonding<BalanceOf<T>, BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// The stake of each permitted validator when the window opened: window → validator →
	/// stake. A submission counts with the smaller of this and the stake at the verdict.
	#[pallet::storage]
	pub type PermitStakes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		WindowIndex,
		Blake2_128Concat,
		T::AccountId,
		BalanceOf<T>,
		OptionQuery,
	>;

	/// Gradient commitments: window → miner → commitment.
	#[pallet::storage]
	pub type Commitments<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		WindowIndex,
		Blake2_128Concat,
		T::AccountId,
		Commitment<BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// The run's identity, once started (genesis or `start_run`); never changes after.
	#[pallet::storage]
	pub type Run<T: Config> = StorageValue<_, RunManifest, OptionQuery>;

	/// Each validator's agreement with the consensus: an EMA of `1 − mean |own − consensus|`
	/// over the peers of each verdict it counted in (`rewards.rs`).
	#[pallet::storage]
	pub type Agreement<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Perbill, ValueQuery>;

	/// What each account was paid for each retained window.
	#[pallet::storage]
	pub type Earnings<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		WindowIndex,
		Blake2_128Concat,
		T::AccountId,
		BalanceOf<T>,
		ValueQuery,
	>;

	/// Checkpoints of θ in validators' stores: window → θ hash (the window's binding verdict's)
	/// and where each copy is. Only the run's newest `checkpoints_kept` windows are kept.
	#[pallet::storage]
	pub type Checkpoints<T: Config> =
		StorageMap<_, Twox64Concat, WindowIndex, CheckpointRecord<T>, OptionQuery>;

	/// The windows in [`Checkpoints`], oldest first.
	#[pallet::storage]
	pub type CheckpointWindows<T: Config> =
		StorageValue<_, BoundedVec<WindowIndex, T::MaxCheckpoints>, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Peers registered at genesis, in registration order.
		pub peers: Vec<GenesisPeer<T::AccountId>>,
		/// The run's identity, when the chain starts with one (else `start_run` sets it).
		pub run: Option<RunManifest>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let parameters = Pallet::<T>::config_parameters();
			Parameters::<T>::put(parameters);
			WindowSchedule::<T>::put(Schedule {
				next_open: parameters.window_length,
				closing: None,
			});
			if let Some(run) = &self.run {
				if let Some(problem) = run.problem(Pallet::<T>::manifest_limits()) {
					panic!("genesis run manifest: {problem}");
				}
				Run::<T>::put(run.clone());
			}
			for peer in &self.peers {
				let location = StorageLocation {
					endpoint: genesis::bounded(&peer.account, "endpoint", &peer.endpoint),
					bucket: genesis::bounded(&peer.account, "bucket", &peer.bucket),
					prefix: genesis::bounded(&peer.account, "prefix", &peer.prefix),
				};
				let registered = Pallet::<T>::do_register(
					peer.account.clone(),
					peer.role,
					location,
					Zero::zero(),
				);
				if let Err(e) = registered {
					panic!("genesis peer {:?} cannot be registered: {e:?}", peer.account);
				}
				if peer.stake > 0 {
					let stake: BalanceOf<T> = peer.stake.unique_saturated_into();
					let bonded =
						T::Currency::hold(&HoldReason::ValidatorStake.into(), &peer.account, stake);
					if let Err(e) = bonded {
						panic!("genesis peer {:?} cannot bond its stake: {e:?}", peer.account);
					}
				}
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(n: BlockNumberFor<T>) -> Weight {
			// A scoring period that closes in the block a window opens feeds that window's
			// aggregation set: close first.
			let schedule = WindowSchedule::<T>::get();
			let closed = Self::close_scoring(n, schedule);
			// `>=`: a schedule left behind (it never is, `try_state`) opens the window late
			// rather than never.
			match (n >= schedule.next_open && !n.is_zero())
				.then(|| CurrentWindow::<T>::get().saturating_add(1))
			{
				Some(w) => {
					let (pruned, windows) = Self::open_window(w, n);
					// The benchmark prunes one window; a second one (a run that keeps less
					// history than the runtime) costs at most another opening's fixed part.
					let second = T::WeightInfo::on_initialize_open_window(0, 1)
						.saturating_mul(u64::from(windows.saturating_sub(1)));
					T::WeightInfo::on_initialize_open_window(pruned, PeerCount::<T>::get())
						.saturating_add(second)
				},
				None => T::WeightInfo::on_initialize_idle(),
			}
			.saturating_add(closed)
		}

		fn integrity_test() {
			Self::check_config();
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The verdict of `window`, if retained and published.
		pub fn verdict(window: WindowIndex) -> Option<WindowReport<T::AccountId>> {
			Self::window_report(window)
		}

		/// `peer`'s verdicts over `from..=to` (retained windows only), oldest first.
		pub fn score_history(
			peer: T::AccountId,
			from: WindowIndex,
			to: WindowIndex,
		) -> Vec<(WindowIndex, Perbill)> {
			Self::peer_scores(&peer, from, to)
		}

		/// `window`'s aggregation set and, once published, its θ_{w+1} hash.
		pub fn aggregation_set(window: WindowIndex) -> (Vec<T::AccountId>, Option<H256>) {
			Self::aggregation(window)
		}

		/// The run's identity, once started.
		pub fn run_manifest() -> Option<RunManifest> {
			Run::<T>::get()
		}

		/// What `who` was paid for each retained window in `from..=to` that paid it, oldest
		/// first (at most `RetainWindows` entries).
		pub fn earnings(
			who: T::AccountId,
			from: WindowIndex,
			to: WindowIndex,
		) -> Vec<(WindowIndex, BalanceOf<T>)> {
			Self::earnings_of(&who, from, to)
		}

		/// The governed parameters in force and those scheduled for the next window, if any.
		pub fn parameters() -> (ParametersOf<T>, Option<ParametersOf<T>>) {
			(Self::params(), PendingParameters::<T>::get())
		}

		/// The recorded checkpoints, newest first: window, θ hash, and each copy's validator
		/// and storage location.
		pub fn checkpoints() -> Vec<(WindowIndex, CheckpointRecord<T>)> {
			CheckpointWindows::<T>::get()
				.into_iter()
				.rev()
				.filter_map(|w| Checkpoints::<T>::get(w).map(|c| (w, c)))
				.collect()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a peer with `role`, publishing where its payloads can be read.
		/// Permissionless; holds `PeerDeposit` from the caller's account.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			role: Role,
			location: StorageLocation,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			Self::do_register(who, role, location, now)
		}

		/// Commit to the gradient payload the caller will reveal for `window`.
		///
		/// Only for the open window, once per account per window. Two accounts may commit the
		/// same hash: a payload's header names the account it was built by, so a copier who
		/// commits another miner's hash can only reveal a payload the Gauntlet flags as invalid,
		/// and nobody can make an honest miner's commitment fail by committing its hash first.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::commit_gradient())]
		pub fn commit_gradient(
			origin: OriginFor<T>,
			window: WindowIndex,
			payload_hash: H256,
			payload_len: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let peer = Peers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(peer.role == Role::Miner, Error::<T>::NotAMiner);
			ensure!(peer.leaving_at.is_none(), Error::<T>::PeerLeaving);
			let current = CurrentWindow::<T>::get();
			ensure!(current != 0 && window <= current, Error::<T>::WindowNotOpen);
			ensure!(window == current, Error::<T>::WindowClosed);
			ensure!(payload_len > 0, Error::<T>::EmptyPayload);
			ensure!(payload_len <= T::MaxPayloadLen::get(), Error::<T>::PayloadTooLarge);
			ensure!(!Commitments::<T>::contains_key(window, &who), Error::<T>::AlreadyCommitted);

			let committed_at = frame_system::Pallet::<T>::block_number();
			// The location goes with the commitment: a miner that leaves (or moves) later
			// leaves its payloads findable for replay.
			let location = peer.location;
			Commitments::<T>::insert(
				window,
				&who,
				Commitment { payload_hash, payload_len, committed_at, location },
			);
			Self::deposit_event(Event::GradientCommitted {
				window,
				who,
				payload_hash,
				payload_len,
			});
			Ok(())
		}

		/// Replace the caller's storage location.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_storage_location())]
		pub fn set_storage_location(
			origin: OriginFor<T>,
			location: StorageLocation,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_location(&location)?;
			Peers::<T>::try_mutate(&who, |peer| {
				let peer = peer.as_mut().ok_or(Error::<T>::NotRegistered)?;
				peer.location = location;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::StorageLocationSet { who });
			Ok(())
		}

		/// Ask to leave: the caller stops taking part at once, and its deposit can be withdrawn
		/// `DeregisterCooldown` blocks later.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			Peers::<T>::try_mutate(&who, |peer| {
				let peer = peer.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(peer.leaving_at.is_none(), Error::<T>::AlreadyLeaving);
				peer.leaving_at = Some(now);
				Ok::<_, DispatchError>(())
			})?;
			let withdraw_from = now.saturating_add(Self::params().deregister_cooldown);
			Self::deposit_event(Event::PeerLeaving { who, withdraw_from });
			Ok(())
		}

		/// After the cool-down (and, with stake, the unbonding period), release the caller's
		/// deposit and stake and remove it from the peers.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw_deposit())]
		pub fn withdraw_deposit(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let peer = Peers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let leaving_at = peer.leaving_at.ok_or(Error::<T>::NotLeaving)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				now >= leaving_at.saturating_add(Self::params().deregister_cooldown),
				Error::<T>::CooldownNotOver
			);
			Self::ensure_stake_free(&who, leaving_at, now)?;
			let released = Self::remove_peer(&who, &peer)?;
			Self::deposit_event(Event::PeerDeregistered { who, released });
			Ok(())
		}

		/// Bond `amount` more stake (held from the caller's account). Any registered peer may
		/// bond; validators need `MinValidatorStake` for a permit.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::bond())]
		pub fn bond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			ensure!(Peers::<T>::contains_key(&who), Error::<T>::NotRegistered);
			T::Currency::hold(&HoldReason::ValidatorStake.into(), &who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Self::deposit_event(Event::StakeBonded { who, amount });
			Ok(())
		}

		/// Submit the caller's Gauntlet results for `window`: one result per evaluated peer, the
		/// members of the window's aggregation set it applied (`inclusion`, in set order) and the
		/// hash of θ_{w+1} they produced. Permit holders only, once per window, during its
		/// scoring period.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::submit_gauntlet_results(results.len() as u32))]
		pub fn submit_gauntlet_results(
			origin: OriginFor<T>,
			window: WindowIndex,
			results: Vec<PeerResult<T::AccountId>>,
			inclusion: Vec<T::AccountId>,
			theta_hash: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let peer = Peers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(peer.role == Role::Validator, Error::<T>::NotAValidator);
			let now = frame_system::Pallet::<T>::block_number();
			Self::ensure_scoring_period(window, now)?;
			ensure!(WindowValidators::<T>::get(window).contains(&who), Error::<T>::NoPermit);
			let threshold = PermitThresholds::<T>::get(window)
				.unwrap_or_else(|| Self::params().min_validator_stake);
			ensure!(
				peer.leaving_at.is_none() && T::Stake::stake_of(&who) >= threshold,
				Error::<T>::PermitLost
			);
			ensure!(!Submissions::<T>::contains_key(window, &who), Error::<T>::AlreadySubmitted);

			let results: BoundedVec<_, T::MaxPeers> =
				results.try_into().map_err(|_| Error::<T>::TooManyResults)?;
			let inclusion: BoundedVec<_, T::AggregationSize> =
				inclusion.try_into().map_err(|_| Error::<T>::InclusionTooLarge)?;
			let mut seen = alloc::collections::BTreeSet::new();
			for r in results.iter() {
				ensure!(Peers::<T>::contains_key(&r.peer), Error::<T>::UnknownPeer);
				ensure!(seen.insert(r.peer.clone()), Error::<T>::DuplicatePeer);
				ensure!(r.flags.0 & !Flags::ALL == 0, Error::<T>::InvalidFlags);
			}
			Self::ensure_subsequence(&inclusion, &AggregationSets::<T>::get(window))?;

			let peers = results.len() as u32;
			Submissions::<T>::insert(
				window,
				&who,
				Submission { results, inclusion, theta_hash, submitted_at: now },
			);
			Self::deposit_event(Event::GauntletSubmitted { window, validator: who, peers });
			Ok(())
		}

		/// Start unbonding `amount` of bonded stake: it stops counting at once (a permit holder
		/// whose stake falls below the minimum loses its permit) and can be withdrawn with
		/// `withdraw_unbonded` after `UnbondingPeriod` blocks. Another `unbond` adds to the
		/// unbonding amount and restarts the period.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			Self::do_unbond(who, amount)
		}

		/// Release the caller's unbonding stake once its unbonding period has passed.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(who)
		}

		/// Record the run's identity (root only, once): the model, tokenizer, dataset, outer
		/// step and codec every peer must share.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::start_run())]
		pub fn start_run(origin: OriginFor<T>, manifest: RunManifest) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(!Run::<T>::exists(), Error::<T>::RunAlreadyStarted);
			let problem = manifest.problem(Self::manifest_limits());
			ensure!(problem.is_none(), Error::<T>::InvalidManifest);
			Run::<T>::put(manifest.clone());
			Self::deposit_event(Event::RunStarted { manifest });
			Ok(())
		}

		/// Record that the caller's store holds a checkpoint of θ after `window` under
		/// `checkpoints/{window}.safetensors` below its registered location, hashing to
		/// `theta_hash`. Validators only, for a window that is a multiple of the run's
		/// `checkpoint_interval` and whose binding verdict records that θ hash; recording a window
		/// newer than every kept one drops the oldest beyond `checkpoints_kept`.
		#[pallet::call_index(10)]
		// The benchmark measures the largest record (a copy added beside MaxValidators − 1
		// others); a new window instead writes up to two more items (the oldest record removed,
		// the kept windows).
		#[pallet::weight(T::WeightInfo::record_checkpoint().saturating_add(T::DbWeight::get().writes(2)))]
		pub fn record_checkpoint(
			origin: OriginFor<T>,
			window: WindowIndex,
			theta_hash: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_record_checkpoint(who, window, theta_hash)
		}

		/// Schedule a new set of governed parameters (`Config::AdminOrigin`): checked on its
		/// own and against the window now running, kept as pending (replacing a set scheduled
		/// before) and put in force when the next window opens. Window numbering goes on
		/// across a change of `window_length`: the next window opens where the current one
		/// ends, with the new length.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::set_parameters())]
		pub fn set_parameters(origin: OriginFor<T>, parameters: ParametersOf<T>) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_set_parameters(parameters)
		}
	}
}
