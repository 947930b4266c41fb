//! The safety margins the machines keep on top of measured durations: every one named and
//! documented here, none spelled as a bare number in a decision.

use crate::clock::Millis;

/// Slack kept between a planned action's measured duration and its deadline. The commit and
/// submit margins are capped at half a block interval ([`Margins::commit_for`],
/// [`Margins::submit_for`]), so a fast chain keeps its windows for work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Margins {
	/// Kept between the moment a commitment is expected in the node's pool and the moment the
	/// window's last block is authored: covers a block authored early, a slower transaction
	/// than any measured, and the miner's own scheduling delay.
	pub commit_ms: Millis,
	/// The same for a validator's results and the last block of the scoring period.
	pub submit_ms: Millis,
	/// A transaction is not sent at all when less than this is left before the last block that
	/// could include it: the node could not take it into a block in time.
	pub min_transaction_ms: Millis,
	/// Blocks after the reveal period during which a validator keeps watching for late uploads
	/// before it is ready to submit (it submits at once when the deadline leaves no more time).
	pub late_watch_blocks: u64,
	/// How much longer than measured, in percent, building the payload is planned to take.
	/// Building runs when every miner of a machine stops training at once, so it meets the
	/// most contention; a build slower than any measured would push the commitment late.
	pub build_slack_percent: u64,
}

impl Margins {
	/// The commit margin on a chain whose blocks come every `interval_ms`.
	pub fn commit_for(&self, interval_ms: u64) -> Millis {
		self.commit_ms.min(interval_ms / 2)
	}

	/// The submit margin on a chain whose blocks come every `interval_ms`.
	pub fn submit_for(&self, interval_ms: u64) -> Millis {
		self.submit_ms.min(interval_ms / 2)
	}

	/// The time to plan for a build measured at `ms`: `ms` plus
	/// [`Margins::build_slack_percent`].
	pub fn build_with_slack(&self, ms: Millis) -> Millis {
		ms.saturating_add(ms.saturating_mul(self.build_slack_percent) / 100)
	}
}

impl Default for Margins {
	fn default() -> Self {
		Self {
			commit_ms: 500,
			submit_ms: 500,
			min_transaction_ms: 200,
			late_watch_blocks: 4,
			build_slack_percent: 25,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn builds_are_planned_with_their_slack_and_margins_are_capped_at_half_a_block() {
		let m = Margins::default();
		assert_eq!(m.build_with_slack(10_000), 12_500);
		assert_eq!(m.build_with_slack(0), 0);
		assert_eq!(m.build_with_slack(u64::MAX), u64::MAX);
		assert_eq!(Margins { build_slack_percent: 0, ..m }.build_with_slack(10_000), 10_000);
		assert_eq!(m.commit_for(10_000), 500);
		assert_eq!(m.commit_for(600), 300);
		assert_eq!(m.submit_for(400), 200);
	}
}
