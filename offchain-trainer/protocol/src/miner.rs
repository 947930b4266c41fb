//! The miner's machine (DESIGN.md §2 steps 2–4): once θ_w is held, train window w until a
//! deadline planned from the miner's own measured durations, commit the payload's hash before
//! the window's last block, upload the payload when the reveal period opens. It never trains on
//! a θ other than the network's θ_w, never commits twice in a window, never uploads before the
//! reveal period, and does not send a commitment once the window's last block is finalized or
//! less than [`Margins::min_transaction_ms`] is left before it is expected.
//!
//! The driver (`tessera-peer`'s miner) feeds it events and executes its actions; it decides
//! nothing itself.

use crate::{
	clock::{BlockClock, Millis},
	estimate::{Durations, transaction_ms},
	margins::Margins,
	timing::{Block, Phase, Timing, Window},
};

/// What the miner must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MinerAction {
	/// Train `window` from θ_window: start no inner step that would end after `stop_at`, then
	/// build the payload and report [`Miner::on_training_done`].
	Train {
		/// The window.
		window: Window,
		/// Wall-clock instant the inner loop must have stopped by.
		stop_at: Millis,
	},
	/// Send the commitment of the payload just built; report [`Miner::on_commit_result`].
	Commit {
		/// The window.
		window: Window,
	},
	/// Upload the committed payload of `window`: its reveal period is open.
	Upload {
		/// The window.
		window: Window,
	},
	/// Take no (further) part in `window`, and say why.
	SitOut {
		/// The window.
		window: Window,
		/// Why.
		reason: SitOut,
	},
}

impl MinerAction {
	/// The window the action is about.
	pub fn window(&self) -> Window {
		match self {
			Self::Train { window, .. }
			| Self::Commit { window }
			| Self::Upload { window }
			| Self::SitOut { window, .. } => *window,
		}
	}

	/// The phase of the window's life it belongs to, as logs name it: `train`, `commit`,
	/// `upload` or `sit-out`.
	pub fn phase(&self) -> &'static str {
		match self {
			Self::Train { .. } => "train",
			Self::Commit { .. } => "commit",
			Self::Upload { .. } => "upload",
			Self::SitOut { .. } => "sit-out",
		}
	}
}

/// Why a miner takes no part in a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SitOut {
	/// θ_w was not held in time (the outer step of the window before was still being applied).
	ThetaNotReady {
		/// The window whose θ is held (`None`: none yet).
		holds: Option<Window>,
	},
	/// The held θ is not the network's (a re-sync failed): training on it would be wasted.
	Diverged,
	/// Not even one inner step, the build and the commitment fit before the window closes.
	TooLittleTime {
		/// Time left until the inner loop would have to stop, in milliseconds (negative: past).
		left_ms: i64,
		/// Time one inner step takes.
		needed_ms: u64,
	},
	/// Training produced no payload (no step fitted, or it failed).
	NothingBuilt,
	/// The payload was built too late for its commitment to be included in the window.
	CommitTooLate {
		/// How far past the last moment to send it, in milliseconds.
		late_by_ms: u64,
	},
	/// The chain refused the commitment.
	CommitRefused,
	/// The reveal period ended before the payload could be uploaded.
	RevealOver,
}

impl std::fmt::Display for SitOut {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::ThetaNotReady { holds: Some(w) } => {
				write!(f, "θ of this window was not ready in time (θ held is window {w}'s)")
			},
			Self::ThetaNotReady { holds: None } => write!(f, "no θ held yet"),
			Self::Diverged => write!(f, "θ differs from the network's: not training on it"),
			Self::TooLittleTime { left_ms, needed_ms } => write!(
				f,
				"too little of the window left to train: {left_ms} ms left, one inner step \
				 takes {needed_ms} ms"
			),
			Self::NothingBuilt => write!(f, "no payload was built"),
			Self::CommitTooLate { late_by_ms } => {
				write!(f, "payload ready {late_by_ms} ms too late to commit in the window")
			},
			Self::CommitRefused => write!(f, "the chain refused the commitment"),
			Self::RevealOver => write!(f, "reveal period over before the upload"),
		}
	}
}

/// What the driver's training produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trained {
	/// Whether a payload was built (false: no step fitted, or training failed).
	pub built: bool,
	/// The longest inner step, if any ran, in milliseconds.
	pub longest_step_ms: Option<u64>,
	/// How long building the payload took, if it was built, in milliseconds.
	pub build_ms: Option<u64>,
}

/// What the miner is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
	Idle,
	Training(Window),
	Committing(Window),
}

/// The miner's state machine.
#[derive(Clone, Debug)]
pub struct Miner {
	timing: Timing,
	margins: Margins,
	clock: BlockClock,
	durations: Durations,
	/// The window whose θ is held (θ_w), and whether it is the network's.
	theta: Option<Window>,
	diverged: bool,
	stage: Stage,
	/// The last window decided on (trained or sat out): never twice.
	decided: Option<Window>,
	/// The last window committed.
	committed: Option<Window>,
	/// A committed payload not yet uploaded.
	pending_upload: Option<Window>,
}

impl Miner {
	/// A miner on a chain with `timing`.
	pub fn new(timing: Timing, margins: Margins) -> Self {
		Self {
			timing,
			margins,
			clock: BlockClock::default(),
			durations: Durations::default(),
			theta: None,
			diverged: false,
			stage: Stage::Idle,
			decided: None,
			committed: None,
			pending_upload: None,
		}
	}

	/// Takes the chain's timing as of the newest finalized block: the governed parameters
	/// change only when a window opens, so the windows already open keep theirs.
	pub fn set_timing(&mut self, timing: Timing) {
		self.timing = timing;
	}

	/// The measured durations.
	pub fn durations(&self) -> &Durations {
		&self.durations
	}

	/// The chain clock.
	pub fn clock(&self) -> &BlockClock {
		&self.clock
	}

	/// The follower holds θ_`window` (the outer step of `window − 1` applied), and that θ is
	/// the network's or not (`in_sync` false: a re-sync could not reproduce a verdict); `now` is
	/// the wall clock. Training starts here when θ_w is what the open window needs.
	pub fn on_theta(&mut self, window: Window, in_sync: bool, now: Millis) -> Vec<MinerAction> {
		self.theta = Some(window);
		self.diverged = !in_sync;
		let Some((number, _)) = self.clock.newest() else { return Vec::new() };
		self.train_if_ready(number, now).into_iter().collect()
	}

	/// A restarted miner learns what the chain already holds of it: its commitment in the
	/// window `committed` (if any) is never sent again. `held` is the window whose payload the
	/// driver kept because its commitment's fate was unknown when the node went away; when the
	/// chain shows that commitment, the payload is uploaded in its reveal period as if the
	/// commitment had been confirmed.
	pub fn on_restart(&mut self, committed: Option<Window>, held: Option<Window>) {
		self.stage = Stage::Idle;
		self.committed = self.committed.max(committed);
		self.decided = self.decided.max(committed);
		if held.is_some() && held == committed {
			self.pending_upload = held;
		}
	}

	/// Block `number` was authored at `timestamp`: for the clock only (a restarted driver tells
	/// it the block before the first one it follows, so the block interval is known at once).
	pub fn observe_block(&mut self, number: Block, timestamp: Millis) {
		self.clock.observe(number, timestamp);
	}

	/// Block `number`, authored at `timestamp`, is finalized; `now` is the wall clock.
	pub fn on_finalized_block(
		&mut self,
		number: Block,
		timestamp: Millis,
		now: Millis,
	) -> Vec<MinerAction> {
		self.clock.observe(number, timestamp);
		let mut actions = Vec::new();
		if let Some(window) = self.pending_upload {
			match self.timing.phase(window, number) {
				Phase::Future | Phase::Open => {},
				Phase::Reveal => {
					self.pending_upload = None;
					actions.push(MinerAction::Upload { window });
				},
				Phase::Scoring | Phase::Settled => {
					self.pending_upload = None;
					actions.push(MinerAction::SitOut { window, reason: SitOut::RevealOver });
				},
			}
		}
		actions.extend(self.train_if_ready(number, now));
		actions
	}

	/// The wall-clock instant by which the commitment of `window` must be sent: the expected
	/// time of the window's last block less the commitment's measured way into the pool and its
	/// margin.
	pub fn commit_by(&self, window: Window) -> Option<Millis> {
		let last = self.clock.expected_at(self.timing.last_commit_block(window))?;
		let interval = self.clock.interval_ms();
		let commit = transaction_ms(&self.durations.commit, interval);
		Some(last.saturating_sub(commit + self.margins.commit_for(interval)))
	}

	/// The wall-clock instant the inner loop of `window` must stop by: [`Self::commit_by`] less
	/// the payload's measured build time and its slack ([`Margins::build_with_slack`]).
	pub fn train_until(&self, window: Window) -> Option<Millis> {
		Some(
			self.commit_by(window)?
				.saturating_sub(self.margins.build_with_slack(self.durations.build.ms())),
		)
	}

	fn train_if_ready(&mut self, number: Block, now: Millis) -> Option<MinerAction> {
		let window = self.timing.window_of(number);
		if window == 0 || self.stage != Stage::Idle || self.decided.is_some_and(|d| d >= window) {
			return None;
		}
		let stop_at = self.train_until(window)?;
		let needed_ms = self.durations.inner_step.ms();
		let left_ms =
			i64::try_from(stop_at).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(i64::MAX);
		let fits = left_ms >= i64::try_from(needed_ms).unwrap_or(i64::MAX);
		let reason = if self.theta != Some(window) {
			if fits {
				// The follower may still bring θ_w in time.
				return None;
			}
			SitOut::ThetaNotReady { holds: self.theta }
		} else if self.diverged {
			SitOut::Diverged
		} else if !fits {
			self.durations.forget_largest();
			SitOut::TooLittleTime { left_ms, needed_ms }
		} else {
			self.decided = Some(window);
			self.stage = Stage::Training(window);
			return Some(MinerAction::Train { window, stop_at });
		};
		self.decided = Some(window);
		Some(MinerAction::SitOut { window, reason })
	}

	/// Training of `window` ended at `now` with `trained`.
	pub fn on_training_done(
		&mut self,
		window: Window,
		trained: Trained,
		now: Millis,
	) -> Vec<MinerAction> {
		if self.stage != Stage::Training(window) {
			return Vec::new();
		}
		self.stage = Stage::Idle;
		if let Some(ms) = trained.longest_step_ms {
			self.durations.inner_step.observe(ms);
		}
		if let Some(ms) = trained.build_ms {
			self.durations.build.observe(ms);
		}
		if !trained.built {
			return vec![MinerAction::SitOut { window, reason: SitOut::NothingBuilt }];
		}
		if self.committed.is_some_and(|c| c >= window) {
			return Vec::new();
		}
		// Past `commit_by` the margin is spent, but the commitment may still make it: it is
		// only dropped when too little is left for the node to take it into a block, or the
		// window's last block is already finalized (whatever the local clock says).
		let last_block = self.timing.last_commit_block(window);
		let Some(last_chance) = self
			.clock
			.expected_at(last_block)
			.map(|t| t.saturating_sub(self.margins.min_transaction_ms))
		else {
			return Vec::new();
		};
		let closed = self.clock.newest().is_some_and(|(n, _)| n >= last_block);
		if now <= last_chance && !closed {
			self.stage = Stage::Committing(window);
			vec![MinerAction::Commit { window }]
		} else {
			let late_by_ms = now.saturating_sub(last_chance);
			vec![MinerAction::SitOut { window, reason: SitOut::CommitTooLate { late_by_ms } }]
		}
	}

	/// The commitment of `window` was included (`accepted`) or refused; it had reached the
	/// node's pool `pooled_ms` after it was sent (the whole time when it never got there).
	pub fn on_commit_result(
		&mut self,
		window: Window,
		accepted: bool,
		pooled_ms: u64,
	) -> Vec<MinerAction> {
		if self.stage != Stage::Committing(window) {
			return Vec::new();
		}
		self.stage = Stage::Idle;
		self.durations.commit.observe(pooled_ms);
		if accepted {
			self.committed = Some(window);
			self.pending_upload = Some(window);
			Vec::new()
		} else {
			vec![MinerAction::SitOut { window, reason: SitOut::CommitRefused }]
		}
	}
}

#[cfg(test)]
#[path = "miner_tests.rs"]
mod tests;
