//! # pallet-training
//!
//! The on-chain half of tessera (DESIGN.md §2–3): who may train, when each training window opens
//! and with which seed, and which gradient payload each miner committed to in a window.
//!
//! - Time is counted in windows of [`Config::WindowLength`] blocks. Window `w ≥ 1` opens in
//!   `on_initialize` of block `w * WindowLength`, which stores [`Windows`]`[w]` (seed = hash of the
//!   previous block, via [`Config::SeedSource`]) and emits [`Event::WindowOpened`].
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
//!   period, `[start of w+1, start of w+1 + ScoreDeadlineBlocks)`. When it closes, each evaluated
//!   peer's verdict is the stake-weighted median of its scores; the inclusion list and θ hash
//!   backed by the most stake are recorded with it ([`Verdicts`]), and every miner's incentive
//!   weight moves by an EMA towards its verdict ([`IncentiveWeights`]).
//! - [`Pallet::commit_gradient`] records a miner's `(payload_hash, payload_len)` for the open
//!   window: once per account per window, and the first account to commit a hash owns it.
//! - Windows older than [`Config::RetainWindows`] are pruned when a new window opens, with work
//!   bounded by [`Config::MaxPeers`].
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod consensus;
pub mod gauntlet;
pub mod history;
pub mod location;
pub mod permits;
pub mod runtime_api;
pub mod seed;
pub mod types;
pub mod weights;
pub mod window;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use gauntlet::{Flags, PeerResult, Submission, Verdict};
pub use history::WindowReport;
pub use location::StorageLocation;
pub use pallet::*;
pub use permits::{HeldStake, StakeInfo};
pub use seed::{ParentHashSeed, WindowSeedSource};
pub use types::{Commitment, PeerInfo, Role, WindowIndex, WindowInfo};
pub use weights::WeightInfo;

/// Target of this pallet's log lines.
pub const LOG_TARGET: &str = "runtime::training";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::{string::String, vec::Vec};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, MutateHold},
			tokens::Precision,
		},
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
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Length of a training window in blocks. Must be at least 2.
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

		/// Deposit held from a peer's account while it is registered.
		#[pallet::constant]
		type PeerDeposit: Get<BalanceOf<Self>>;

		/// Blocks between `deregister` and the deposit's release.
		#[pallet::constant]
		type DeregisterCooldown: Get<BlockNumberFor<Self>>;

		/// Where a validator's stake comes from.
		type Stake: StakeInfo<Self::AccountId, BalanceOf<Self>>;

		/// Most validators holding a permit in a window.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Least stake a validator needs for a permit.
		#[pallet::constant]
		type MinValidatorStake: Get<BalanceOf<Self>>;

		/// Blocks after the end of a window during which its results are accepted.
		#[pallet::constant]
		type ScoreDeadlineBlocks: Get<BlockNumberFor<Self>>;

		/// Blocks after the end of a window during which miners reveal (upload) its payloads;
		/// every peer applies the window's outer step when it ends. Off-chain peers read it from
		/// here so they all agree; it must end before the scoring deadline.
		#[pallet::constant]
		type RevealBlocks: Get<BlockNumberFor<Self>>;

		/// Most miners in a window's aggregation set.
		#[pallet::constant]
		type AggregationSize: Get<u32>;

		/// Weight of a new verdict in the incentive EMA.
		#[pallet::constant]
		type IncentiveAlpha: Get<Perbill>;

		/// A miner stays in the aggregation set while its incentive weight is at least this
		/// fraction of the best miner's: updates that keep scoring (next to) nothing leave the
		/// aggregate even when there are free places.
		#[pallet::constant]
		type AggregationWeightFloor: Get<Perbill>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// The most recently opened window (0 until window 1 opens at block `WindowLength`).
	#[pallet::storage]
	pub type CurrentWindow<T: Config> = StorageValue<_, WindowIndex, ValueQuery>;

	/// Seed and first block of every retained window.
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

	/// Owner of each committed payload hash per window: the first account to commit it.
	#[pallet::storage]
	pub type HashOwner<T: Config> =
		StorageDoubleMap<_, Twox64Concat, WindowIndex, Identity, H256, T::AccountId, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A training window opened.
		WindowOpened {
			/// The window that opened.
			window: WindowIndex,
			/// Its seed: the hash of block `start_block - 1`.
			seed: H256,
			/// Its first block.
			start_block: BlockNumberFor<T>,
		},
		/// An account registered as a peer.
		PeerRegistered {
			/// The new peer.
			who: T::AccountId,
			/// Its registration index.
			index: u32,
			/// Miner or validator.
			role: Role,
			/// The deposit held from its account.
			deposit: BalanceOf<T>,
		},
		/// A peer changed its storage location.
		StorageLocationSet {
			/// The peer.
			who: T::AccountId,
		},
		/// A peer asked to leave; its deposit can be withdrawn from `withdraw_from`.
		PeerLeaving {
			/// The peer.
			who: T::AccountId,
			/// First block at which `withdraw_deposit` succeeds.
			withdraw_from: BlockNumberFor<T>,
		},
		/// A peer left and its deposit (and any bonded stake) was released.
		PeerDeregistered {
			/// The former peer.
			who: T::AccountId,
			/// Everything released: deposit plus stake.
			released: BalanceOf<T>,
		},
		/// A peer bonded stake.
		StakeBonded {
			/// The peer.
			who: T::AccountId,
			/// Amount added.
			amount: BalanceOf<T>,
		},
		/// A peer unbonded stake.
		StakeUnbonded {
			/// The peer.
			who: T::AccountId,
			/// Amount released.
			amount: BalanceOf<T>,
		},
		/// The aggregation set of a window, fixed when it opened.
		AggregationSetFixed {
			/// The window.
			window: WindowIndex,
			/// Its members, in aggregation order.
			members: BoundedVec<T::AccountId, T::AggregationSize>,
		},
		/// A validator submitted its results for a window.
		GauntletSubmitted {
			/// The window.
			window: WindowIndex,
			/// The validator.
			validator: T::AccountId,
			/// How many peers it evaluated.
			peers: u32,
		},
		/// The verdict of a window: its scoring period closed.
		GauntletPublished {
			/// The window.
			window: WindowIndex,
			/// Validators whose submissions counted.
			validators: u32,
			/// Peers with a verdict.
			peers: u32,
			/// The θ_{w+1} hash recorded with the verdict.
			theta_hash: H256,
		},
		/// The validators permitted to score a window, fixed when it opened.
		ValidatorsPermitted {
			/// The window.
			window: WindowIndex,
			/// Permitted validators, highest stake first.
			validators: BoundedVec<T::AccountId, T::MaxValidators>,
		},
		/// A miner committed to a gradient payload for a window.
		GradientCommitted {
			/// The window the payload belongs to.
			window: WindowIndex,
			/// The miner.
			who: T::AccountId,
			/// BLAKE2b-256 of the payload.
			payload_hash: H256,
			/// Payload length in bytes.
			payload_len: u32,
		},
		/// The records of an old window were pruned.
		WindowPruned {
			/// The pruned window.
			window: WindowIndex,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The caller is not a registered peer.
		NotRegistered,
		/// The caller is already a registered peer.
		AlreadyRegistered,
		/// The peer set is full (`MaxPeers`).
		TooManyPeers,
		/// The account cannot cover the peer deposit.
		InsufficientBalance,
		/// The storage endpoint is not an `http(s)://host[:port][/path]` URL of printable ASCII.
		InvalidEndpoint,
		/// The storage endpoint carries user info or a query string: it would publish a secret.
		EndpointHasCredentials,
		/// The bucket is not a valid S3 bucket name.
		InvalidBucket,
		/// The key prefix has non-printable bytes, a `..` segment or a leading `/`.
		InvalidPrefix,
		/// Only miners commit gradients.
		NotAMiner,
		/// The peer is leaving and takes no part in new windows.
		PeerLeaving,
		/// The peer already asked to leave.
		AlreadyLeaving,
		/// `withdraw_deposit` before `deregister`.
		NotLeaving,
		/// The cool-down after `deregister` has not passed yet.
		CooldownNotOver,
		/// A bond or unbond of zero.
		ZeroAmount,
		/// Unbonding more than is bonded.
		InsufficientStake,
		/// Only validators submit Gauntlet results.
		NotAValidator,
		/// The validator holds no permit for this window.
		NoPermit,
		/// The validator had a permit but left or fell below the minimum stake since.
		PermitLost,
		/// The window's scoring period has not started (it is still open, or in the future).
		ScoringNotStarted,
		/// The window's scoring period is over.
		ScoringClosed,
		/// The validator already submitted results for this window.
		AlreadySubmitted,
		/// More results than `MaxPeers`.
		TooManyResults,
		/// An inclusion list longer than `AggregationSize`.
		InclusionTooLarge,
		/// A result names an account that is not a registered peer.
		UnknownPeer,
		/// Two results name the same peer.
		DuplicatePeer,
		/// The inclusion list names a miner outside the window's aggregation set (or repeats one,
		/// or leaves set order).
		NotInAggregationSet,
		/// A result sets flag bits that mean nothing.
		InvalidFlags,
		/// The window has not opened yet: commitments are accepted for the open window only.
		WindowNotOpen,
		/// The window has already closed: commitments are accepted for the open window only.
		WindowClosed,
		/// The caller already committed a gradient for this window.
		AlreadyCommitted,
		/// Another account already committed this payload hash in this window.
		HashAlreadyOwned,
		/// `payload_len` is zero.
		EmptyPayload,
		/// `payload_len` exceeds `MaxPayloadLen`.
		PayloadTooLarge,
	}

	/// A peer registered at genesis (its deposit is held from its genesis balance).
	#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
	pub struct GenesisPeer<AccountId> {
		/// The peer's account.
		pub account: AccountId,
		/// Miner or validator.
		pub role: Role,
		/// Storage endpoint URL.
		pub endpoint: String,
		/// Storage bucket.
		pub bucket: String,
		/// Key prefix.
		pub prefix: String,
		/// Stake bonded at genesis (held from its genesis balance).
		#[serde(default)]
		pub stake: u128,
	}

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Peers registered at genesis, in registration order.
		pub peers: Vec<GenesisPeer<T::AccountId>>,
	}

	/// A genesis location field as stored, refusing (not truncating) one that is too long.
	fn bounded<S: Get<u32>>(
		account: &impl core::fmt::Debug,
		field: &str,
		value: &str,
	) -> BoundedVec<u8, S> {
		value
			.as_bytes()
			.to_vec()
			.try_into()
			.unwrap_or_else(|_| panic!("genesis peer {account:?}: {field} too long"))
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for peer in &self.peers {
				let location = StorageLocation {
					endpoint: bounded(&peer.account, "endpoint", &peer.endpoint),
					bucket: bounded(&peer.account, "bucket", &peer.bucket),
					prefix: bounded(&peer.account, "prefix", &peer.prefix),
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
			let closed = Self::close_scoring(n);
			match window::window_opened_at(n, T::WindowLength::get()) {
				Some(w) => {
					let pruned = Self::open_window(w, n);
					T::WeightInfo::on_initialize_open_window(pruned, PeerCount::<T>::get())
				},
				None => T::WeightInfo::on_initialize_idle(),
			}
			.saturating_add(closed)
		}

		fn integrity_test() {
			assert!(
				T::WindowLength::get() >= 2u32.into(),
				"WindowLength must be at least 2 blocks"
			);
			assert!(T::RetainWindows::get() >= 1, "RetainWindows must be at least 1");
			assert!(T::MaxPeers::get() >= 1, "MaxPeers must be at least 1");
			assert!(T::MaxPayloadLen::get() >= 1, "MaxPayloadLen must be at least 1");
			assert!(T::MaxValidators::get() >= 1, "MaxValidators must be at least 1");
			assert!(T::AggregationSize::get() >= 1, "AggregationSize must be at least 1");
			assert!(
				T::ScoreDeadlineBlocks::get() >= 1u32.into(),
				"ScoreDeadlineBlocks must be at least 1"
			);
			assert!(T::RevealBlocks::get() >= 1u32.into(), "RevealBlocks must be at least 1");
			assert!(
				T::RevealBlocks::get() < T::ScoreDeadlineBlocks::get(),
				"the reveal period must end before the scoring deadline"
			);
			assert!(
				T::RevealBlocks::get() < T::WindowLength::get(),
				"the reveal period must be shorter than a window"
			);
			assert!(
				T::ScoreDeadlineBlocks::get() <= T::WindowLength::get(),
				"a window's verdict must be published before the next window's reveal period"
			);
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
		/// Only for the open window, once per account per window; the first account to commit
		/// a hash in a window owns it and the same hash from anyone else is rejected.
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
			ensure!(
				!HashOwner::<T>::contains_key(window, payload_hash),
				Error::<T>::HashAlreadyOwned
			);

			let committed_at = frame_system::Pallet::<T>::block_number();
			Commitments::<T>::insert(
				window,
				&who,
				Commitment { payload_hash, payload_len, committed_at },
			);
			HashOwner::<T>::insert(window, payload_hash, &who);
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
			let withdraw_from = now.saturating_add(T::DeregisterCooldown::get());
			Self::deposit_event(Event::PeerLeaving { who, withdraw_from });
			Ok(())
		}

		/// After the cool-down, release the caller's deposit and remove it from the peers.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw_deposit())]
		pub fn withdraw_deposit(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let peer = Peers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let leaving_at = peer.leaving_at.ok_or(Error::<T>::NotLeaving)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				now >= leaving_at.saturating_add(T::DeregisterCooldown::get()),
				Error::<T>::CooldownNotOver
			);
			let deposit = T::Currency::release(
				&HoldReason::PeerDeposit.into(),
				&who,
				peer.deposit,
				Precision::BestEffort,
			)?;
			let stake_reason = HoldReason::ValidatorStake.into();
			let bonded = T::Currency::balance_on_hold(&stake_reason, &who);
			let stake = T::Currency::release(&stake_reason, &who, bonded, Precision::BestEffort)?;
			let released = deposit.saturating_add(stake);
			Peers::<T>::remove(&who);
			IncentiveWeights::<T>::remove(&who);
			PeerCount::<T>::mutate(|c| *c = c.saturating_sub(1));
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
			ensure!(
				peer.leaving_at.is_none()
					&& T::Stake::stake_of(&who) >= T::MinValidatorStake::get(),
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

		/// Release `amount` of bonded stake. Takes effect for permits from the next window; a
		/// permit holder whose stake falls below the minimum loses its permit at once.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let reason = HoldReason::ValidatorStake.into();
			ensure!(
				T::Currency::balance_on_hold(&reason, &who) >= amount,
				Error::<T>::InsufficientStake
			);
			T::Currency::release(&reason, &who, amount, Precision::Exact)?;
			Self::deposit_event(Event::StakeUnbonded { who, amount });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The pallet error for an invalid storage location.
		fn check_location(location: &StorageLocation) -> DispatchResult {
			location::validate(location).map_err(|e| match e {
				location::LocationError::InvalidEndpoint => Error::<T>::InvalidEndpoint,
				location::LocationError::EndpointHasCredentials => {
					Error::<T>::EndpointHasCredentials
				},
				location::LocationError::InvalidBucket => Error::<T>::InvalidBucket,
				location::LocationError::InvalidPrefix => Error::<T>::InvalidPrefix,
			})?;
			Ok(())
		}

		/// Registers `who` as a `role` at block `now`, holding its deposit.
		pub(crate) fn do_register(
			who: T::AccountId,
			role: Role,
			location: StorageLocation,
			now: BlockNumberFor<T>,
		) -> DispatchResult {
			Self::check_location(&location)?;
			ensure!(!Peers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			let count = PeerCount::<T>::get();
			ensure!(count < T::MaxPeers::get(), Error::<T>::TooManyPeers);
			let deposit = T::PeerDeposit::get();
			T::Currency::hold(&HoldReason::PeerDeposit.into(), &who, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			let index = NextPeerIndex::<T>::get();
			let peer =
				PeerInfo { index, role, location, deposit, registered_at: now, leaving_at: None };
			Peers::<T>::insert(&who, peer);
			PeerCount::<T>::put(count.saturating_add(1));
			NextPeerIndex::<T>::put(index.saturating_add(1));
			Self::deposit_event(Event::PeerRegistered { who, index, role, deposit });
			Ok(())
		}

		/// Opens window `w` at block `start_block` and prunes the window that falls out of
		/// retention. Returns the number of pruned commitments.
		fn open_window(w: WindowIndex, start_block: BlockNumberFor<T>) -> u32 {
			let seed = T::SeedSource::window_seed();
			Windows::<T>::insert(w, WindowInfo { seed, start_block });
			CurrentWindow::<T>::put(w);
			Self::deposit_event(Event::WindowOpened { window: w, seed, start_block });
			Self::select_window_participants(w);

			let retain = WindowIndex::from(T::RetainWindows::get());
			match w.checked_sub(retain) {
				Some(old) if old >= 1 => Self::prune_window(old),
				_ => 0,
			}
		}

		/// First block of window `w`'s scoring period (the first block of window `w + 1`).
		fn scoring_start(w: WindowIndex) -> BlockNumberFor<T> {
			window::window_start(w.saturating_add(1), T::WindowLength::get())
		}

		/// Whether `now` lies in window `w`'s scoring period.
		fn ensure_scoring_period(w: WindowIndex, now: BlockNumberFor<T>) -> DispatchResult {
			let start = Self::scoring_start(w);
			ensure!(w >= 1 && now >= start, Error::<T>::ScoringNotStarted);
			ensure!(
				now < start.saturating_add(T::ScoreDeadlineBlocks::get()),
				Error::<T>::ScoringClosed
			);
			Ok(())
		}

		/// `inclusion` must be a subsequence of `set` (members, no repeats, set order).
		fn ensure_subsequence(inclusion: &[T::AccountId], set: &[T::AccountId]) -> DispatchResult {
			let mut rest = set.iter();
			for member in inclusion {
				ensure!(rest.any(|m| m == member), Error::<T>::NotInAggregationSet);
			}
			Ok(())
		}

		/// Closes the scoring period that ends at block `n`, if one does: stores the verdict and
		/// moves incentive weights. Work bounded by `MaxValidators × MaxPeers`.
		fn close_scoring(n: BlockNumberFor<T>) -> Weight {
			let deadline = T::ScoreDeadlineBlocks::get();
			// Before the first deadline this is block 0, which opens no window.
			let Some(next) =
				window::window_opened_at(n.saturating_sub(deadline), T::WindowLength::get())
			else {
				return Weight::zero();
			};
			let w = next.saturating_sub(1);
			if w == 0 {
				return Weight::zero();
			}
			let (validators, peers) = Self::publish_verdict(w);
			T::WeightInfo::on_initialize_close_scoring(validators, peers)
		}

		/// The verdict of window `w` from its submissions. Returns (validators, peers) counted.
		fn publish_verdict(w: WindowIndex) -> (u32, u32) {
			use alloc::collections::BTreeMap;
			let submissions: Vec<(T::AccountId, Submission<T>)> =
				Submissions::<T>::iter_prefix(w).collect();
			let mut scores: BTreeMap<T::AccountId, Vec<(Perbill, u128)>> = BTreeMap::new();
			let mut lists: BTreeMap<(Vec<T::AccountId>, H256), u128> = BTreeMap::new();
			for (validator, submission) in &submissions {
				let stake: u128 = T::Stake::stake_of(validator).unique_saturated_into();
				for r in submission.results.iter() {
					scores.entry(r.peer.clone()).or_default().push((r.final_score, stake));
				}
				let key = (submission.inclusion.to_vec(), submission.theta_hash);
				let backing = lists.entry(key).or_default();
				*backing = backing.saturating_add(stake);
			}
			let verdicts: Vec<(T::AccountId, Perbill)> = scores
				.into_iter()
				.filter_map(|(peer, mut entries)| {
					consensus::stake_weighted_median(&mut entries).map(|m| (peer, m))
				})
				.collect();
			// The list with the most stake; ties to the smallest (list, hash).
			let (inclusion, theta_hash) = lists
				.into_iter()
				.fold(None::<((Vec<T::AccountId>, H256), u128)>, |best, (key, stake)| match best {
					Some((_, s)) if s >= stake => best,
					_ => Some((key, stake)),
				})
				.map(|(key, _)| key)
				.unwrap_or_default();

			// Every miner's weight moves towards its verdict (0 without one).
			let alpha = T::IncentiveAlpha::get();
			for (who, peer) in Peers::<T>::iter() {
				if peer.role != Role::Miner {
					continue;
				}
				let sample = verdicts
					.binary_search_by(|(p, _)| p.cmp(&who))
					.map(|i| verdicts[i].1)
					.unwrap_or_else(|_| Perbill::zero());
				IncentiveWeights::<T>::mutate(&who, |weight| {
					*weight = consensus::ema(*weight, sample, alpha)
				});
			}

			let validators = submissions.len() as u32;
			let peers = verdicts.len() as u32;
			let verdict = Verdict::<T> {
				scores: BoundedVec::truncate_from(verdicts),
				inclusion: BoundedVec::truncate_from(inclusion),
				theta_hash,
				validators,
			};
			Verdicts::<T>::insert(w, verdict);
			Self::deposit_event(Event::GauntletPublished {
				window: w,
				validators,
				peers,
				theta_hash,
			});
			(validators, peers)
		}

		/// Fixes who takes part in window `w`, from one pass over the peers (bounded by
		/// `MaxPeers`):
		/// - the validators permitted to score it: the top `MaxValidators` non-leaving validators
		///   by stake above `MinValidatorStake`;
		/// - its aggregation set: the top `AggregationSize` non-leaving miners by incentive
		///   weight, earlier registration first among equals — once any miner has weight, only
		///   those with at least `AggregationWeightFloor` of the best weight (before that,
		///   bootstrap: registration order). A miner whose updates score (next to) nothing leaves
		///   the set; a newcomer joins once verdicts score it well.
		fn select_window_participants(w: WindowIndex) {
			let mut validators = Vec::new();
			let mut miners: Vec<(Perbill, u32, T::AccountId)> = Vec::new();
			for (who, peer) in Peers::<T>::iter().filter(|(_, peer)| peer.leaving_at.is_none()) {
				match peer.role {
					Role::Validator => validators.push(permits::Candidate {
						stake: T::Stake::stake_of(&who),
						who,
						index: peer.index,
					}),
					Role::Miner => miners.push((IncentiveWeights::<T>::get(&who), peer.index, who)),
				}
			}

			let selected = permits::select(
				validators,
				T::MinValidatorStake::get(),
				T::MaxValidators::get() as usize,
			);
			let validators = BoundedVec::truncate_from(selected);
			WindowValidators::<T>::insert(w, &validators);
			Self::deposit_event(Event::ValidatorsPermitted { window: w, validators });

			let best = miners.iter().map(|(weight, _, _)| *weight).max().unwrap_or_default();
			if !best.is_zero() {
				let floor = T::AggregationWeightFloor::get() * best.deconstruct();
				miners.retain(|(weight, _, _)| !weight.is_zero() && weight.deconstruct() >= floor);
			}
			miners.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
			miners.truncate(T::AggregationSize::get() as usize);
			let members =
				BoundedVec::truncate_from(miners.into_iter().map(|(_, _, who)| who).collect());
			AggregationSets::<T>::insert(w, &members);
			Self::deposit_event(Event::AggregationSetFixed { window: w, members });
		}

		/// Removes every record of window `old`. At most `MaxPeers` commitments exist per
		/// window (one per peer), so the work is bounded.
		fn prune_window(old: WindowIndex) -> u32 {
			let limit = T::MaxPeers::get();
			let commitments = Commitments::<T>::clear_prefix(old, limit, None);
			let owners = HashOwner::<T>::clear_prefix(old, limit, None);
			Windows::<T>::remove(old);
			WindowValidators::<T>::remove(old);
			AggregationSets::<T>::remove(old);
			Verdicts::<T>::remove(old);
			let submissions = Submissions::<T>::clear_prefix(old, T::MaxValidators::get(), None);
			if commitments.maybe_cursor.is_some()
				|| owners.maybe_cursor.is_some()
				|| submissions.maybe_cursor.is_some()
			{
				log::error!(
					target: LOG_TARGET,
					"window {old}: more than MaxPeers={limit} records, some left unpruned"
				);
			}
			Self::deposit_event(Event::WindowPruned { window: old });
			commitments.unique.max(owners.unique)
		}

		/// The pallet's storage invariants; checked by `try_state` and after every unit test.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let peers = Peers::<T>::iter().count() as u32;
			ensure!(peers == PeerCount::<T>::get(), "PeerCount differs from the number of peers");
			ensure!(peers <= T::MaxPeers::get(), "more peers than MaxPeers");
			let next = NextPeerIndex::<T>::get();
			let mut seen = alloc::collections::BTreeSet::new();
			for (who, info) in Peers::<T>::iter() {
				ensure!(info.index < next, "peer index not below NextPeerIndex");
				ensure!(seen.insert(info.index), "two peers share a registration index");
				ensure!(location::validate(&info.location).is_ok(), "invalid stored location");
				let held = T::Currency::balance_on_hold(&HoldReason::PeerDeposit.into(), &who);
				ensure!(held == info.deposit, "held deposit differs from the recorded one");
			}

			let current = CurrentWindow::<T>::get();
			if current > 0 {
				ensure!(Windows::<T>::contains_key(current), "open window has no WindowInfo");
			}
			let retain = WindowIndex::from(T::RetainWindows::get());
			for (w, _) in Windows::<T>::iter() {
				ensure!(w <= current, "a window beyond the current one is recorded");
				ensure!(w.saturating_add(retain) > current, "a window past retention is recorded");
			}

			for (w, _) in WindowValidators::<T>::iter() {
				ensure!(Windows::<T>::contains_key(w), "permits for an unrecorded window");
			}
			for (w, _) in AggregationSets::<T>::iter() {
				ensure!(Windows::<T>::contains_key(w), "aggregation set of an unrecorded window");
			}
			for (w, _) in Verdicts::<T>::iter() {
				ensure!(Windows::<T>::contains_key(w), "verdict of an unrecorded window");
			}
			for (w, validator, _) in Submissions::<T>::iter() {
				ensure!(Windows::<T>::contains_key(w), "submission for an unrecorded window");
				ensure!(
					WindowValidators::<T>::get(w).contains(&validator),
					"submission from a validator without a permit"
				);
			}

			let mut commitments = 0usize;
			for (w, who, c) in Commitments::<T>::iter() {
				commitments += 1;
				ensure!(w <= current, "commitment for a window that has not opened");
				ensure!(Windows::<T>::contains_key(w), "commitment for an unrecorded window");
				ensure!(
					HashOwner::<T>::get(w, c.payload_hash).as_ref() == Some(&who),
					"commitment whose hash is not owned by its committer"
				);
				ensure!(
					c.payload_len > 0 && c.payload_len <= T::MaxPayloadLen::get(),
					"commitment length out of bounds"
				);
			}
			let mut owners = 0usize;
			for (w, hash, who) in HashOwner::<T>::iter() {
				owners += 1;
				ensure!(
					Commitments::<T>::get(w, &who).map(|c| c.payload_hash) == Some(hash),
					"hash owner without the matching commitment"
				);
			}
			ensure!(owners == commitments, "hash owners and commitments differ in number");
			Ok(())
		}
	}
}
