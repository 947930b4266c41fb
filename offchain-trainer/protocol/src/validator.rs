//! The validator's machine (DESIGN.md §2 step 5): once a window's outer step is applied from
//! the validator's own screening, evaluate its updates; then watch for late uploads and submit
//! the results at a moment planned from the validator's measured results-transaction time and
//! named margins, so that they are included before the scoring period closes even on a busy
//! machine (the evaluation's duration is measured and reported alongside). Results that could
//! no longer be included — the last block that could take them is finalized, or too little time
//! is left before it — are not sent.
//!
//! Submission is *ready* once the evaluation is done and [`Margins::late_watch_blocks`] blocks
//! of the scoring period have passed (late uploads had their chance); it is *due* at the latest
//! moment that still leaves the measured transaction time and the margin before the last block
//! that can include it. The machine submits at the first event where it is ready, or due.

use crate::{
	clock::{BlockClock, Millis},
	estimate::{Durations, transaction_ms},
	margins::Margins,
	timing::{Block, Timing, Window},
};

/// What the validator must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidatorAction {
	/// Evaluate the updates of `window` (just applied provisionally); report
	/// [`Validator::on_evaluated`].
	Evaluate {
		/// The window.
		window: Window,
	},
	/// Score `window` and send the results; report [`Validator::on_submit_result`].
	Submit {
		/// The window.
		window: Window,
	},
	/// Do not score `window`, and say why.
	Skip {
		/// The window.
		window: Window,
		/// Why.
		reason: Skip,
	},
}

impl ValidatorAction {
	/// The window the action is about.
	pub fn window(&self) -> Window {
		match self {
			Self::Evaluate { window } | Self::Submit { window } | Self::Skip { window, .. } => {
				*window
			},
		}
	}

	/// The phase of the window's life it belongs to, as logs name it: `evaluate`, `submit` or
	/// `skip`.
	pub fn phase(&self) -> &'static str {
		match self {
			Self::Evaluate { .. } => "evaluate",
			Self::Submit { .. } => "submit",
			Self::Skip { .. } => "skip",
		}
	}
}

/// Why a validator does not score a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
	/// The window's step was replayed from a published verdict (a restart, or a validator that
	/// fell behind): its scoring period is over.
	AlreadySettled,
	/// The results could no longer be included before the scoring period closes.
	DeadlinePassed {
		/// How far past the last moment to send them, in milliseconds.
		late_by_ms: u64,
	},
	/// The evaluation left nothing to score (θ_w was no longer held).
	NothingToScore,
	/// The results of an earlier window were still being scored.
	Busy {
		/// That window.
		scoring: Window,
	},
	/// The chain refused the results.
	Refused,
	/// θ is not the network's (diverged, or found corrupt): nothing is scored on it.
	Diverged,
}

impl std::fmt::Display for Skip {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::AlreadySettled => write!(f, "the window's verdict is already published"),
			Self::DeadlinePassed { late_by_ms } => write!(
				f,
				"scoring deadline reached before the results were ready ({late_by_ms} ms too \
				 late): not submitted"
			),
			Self::NothingToScore => write!(f, "nothing to score"),
			Self::Diverged => write!(f, "θ is not the network's: not scoring on it"),
			Self::Busy { scoring } => write!(f, "window {scoring} was still being scored"),
			Self::Refused => write!(f, "the chain refused the results"),
		}
	}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
	Evaluating,
	Evaluated,
	Submitting,
}

/// The validator's state machine.
#[derive(Clone, Debug)]
pub struct Validator {
	timing: Timing,
	margins: Margins,
	clock: BlockClock,
	durations: Durations,
	/// The window being scored and where it stands.
	scoring: Option<(Window, Stage)>,
	/// The last window whose scoring ended (submitted, refused or given up).
	last_scored: Option<Window>,
}

impl Validator {
	/// A validator on a chain with `timing`; `last_scored` is the last window it scored before
	/// a restart (its Gauntlet state says so).
	pub fn new(timing: Timing, margins: Margins, last_scored: Option<Window>) -> Self {
		Self {
			timing,
			margins,
			clock: BlockClock::default(),
			durations: Durations::default(),
			scoring: None,
			last_scored,
		}
	}

	/// Takes the chain's timing as of the newest finalized block: the governed parameters
	/// change only when a window opens, so the windows already open keep theirs.
	pub fn set_timing(&mut self, timing: Timing) {
		self.timing = timing;
	}

	/// The last window whose scoring ended.
	pub fn last_scored(&self) -> Option<Window> {
		self.last_scored
	}

	/// The measured durations.
	pub fn durations(&self) -> &Durations {
		&self.durations
	}

	/// The chain clock.
	pub fn clock(&self) -> &BlockClock {
		&self.clock
	}

	/// The newest finalized block seen (the clock's).
	fn newest(&self) -> Option<Block> {
		self.clock.newest().map(|(n, _)| n)
	}

	/// The latest moment the results of `window` may be sent with the planned margin.
	pub fn submit_by(&self, window: Window) -> Option<Millis> {
		let last = self.clock.expected_at(self.timing.last_submit_block(window))?;
		let interval = self.clock.interval_ms();
		let submit = transaction_ms(&self.durations.submit, interval);
		Some(last.saturating_sub(submit + self.margins.submit_for(interval)))
	}

	/// How late it is at `now` to send the results of `window`, if it is: too little is left
	/// before the last block that could include them, or that block is already finalized
	/// (whatever the local clock says).
	fn too_late(&self, window: Window, now: Millis) -> Option<u64> {
		let last_block = self.timing.last_submit_block(window);
		let last_chance = self
			.clock
			.expected_at(last_block)
			.map(|t| t.saturating_sub(self.margins.min_transaction_ms));
		if self.newest().is_some_and(|n| n >= last_block) {
			return Some(last_chance.map_or(0, |t| now.saturating_sub(t)));
		}
		last_chance.filter(|&t| now > t).map(|t| now - t)
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
	) -> Vec<ValidatorAction> {
		self.clock.observe(number, timestamp);
		self.submit_if_due(now).into_iter().collect()
	}

	/// The follower applied `window`'s outer step: `provisional` from its own screening (a
	/// verdict is still to come), or replayed from a published verdict.
	pub fn on_stepped(
		&mut self,
		window: Window,
		provisional: bool,
		now: Millis,
	) -> Vec<ValidatorAction> {
		if window == 0 || self.last_scored.is_some_and(|s| s >= window) {
			return Vec::new();
		}
		if let Some((scoring, _)) = self.scoring {
			return vec![ValidatorAction::Skip { window, reason: Skip::Busy { scoring } }];
		}
		if !provisional {
			self.last_scored = Some(window);
			return vec![ValidatorAction::Skip { window, reason: Skip::AlreadySettled }];
		}
		if let Some(late_by_ms) = self.too_late(window, now) {
			self.last_scored = Some(window);
			let reason = Skip::DeadlinePassed { late_by_ms };
			return vec![ValidatorAction::Skip { window, reason }];
		}
		self.scoring = Some((window, Stage::Evaluating));
		vec![ValidatorAction::Evaluate { window }]
	}

	/// `window` was stepped on a θ that is not the network's (diverged, or found corrupt): it is
	/// not scored.
	pub fn on_stepped_out_of_sync(&mut self, window: Window) -> Vec<ValidatorAction> {
		if window == 0 || self.last_scored.is_some_and(|s| s >= window) {
			return Vec::new();
		}
		if self.scoring.is_some_and(|(w, _)| w == window) {
			self.scoring = None;
		}
		self.last_scored = Some(window);
		vec![ValidatorAction::Skip { window, reason: Skip::Diverged }]
	}

	/// The evaluation of `window` ended at `now`, `elapsed_ms` after it started.
	pub fn on_evaluated(
		&mut self,
		window: Window,
		elapsed_ms: u64,
		now: Millis,
	) -> Vec<ValidatorAction> {
		if self.scoring != Some((window, Stage::Evaluating)) {
			return Vec::new();
		}
		self.durations.evaluate.observe(elapsed_ms);
		self.scoring = Some((window, Stage::Evaluated));
		self.submit_if_due(now).into_iter().collect()
	}

	/// The evaluation of `window` could not take place: nothing will be submitted.
	pub fn on_nothing_to_score(&mut self, window: Window) -> Vec<ValidatorAction> {
		if self.scoring != Some((window, Stage::Evaluating)) {
			return Vec::new();
		}
		self.scoring = None;
		self.last_scored = Some(window);
		vec![ValidatorAction::Skip { window, reason: Skip::NothingToScore }]
	}

	/// The results of `window` were included (`accepted`) or refused; they had reached the
	/// node's pool `pooled_ms` after [`ValidatorAction::Submit`] (the whole time when they never
	/// got there).
	pub fn on_submit_result(
		&mut self,
		window: Window,
		accepted: bool,
		pooled_ms: u64,
	) -> Vec<ValidatorAction> {
		if self.scoring != Some((window, Stage::Submitting)) {
			return Vec::new();
		}
		self.scoring = None;
		self.durations.submit.observe(pooled_ms);
		if accepted {
			Vec::new()
		} else {
			vec![ValidatorAction::Skip { window, reason: Skip::Refused }]
		}
	}

	fn submit_if_due(&mut self, now: Millis) -> Option<ValidatorAction> {
		let Some((window, Stage::Evaluated)) = self.scoring else { return None };
		if let Some(late_by_ms) = self.too_late(window, now) {
			self.scoring = None;
			self.last_scored = Some(window);
			let reason = Skip::DeadlinePassed { late_by_ms };
			return Some(ValidatorAction::Skip { window, reason });
		}
		let watched = self.timing.reveal_end(window) + self.margins.late_watch_blocks;
		let ready = self.newest().is_some_and(|n| n >= watched);
		// The next event may come one block later: submit now if waiting for it would pass the
		// planned moment.
		let due = self.submit_by(window).is_some_and(|t| now + self.clock.interval_ms() > t);
		if !(ready || due) {
			return None;
		}
		self.scoring = Some((window, Stage::Submitting));
		self.last_scored = Some(window);
		Some(ValidatorAction::Submit { window })
	}
}

#[cfg(test)]
#[path = "validator_tests.rs"]
mod tests;
