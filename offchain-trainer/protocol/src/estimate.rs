//! Measured durations of a peer's own work, which the machines plan deadlines with: a busy
//! machine measures longer durations and so stops training, commits and submits earlier.
//!
//! An [`Estimate`] is the longest of the last [`SAMPLES`] measurements (a default before the
//! first), so one slow moment is planned for until it has clearly passed.
//!
//! A transaction is measured until the node's pool holds it, not until its block: one in the
//! pool when a block is authored is included in that block, so "included by block B" needs it
//! pooled by B's expected time. Waiting for the block (up to an interval) and for finality
//! would make every deadline a block or more early, and that is training time lost.

use std::collections::VecDeque;

/// Measurements an estimate remembers.
pub const SAMPLES: usize = 8;

/// The longest of the recent measurements of one kind of work, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
	default_ms: u64,
	samples: VecDeque<u64>,
}

impl Estimate {
	/// An estimate of `default_ms` until something is measured.
	pub fn new(default_ms: u64) -> Self {
		Self { default_ms, samples: VecDeque::with_capacity(SAMPLES) }
	}

	/// Records one measurement.
	pub fn observe(&mut self, ms: u64) {
		if self.samples.len() == SAMPLES {
			self.samples.pop_front();
		}
		self.samples.push_back(ms);
	}

	/// The planning figure: the longest recent measurement, or the default.
	pub fn ms(&self) -> u64 {
		self.samples.iter().copied().max().unwrap_or(self.default_ms)
	}

	/// Whether anything was measured.
	pub fn measured(&self) -> bool {
		!self.samples.is_empty()
	}

	/// The planning figure, or `default_ms` when nothing was measured yet.
	pub fn ms_or(&self, default_ms: u64) -> u64 {
		if self.measured() { self.ms() } else { default_ms }
	}

	/// Forgets the longest measurement. A peer that sat a window out for lack of time measures
	/// nothing that window; forgetting the slowest figure per such window means one slow moment
	/// costs at most one more window.
	pub fn forget_largest(&mut self) {
		if let Some(i) = (0..self.samples.len()).max_by_key(|&i| self.samples[i]) {
			self.samples.remove(i);
		}
	}
}

/// Defaults before a first measurement, in milliseconds. They are deliberately small: a peer
/// that planned with pessimistic figures could sit every window out and so never measure the
/// real ones; a first window planned too tightly costs at most that window. The exception is a
/// transaction: until one is measured it is planned to take a whole block interval plus
/// [`TRANSACTION_POOL_MS`](defaults::TRANSACTION_POOL_MS), since a transaction too late is a
/// window's work lost; the measured way into the pool replaces that at once.
pub mod defaults {
	/// One inner step (forward, backward, AdamW).
	pub const INNER_STEP_MS: u64 = 100;
	/// Forming Δ, error feedback, compression and hashing after the last inner step.
	pub const BUILD_MS: u64 = 200;
	/// A transaction's way into the node's pool (signing, the RPC call, the pool's checks), on
	/// top of the block interval it waits for inclusion.
	pub const TRANSACTION_POOL_MS: u64 = 100;
	/// Evaluating one window's updates (the Gauntlet).
	pub const EVALUATE_MS: u64 = 5_000;
}

/// The durations a peer measures of its own work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durations {
	/// One inner step.
	pub inner_step: Estimate,
	/// Building the payload after training.
	pub build: Estimate,
	/// A commitment transaction, from the decision to send it until the node's pool holds it
	/// (the wait for a block after that is no part of a deadline "in block B").
	pub commit: Estimate,
	/// Evaluating a window's updates.
	pub evaluate: Estimate,
	/// A results transaction, from the decision to send it (scoring and saving included) until
	/// the node's pool holds it.
	pub submit: Estimate,
}

impl Default for Durations {
	fn default() -> Self {
		Self {
			inner_step: Estimate::new(defaults::INNER_STEP_MS),
			build: Estimate::new(defaults::BUILD_MS),
			commit: Estimate::new(defaults::TRANSACTION_POOL_MS),
			evaluate: Estimate::new(defaults::EVALUATE_MS),
			submit: Estimate::new(defaults::TRANSACTION_POOL_MS),
		}
	}
}

impl Durations {
	/// Forgets the longest measurement of every kind ([`Estimate::forget_largest`]).
	pub fn forget_largest(&mut self) {
		for e in [
			&mut self.inner_step,
			&mut self.build,
			&mut self.commit,
			&mut self.evaluate,
			&mut self.submit,
		] {
			e.forget_largest();
		}
	}
}

/// The planning figure of a transaction estimate on a chain whose blocks come every
/// `interval_ms`: the measurements, or one interval plus the pool's share before any.
pub fn transaction_ms(estimate: &Estimate, interval_ms: u64) -> u64 {
	estimate.ms_or(interval_ms + defaults::TRANSACTION_POOL_MS)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_default_stands_until_a_measurement() {
		let mut e = Estimate::new(700);
		assert_eq!(e.ms(), 700);
		assert!(!e.measured());
		e.observe(200);
		assert_eq!(e.ms(), 200);
		assert!(e.measured());
	}

	#[test]
	fn a_transaction_is_planned_as_one_block_until_measured() {
		let mut e = Estimate::new(defaults::TRANSACTION_POOL_MS);
		assert_eq!(transaction_ms(&e, 2_000), 2_000 + defaults::TRANSACTION_POOL_MS);
		e.observe(700);
		assert_eq!(transaction_ms(&e, 2_000), 700);
	}

	#[test]
	fn forgetting_lets_a_slow_moment_pass() {
		let mut e = Estimate::new(100);
		e.observe(200);
		e.observe(9_000);
		e.observe(300);
		e.forget_largest();
		assert_eq!(e.ms(), 300, "the slow figure goes first, not the oldest");
		e.forget_largest();
		e.forget_largest();
		assert_eq!(e.ms(), 100);
	}

	#[test]
	fn a_slow_measurement_is_planned_for_until_it_leaves_the_window() {
		let mut e = Estimate::new(0);
		e.observe(100);
		e.observe(900);
		for _ in 0..SAMPLES - 1 {
			e.observe(100);
			assert_eq!(e.ms(), 900);
		}
		e.observe(100);
		assert_eq!(e.ms(), 100);
	}
}
