//! Validator permits (DESIGN.md §3): when a window opens, the validators allowed to score it are
//! the top `MaxValidators` registered, non-leaving validators by stake, among those with at least
//! `MinValidatorStake`. Pure selection logic here; where stake comes from is the runtime's
//! choice ([`StakeInfo`]).

use alloc::vec::Vec;
use core::marker::PhantomData;

/// The stake of an account, wherever the runtime keeps it (our runtime: funds held by this
/// pallet's `bond`; a Bittensor-style runtime: its staking pallet).
pub trait StakeInfo<AccountId, Balance> {
	/// Stake currently backing `who`.
	fn stake_of(who: &AccountId) -> Balance;
}

/// A validator eligible for a permit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate<AccountId, Balance> {
	/// The validator.
	pub who: AccountId,
	/// Its stake.
	pub stake: Balance,
	/// Its registration index (earlier registration wins ties).
	pub index: u32,
}

/// The permitted validators with their stakes: stake ≥ `min`, highest stake first (ties: lower
/// registration index), at most `max`. Deterministic for any input order.
pub fn select<AccountId, Balance: Ord + Copy>(
	mut candidates: Vec<Candidate<AccountId, Balance>>,
	min: Balance,
	max: usize,
) -> Vec<(AccountId, Balance)> {
	candidates.retain(|c| c.stake >= min);
	candidates.sort_by(|a, b| b.stake.cmp(&a.stake).then(a.index.cmp(&b.index)));
	candidates.into_iter().take(max).map(|c| (c.who, c.stake)).collect()
}

/// Stake as the funds this pallet holds from an account under `HoldReason::ValidatorStake`,
/// less what is unbonding.
pub struct HeldStake<T>(PhantomData<T>);

impl<T: crate::Config> StakeInfo<T::AccountId, crate::BalanceOf<T>> for HeldStake<T> {
	fn stake_of(who: &T::AccountId) -> crate::BalanceOf<T> {
		crate::Pallet::<T>::bonded_stake(who)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn c(who: u64, stake: u64, index: u32) -> Candidate<u64, u64> {
		Candidate { who, stake, index }
	}

	fn who(selected: Vec<(u64, u64)>) -> Vec<u64> {
		selected.into_iter().map(|(who, _)| who).collect()
	}

	#[test]
	fn top_by_stake_above_the_minimum() {
		let v = vec![c(1, 50, 0), c(2, 300, 1), c(3, 100, 2), c(4, 200, 3), c(5, 99, 4)];
		assert_eq!(select(v, 100, 2), vec![(2, 300), (4, 200)]);
	}

	#[test]
	fn ties_go_to_earlier_registration_and_order_does_not_matter() {
		let v = vec![c(7, 100, 5), c(8, 100, 2), c(9, 100, 9)];
		assert_eq!(who(select(v.clone(), 100, 2)), vec![8, 7]);
		let mut r = v;
		r.reverse();
		assert_eq!(who(select(r, 100, 2)), vec![8, 7]);
	}

	#[test]
	fn nobody_qualifies() {
		assert!(select(vec![c(1, 10, 0)], 100, 4).is_empty());
		assert!(select(Vec::<Candidate<u64, u64>>::new(), 0, 4).is_empty());
	}
}
