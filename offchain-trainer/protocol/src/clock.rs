//! Chain time: when blocks were authored (their timestamps) and when the next ones will be, so
//! a machine can turn "before block B is sealed" into a wall-clock instant.
//!
//! The prediction uses the *shorter* of two block intervals — over the last [`RECENT_BLOCKS`]
//! and over the last [`LONG_RUN_BLOCKS`] — so a chain that briefly slowed down (a loaded author)
//! does not make a peer believe it has more time than it has, while a lasting change of pace is
//! followed within [`LONG_RUN_BLOCKS`] blocks.

use crate::timing::Block;
use std::collections::VecDeque;

/// Milliseconds since the Unix epoch: the clock of block timestamps and of the machines' `now`.
pub type Millis = u64;

/// Blocks kept for the recent block interval.
pub const RECENT_BLOCKS: usize = 16;

/// Blocks kept for the long-run block interval.
pub const LONG_RUN_BLOCKS: usize = 256;

/// The interval assumed before two timestamped blocks have been seen, in milliseconds.
pub const DEFAULT_INTERVAL_MS: u64 = 1_000;

/// Predicts block times from the timestamps of the blocks seen so far.
#[derive(Clone, Debug, Default)]
pub struct BlockClock {
	/// The newest timestamped blocks seen (up to [`LONG_RUN_BLOCKS`]), oldest first.
	seen: VecDeque<(Block, Millis)>,
}

impl BlockClock {
	/// Records block `number`'s timestamp. Genesis carries none (0) and is ignored, as are blocks
	/// older than the newest one seen.
	pub fn observe(&mut self, number: Block, timestamp: Millis) {
		if timestamp == 0 || self.seen.back().is_some_and(|&(n, _)| n >= number) {
			return;
		}
		self.seen.push_back((number, timestamp));
		while self.seen.len() > LONG_RUN_BLOCKS {
			self.seen.pop_front();
		}
	}

	/// The newest block seen and its timestamp.
	pub fn newest(&self) -> Option<(Block, Millis)> {
		self.seen.back().copied()
	}

	/// The block interval in milliseconds (the shorter of the recent and the long-run mean;
	/// [`DEFAULT_INTERVAL_MS`] until two blocks were seen).
	pub fn interval_ms(&self) -> u64 {
		let mean = |(n0, t0): (Block, Millis), (n1, t1): (Block, Millis)| {
			(n1 > n0).then(|| t1.saturating_sub(t0) / (n1 - n0))
		};
		let (Some(&oldest), Some(&newest)) = (self.seen.front(), self.seen.back()) else {
			return DEFAULT_INTERVAL_MS;
		};
		let recent_start = self.seen[self.seen.len().saturating_sub(RECENT_BLOCKS)];
		let recent = mean(recent_start, newest);
		let long_run = mean(oldest, newest);
		match (recent, long_run) {
			(Some(a), Some(b)) => a.min(b).max(1),
			(Some(a), None) | (None, Some(a)) => a.max(1),
			(None, None) => DEFAULT_INTERVAL_MS,
		}
	}

	/// When block `number` is expected to be authored (its timestamp); `None` before any block
	/// was seen. A block already seen (or older) gives the newest block's time: it is past.
	pub fn expected_at(&self, number: Block) -> Option<Millis> {
		let (n, t) = self.newest()?;
		let ahead = number.saturating_sub(n);
		Some(t.saturating_add(ahead.saturating_mul(self.interval_ms())))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn nothing_is_predicted_before_a_block_is_seen() {
		let clock = BlockClock::default();
		assert_eq!(clock.expected_at(5), None);
		assert_eq!(clock.interval_ms(), DEFAULT_INTERVAL_MS);
	}

	#[test]
	fn genesis_and_stale_blocks_are_ignored() {
		let mut clock = BlockClock::default();
		clock.observe(0, 0);
		clock.observe(3, 10_000);
		clock.observe(2, 5_000);
		assert_eq!(clock.newest(), Some((3, 10_000)));
	}

	#[test]
	fn predicts_from_the_measured_interval() {
		let mut clock = BlockClock::default();
		for n in 1..=5 {
			clock.observe(n, 1_000_000 + n * 2_000);
		}
		assert_eq!(clock.interval_ms(), 2_000);
		assert_eq!(clock.expected_at(9), Some(1_000_000 + 9 * 2_000));
		assert_eq!(clock.expected_at(1), Some(1_000_000 + 5 * 2_000), "a past block is now");
	}

	#[test]
	fn a_slow_patch_does_not_stretch_the_prediction() {
		let mut clock = BlockClock::default();
		for n in 1..=40 {
			clock.observe(n, n * 1_000);
		}
		// The last sixteen blocks came every 3 s (a loaded author); the long-run mean is lower.
		for n in 41..=56 {
			clock.observe(n, 40_000 + (n - 40) * 3_000);
		}
		assert!(clock.interval_ms() < 3_000);
		// A chain that sped up again predicts from the recent blocks.
		let mut fast = BlockClock::default();
		fast.observe(1, 10_000);
		fast.observe(2, 20_000);
		for n in 3..=40 {
			fast.observe(n, 20_000 + (n - 2) * 500);
		}
		assert_eq!(fast.interval_ms(), 500);
	}

	#[test]
	fn a_lasting_change_of_pace_is_followed() {
		let mut clock = BlockClock::default();
		for n in 1..=100 {
			clock.observe(n, n * 1_000);
		}
		// Blocks now come every 6 s, for longer than the long-run horizon.
		for n in 101..=(100 + LONG_RUN_BLOCKS as u64) {
			clock.observe(n, 100_000 + (n - 100) * 6_000);
		}
		assert_eq!(clock.interval_ms(), 6_000);
	}
}
