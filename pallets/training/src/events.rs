//! The pallet's events and errors: every event with named fields, every error documented.
//! Imported into the pallet module by `#[import_section(events::events_and_errors)]` in `lib.rs`, so the
//! names they use (`WindowIndex`, `Role`, `BalanceOf`, `H256`, …) resolve there.

use frame_support::pallet_macros::pallet_section;

/// Events and errors of `pallet-training`.
#[pallet_section]
mod events_and_errors {
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	// `RunStarted` carries the whole manifest (once per chain, for auditors); events are
	// SCALE-encoded into the block, so the in-memory size of the largest variant costs nothing.
	#[allow(clippy::large_enum_variant)]
	pub enum Event<T: Config> {
		/// A training window opened.
		WindowOpened {
			/// The window that opened.
			window: WindowIndex,
			/// Its seed: the hash of block `start_block - 1`.
			seed: H256,
			/// Its first block.
			start_block: BlockNumberFor<T>,
			/// Its length in blocks (the next window opens at `start_block + length`).
			length: BlockNumberFor<T>,
		},
		/// The admin origin scheduled new governed parameters for the next window.
		ParametersScheduled {
			/// The window that opens with them.
			window: WindowIndex,
			/// The block that opens it.
			at_block: BlockNumberFor<T>,
			/// The whole new set.
			parameters: ParametersOf<T>,
		},
		/// Scheduled parameters took effect as a window opened.
		ParametersChanged {
			/// The first window with them.
			window: WindowIndex,
			/// The set now in force.
			parameters: ParametersOf<T>,
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
		/// A peer asked to unbond stake: it stops counting now and is released after the
		/// unbonding period.
		UnbondingStarted {
			/// The peer.
			who: T::AccountId,
			/// Amount added to its unbonding stake.
			amount: BalanceOf<T>,
			/// First block at which its unbonding stake can be withdrawn.
			unlock_at: BlockNumberFor<T>,
		},
		/// Unbonded stake was released to the peer's free balance.
		StakeUnbonded {
			/// The peer.
			who: T::AccountId,
			/// Amount released.
			amount: BalanceOf<T>,
		},
		/// The peer set was full and an idle peer made room for a new registration: its deposit
		/// and stake were released and it was removed.
		PeerEvicted {
			/// The evicted peer.
			who: T::AccountId,
			/// Everything released: deposit plus stake.
			released: BalanceOf<T>,
			/// The peer whose registration evicted it.
			by: T::AccountId,
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
			/// The θ_{w+1} hash recorded with the verdict (zero when it does not bind).
			theta_hash: H256,
			/// Whether more than `BindingThreshold` of the submitting stake backed the inclusion
			/// list and θ hash, so that every peer follows them.
			binding: bool,
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
		/// The run's identity was recorded: every peer checks its own against it at start.
		RunStarted {
			/// The manifest.
			manifest: RunManifest,
		},
		/// A window's binding inclusion list holds fewer than the run's `min_updates`: θ stays
		/// θ_w on every peer (a null round).
		NullRound {
			/// The window.
			window: WindowIndex,
			/// Updates the binding inclusion list held.
			updates: u32,
		},
		/// A validator recorded a checkpoint of θ after a window in its store.
		CheckpointRecorded {
			/// θ is the result of this window's outer step.
			window: WindowIndex,
			/// The validator holding this copy.
			validator: T::AccountId,
			/// θ's hash (the window's binding verdict's).
			theta_hash: H256,
		},
		/// A window's emission was paid when its verdict was published:
		/// `miners + validators + owner + burned = emission`.
		RewardsPaid {
			/// The window.
			window: WindowIndex,
			/// What the window paid out in all.
			emission: BalanceOf<T>,
			/// Paid to miners, by incentive weight.
			miners: BalanceOf<T>,
			/// Paid to validators, by stake × agreement.
			validators: BalanceOf<T>,
			/// Paid to the owner: its share and the rounding dust.
			owner: BalanceOf<T>,
			/// Not paid (no owner, or a payment that failed).
			burned: BalanceOf<T>,
			/// Accounts paid.
			recipients: u32,
		},
		/// A checkpoint record fell out of the run's `checkpoints_kept`.
		CheckpointPruned {
			/// Its window.
			window: WindowIndex,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The caller is not a registered peer.
		NotRegistered,
		/// The caller is already a registered peer.
		AlreadyRegistered,
		/// The peer set is full (`MaxPeers`) and no peer is idle enough to be evicted.
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
		/// Unbonding more than is bonded (and not already unbonding).
		InsufficientStake,
		/// Nothing is unbonding for the caller.
		NothingUnbonding,
		/// The unbonding period has not passed yet.
		UnbondingNotOver,
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
		/// `payload_len` is zero.
		EmptyPayload,
		/// `payload_len` exceeds `MaxPayloadLen`.
		PayloadTooLarge,
		/// A run was already started on this chain; its identity never changes.
		RunAlreadyStarted,
		/// The run manifest is unusable (a zero dimension, `top_k` outside `1..=4096`, a zero
		/// learning rate or update cap, `min_updates` outside `1..=AggregationSize`, a history
		/// too short to replay from the oldest kept checkpoint, …).
		InvalidManifest,
		/// No run was started: there is nothing to checkpoint.
		RunNotStarted,
		/// Checkpoints are recorded only for windows that are multiples of the run's
		/// `checkpoint_interval`.
		NotACheckpointWindow,
		/// The window has no binding verdict (yet, or any more): there is no θ hash to check
		/// the checkpoint against.
		NoBindingVerdict,
		/// The θ hash is not the one the window's binding verdict records.
		CheckpointHashMismatch,
		/// The caller already recorded a checkpoint for this window.
		CheckpointAlreadyRecorded,
		/// The window is older than every checkpoint kept.
		CheckpointTooOld,
		/// `window_length` is below 2 blocks or above `MAX_WINDOW_LENGTH`.
		InvalidWindowLength,
		/// `reveal_blocks` is 0 or not below `score_deadline_blocks`, or `score_deadline_blocks`
		/// exceeds `window_length`.
		InvalidPeriods,
		/// The new `window_length` is shorter than the scoring period of the window it
		/// follows (that window's verdict must come before the new window's reveal period).
		WindowShorterThanScoring,
		/// `deregister_cooldown` or `unbonding_period` is shorter than a window and its scoring
		/// period: the new timing's, or the open window's (a peer that left during it is
		/// released under the new periods).
		ReleaseTooEarly,
		/// `peer_deposit` is zero.
		ZeroDeposit,
		/// `emission_per_window` exceeds `MaxEmissionPerWindow`.
		EmissionTooLarge,
		/// `miners_share + validators_share` exceeds 100 %.
		SharesOverOne,
		/// `incentive_alpha` or `agreement_alpha` is zero.
		ZeroAlpha,
	}
}
