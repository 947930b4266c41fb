//! On-chain consensus arithmetic (DESIGN.md §3), pure and deterministic: the stake-weighted
//! median of the validators' scores for a peer, and the exponential moving average that turns
//! verdicts into an incentive weight. Scores are `Perbill` fixed-point, never floats.

use sp_runtime::{PerThing, Perbill, traits::Saturating};

/// The stake-weighted (lower) median of `(score, stake)` pairs: the smallest score `s` such that
/// the validators scoring at most `s` hold at least half of the total stake. Entries with zero
/// stake count for nothing; `None` when no stake is present.
///
/// A coalition holding less than half of the stake cannot move the result outside the range of
/// the other validators' scores. Input order does not matter.
pub fn stake_weighted_median(entries: &mut [(Perbill, u128)]) -> Option<Perbill> {
	let total = entries.iter().fold(0u128, |acc, &(_, stake)| acc.saturating_add(stake));
	if total == 0 {
		return None;
	}
	entries.sort_unstable_by_key(|&(score, _)| score);
	let mut below = 0u128;
	for &(score, stake) in entries.iter() {
		below = below.saturating_add(stake);
		// "At least half" without overflow: below ≥ ⌈total / 2⌉.
		if below >= total - total / 2 {
			return Some(score);
		}
	}
	entries.last().map(|&(score, _)| score)
}

/// Whether `backed` out of `total` stake is strictly more than `threshold` of it (a verdict's
/// inclusion list and θ hash bind only then), compared exactly: `backed / total > threshold`.
/// Nothing binds without stake.
pub fn binds(backed: u128, total: u128, threshold: Perbill) -> bool {
	use sp_core::U256;
	let billion = U256::from(Perbill::ACCURACY);
	total > 0
		&& U256::from(backed) * billion > U256::from(threshold.deconstruct()) * U256::from(total)
}

/// One step of the incentive EMA: `alpha · sample + (1 − alpha) · previous`, rounded down.
pub fn ema(previous: Perbill, sample: Perbill, alpha: Perbill) -> Perbill {
	(alpha * sample).saturating_add((Perbill::one() - alpha) * previous)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn p(parts: u32) -> Perbill {
		Perbill::from_percent(parts)
	}

	#[test]
	fn binding_needs_strictly_more_than_the_threshold() {
		// The runtime's ⅔: 666 666 667 parts per billion, just above two thirds.
		let two_thirds = Perbill::from_parts(666_666_667);
		assert!(!binds(0, 0, two_thirds), "no stake, nothing binds");
		assert!(!binds(2, 3, two_thirds), "exactly two thirds is not more");
		assert!(binds(3, 3, two_thirds));
		assert!(binds(67, 100, two_thirds));
		assert!(!binds(66, 100, two_thirds));
		assert!(!binds(u128::MAX / 2, u128::MAX, two_thirds));
		assert!(binds(u128::MAX, u128::MAX, two_thirds));
	}

	#[test]
	fn single_validator_is_the_median() {
		assert_eq!(stake_weighted_median(&mut [(p(42), 10)]), Some(p(42)));
	}

	#[test]
	fn no_stake_no_verdict() {
		assert_eq!(stake_weighted_median(&mut []), None);
		assert_eq!(stake_weighted_median(&mut [(p(10), 0), (p(20), 0)]), None);
	}

	#[test]
	fn equal_stakes_take_the_lower_middle() {
		assert_eq!(stake_weighted_median(&mut [(p(30), 1), (p(10), 1), (p(20), 1)]), Some(p(20)));
		assert_eq!(
			stake_weighted_median(&mut [(p(40), 1), (p(10), 1), (p(30), 1), (p(20), 1)]),
			Some(p(20))
		);
	}

	#[test]
	fn stake_decides_between_disagreeing_validators() {
		// A validator with 70% of the stake says 80%; two with 15% each say 10% and 20%.
		let mut v = [(p(10), 15), (p(80), 70), (p(20), 15)];
		assert_eq!(stake_weighted_median(&mut v), Some(p(80)));
		// With 40% it no longer decides alone.
		let mut v = [(p(10), 30), (p(80), 40), (p(20), 30)];
		assert_eq!(stake_weighted_median(&mut v), Some(p(20)));
	}

	#[test]
	fn colluding_minority_cannot_leave_the_honest_range() {
		// Honest validators (60% of stake) score a peer 50–60%; a colluding 40% says 100% or 0%.
		for collusion in [p(100), p(0)] {
			let mut v = [(p(50), 20), (p(55), 20), (p(60), 20), (collusion, 20), (collusion, 20)];
			let m = stake_weighted_median(&mut v).expect("stake present");
			assert!(m >= p(50) && m <= p(60), "{m:?} with collusion at {collusion:?}");
		}
	}

	#[test]
	fn order_does_not_matter_and_zero_stake_is_ignored() {
		let base = [(p(5), 3), (p(90), 1), (p(40), 2), (p(60), 0), (p(70), 4)];
		let want = stake_weighted_median(&mut base.clone());
		let mut rotated = base;
		rotated.rotate_left(2);
		assert_eq!(stake_weighted_median(&mut rotated), want);
		let without_zero: Vec<_> = base.iter().copied().filter(|&(_, s)| s > 0).collect();
		assert_eq!(stake_weighted_median(&mut without_zero.clone()), want);
	}

	#[test]
	fn huge_stakes_do_not_overflow() {
		let mut v = [(p(10), u128::MAX), (p(20), u128::MAX), (p(30), 1)];
		assert_eq!(stake_weighted_median(&mut v), Some(p(10)));
	}

	#[test]
	fn ema_moves_toward_the_sample_and_stays_bounded() {
		let alpha = Perbill::from_percent(10);
		assert_eq!(ema(p(0), p(100), alpha), p(10));
		assert_eq!(ema(p(100), p(100), alpha), p(100));
		assert_eq!(ema(p(50), p(50), alpha), p(50));
		let mut w = Perbill::zero();
		for _ in 0..200 {
			w = ema(w, Perbill::one(), alpha);
		}
		assert!(w > Perbill::from_percent(99) && w <= Perbill::one());
		assert_eq!(ema(p(70), p(20), Perbill::one()), p(20));
		assert_eq!(ema(p(70), p(20), Perbill::zero()), p(70));
	}
}
