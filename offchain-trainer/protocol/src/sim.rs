//! A deterministic simulation of a network running the protocol machines themselves — the
//! same [`Miner`], [`Follower`] and [`Validator`] the real drivers run — on a simulated chain
//! with simulated time and bandwidth: blocks every `block_ms`, inner steps, payload builds,
//! transactions, uploads and downloads that take the times given. Its figures describe the code
//! that runs: how many inner steps each miner fits in a window, whether every commitment and
//! every validator's results land in time, and the miners' compute utilisation.
//!
//! Transactions enter the pool `transaction_ms` after they are sent and are included in the
//! first block authored after that; a commitment is accepted only in a block of its window,
//! results only before the scoring deadline. A miner's upload takes `upload_ms` of its loop.
//! A peer downloads the uploaded payloads one after the other as they appear, each taking
//! `download_ms / (miners − 1)`; as in the real watcher, only what was read by the end of the
//! reveal period is applied (the rest counts as not revealed), and the outer step — at the end
//! of the reveal period, or at the first block by which every committed payload was read —
//! takes `apply_ms`.

use crate::{
	Block, Follower, FollowerAction, Margins, Millis, Miner, MinerAction, Timing, Trained,
	Validator, ValidatorAction, Window,
	follower::{Replayed, VerdictCheck},
};
use std::collections::BTreeMap;

/// The simulated network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
	/// The chain's window timing.
	pub timing: Timing,
	/// Milliseconds between blocks.
	pub block_ms: u64,
	/// Windows simulated (from window 1).
	pub windows: u64,
	/// Miners.
	pub miners: usize,
	/// Inner steps per window at most (H).
	pub inner_steps: usize,
	/// One inner step.
	pub step_ms: u64,
	/// Relative spread of the miners' step times (seeded, uniform in ±spread).
	pub step_spread: f64,
	/// Building a payload after the inner loop.
	pub build_ms: u64,
	/// A transaction's way into the pool.
	pub transaction_ms: u64,
	/// One payload over a miner's uplink.
	pub upload_ms: u64,
	/// Every other payload over a peer's downlink, after the last upload.
	pub download_ms: u64,
	/// Applying the outer step.
	pub apply_ms: u64,
	/// The validator's evaluation of one update.
	pub evaluate_ms: u64,
	/// Seed of the spread.
	pub seed: u64,
}

/// What happened in one window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowOutcome {
	/// The window.
	pub window: Window,
	/// Inner steps each miner ran.
	pub steps: Vec<usize>,
	/// Commitments included in the window.
	pub committed: usize,
	/// Payloads read by the end of the reveal period, which the outer step applied.
	pub applied: usize,
	/// Why miners sat out (one line each).
	pub sat_out: Vec<String>,
	/// Whether the validator's results were included before the scoring deadline.
	pub scored: bool,
}

/// The whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
	/// Per window.
	pub windows: Vec<WindowOutcome>,
	/// Milliseconds the miners spent in inner steps, summed.
	pub training_ms: u64,
	/// Milliseconds of the simulated windows, times the miners.
	pub available_ms: u64,
}

impl Outcome {
	/// The miners' compute utilisation: time in inner steps over the windows' time.
	pub fn utilisation(&self) -> f64 {
		self.training_ms as f64 / self.available_ms.max(1) as f64
	}
}

/// SplitMix64 in [0, 1).
fn unit(state: &mut u64) -> f64 {
	*state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
	let mut z = *state;
	z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
	z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
	((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// The chain: block times and transaction inclusion.
struct Chain {
	block_ms: u64,
	transaction_ms: u64,
}

impl Chain {
	fn at(&self, n: Block) -> Millis {
		n * self.block_ms
	}

	/// A transaction sent at `sent`: the block that includes it, when it is finalized, and
	/// how long it took to enter the pool (what the real drivers measure).
	fn include(&self, sent: Millis) -> (Block, Millis, u64) {
		let pooled = sent + self.transaction_ms;
		let block = pooled.div_ceil(self.block_ms.max(1)).max(1);
		(block, self.at(block), self.transaction_ms)
	}
}

/// How many of the payloads uploaded at `uploads` a peer has read by `by`, fetching them one
/// after the other as they appear, `each_ms` apiece.
fn read_by(uploads: &[Millis], each_ms: u64, by: Millis) -> usize {
	let mut sorted = uploads.to_vec();
	sorted.sort_unstable();
	let mut done = 0;
	let mut read = 0;
	for up in sorted {
		done = done.max(up) + each_ms;
		if done <= by {
			read += 1;
		}
	}
	read
}

/// One peer's follower, stepping as its machine asks.
fn follow(follower: &mut Follower, n: Block, now: &mut Millis, apply_ms: u64) -> Vec<Window> {
	let mut stepped = Vec::new();
	while let Some(action) = follower.next(n) {
		match action {
			FollowerAction::Step { window } => {
				*now += apply_ms;
				follower.on_stepped(window);
				stepped.push(window);
			},
			FollowerAction::Replay { window } => {
				*now += apply_ms;
				follower.on_replayed(window, Replayed::Reproduced);
			},
			FollowerAction::Settle { window } => {
				follower.on_verdict(window, VerdictCheck::Agrees);
			},
			_ => {},
		}
	}
	stepped
}

/// Runs the network.
pub fn run(net: &Network) -> Outcome {
	let t = net.timing;
	let chain = Chain { block_ms: net.block_ms, transaction_ms: net.transaction_ms };
	let mut rng = net.seed;
	let speed: Vec<f64> =
		(0..net.miners).map(|_| 1.0 + net.step_spread * (2.0 * unit(&mut rng) - 1.0)).collect();
	let mut miners: Vec<(Miner, Follower, Millis)> = (0..net.miners)
		.map(|_| (Miner::new(t, Margins::default()), Follower::new(t, None), 0))
		.collect();
	let (mut validator, mut v_follower, mut v_now) =
		(Validator::new(t, Margins::default(), None), Follower::new(t, None), 0);
	let mut outcomes: BTreeMap<Window, WindowOutcome> = (1..=net.windows)
		.map(|w| (w, WindowOutcome { window: w, steps: vec![0; net.miners], ..Default::default() }))
		.collect();
	// When each window's payloads were uploaded.
	let mut uploaded: BTreeMap<Window, Vec<Millis>> = BTreeMap::new();
	let each_ms = net.download_ms / (net.miners.saturating_sub(1).max(1) as u64);
	let mut training_ms = 0;
	let last_block = t.score_deadline(net.windows) + 1;
	for n in 1..=last_block {
		let at = chain.at(n);
		// A window's reveal observation is complete at the period's end, or as soon as every
		// committed payload has been read (the followers may then step at once).
		let mut complete = Vec::new();
		for (w, ups) in &uploaded {
			let Some(o) = outcomes.get_mut(w) else { continue };
			let read = read_by(ups, each_ms, at);
			let in_reveal = n >= t.reveal_start(*w) && n < t.reveal_end(*w);
			if t.reveal_end(*w) == n || (in_reveal && o.committed > 0 && read == o.committed) {
				o.applied = read;
				complete.push(*w);
			}
		}
		let tell = |follower: &mut Follower| {
			let next = follower.applied().map_or(0, |a| a + 1);
			if complete.contains(&next) {
				follower.on_reveal_complete(next);
			}
		};
		for (i, (miner, follower, now)) in miners.iter_mut().enumerate() {
			*now = (*now).max(at);
			let mut actions = miner.on_finalized_block(n, at, *now);
			tell(follower);
			follow(follower, n, now, net.apply_ms);
			if let Some(applied) = follower.applied() {
				actions.extend(miner.on_theta(applied + 1, follower.in_sync(), *now));
			}
			while let Some(action) = actions.pop() {
				match action {
					MinerAction::Train { window, stop_at } => {
						let step = (net.step_ms as f64 * speed[i]).round() as u64;
						let mut steps = 0;
						while steps < net.inner_steps && (steps == 0 || *now + step <= stop_at) {
							*now += step;
							steps += 1;
						}
						training_ms += step * steps as u64;
						*now += net.build_ms;
						if let Some(o) = outcomes.get_mut(&window) {
							o.steps[i] = steps;
						}
						let trained = Trained {
							built: steps > 0,
							longest_step_ms: Some(step),
							build_ms: Some(net.build_ms),
						};
						actions.extend(miner.on_training_done(window, trained, *now));
					},
					MinerAction::Commit { window } => {
						let (block, finalized, pooled) = chain.include(*now);
						let accepted = block <= t.last_commit_block(window);
						*now = finalized;
						if accepted && let Some(o) = outcomes.get_mut(&window) {
							o.committed += 1;
						}
						actions.extend(miner.on_commit_result(window, accepted, pooled));
					},
					MinerAction::Upload { window } => {
						*now += net.upload_ms;
						uploaded.entry(window).or_default().push(*now);
					},
					MinerAction::SitOut { window, reason } => {
						if let Some(o) = outcomes.get_mut(&window) {
							o.sat_out.push(format!("miner {i}: {reason}"));
						}
					},
				}
			}
		}
		// The validator.
		v_now = v_now.max(at);
		let mut actions = validator.on_finalized_block(n, at, v_now);
		tell(&mut v_follower);
		for window in follow(&mut v_follower, n, &mut v_now, net.apply_ms) {
			actions.extend(validator.on_stepped(window, true, v_now));
		}
		while let Some(action) = actions.pop() {
			match action {
				ValidatorAction::Evaluate { window } => {
					let updates = outcomes.get(&window).map_or(0, |o| o.applied) as u64;
					let took = net.evaluate_ms * updates;
					v_now += took;
					actions.extend(validator.on_evaluated(window, took, v_now));
				},
				ValidatorAction::Submit { window } => {
					let (block, finalized, pooled) = chain.include(v_now);
					let accepted = block <= t.last_submit_block(window);
					v_now = finalized;
					if let Some(o) = outcomes.get_mut(&window) {
						o.scored = accepted;
					}
					actions.extend(validator.on_submit_result(window, accepted, pooled));
				},
				ValidatorAction::Skip { .. } => {},
			}
		}
	}
	let window_ms = t.window_length(0) * net.block_ms;
	Outcome {
		windows: outcomes.into_values().collect(),
		training_ms,
		available_ms: window_ms * net.windows * net.miners as u64,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn dev(block_ms: u64, step_ms: u64) -> Network {
		Network {
			timing: Timing::uniform(10, 3, 10),
			block_ms,
			windows: 6,
			miners: 3,
			inner_steps: 30,
			step_ms,
			step_spread: 0.2,
			build_ms: 100,
			transaction_ms: 100,
			upload_ms: 50,
			download_ms: 100,
			apply_ms: 200,
			evaluate_ms: 400,
			seed: 7,
		}
	}

	#[test]
	fn a_steady_network_commits_and_scores_every_window() {
		let out = run(&dev(2_000, 300));
		for w in &out.windows {
			assert_eq!(w.committed, 3, "window {}: {:?}", w.window, w.sat_out);
			assert_eq!(w.applied, 3, "window {}", w.window);
			assert!(w.scored, "window {} scored", w.window);
			assert!(w.steps.iter().all(|&s| s > 0), "{w:?}");
		}
		assert!(out.utilisation() > 0.2 && out.utilisation() < 1.0, "{}", out.utilisation());
	}

	#[test]
	fn slow_steps_fit_fewer_steps_but_still_commit() {
		let fast = run(&dev(2_000, 300));
		let slow = run(&dev(2_000, 1_500));
		let steps = |o: &Outcome| o.windows.iter().flat_map(|w| w.steps.iter()).sum::<usize>();
		assert!(steps(&slow) < steps(&fast));
		assert!(slow.windows.iter().skip(1).all(|w| w.committed == 3), "{slow:?}");
	}

	#[test]
	fn payloads_not_read_by_the_end_of_the_reveal_period_are_not_applied() {
		// 6 s of reveal period; each download takes 2.5 s: two of three payloads get in.
		let out = run(&Network { download_ms: 5_000, ..dev(2_000, 300) });
		assert!(out.windows.iter().all(|w| w.committed == 3 && w.applied == 2), "{out:?}");
		assert_eq!(read_by(&[0, 0, 10], 5, 10), 2);
		assert_eq!(read_by(&[0, 0, 10], 5, 15), 3);
	}

	#[test]
	fn payloads_all_read_early_let_the_next_window_train_longer() {
		// Every payload is read within the first reveal block: the step need not wait for the
		// period's end, so each miner starts the next window sooner and fits more steps than a
		// network whose last payload arrives only at the end of the reveal period.
		// (No cap on inner steps: the window's time is what is compared.)
		let early = run(&Network { inner_steps: 1_000, ..dev(2_000, 300) });
		let late = run(&Network { inner_steps: 1_000, download_ms: 2_900, ..dev(2_000, 300) });
		assert!(early.windows.iter().skip(1).all(|w| w.applied == 3), "{early:?}");
		assert!(late.windows.iter().skip(1).all(|w| w.applied == 3), "{late:?}");
		assert!(early.utilisation() > late.utilisation() + 0.1, "{early:?}\n{late:?}");
	}

	#[test]
	fn the_simulation_is_deterministic() {
		assert_eq!(run(&dev(1_000, 200)), run(&dev(1_000, 200)));
	}
}
