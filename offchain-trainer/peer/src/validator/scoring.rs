//! One window a validator is scoring: its screened updates and their losses (evaluated when
//! the reveal period ends), late uploads noticed until the submission, then the window's
//! results — as report records and as the chain's `PeerResult`s.

use crate::follow::Stepped;
use crate::gauntlet::{GauntletState, Losses, ScoreConfig, Scored, score_window};
use crate::report::PeerScore;
use crate::round::{Screened, flags};
use rand::Rng;
use tessera_chain::training::PeerResult;

/// How the validator fills in final scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScorePolicy {
	/// As the Gauntlet computes them.
	#[default]
	Honest,
	/// Uniformly random (a dishonest validator, for tests of the stake-weighted verdict).
	Random,
}

/// A window awaiting its submission.
pub struct Scoring {
	/// The window.
	pub window: u64,
	/// Its outer step.
	pub stepped: Stepped,
	/// Losses of `stepped.screened[i]`, when evaluated.
	pub losses: Vec<Option<Losses>>,
}

impl Scoring {
	/// Marks `accounts` (seen after the reveal period) late instead of missing.
	pub fn mark_late(&mut self, accounts: &[[u8; 32]]) {
		for s in self
			.stepped
			.screened
			.iter_mut()
			.filter(|s| accounts.contains(&s.account) && s.flags & flags::MISSING != 0)
		{
			s.flags = (s.flags & !flags::MISSING) | flags::LATE;
			s.reasons.push("uploaded after the reveal period".into());
		}
	}

	/// Scores the window (moving `state`) and applies `policy`.
	pub fn score(
		&self,
		state: &mut GauntletState,
		config: &ScoreConfig,
		policy: ScorePolicy,
	) -> Vec<Scored> {
		let mut scored = score_window(&self.stepped.screened, &self.losses, state, config);
		if policy == ScorePolicy::Random {
			let mut rng = rand::rng();
			for s in &mut scored {
				s.final_score = rng.random::<f64>();
			}
		}
		scored
	}

	/// The results the chain accepts: peers that are still registered.
	pub fn chain_results(&self, scored: &[Scored]) -> Vec<PeerResult> {
		scored
			.iter()
			.zip(&self.stepped.screened)
			.filter(|(_, s)| registered(s))
			.map(|(r, _)| to_chain(r))
			.collect()
	}
}

/// A screened peer the chain still knows (set members always are; a committer once its
/// location is gone is not).
fn registered(s: &Screened) -> bool {
	s.committed.as_ref().is_none_or(|c| c.location.is_some())
}

/// The chain's form of a result.
pub fn to_chain(r: &Scored) -> PeerResult {
	use tessera_chain::runtime::runtime_types::{
		pallet_training::gauntlet::Flags, sp_arithmetic::per_things::Perbill,
	};
	let fp = r.fixed_point();
	PeerResult {
		peer: r.account.into(),
		loss_before_assigned: fp.loss_before_assigned,
		loss_after_assigned: fp.loss_after_assigned,
		loss_before_random: fp.loss_before_random,
		loss_after_random: fp.loss_after_random,
		gradient_score: fp.gradient_score,
		synced: r.synced,
		rating_mu: fp.rating_mu,
		rating_sigma: fp.rating_sigma,
		final_score: Perbill(fp.final_score),
		flags: Flags(r.flags),
	}
}

/// The report's form of a result.
pub fn to_report(r: &Scored) -> PeerScore {
	PeerScore {
		peer: tessera_chain::address::ss58(&r.account),
		final_score: r.final_score,
		gradient_score: r.gradient_score,
		assigned_gain: r.losses.map(|l| l.assigned_gain()),
		random_gain: r.losses.map(|l| l.random_gain()),
		mu: r.rating.mu,
		sigma: r.rating.sigma,
		indicator: r.indicator,
		flags: flags::names(r.flags).into_iter().map(String::from).collect(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::round::{Committed, Screened, WindowRecord};

	fn screened(account: u8, flags: u8, committed: bool) -> Screened {
		Screened {
			account: [account; 32],
			committed: committed.then_some(Committed {
				account: [account; 32],
				payload_hash: [0; 32],
				payload_len: 1,
				committed_at: 1,
				location: None,
			}),
			payload: None,
			indices: None,
			flags,
			reasons: vec![],
			copies_a_member: false,
		}
	}

	#[test]
	fn payload_uploaded_late_turns_missing_into_late_and_scores_zero() {
		let mut scoring = Scoring {
			window: 3,
			stepped: Stepped {
				window: 3,
				record: WindowRecord::default(),
				seed: None,
				eval_seed: None,
				screened: vec![
					screened(1, flags::MISSING, true),
					screened(2, flags::INVALID, true),
				],
				inclusion: vec![],
				theta_before_hash: [0; 32],
				theta_hash: [0; 32],
				provisional: true,
			},
			losses: vec![None, None],
		};
		// Only a missing update can be late; an invalid one stays invalid.
		scoring.mark_late(&[[1; 32], [2; 32]]);
		assert_eq!(scoring.stepped.screened[0].flags, flags::LATE);
		assert_eq!(scoring.stepped.screened[1].flags, flags::INVALID);
		let scored = scoring.score(
			&mut GauntletState::default(),
			&ScoreConfig::default(),
			ScorePolicy::Honest,
		);
		assert!(scored.iter().all(|s| s.final_score == 0.0));
		// A committer that deregistered (no location any more) is left out of the chain's list.
		assert!(scoring.chain_results(&scored).is_empty());
		let random = scoring.score(
			&mut GauntletState::default(),
			&ScoreConfig::default(),
			ScorePolicy::Random,
		);
		assert_eq!(random.len(), 2);
	}
}
