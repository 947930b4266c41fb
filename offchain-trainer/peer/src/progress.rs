//! Progress bars that never break a log line. Every bar a process shows (the miner's inner
//! steps, a checkpoint download, the devnet's status line) is drawn by one
//! `indicatif::MultiProgress` ([`add`]), and log lines go out through [`LogWriter`], which clears
//! the bars, writes the line whole and redraws them (`MultiProgress::suspend`). Bars are drawn
//! only on a terminal; under a service manager or in a pipe there are none and lines go straight
//! out.

use indicatif::{MultiProgress, ProgressBar};
use std::{io::Write, sync::OnceLock};

/// The process's bars.
pub fn bars() -> &'static MultiProgress {
	static BARS: OnceLock<MultiProgress> = OnceLock::new();
	BARS.get_or_init(MultiProgress::new)
}

/// Shows `bar` among the process's bars (below any already shown) and returns it.
pub fn add(bar: ProgressBar) -> ProgressBar {
	bars().add(bar)
}

/// A writer of log lines that keeps them whole under the bars: each write clears the bars,
/// writes all its bytes and redraws them. `tracing_subscriber::fmt` writes one event per
/// write, so an event is never split by a redraw.
pub struct LogWriter<W> {
	bars: &'static MultiProgress,
	out: W,
}

impl LogWriter<std::io::Stderr> {
	/// Log lines to standard error, under the process's bars.
	pub fn stderr() -> Self {
		Self { bars: bars(), out: std::io::stderr() }
	}
}

impl<W: Write> LogWriter<W> {
	/// Log lines to `out`, under `bars`.
	pub fn new(bars: &'static MultiProgress, out: W) -> Self {
		Self { bars, out }
	}
}

impl<W: Write> Write for LogWriter<W> {
	fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
		let out = &mut self.out;
		if self.bars.is_hidden() {
			// No terminal (a service manager, a pipe): nothing to clear, no lock to take.
			out.write_all(buf)?;
		} else {
			// Nothing here may log: the bars' lock is held while `suspend` runs.
			self.bars.suspend(|| out.write_all(buf).and_then(|()| out.flush()))?;
		}
		Ok(buf.len())
	}

	fn flush(&mut self) -> std::io::Result<()> {
		self.out.flush()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use indicatif::{ProgressDrawTarget, TermLike};
	use std::sync::{Arc, Mutex};

	/// A terminal that records what is done to it, in order.
	#[derive(Clone, Debug, Default)]
	struct Screen(Arc<Mutex<Vec<String>>>);

	impl Screen {
		fn push(&self, op: String) {
			self.0.lock().unwrap().push(op);
		}
		fn ops(&self) -> Vec<String> {
			self.0.lock().unwrap().clone()
		}
	}

	impl TermLike for Screen {
		fn width(&self) -> u16 {
			80
		}
		fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
			self.push(format!("up {n}"));
			Ok(())
		}
		fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
			self.push(format!("down {n}"));
			Ok(())
		}
		fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
			self.push(format!("right {n}"));
			Ok(())
		}
		fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
			self.push(format!("left {n}"));
			Ok(())
		}
		fn write_line(&self, s: &str) -> std::io::Result<()> {
			self.push(format!("line {s}"));
			Ok(())
		}
		fn write_str(&self, s: &str) -> std::io::Result<()> {
			self.push(format!("str {s}"));
			Ok(())
		}
		fn clear_line(&self) -> std::io::Result<()> {
			self.push("clear".into());
			Ok(())
		}
		fn flush(&self) -> std::io::Result<()> {
			Ok(())
		}
	}

	/// Standard error as the screen sees it: log lines land between the screen's operations.
	struct Out(Screen);

	impl Write for Out {
		fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
			self.0.push(format!("log {}", String::from_utf8_lossy(buf).trim_end()));
			Ok(buf.len())
		}
		fn flush(&mut self) -> std::io::Result<()> {
			Ok(())
		}
	}

	#[test]
	fn a_log_line_clears_the_bars_goes_out_whole_and_the_bars_come_back() {
		let screen = Screen::default();
		let bars: &'static MultiProgress = Box::leak(Box::new(MultiProgress::with_draw_target(
			ProgressDrawTarget::term_like(Box::new(screen.clone())),
		)));
		let bar = bars.add(ProgressBar::new(10));
		bar.set_message("training");
		bar.set_position(3);
		bar.tick();
		let drawn = screen.ops();
		assert!(drawn.iter().any(|op| op.contains("3/10")), "the bar is drawn: {drawn:?}");

		let mut log = LogWriter::new(bars, Out(screen.clone()));
		log.write_all(b"INFO window trained window=3\n").unwrap();
		let ops = screen.ops();
		let at = ops.iter().position(|op| op.starts_with("log ")).unwrap();
		assert_eq!(ops[at], "log INFO window trained window=3", "the line is whole: {ops:?}");
		// Between the bar's last drawing and the line, the bar was cleared from the screen.
		let last_drawn = ops[..at].iter().rposition(|op| op.contains("3/10")).unwrap();
		assert!(ops[last_drawn..at].iter().any(|op| op == "clear"), "cleared first: {ops:?}");
		// And drawn again after it.
		assert!(ops[at..].iter().any(|op| op.contains("3/10")), "redrawn: {ops:?}");
	}
}
