//! From a window's screened and evaluated updates to each peer's result (DESIGN.md §5):
//!
//! - gradient score `g` = relative improvement on random data;
//! - honest indicator: +1 when the update improves the miner's assigned data more than random
//!   data (it trained on what it was given), else −1; its EMA is kept per peer;
//! - Plackett–Luce rating: the window's evaluated (clean) updates play one game, ranked by
//!   `g`; set-aside updates do not play (an adversary must not gain rating by finishing above
//!   the invalid ones);
//! - final score = `σ(ordinal / σ₀) × (1 + EMA) / 2 × sync × q`, in `[0, 1]`, and 0 for any
//!   flagged update. `σ` is the logistic function: it maps the rating's conservative estimate
//!   `μ − 3σ` (0 for a newcomer, unbounded) monotonically into `(0, 1)`, so ratings order final
//!   scores as the design's "ordinal × indicator × sync" intends, without negative scores.
//!   `q = clamp(g / g_best, 0, 1)` is the update's gradient score relative to the window's best:
//!   ranks alone cannot tell an update that barely helps (random noise, ~1 % of an honest
//!   update's `g`) from a good one, and `q` makes it earn accordingly — an update that does not
//!   lower the random-data loss earns nothing, and a miner whose weight stays far below the
//!   best leaves the aggregation set.
//!
//! [`Scored::fixed_point`] gives the on-chain integers: losses in µnats, `g` in ppm, μ and σ in
//! millionths, the final score in parts per billion.

use super::{Losses, rating, state::GauntletState};
use crate::round::Screened;
use std::collections::BTreeMap;

/// Scoring settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreConfig {
	/// Weight of the newest sample in the honest-indicator EMA.
	pub indicator_alpha: f64,
}

impl Default for ScoreConfig {
	fn default() -> Self {
		Self { indicator_alpha: 0.3 }
	}
}

/// One peer's result for the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
	/// The miner.
	pub account: [u8; 32],
	/// Its losses, when its update was evaluated.
	pub losses: Option<Losses>,
	/// Relative improvement on random data (0 when not evaluated).
	pub gradient_score: f64,
	/// The update was trained from the window's θ.
	pub synced: bool,
	/// Rating after this window.
	pub rating: rating::Rating,
	/// Honest-indicator EMA after this window, in `[−1, 1]`.
	pub indicator: f64,
	/// Final score in `[0, 1]`.
	pub final_score: f64,
	/// Why the update was set aside (`round::flags` bits).
	pub flags: u8,
}

/// The on-chain integers of a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
	/// µnats.
	pub loss_before_assigned: u32,
	/// µnats.
	pub loss_after_assigned: u32,
	/// µnats.
	pub loss_before_random: u32,
	/// µnats.
	pub loss_after_random: u32,
	/// ppm, signed.
	pub gradient_score: i32,
	/// Millionths.
	pub rating_mu: u32,
	/// Millionths.
	pub rating_sigma: u32,
	/// Parts per billion.
	pub final_score: u32,
}

fn micro_u32(x: f64) -> u32 {
	if x.is_finite() { (x * 1e6).round().clamp(0.0, f64::from(u32::MAX)) as u32 } else { 0 }
}

impl Scored {
	/// The result as the chain stores it.
	pub fn fixed_point(&self) -> FixedPoint {
		let l = self.losses;
		let g = self.gradient_score * 1e6;
		FixedPoint {
			loss_before_assigned: micro_u32(l.map_or(0.0, |l| l.before_assigned)),
			loss_after_assigned: micro_u32(l.map_or(0.0, |l| l.after_assigned)),
			loss_before_random: micro_u32(l.map_or(0.0, |l| l.before_random)),
			loss_after_random: micro_u32(l.map_or(0.0, |l| l.after_random)),
			gradient_score: if g.is_finite() {
				g.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
			} else {
				0
			},
			rating_mu: micro_u32(self.rating.mu),
			rating_sigma: micro_u32(self.rating.sigma),
			final_score: (self.final_score.clamp(0.0, 1.0) * 1e9).round() as u32,
		}
	}
}

fn logistic(x: f64) -> f64 {
	1.0 / (1.0 + (-x).exp())
}

/// Scores the window: `screened` in screening order, `losses[i]` the evaluation of
/// `screened[i]` (`None` when it was not evaluated). Updates `state` (ratings, indicators).
pub fn score_window(
	screened: &[Screened],
	losses: &[Option<Losses>],
	state: &mut GauntletState,
	config: &ScoreConfig,
) -> Vec<Scored> {
	// The window's game: the evaluated (clean) updates, ranked by gradient score.
	let evaluated: Vec<usize> = (0..screened.len())
		.filter(|&i| {
			screened[i].flags == 0 && losses[i].is_some_and(|l| l.gradient_score().is_finite())
		})
		.collect();
	let gradient = |i: usize| losses[i].map_or(0.0, |l| l.gradient_score());
	let ranks = rating::ranks_of(&evaluated.iter().map(|&i| gradient(i)).collect::<Vec<_>>());
	let before: Vec<rating::Rating> =
		evaluated.iter().map(|&i| state.peer(&screened[i].account).rating).collect();
	let mut ratings: BTreeMap<usize, rating::Rating> =
		evaluated.iter().copied().zip(rating::rate(&before, &ranks)).collect();
	let best = evaluated.iter().map(|&i| gradient(i)).fold(0.0f64, f64::max);

	screened
		.iter()
		.zip(losses)
		.enumerate()
		.map(|(i, (s, l))| {
			let honest = s.flags == 0 && l.is_some_and(|l| l.assigned_gain() > l.random_gain());
			let peer = state.peer_mut(&s.account);
			let sample = if honest { 1.0 } else { -1.0 };
			peer.indicator += config.indicator_alpha * (sample - peer.indicator);
			if let Some(r) = ratings.remove(&i) {
				peer.rating = r;
			}
			let rating = peer.rating;
			let synced = s.flags & tessera_chain::flags::DIVERGED == 0;
			let quality = if best > 0.0 { (gradient(i) / best).clamp(0.0, 1.0) } else { 0.0 };
			let final_score = if s.flags == 0 && l.is_some() {
				logistic(rating.ordinal() / rating::SIGMA0) * (1.0 + peer.indicator) / 2.0 * quality
			} else {
				0.0
			};
			Scored {
				account: s.account,
				losses: *l,
				gradient_score: gradient(i),
				synced,
				rating,
				indicator: peer.indicator,
				final_score,
				flags: s.flags,
			}
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_chain::flags;

	fn screened(account: u8, flags: u8) -> Screened {
		Screened {
			account: [account; 32],
			committed: None,
			payload: None,
			indices: None,
			flags,
			reasons: vec![],
			copies_a_member: false,
		}
	}

	fn losses(assigned_gain: f64, random_gain: f64) -> Option<Losses> {
		Some(Losses {
			before_assigned: 5.0,
			after_assigned: 5.0 - assigned_gain,
			before_random: 5.0,
			after_random: 5.0 - random_gain,
		})
	}

	#[test]
	fn honest_updates_outscore_noise_and_flagged_updates_score_zero() {
		let mut state = GauntletState::default();
		let peers = [
			screened(1, 0),              // honest, best
			screened(2, 0),              // honest
			screened(3, 0),              // noise: worse on both
			screened(4, flags::INVALID), // set aside
			screened(5, 0),              // barely helps
		];
		let evals =
			[losses(0.8, 0.3), losses(0.6, 0.2), losses(-0.5, -0.4), None, losses(0.002, 0.003)];
		let mut last = Vec::new();
		for _ in 0..5 {
			last = score_window(&peers, &evals, &mut state, &ScoreConfig::default());
		}
		let by = |a: u8| last.iter().find(|s| s.account == [a; 32]).unwrap();
		assert!(by(1).final_score > by(2).final_score);
		assert!(by(2).final_score > 0.0);
		assert_eq!(by(3).final_score, 0.0, "an update that makes things worse earns nothing");
		assert!(by(3).rating.mu < by(2).rating.mu);
		assert_eq!(by(4).final_score, 0.0);
		assert!(
			by(5).final_score < 0.05 * by(2).final_score,
			"barely helping earns barely anything"
		);
		assert!(by(1).indicator > 0.8 && by(3).indicator < -0.8);
		assert_eq!(by(4).rating, rating::Rating::default(), "set-aside updates do not play");
		let fp = by(1).fixed_point();
		assert_eq!(fp.loss_before_assigned, 5_000_000);
		assert_eq!(fp.loss_after_random, 4_700_000);
		assert_eq!(fp.gradient_score, 60_000);
		assert!(fp.final_score > 0 && fp.final_score <= 1_000_000_000);
	}

	#[test]
	fn a_diverged_update_is_not_synced_and_scores_zero() {
		let mut state = GauntletState::default();
		let out = score_window(
			&[screened(1, 0), screened(2, flags::DIVERGED)],
			&[losses(0.5, 0.2), losses(0.5, 0.2)],
			&mut state,
			&ScoreConfig::default(),
		);
		assert!(out[0].synced && !out[1].synced);
		assert_eq!(out[1].final_score, 0.0);
	}

	#[test]
	fn fixed_point_saturates_instead_of_wrapping() {
		let mut s = Scored {
			account: [0; 32],
			losses: Some(Losses {
				before_assigned: f64::NAN,
				after_assigned: 1e12,
				before_random: -1.0,
				after_random: 1.0,
			}),
			gradient_score: -1e9,
			synced: true,
			rating: rating::Rating { mu: -3.0, sigma: 1.0 },
			indicator: 0.0,
			final_score: 2.0,
			flags: 0,
		};
		let fp = s.fixed_point();
		assert_eq!(fp.loss_before_assigned, 0);
		assert_eq!(fp.loss_after_assigned, u32::MAX);
		assert_eq!(fp.loss_before_random, 0);
		assert_eq!(fp.gradient_score, i32::MIN);
		assert_eq!(fp.rating_mu, 0);
		assert_eq!(fp.final_score, 1_000_000_000);
		s.gradient_score = f64::NAN;
		assert_eq!(s.fixed_point().gradient_score, 0);
	}
}
