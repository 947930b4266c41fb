//! The run's governed parameters (`docs/incentives.md`, "Governed parameters"): the window's
//! timing, deposits, stake, periods, emission and its split, and the EMA rates. They live in
//! storage ([`Parameters`](crate::pallet::Parameters)), start from the runtime's `Config` values
//! at genesis, and change only through [`Pallet::set_parameters`] from `Config::AdminOrigin`:
//! the new set is checked, kept as pending, and takes effect when the next window opens
//! ([`Event::ParametersChanged`]). Each window records the timing it opened with
//! ([`WindowInfo`]), so a window's reveal and scoring periods never change once it is open and
//! window numbering stays continuous across a change of length.

use crate::{pallet::*, *};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_runtime::{Perbill, traits::Saturating};

/// The longest window a change may set, in blocks (a week of 6-second blocks).
pub const MAX_WINDOW_LENGTH: u32 = 100_800;

/// The parameters an admin origin may change while a run goes on.
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
pub struct RunParameters<BlockNumber, Balance> {
	/// Blocks per window, in `2..=MAX_WINDOW_LENGTH`.
	pub window_length: BlockNumber,
	/// Blocks after a window during which its payloads are revealed: at least 1, less than the
	/// scoring period.
	pub reveal_blocks: BlockNumber,
	/// Blocks after a window during which validators' results are accepted: more than the
	/// reveal period, at most a window (the verdict comes before the next reveal period).
	pub score_deadline_blocks: BlockNumber,
	/// Blocks from `deregister` to `withdraw_deposit`: at least a window and its scoring
	/// period, so a leaving miner's last payload can still be checked while its deposit is held.
	pub deregister_cooldown: BlockNumber,
	/// Blocks from `unbond` to `withdraw_unbonded`: at least a window and its scoring period.
	pub unbonding_period: BlockNumber,
	/// Blocks during which a newcomer cannot be evicted from a full peer set.
	pub immunity_period: BlockNumber,
	/// Held from every peer that registers from now on (a registered peer keeps the deposit it
	/// paid); not zero.
	pub peer_deposit: Balance,
	/// Least stake for a validator permit.
	pub min_validator_stake: Balance,
	/// What a window pays in all (read by `GovernedEmission`), at most
	/// `Config::MaxEmissionPerWindow`.
	pub emission_per_window: Balance,
	/// Miners' share of a window's emission.
	pub miners_share: Perbill,
	/// Validators' share; the owner receives the rest. Both shares add up to at most 100 %.
	pub validators_share: Perbill,
	/// Weight of a new verdict in a miner's incentive EMA: not zero.
	pub incentive_alpha: Perbill,
	/// Weight of a new sample in a validator's agreement EMA: not zero.
	pub agreement_alpha: Perbill,
}

/// The parameters of a runtime.
pub type ParametersOf<T> = RunParameters<BlockNumberFor<T>, BalanceOf<T>>;

/// Why a parameter set is refused: each is also an [`Error`] of the pallet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParameterProblem {
	/// The window is shorter than 2 blocks or longer than `MAX_WINDOW_LENGTH`.
	WindowLength,
	/// The reveal period is 0, not shorter than the scoring period, or the scoring period is
	/// longer than a window.
	Periods,
	/// The new window is shorter than the scoring period of the window being scored when it
	/// opens.
	ShorterThanScoring,
	/// The cool-down or the unbonding period is shorter than a window and its scoring period
	/// (the new window's, or the one open when the set takes effect).
	Release,
	/// A zero deposit (registration would be free).
	Deposit,
	/// The emission exceeds `MaxEmissionPerWindow`.
	Emission,
	/// The miners' and validators' shares add up to more than 100 %.
	Shares,
	/// An EMA rate of 0 (the EMA would never move).
	Alpha,
}

impl ParameterProblem {
	/// What is wrong, for `integrity_test` and logs.
	pub fn describe(self) -> &'static str {
		match self {
			Self::WindowLength => "window_length must lie in 2..=MAX_WINDOW_LENGTH",
			Self::Periods => {
				"reveal_blocks must be at least 1 and below score_deadline_blocks, which must be at most window_length"
			},
			Self::ShorterThanScoring => {
				"window_length must be at least the score_deadline_blocks of the window it follows"
			},
			Self::Release => {
				"deregister_cooldown and unbonding_period must cover a window and its scoring period"
			},
			Self::Deposit => "peer_deposit must not be zero",
			Self::Emission => "emission_per_window must be at most MaxEmissionPerWindow",
			Self::Shares => "miners_share + validators_share must be at most 100%",
			Self::Alpha => "incentive_alpha and agreement_alpha must not be zero",
		}
	}
}

impl<T: Config> From<ParameterProblem> for Error<T> {
	fn from(p: ParameterProblem) -> Self {
		match p {
			ParameterProblem::WindowLength => Error::<T>::InvalidWindowLength,
			ParameterProblem::Periods => Error::<T>::InvalidPeriods,
			ParameterProblem::ShorterThanScoring => Error::<T>::WindowShorterThanScoring,
			ParameterProblem::Release => Error::<T>::ReleaseTooEarly,
			ParameterProblem::Deposit => Error::<T>::ZeroDeposit,
			ParameterProblem::Emission => Error::<T>::EmissionTooLarge,
			ParameterProblem::Shares => Error::<T>::SharesOverOne,
			ParameterProblem::Alpha => Error::<T>::ZeroAlpha,
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The parameters in force: stored, else (a chain before storage version 4 migrated) the
	/// runtime's `Config` values.
	pub fn params() -> ParametersOf<T> {
		Parameters::<T>::get().unwrap_or_else(Self::config_parameters)
	}

	/// The runtime's `Config` values: the parameters at genesis.
	pub fn config_parameters() -> ParametersOf<T> {
		RunParameters {
			window_length: T::WindowLength::get(),
			reveal_blocks: T::RevealBlocks::get(),
			score_deadline_blocks: T::ScoreDeadlineBlocks::get(),
			deregister_cooldown: T::DeregisterCooldown::get(),
			unbonding_period: T::UnbondingPeriod::get(),
			immunity_period: T::ImmunityPeriod::get(),
			peer_deposit: T::PeerDeposit::get(),
			min_validator_stake: T::MinValidatorStake::get(),
			emission_per_window: T::EmissionPerWindow::get(),
			miners_share: T::MinersShare::get(),
			validators_share: T::ValidatorsShare::get(),
			incentive_alpha: T::IncentiveAlpha::get(),
			agreement_alpha: T::AgreementAlpha::get(),
		}
	}

	/// What is wrong with `p` on its own, if anything.
	pub fn parameter_problem(p: &ParametersOf<T>) -> Option<ParameterProblem> {
		let length = p.window_length;
		if length < 2u32.into() || length > MAX_WINDOW_LENGTH.into() {
			return Some(ParameterProblem::WindowLength);
		}
		if p.reveal_blocks < 1u32.into()
			|| p.reveal_blocks >= p.score_deadline_blocks
			|| p.score_deadline_blocks > length
		{
			return Some(ParameterProblem::Periods);
		}
		let settled = length.saturating_add(p.score_deadline_blocks);
		if p.deregister_cooldown < settled || p.unbonding_period < settled {
			return Some(ParameterProblem::Release);
		}
		if p.peer_deposit == 0u32.into() {
			return Some(ParameterProblem::Deposit);
		}
		if p.emission_per_window > T::MaxEmissionPerWindow::get() {
			return Some(ParameterProblem::Emission);
		}
		if u64::from(p.miners_share.deconstruct()) + u64::from(p.validators_share.deconstruct())
			> u64::from(Perbill::one().deconstruct())
		{
			return Some(ParameterProblem::Shares);
		}
		if p.incentive_alpha.is_zero() || p.agreement_alpha.is_zero() {
			return Some(ParameterProblem::Alpha);
		}
		None
	}

	/// Checks `p` as the set that takes effect when the next window opens: on its own, and
	/// against the window being scored then (the current one, which opened with the parameters
	/// in force now).
	pub(crate) fn check_next_parameters(p: &ParametersOf<T>) -> Result<(), ParameterProblem> {
		if let Some(problem) = Self::parameter_problem(p) {
			return Err(problem);
		}
		let now = Self::params();
		if p.window_length < now.score_deadline_blocks {
			return Err(ParameterProblem::ShorterThanScoring);
		}
		// A peer that left (or unbonded) during the window now open is released under the new
		// periods once they are in force: they must still outlast that window and its scoring
		// period, or a shortened cool-down would free a deposit before its last payload is
		// scored.
		let open = now.window_length.saturating_add(now.score_deadline_blocks);
		if p.deregister_cooldown < open || p.unbonding_period < open {
			return Err(ParameterProblem::Release);
		}
		Ok(())
	}

	/// Schedules `p` for the next window (replacing any set scheduled before).
	pub(crate) fn do_set_parameters(p: ParametersOf<T>) -> DispatchResult {
		Self::check_next_parameters(&p).map_err(Error::<T>::from)?;
		PendingParameters::<T>::put(p);
		let window = CurrentWindow::<T>::get().saturating_add(1);
		let at_block = WindowSchedule::<T>::get().next_open;
		Self::deposit_event(Event::ParametersScheduled { window, at_block, parameters: p });
		Ok(())
	}

	/// Puts the pending parameters in force as window `w` opens (if any are pending); returns
	/// the parameters window `w` opens with.
	pub(crate) fn apply_pending_parameters(w: WindowIndex) -> ParametersOf<T> {
		match PendingParameters::<T>::take() {
			Some(p) => {
				Parameters::<T>::put(p);
				Self::deposit_event(Event::ParametersChanged { window: w, parameters: p });
				p
			},
			None => Self::params(),
		}
	}
}

/// A window's emission as governed ([`RunParameters::emission_per_window`]): the `Get` a runtime
/// hands to [`crate::Mint`] so the admin origin can change what a window pays.
pub struct GovernedEmission<T>(core::marker::PhantomData<T>);

impl<T: Config> Get<BalanceOf<T>> for GovernedEmission<T> {
	fn get() -> BalanceOf<T> {
		Pallet::<T>::params().emission_per_window
	}
}
