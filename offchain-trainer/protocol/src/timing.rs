//! Window timing (DESIGN.md §2): which blocks belong to which window and where each phase of a
//! window begins and ends, as pure functions of the block number and the chain's parameters.
//!
//! For window `w` opening at block `s_w` and ending where window `w + 1` opens (`e_w = s_{w+1}`,
//! `s_w + L` for its length `L`), with its reveal period `R` and scoring period `S` (each
//! window keeps the timing it opened with; the chain's governed parameters change only when a
//! window opens):
//!
//! | phase | blocks | what happens |
//! |---|---|---|
//! | open | `s_w ..= e_w − 1` | miners train on θ_w and commit (the last block that can include a commit is `e_w − 1`) |
//! | reveal | `e_w .. e_w + R` | committed payloads must be readable; early uploads before it count as absent |
//! | outer step | from `e_w + R` (from `e_w` once every watched payload was read) | every peer applies w's aggregate: θ_{w+1} |
//! | scoring | `e_w .. e_w + S` | validators' results are accepted; block `e_w + S` publishes the verdict |
//!
//! With one timing throughout, `s_w = wL`.

/// A block number.
pub type Block = u64;
/// A window index.
pub type Window = u64;

/// A run of consecutive windows with the same timing, from `first_window` (which opens at
/// `first_block`) on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Era {
	/// The first window with this timing.
	pub first_window: Window,
	/// The block that opens it.
	pub first_block: Block,
	/// Blocks per window (the chain's governed `window_length`).
	pub window_length: u64,
	/// Blocks after a window ends during which its payloads are revealed (`reveal_blocks`).
	pub reveal_blocks: u64,
	/// Blocks after a window ends until which validators' results are accepted
	/// (`score_deadline_blocks`).
	pub score_deadline_blocks: u64,
}

impl Era {
	/// First block of `window` if this era's timing held for it (before the era too,
	/// counting back; saturating at block 0).
	fn start(&self, window: Window) -> Block {
		let length = self.window_length.max(1);
		if window >= self.first_window {
			self.first_block.saturating_add((window - self.first_window).saturating_mul(length))
		} else {
			self.first_block.saturating_sub((self.first_window - window).saturating_mul(length))
		}
	}

	/// The window block `n` falls in if this era's timing held for it.
	fn window_of(&self, n: Block) -> Window {
		let length = self.window_length.max(1);
		if n >= self.first_block {
			self.first_window.saturating_add((n - self.first_block) / length)
		} else {
			self.first_window.saturating_sub((self.first_block - n).div_ceil(length))
		}
	}

	fn check(&self) -> Result<(), TimingError> {
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

/// The protocol's timing as the chain states it: the timing of the windows a peer can still
/// act on (the one being scored, the open one, the next), each window keeping the timing it
/// opened with. The chain changes its parameters only when a window opens, so the eras known
/// at a block cover every window whose phases matter then; a driver refreshes them every
/// block ([`Timing::eras`] in order, the last one extending to every later window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	/// Up to three eras, by `first_window`; unused slots repeat the last one.
	eras: [Era; 3],
}

impl Timing {
	/// The same timing for every window (window `w` opens at `w × window_length`).
	pub const fn uniform(
		window_length: u64,
		reveal_blocks: u64,
		score_deadline_blocks: u64,
	) -> Self {
		let era = Era {
			first_window: 0,
			first_block: 0,
			window_length,
			reveal_blocks,
			score_deadline_blocks,
		};
		Self { eras: [era; 3] }
	}

	/// Timing from one to three eras (in any order), checked: each era makes a protocol and
	/// each later era opens where the one before it ends.
	pub fn from_eras(eras: &[Era]) -> Result<Self, TimingError> {
		let mut sorted: Vec<Era> = eras.to_vec();
		sorted.sort_by_key(|e| e.first_window);
		sorted.dedup_by_key(|e| e.first_window);
		let (Some(first), Some(last)) = (sorted.first().copied(), sorted.last().copied()) else {
			return Err(TimingError::NoEra);
		};
		if sorted.len() > 3 {
			return Err(TimingError::TooManyEras { eras: sorted.len() });
		}
		for era in &sorted {
			era.check()?;
		}
		for pair in sorted.windows(2) {
			if pair[0].start(pair[1].first_window) != pair[1].first_block {
				return Err(TimingError::Discontinuous { window: pair[1].first_window });
			}
		}
		let mut out = [first; 3];
		for (i, slot) in out.iter_mut().enumerate() {
			*slot = sorted.get(i).copied().unwrap_or(last);
		}
		Ok(Self { eras: out })
	}

	/// The eras, by first window (the last one may repeat).
	pub fn eras(&self) -> &[Era; 3] {
		&self.eras
	}

	/// The era `window` belongs to.
	fn era(&self, window: Window) -> &Era {
		self.eras.iter().rev().find(|e| e.first_window <= window).unwrap_or(&self.eras[0])
	}

	/// Blocks in `window`.
	pub fn window_length(&self, window: Window) -> u64 {
		self.era(window).window_length
	}

	/// `window`'s reveal period in blocks.
	pub fn reveal_blocks(&self, window: Window) -> u64 {
		self.era(window).reveal_blocks
	}

	/// `window`'s scoring period in blocks.
	pub fn score_deadline_blocks(&self, window: Window) -> u64 {
		self.era(window).score_deadline_blocks
	}

	/// First block of `window`.
	pub fn start(&self, window: Window) -> Block {
		self.era(window).start(window)
	}

	/// The window block `n` belongs to.
	pub fn window_of(&self, n: Block) -> Window {
		let era = self.eras.iter().rev().find(|e| e.first_block <= n).unwrap_or(&self.eras[0]);
		era.window_of(n)
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
		self.start(window + 1) + self.reveal_blocks(window)
	}

	/// The block that closes `window`'s scoring period and publishes its verdict; results must
	/// be included before it.
	pub fn score_deadline(&self, window: Window) -> Block {
		self.start(window + 1) + self.score_deadline_blocks(window)
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

	/// Whether the parameters make a protocol: every era a window of at least two blocks (one
	/// to train, one to commit in), a reveal period of at least one block, and a scoring period
	/// that ends after the reveal period.
	pub fn check(&self) -> Result<(), TimingError> {
		Self::from_eras(&self.eras).map(|_| ())
	}
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

/// Timing parameters that do not make a protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
	/// A window shorter than two blocks.
	#[error("a window of {window_length} block(s) leaves no block to commit in")]
	WindowTooShort {
		/// The window length (blocks).
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
		/// The reveal period (blocks).
		reveal_blocks: u64,
		/// The scoring period (blocks).
		score_deadline_blocks: u64,
	},
	/// No era given.
	#[error("no window timing given")]
	NoEra,
	/// More eras than a peer tracks.
	#[error("{eras} eras of window timing given, at most 3 are tracked")]
	TooManyEras {
		/// How many were given.
		eras: usize,
	},
	/// An era does not open where the one before it ends.
	#[error("window {window} does not open where the window before it ends")]
	Discontinuous {
		/// The first window of the era that does not follow on.
		window: Window,
	},
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The dev runtime's parameters.
	pub(crate) const DEV: Timing = Timing::uniform(10, 3, 10);

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
		let short = Timing::uniform(1, 3, 10);
		assert_eq!(short.check(), Err(TimingError::WindowTooShort { window_length: 1 }));
		let no_reveal = Timing::uniform(10, 0, 10);
		assert_eq!(no_reveal.check(), Err(TimingError::NoRevealPeriod));
		let scoring = Timing::uniform(10, 3, 3);
		assert!(matches!(scoring.check(), Err(TimingError::ScoringBeforeReveal { .. })));
		assert!(scoring.check().is_err_and(|e| e.to_string().contains("must outlast")));
	}

	/// Windows 1–2 of 10 blocks (scoring 10), from window 3 on 20 blocks (reveal 4, scoring 6):
	/// window 3 opens at block 30.
	fn changed() -> Timing {
		let old = Era {
			first_window: 1,
			first_block: 10,
			window_length: 10,
			reveal_blocks: 3,
			score_deadline_blocks: 10,
		};
		let new = Era {
			first_window: 3,
			first_block: 30,
			window_length: 20,
			reveal_blocks: 4,
			score_deadline_blocks: 6,
		};
		Timing::from_eras(&[new, old]).expect("continuous eras")
	}

	#[test]
	fn a_change_of_length_keeps_numbering_and_each_windows_own_periods() {
		let t = changed();
		assert_eq!(
			[t.start(1), t.start(2), t.start(3), t.start(4), t.start(5)],
			[10, 20, 30, 50, 70]
		);
		assert_eq!(
			[t.window_of(29), t.window_of(30), t.window_of(49), t.window_of(50)],
			[2, 3, 3, 4]
		);
		// Window 2 ends at 30 and keeps its own periods: revealed until 33, scored until 40.
		assert_eq!((t.last_commit_block(2), t.reveal_end(2), t.score_deadline(2)), (29, 33, 40));
		// Window 3 (new timing): ends at 50, revealed until 54, scored until 56.
		assert_eq!((t.last_commit_block(3), t.reveal_end(3), t.score_deadline(3)), (49, 54, 56));
		assert_eq!(t.phase(3, 45), Phase::Open);
		assert_eq!(t.phase(2, 35), Phase::Scoring);
		assert_eq!(t.window_length(2), 10);
		assert_eq!(t.window_length(9), 20);
		// Every block belongs to the window whose range holds it.
		for n in 10..200 {
			let w = t.window_of(n);
			assert!(t.start(w) <= n && n < t.start(w + 1), "block {n} in window {w}");
		}
	}

	#[test]
	fn eras_that_do_not_follow_on_are_refused() {
		let era = |first_window, first_block| Era {
			first_window,
			first_block,
			window_length: 10,
			reveal_blocks: 3,
			score_deadline_blocks: 10,
		};
		assert!(Timing::from_eras(&[era(1, 10), era(3, 30)]).is_ok());
		assert_eq!(
			Timing::from_eras(&[era(1, 10), era(3, 31)]),
			Err(TimingError::Discontinuous { window: 3 })
		);
		assert_eq!(Timing::from_eras(&[]), Err(TimingError::NoEra));
		assert_eq!(
			Timing::from_eras(&[era(1, 10), era(2, 20), era(3, 30), era(4, 40)]),
			Err(TimingError::TooManyEras { eras: 4 })
		);
		let bad = Era { reveal_blocks: 0, ..era(1, 10) };
		assert_eq!(Timing::from_eras(&[bad]), Err(TimingError::NoRevealPeriod));
		assert_eq!(Timing::from_eras(&[era(0, 0)]), Ok(DEV));
	}
}
