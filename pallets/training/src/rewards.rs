//! Paying a window's emission when its verdict is published (`docs/incentives.md`).
//!
//! The emission of window `w` ([`RewardSource::emission`]) splits three ways:
//! - **miners** (`miners_share`, governed: `parameters.rs`): registered miners that are not leaving, in proportion to their
//!   incentive weights after `w`'s verdict moved them (the EMA of their verdict scores); nothing
//!   when no validator's results counted for `w` (no verdict, no pay);
//! - **validators** (`validators_share`): dividends to the validators whose results for `w`
//!   counted, in proportion to `stake × agreement`, where agreement is an EMA of how close a
//!   validator's scores sat to the stake-weighted consensus:
//!   `sample = 1 − Σ_p |s_v(p) − m(p)| / Σ_p (s_v(p) + m(p))` over the peers `P` of the verdict
//!   (`s_v(p)` is 0 for a peer it left out; 1 when both sums are 0), `A_v ← α·sample + (1 − α)·A_v`
//!   with `α = agreement_alpha`. An empty submission samples 0, and padding a submission with
//!   peers scored 0 that the consensus also scores 0 changes nothing. A validator whose θ hash
//!   differs from the binding one samples 0 and earns nothing for `w`; one that submitted
//!   nothing earns nothing;
//! - **the owner** ([`Config::RewardsOwner`]): the rest, including the rounding dust of both
//!   pools and a pool nobody qualifies for (no miner with weight, no validator with stake). Without
//!   an owner, or where a payment fails, that amount is not paid (`burned` in the event).
//!
//! So `miners + validators + owner + burned = emission`, exactly, every window
//! ([`Event::RewardsPaid`]). Work: one pass over the peers (`MaxPeers`) and the window's
//! submissions (`MaxValidators`, each with at most `MaxPeers` results).

use crate::{pallet::*, *};
use alloc::{collections::BTreeMap, vec::Vec};
use frame_support::{pallet_prelude::*, traits::fungible};
use sp_core::H256;
use sp_runtime::{
	Perbill, Rounding,
	helpers_128bit::multiply_by_rational_with_rounding,
	traits::{Saturating, UniqueSaturatedFrom, UniqueSaturatedInto},
};

/// Where a window's rewards come from: the seam a runtime plugs its emission into (this
/// runtime mints, [`Mint`]; a Bittensor-style runtime would pay its subnet's emission).
pub trait RewardSource<AccountId, Balance> {
	/// What window `window` pays out in all.
	fn emission(window: WindowIndex) -> Balance;
	/// Pays `amount` to `who`.
	fn pay(who: &AccountId, amount: Balance) -> DispatchResult;
}

/// Mints `Emission` per window into the recipients' free balances (total issuance grows by it).
pub struct Mint<Currency, Emission>(core::marker::PhantomData<(Currency, Emission)>);

impl<AccountId, Currency, Emission> RewardSource<AccountId, Currency::Balance>
	for Mint<Currency, Emission>
where
	AccountId: Eq,
	Currency: fungible::Mutate<AccountId>,
	Emission: Get<Currency::Balance>,
{
	fn emission(_window: WindowIndex) -> Currency::Balance {
		Emission::get()
	}

	fn pay(who: &AccountId, amount: Currency::Balance) -> DispatchResult {
		Currency::mint_into(who, amount).map(|_| ())
	}
}

impl<T: Config> Pallet<T> {
	/// What `who` was paid for each retained window in `from..=to` that paid it, oldest first
	/// (at most `RetainWindows` entries: the view function and the runtime API).
	pub fn earnings_of(
		who: &T::AccountId,
		from: WindowIndex,
		to: WindowIndex,
	) -> Vec<(WindowIndex, BalanceOf<T>)> {
		// Only retained windows can hold earnings: at most RetainWindows of them.
		let current = CurrentWindow::<T>::get();
		let retain = WindowIndex::from(T::RetainWindows::get());
		let from = from.max(current.saturating_sub(retain.saturating_sub(1)));
		(from..=to.min(current))
			.filter_map(|w| Earnings::<T>::try_get(w, who).ok().map(|e| (w, e)))
			.collect()
	}
}

/// One counted submission of a window, as the verdict saw it.
pub(crate) struct Counted<'a, T: Config> {
	/// The validator.
	pub validator: &'a T::AccountId,
	/// The stake it counted with.
	pub stake: u128,
	/// Its submission.
	pub submission: &'a Submission<T>,
}

/// `pool × weight / total`, rounded down (0 when `total` is 0).
fn share(pool: u128, weight: u128, total: u128) -> u128 {
	if total == 0 {
		return 0;
	}
	multiply_by_rational_with_rounding(pool, weight, total, Rounding::Down).unwrap_or(0)
}

/// How close `scores` sit to the verdict `consensus` (both by peer): one minus the total
/// absolute difference over the total score mass, a validator's silence on a peer counting as 0.
/// An empty submission against any positive consensus is 0; peers both score 0 do not count.
pub fn agreement<A: Ord>(scores: &BTreeMap<&A, Perbill>, consensus: &[(A, Perbill)]) -> Perbill {
	let (deviation, mass) = consensus.iter().fold((0u128, 0u128), |(d, m), (peer, median)| {
		let s = u128::from(scores.get(peer).copied().unwrap_or_else(Perbill::zero).deconstruct());
		let median = u128::from(median.deconstruct());
		(d.saturating_add(s.abs_diff(median)), m.saturating_add(s).saturating_add(median))
	});
	if mass == 0 {
		return Perbill::one();
	}
	Perbill::one().saturating_sub(Perbill::from_rational(deviation.min(mass), mass))
}

impl<T: Config> Pallet<T> {
	/// Pays window `w`'s emission: `verdicts` are its consensus scores (sorted by peer),
	/// `counted` its submissions with stake, `bound` the binding θ hash if the verdict binds.
	/// Called once incentive weights have moved.
	pub(crate) fn pay_window(
		w: WindowIndex,
		verdicts: &[(T::AccountId, Perbill)],
		counted: &[Counted<'_, T>],
		bound: Option<H256>,
	) {
		let params = Self::params();
		let emission: u128 = T::Rewards::emission(w).unique_saturated_into();
		let miners_pool = params.miners_share.mul_floor(emission);
		let validators_pool = params.validators_share.mul_floor(emission);

		// Miners by incentive weight: registered, not leaving, and only for a window some
		// validator's results counted in.
		let miners: Vec<(T::AccountId, u128)> = Peers::<T>::iter()
			.filter(|(_, p)| p.role == Role::Miner && p.leaving_at.is_none() && !counted.is_empty())
			.map(|(who, _)| {
				let weight = u128::from(IncentiveWeights::<T>::get(&who).deconstruct());
				(who, weight)
			})
			.filter(|(_, weight)| *weight > 0)
			.collect();
		let total_weight = miners.iter().fold(0u128, |t, (_, w)| t.saturating_add(*w));

		// Validators by stake × agreement.
		let alpha = params.agreement_alpha;
		let mut dividends: Vec<(T::AccountId, u128)> = Vec::with_capacity(counted.len());
		for c in counted {
			let scores: BTreeMap<&T::AccountId, Perbill> =
				c.submission.results.iter().map(|r| (&r.peer, r.final_score)).collect();
			let off_theta = bound.is_some_and(|hash| hash != c.submission.theta_hash);
			let sample = if off_theta { Perbill::zero() } else { agreement(&scores, verdicts) };
			let agreed = Agreement::<T>::mutate(c.validator, |a| {
				*a = consensus::ema(*a, sample, alpha);
				*a
			});
			if !off_theta {
				dividends.push((c.validator.clone(), agreed.mul_floor(c.stake)));
			}
		}
		let total_dividend = dividends.iter().fold(0u128, |t, (_, d)| t.saturating_add(*d));

		let mut paid = Paid::default();
		for (who, weight) in &miners {
			let got = Self::pay_one(w, who, share(miners_pool, *weight, total_weight), &mut paid);
			paid.miners = paid.miners.saturating_add(got);
		}
		for (who, dividend) in &dividends {
			let amount = share(validators_pool, *dividend, total_dividend);
			let got = Self::pay_one(w, who, amount, &mut paid);
			paid.validators = paid.validators.saturating_add(got);
		}
		let rest = emission
			.saturating_sub(paid.miners)
			.saturating_sub(paid.validators)
			.saturating_sub(paid.burned);
		match T::RewardsOwner::get() {
			Some(owner) => {
				let got = Self::pay_one(w, &owner, rest, &mut paid);
				paid.owner = got;
			},
			None => paid.burned = paid.burned.saturating_add(rest),
		}
		let booked = paid
			.miners
			.saturating_add(paid.validators)
			.saturating_add(paid.owner)
			.saturating_add(paid.burned);
		if booked != emission {
			log::error!(target: LOG_TARGET, "window {w}: {booked} booked of an emission of {emission}");
		}
		let balance = BalanceOf::<T>::unique_saturated_from;
		Self::deposit_event(Event::RewardsPaid {
			window: w,
			emission: balance(emission),
			miners: balance(paid.miners),
			validators: balance(paid.validators),
			owner: balance(paid.owner),
			burned: balance(paid.burned),
			recipients: paid.recipients,
		});
	}

	/// Pays `amount` to `who` for window `w` and records it; what was paid (a failed payment
	/// counts as burned in `paid`).
	fn pay_one(w: WindowIndex, who: &T::AccountId, amount: u128, paid: &mut Paid) -> u128 {
		if amount == 0 {
			return 0;
		}
		let balance = BalanceOf::<T>::unique_saturated_from(amount);
		match T::Rewards::pay(who, balance) {
			Ok(()) => {
				paid.recipients = paid.recipients.saturating_add(1);
				Earnings::<T>::mutate(w, who, |e| *e = e.saturating_add(balance));
				amount
			},
			Err(e) => {
				log::warn!(target: LOG_TARGET, "window {w}: a reward of {amount} was not paid: {e:?}");
				paid.burned = paid.burned.saturating_add(amount);
				0
			},
		}
	}
}

/// What a window's payout came to.
#[derive(Default)]
struct Paid {
	miners: u128,
	validators: u128,
	owner: u128,
	burned: u128,
	recipients: u32,
}

#[cfg(test)]
mod tests {
	use super::*;

	fn p(percent: u32) -> Perbill {
		Perbill::from_percent(percent)
	}

	#[test]
	fn agreement_is_one_minus_the_distance_over_the_score_mass() {
		let consensus = [(1u64, p(60)), (2, p(40)), (3, p(0))];
		let same: BTreeMap<&u64, Perbill> = consensus.iter().map(|(a, s)| (a, *s)).collect();
		assert_eq!(agreement(&same, &consensus), Perbill::one());
		// 20 points off on one peer, silent on another scored 40: (20 + 40) / (140 + 40) = ⅓.
		let off: BTreeMap<&u64, Perbill> = [(&1u64, p(80)), (&3, p(0))].into_iter().collect();
		assert_eq!(agreement(&off, &consensus), Perbill::from_parts(666_666_667));
		// An empty submission agrees with nothing; padding with zeros changes nothing.
		let empty: BTreeMap<&u64, Perbill> = BTreeMap::new();
		assert_eq!(agreement(&empty, &consensus), Perbill::zero());
		let padded_consensus = [(1u64, p(60)), (2, p(40)), (3, p(0)), (4, p(0)), (5, p(0))];
		assert_eq!(agreement(&off, &padded_consensus), agreement(&off, &consensus));
		// Nothing to disagree on.
		assert_eq!(agreement(&off, &[]), Perbill::one());
		let opposite: BTreeMap<&u64, Perbill> = [(&1u64, p(0))].into_iter().collect();
		assert_eq!(agreement(&opposite, &[(1u64, p(100))]), Perbill::zero());
	}

	#[test]
	fn shares_round_down_and_never_divide_by_zero() {
		assert_eq!(share(1_000, 1, 3), 333);
		assert_eq!(share(1_000, 0, 0), 0);
		assert_eq!(share(u128::MAX, u128::MAX, u128::MAX), u128::MAX);
	}
}
