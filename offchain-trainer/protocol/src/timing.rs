//! Window timing (DESIGN.md §2): which blocks belong to which window and where each phase of a
//! window begins and ends, as pure functions of the block number and the chain's parameters.
//!
//! For window `w` with `L = window_length`, `R = reveal_blocks`, `S = score_deadline_blocks`:
//!
//! | phase | blocks | what happens |
//! |---|---|---|
//! | open | `wL ..= (w+1)L − 1` | miners train on θ_w and commit (the last block that can include a commit is `(w+1)L − 1`) |
//! | reveal | `(w+1)L .. (w+1)L + R` | committed payloads must be readable; early uploads before it count as absent |
//! | outer step | from `(w+1)L + R` | every peer applies w's aggregate: θ_{w+1} |
//! | scoring | `(w+1)L .. (w+1)L + S` | validators' results are accepted; block `(w+1)L + S` publishes the verdict |

/// A block number.
pub type Block = u64;
/// A window index.
pub type Window = u64;

/// The protocol's timing parameters, as the chain states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	/// Blocks per window (`WindowLength`).
	pub window_length: u64,
	/// Blocks after a window ends during which its payloads are revealed (`RevealBlocks`).
	pub reveal_blocks: u64,
	/// Blocks after a window ends until which validators' results are accepted
	/// (`ScoreDeadlineBlocks`).
	pub score_deadline_blocks: u64,
}

/// The phase of one window at one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
	/// The window has not opened yet.
	Future,
	/// Open: miners train and commit.
	Open,
	/// Closed to commitments; its payloads are being revealed (and scored).
	Reveal,
	/// Reveal over (outer step applied); validators' results still accepted.
	Scoring,
	/// Its verdict is published: the window is settled.
	Settled,
}

impl Timing {
	/// First block of `window`.
	pub fn start(&self, window: Window) -> Block {
		window.saturating_mul(self.window_length)
	}

	/// The window block `n` belongs to.
	pub fn window_of(&self, n: Block) -> Window {
		n / self.window_length.max(1)
	}

	/// The last block that can include a commitment for `window`.
	pub fn last_commit_block(&self, window: Window) -> Block {
		self.start(window + 1) - 1
	}

	/// First block of `window`'s reveal period (uploads before it count as early).
	pub fn reveal_start(&self, window: Window) -> Block {
		self.start(window + 1)
	}

	/// First block after `window`'s reveal period (its outer step is applied from here).
	pub fn reveal_end(&self, window: Window) -> Block {
		self.start(window + 1) + self.reveal_blocks
	}

	/// The block that closes `window`'s scoring period and publishes its verdict; results must
	/// be included before it.
	pub fn score_deadline(&self, window: Window) -> Block {
		self.start(window + 1) + self.score_deadline_blocks
	}

	/// The last block that can include validators' results for `window`.
	pub fn last_submit_block(&self, window: Window) -> Block {
		self.score_deadline(window) - 1
	}

	/// The phase of `window` at block `n`.
	pub fn phase(&self, window: Window, n: Block) -> Phase {
		if n < self.start(window) {
			Phase::Future
		} else if n < self.reveal_start(window) {
			Phase::Open
		} else if n < self.reveal_end(window) {
			Phase::Reveal
		} else if n < self.score_deadline(window) {
			Phase::Scoring
		} else {
			Phase::Settled
		}
	}

	/// Whether the parameters make a protocol: a window of at least two blocks (one to train,
	/// one to commit in), a reveal period of at least one block, and a scoring period that ends
	/// after the reveal period.
	pub fn check(&self) -> Result<(), TimingError> {
		if self.window_length < 2 {
			return Err(TimingError::WindowTooShort { window_length: self.window_length });
		}
		if self.reveal_blocks == 0 {
			return Err(TimingError::NoRevealPeriod);
		}
		if self.score_deadline_blocks <= self.reveal_blocks {
			return Err(TimingError::ScoringBeforeReveal {
				reveal_blocks: self.reveal_blocks,
				score_deadline_blocks: self.score_deadline_blocks,
			});
		}
		Ok(())
	}
}

/// Timing parameters that do not make a protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
	/// A window shorter than two blocks.
	#[error("a window of {window_length} block(s) leaves no block to commit in")]
	WindowTooShort {
		/// The chain's `WindowLength`.
		window_length: u64,
	},
	/// No reveal period.
	#[error("a reveal period of 0 blocks")]
	NoRevealPeriod,
	/// The scoring period ends before (or with) the reveal period.
	#[error(
		"the scoring period ({score_deadline_blocks} blocks) must outlast the reveal period \
		 ({reveal_blocks} blocks)"
	)]
	ScoringBeforeReveal {
		/// The chain's `RevealBlocks`.
		reveal_blocks: u64,
		/// The chain's `ScoreDeadlineBlocks`.
		score_deadline_blocks: u64,
	},
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The dev runtime's parameters.
	pub(crate) const DEV: Timing =
		Timing { window_length: 10, reveal_blocks: 3, score_deadline_blocks: 10 };

	#[test]
	fn every_phase_boundary_of_a_window() {
		let w = 4;
		assert_eq!(DEV.phase(w, 39), Phase::Future);
		assert_eq!(DEV.phase(w, 40), Phase::Open);
		assert_eq!(DEV.phase(w, 49), Phase::Open);
		assert_eq!(DEV.last_commit_block(w), 49);
		assert_eq!(DEV.phase(w, 50), Phase::Reveal);
		assert_eq!(DEV.reveal_start(w), 50);
		assert_eq!(DEV.phase(w, 52), Phase::Reveal);
		assert_eq!(DEV.phase(w, 53), Phase::Scoring);
		assert_eq!(DEV.reveal_end(w), 53);
		assert_eq!(DEV.phase(w, 59), Phase::Scoring);
		assert_eq!(DEV.last_submit_block(w), 59);
		assert_eq!(DEV.phase(w, 60), Phase::Settled);
		assert_eq!(DEV.score_deadline(w), 60);
	}

	#[test]
	fn blocks_map_to_their_window() {
		assert_eq!(DEV.window_of(0), 0);
		assert_eq!(DEV.window_of(9), 0);
		assert_eq!(DEV.window_of(10), 1);
		assert_eq!(DEV.start(DEV.window_of(57)), 50);
	}

	#[test]
	fn parameters_that_make_no_protocol_are_refused() {
		assert!(DEV.check().is_ok());
		let short = Timing { window_length: 1, ..DEV };
		assert_eq!(short.check(), Err(TimingError::WindowTooShort { window_length: 1 }));
		let no_reveal = Timing { reveal_blocks: 0, ..DEV };
		assert_eq!(no_reveal.check(), Err(TimingError::NoRevealPeriod));
		let scoring = Timing { score_deadline_blocks: 3, ..DEV };
		assert!(matches!(scoring.check(), Err(TimingError::ScoringBeforeReveal { .. })));
		assert!(scoring.check().is_err_and(|e| e.to_string().contains("must outlast")));
	}
}
