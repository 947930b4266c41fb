//! Plackett–Luce skill ratings (Weng & Lin 2011, Algorithm 4), as the OpenSkill libraries
//! compute them with their defaults: μ₀ = 25, σ₀ = 25/3, β = σ₀/2, κ = 10⁻⁴, additive dynamics
//! τ = μ₀/300 applied to every σ before the update, γ = σ/c. Each window is one "game": the
//! evaluated peers are ranked by gradient score and every rating moves once. The golden values in
//! the tests were produced by `openskill` 6.2.0 (Python): `PlackettLuce().rate(teams, ranks=…)`
//! with one player per team.

/// Initial mean.
pub const MU0: f64 = 25.0;
/// Initial deviation.
pub const SIGMA0: f64 = 25.0 / 3.0;
const BETA: f64 = SIGMA0 / 2.0;
const KAPPA: f64 = 1e-4;
const TAU: f64 = MU0 / 300.0;

/// A peer's skill: mean and deviation.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rating {
	/// Mean skill.
	pub mu: f64,
	/// Uncertainty of the mean.
	pub sigma: f64,
}

impl Default for Rating {
	fn default() -> Self {
		Self { mu: MU0, sigma: SIGMA0 }
	}
}

impl Rating {
	/// The conservative skill estimate μ − 3σ (0 for a fresh rating).
	pub fn ordinal(&self) -> f64 {
		self.mu - 3.0 * self.sigma
	}
}

/// Updates `ratings` after one game in which player `i` finished at `ranks[i]` (1 = best; equal
/// ranks are ties). Returns the new ratings in the same order.
///
/// # Panics
/// Never: mismatched lengths yield the unchanged ratings.
pub fn rate(ratings: &[Rating], ranks: &[u32]) -> Vec<Rating> {
	if ratings.len() != ranks.len() || ratings.len() < 2 {
		return ratings.to_vec();
	}
	// Additive dynamics: σ² + τ² before the game.
	let sigma2: Vec<f64> = ratings.iter().map(|r| r.sigma * r.sigma + TAU * TAU).collect();
	let c = sigma2.iter().map(|s2| s2 + BETA * BETA).sum::<f64>().sqrt();
	let exp_mu: Vec<f64> = ratings.iter().map(|r| (r.mu / c).exp()).collect();
	let n = ratings.len();
	// sum_q[q]: Σ exp(μ_i / c) over players ranked at or below q.
	let sum_q: Vec<f64> =
		(0..n).map(|q| (0..n).filter(|&i| ranks[i] >= ranks[q]).map(|i| exp_mu[i]).sum()).collect();
	// a[q]: how many players share q's rank.
	let a: Vec<f64> =
		(0..n).map(|q| ranks.iter().filter(|&&r| r == ranks[q]).count() as f64).collect();

	(0..n)
		.map(|i| {
			let (mut omega, mut delta) = (0.0f64, 0.0f64);
			for q in (0..n).filter(|&q| ranks[q] <= ranks[i]) {
				let quotient = exp_mu[i] / sum_q[q];
				delta += quotient * (1.0 - quotient) / a[q];
				if q == i {
					omega += (1.0 - quotient) / a[q];
				} else {
					omega -= quotient / a[q];
				}
			}
			omega *= sigma2[i] / c;
			delta *= sigma2[i] / (c * c);
			let gamma = sigma2[i].sqrt() / c;
			delta *= gamma;
			Rating {
				mu: ratings[i].mu + omega,
				sigma: sigma2[i].sqrt() * (1.0 - delta).max(KAPPA).sqrt(),
			}
		})
		.collect()
}

/// Ranks (1 = best, ties equal) of `scores`, highest score first. Non-finite scores rank last.
pub fn ranks_of(scores: &[f64]) -> Vec<u32> {
	let key = |s: f64| if s.is_finite() { s } else { f64::NEG_INFINITY };
	scores.iter().map(|&s| 1 + scores.iter().filter(|&&o| key(o) > key(s)).count() as u32).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn check(got: &[Rating], want: &[(f64, f64)]) {
		assert_eq!(got.len(), want.len());
		for (g, (mu, sigma)) in got.iter().zip(want) {
			assert!((g.mu - mu).abs() < 1e-9, "μ {} vs {mu}", g.mu);
			assert!((g.sigma - sigma).abs() < 1e-9, "σ {} vs {sigma}", g.sigma);
		}
	}

	fn r(mu: f64, sigma: f64) -> Rating {
		Rating { mu, sigma }
	}

	#[test]
	fn golden_values_from_openskill() {
		let fresh = [Rating::default(); 3];
		check(
			&rate(&fresh, &[1, 2, 3]),
			&[
				(27.869048680749426, 8.205243377397993),
				(25.717262170187357, 8.058224222802378),
				(21.413689149063217, 8.058224222802378),
			],
		);
		check(
			&rate(&[r(30.0, 5.0), r(20.0, 7.0), r(25.0, SIGMA0), r(27.0, 2.0)], &[2, 1, 4, 3]),
			&[
				(30.466781754904602, 4.955466901053256),
				(22.771440929308632, 6.947986177852794),
				(20.367131437600225, 7.843122342350909),
				(26.965895081636, 2.000066303554973),
			],
		);
		check(
			&rate(&fresh, &[1, 1, 2]),
			&[
				(25.717262170187357, 8.205243377397993),
				(25.717262170187357, 8.205243377397993),
				(23.565475659625285, 8.205243377397993),
			],
		);
		check(
			&rate(&fresh[..2], &[1, 2]),
			&[(27.635389493140497, 8.06590141354368), (22.364610506859503, 8.06590141354368)],
		);
	}

	#[test]
	fn winners_rise_losers_fall_and_a_lone_player_is_unchanged() {
		let after = rate(&[Rating::default(); 4], &[1, 2, 3, 4]);
		assert!(after[0].ordinal() > after[3].ordinal());
		assert!(after.windows(2).all(|w| w[0].mu > w[1].mu));
		assert_eq!(rate(&[Rating::default()], &[1]), vec![Rating::default()]);
		assert_eq!(rate(&[Rating::default(); 2], &[1]), vec![Rating::default(); 2]);
	}

	#[test]
	fn ranks_put_the_highest_score_first_with_ties_and_nan_last() {
		assert_eq!(ranks_of(&[0.1, 0.3, 0.2]), vec![3, 1, 2]);
		assert_eq!(ranks_of(&[0.5, 0.5, f64::NAN]), vec![1, 1, 3]);
	}
}
