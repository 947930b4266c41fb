//! Property tests of the protocol machines, driven together the way the real drivers drive
//! them, on a simulated chain whose blocks come at random intervals, seen by a peer that lags
//! at random, whose work takes random time and whose verdicts sometimes disagree:
//!
//! - a miner never trains on a θ that is not the network's θ_w (the follower holds θ_w and is
//!   in sync when training starts);
//! - a miner never commits twice in a window, and only a window it trained;
//! - a miner never uploads before the reveal period opens (nor after it);
//! - a follower never applies a window twice onto the same θ (each step or replay builds on
//!   exactly the window before it);
//! - a validator never submits twice for a window, and only a window it evaluated.

use proptest::prelude::*;
use std::collections::{BTreeSet, VecDeque};
use tessera_protocol::{
	Block, Follower, Margins, Millis, Miner, MinerAction, Timing, Trained, Validator,
	ValidatorAction, Window,
	follower::{FollowerAction, Replayed, VerdictCheck},
};

/// One simulated run's randomness.
#[derive(Clone, Debug)]
struct World {
	timing: Timing,
	/// Milliseconds between consecutive blocks.
	intervals: Vec<u64>,
	/// How late the peer sees each block.
	lags: Vec<u64>,
	/// Durations of the peer's work, drawn per use.
	work: Vec<u64>,
	/// Whether each settlement, recomputation or replay agrees with the chain.
	agree: Vec<bool>,
}

fn world() -> impl Strategy<Value = World> {
	(
		(2u64..12, 1u64..4, 0u64..8),
		prop::collection::vec(300u64..5_000, 120),
		prop::collection::vec(0u64..4_000, 120),
		prop::collection::vec(0u64..3_000, 400),
		prop::collection::vec(prop::bool::weighted(0.8), 200),
	)
		.prop_map(|((length, reveal, extra), intervals, lags, work, agree)| World {
			timing: Timing::uniform(length, reveal, reveal + 1 + extra),
			intervals,
			lags,
			work,
			agree,
		})
}

/// Hands out the world's random draws in order (cycling).
struct Draws<'a, T: Copy>(&'a [T], usize);

impl<T: Copy> Draws<'_, T> {
	fn next(&mut self) -> T {
		let v = self.0[self.1 % self.0.len()];
		self.1 += 1;
		v
	}
}

/// What one run did: windows trained, committed, uploaded and submitted.
#[derive(Debug, Default)]
struct Tally {
	trained: usize,
	committed: usize,
	uploaded: usize,
	submitted: usize,
}

/// What one run broke, if anything; else what it did.
fn run(world: &World) -> Result<Tally, String> {
	let t = world.timing;
	let mut times = vec![0u64; world.intervals.len() + 1];
	let mut at = 1_700_000_000_000u64;
	for (n, dt) in world.intervals.iter().enumerate() {
		at += dt;
		times[n + 1] = at;
	}
	let block_at = |n: Block| times.get(n as usize).copied().unwrap_or(Millis::MAX);
	let mut work = Draws(&world.work, 0);
	let mut agree = Draws(&world.agree, 0);

	let mut follower = Follower::new(t, None);
	let mut miner = Miner::new(t, Margins::default());
	let mut validator = Validator::new(t, Margins::default(), None);
	let (mut trained, mut committed, mut evaluated, mut submitted) =
		(BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
	let mut now: Millis = 0;
	let mut uploaded = 0;

	for n in 1..world.intervals.len() as Block {
		now = now.max(block_at(n) + world.lags[n as usize % world.lags.len()]);
		// Actions are executed in the order given, as the real drivers do.
		let mut miner_actions = VecDeque::from(miner.on_finalized_block(n, block_at(n), now));
		let mut validator_actions =
			VecDeque::from(validator.on_finalized_block(n, block_at(n), now));
		// The follower: everything due at this block (a bounded number of actions: it never
		// re-syncs forever).
		// The driver may find the next window's payloads all read at any block (it only ever
		// does inside the reveal period; the machine must not step earlier even if told so).
		if agree.next() {
			follower.on_reveal_complete(follower.applied().map_or(0, |a| a + 1));
		}
		let mut asked = 0;
		while let Some(action) = follower.next(n) {
			asked += 1;
			if asked > 10 * n + 100 {
				return Err(format!("the follower keeps asking at block {n}: {action:?}"));
			}
			let expected = action_window(&action).checked_sub(1);
			match action {
				FollowerAction::Step { window } => {
					if follower.applied() != expected {
						return Err(format!("step {window} on θ after {:?}", follower.applied()));
					}
					if n < t.reveal_start(window) {
						return Err(format!(
							"step {window} at block {n}, before its reveal period"
						));
					}
					now += work.next();
					follower.on_stepped(window);
					validator_actions.extend(validator.on_stepped(window, true, now));
				},
				FollowerAction::Replay { window } => {
					if follower.applied() != expected {
						return Err(format!("replay {window} on θ after {:?}", follower.applied()));
					}
					now += work.next();
					let r = if agree.next() { Replayed::Reproduced } else { Replayed::Mismatch };
					let follow_up = follower.on_replayed(window, r);
					restore(&mut follower, follow_up, &mut agree);
					validator_actions.extend(validator.on_stepped(window, false, now));
				},
				FollowerAction::Settle { window } => {
					let check =
						if agree.next() { VerdictCheck::Agrees } else { VerdictCheck::Differs };
					let follow_up = follower.on_verdict(window, check);
					if follow_up.contains(&FollowerAction::Recompute { window }) {
						now += work.next();
						let more = follower.on_recomputed(window, agree.next());
						restore(&mut follower, more, &mut agree);
					}
				},
				other => return Err(format!("follower asked for {other:?} from next()")),
			}
		}
		if let Some(applied) = follower.applied() {
			miner_actions.extend(miner.on_theta(applied + 1, follower.in_sync(), now));
		}
		// The miner's actions, and what they lead to.
		while let Some(action) = miner_actions.pop_front() {
			match action {
				MinerAction::Train { window, stop_at } => {
					if follower.applied().map(|a| a + 1) != Some(window) || !follower.in_sync() {
						return Err(format!(
							"trains {window} on θ after {:?} (in sync: {})",
							follower.applied(),
							follower.in_sync()
						));
					}
					trained.insert(window);
					let step = work.next().max(1);
					let mut steps = 0;
					while now + step <= stop_at && steps < 30 {
						now += step;
						steps += 1;
					}
					let build = work.next();
					now += build;
					let built = Trained {
						built: steps > 0,
						longest_step_ms: (steps > 0).then_some(step),
						build_ms: (steps > 0).then_some(build),
					};
					miner_actions.extend(miner.on_training_done(window, built, now));
				},
				MinerAction::Commit { window } => {
					if !trained.contains(&window) || !committed.insert(window) {
						return Err(format!("commits {window} twice or untrained"));
					}
					let tx = work.next();
					now += tx;
					let included = now <= block_at(t.last_commit_block(window));
					miner_actions.extend(miner.on_commit_result(window, included, tx));
				},
				MinerAction::Upload { window } => {
					if n < t.reveal_start(window) || n >= t.reveal_end(window) {
						return Err(format!("uploads {window} at block {n}"));
					}
					if !committed.contains(&window) {
						return Err(format!("uploads {window} without a commitment"));
					}
					uploaded += 1;
				},
				MinerAction::SitOut { .. } => {},
			}
		}
		// The validator's.
		while let Some(action) = validator_actions.pop_front() {
			match action {
				ValidatorAction::Evaluate { window } => {
					evaluated.insert(window);
					let took = work.next();
					now += took;
					validator_actions.extend(validator.on_evaluated(window, took, now));
				},
				ValidatorAction::Submit { window } => {
					if !evaluated.contains(&window) || !submitted.insert(window) {
						return Err(format!("submits {window} twice or unevaluated"));
					}
					let tx = work.next();
					now += tx;
					validator_actions.extend(validator.on_submit_result(window, true, tx));
				},
				ValidatorAction::Skip { .. } => {},
			}
		}
	}
	Ok(Tally {
		trained: trained.len(),
		committed: committed.len(),
		uploaded,
		submitted: submitted.len(),
	})
}

fn action_window(action: &FollowerAction) -> Window {
	match action {
		FollowerAction::Step { window }
		| FollowerAction::Replay { window }
		| FollowerAction::Settle { window }
		| FollowerAction::Recompute { window }
		| FollowerAction::Resync { window, .. }
		| FollowerAction::Diverged { window }
		| FollowerAction::Confirmed { window } => *window,
	}
}

/// Executes re-syncs: a checkpoint some windows back, or θ_0.
fn restore(follower: &mut Follower, actions: Vec<FollowerAction>, agree: &mut Draws<'_, bool>) {
	for a in actions {
		if let FollowerAction::Resync { window, network_only, .. } = a {
			let to = if network_only || agree.next() { None } else { window.checked_sub(2) };
			follower.on_restored(window, to);
		}
	}
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

	#[test]
	fn the_machines_keep_the_protocol_whatever_the_timing(world in world()) {
		if let Err(broken) = run(&world) {
			prop_assert!(false, "{}", broken);
		}
	}
}

/// The simulation is not vacuous: on a steady chain every role does its work every window.
#[test]
fn a_steady_world_trains_commits_uploads_and_submits_every_window() {
	let world = World {
		timing: Timing::uniform(10, 3, 10),
		intervals: vec![2_000; 120],
		lags: vec![100],
		work: vec![400],
		agree: vec![true],
	};
	let tally = run(&world).unwrap_or_else(|e| panic!("{e}"));
	// 120 blocks: windows 1..=11 open; the last ones are cut short by the end of the run.
	assert!(tally.trained >= 10, "{tally:?}");
	assert!(tally.committed >= 10, "{tally:?}");
	assert!(tally.uploaded >= 10, "{tally:?}");
	assert!(tally.submitted >= 9, "{tally:?}");
}
