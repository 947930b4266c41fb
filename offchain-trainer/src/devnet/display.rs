//! What the devnet shows while it runs (one refreshed status block: window, held-out loss,
//! each miner's training loss and score, θ agreement) and when it ends (a summary table, one
//! row per window).

use super::history::{PeerInfo, WindowSummary};
use std::fmt::Write;

/// The live status lines for the latest windows.
pub fn status(block: Option<u64>, windows: &[WindowSummary], miners: &[&PeerInfo]) -> String {
	let mut out = String::new();
	let window = windows.iter().rev().find(|w| !w.theta.is_empty());
	let _ = write!(out, "block {}", block.map_or("-".into(), |b| b.to_string()));
	if let Some(w) = window {
		let _ = write!(
			out,
			" · window {} applied · θ {}",
			w.window,
			if w.agreed() { "agreed" } else { "DIFFERS" }
		);
	}
	// A miner measures θ's loss after its next commitment: the newest window with one.
	if let Some((w, loss)) =
		windows.iter().rev().find_map(|w| w.held_out_loss.map(|l| (w.window, l)))
	{
		let _ = write!(out, " · held-out loss {loss:.3} after window {w}");
	}
	let scored = windows.iter().rev().find(|w| !w.score.is_empty());
	for m in miners {
		let train = windows.iter().rev().find_map(|w| w.train_loss.get(&m.name).copied());
		let score = scored.and_then(|w| w.score.get(&m.name).copied());
		let _ = write!(
			out,
			"\n  {:<8} train loss {:>6}  score {:>5}",
			m.name,
			train.map_or("-".into(), |l| format!("{l:.3}")),
			score.map_or("-".into(), |s| format!("{s:.3}")),
		);
	}
	out
}

/// The summary table: one row per window with the held-out loss, aggregated updates, θ
/// agreement and each miner's score (and flags).
pub fn summary_table(windows: &[WindowSummary], miners: &[&PeerInfo]) -> String {
	let mut out = String::new();
	let _ = write!(out, "{:>6}  {:>9}  {:>8}  {:>6}", "window", "held-out", "included", "θ");
	for m in miners {
		let _ = write!(out, "  {:>14}", m.name);
	}
	out.push('\n');
	for w in windows.iter().filter(|w| w.window >= 1) {
		let _ = write!(
			out,
			"{:>6}  {:>9}  {:>8}  {:>6}",
			w.window,
			w.held_out_loss.map_or("-".into(), |l| format!("{l:.3}")),
			w.included.map_or("-".into(), |i| i.to_string()),
			if w.agreed() { "agreed" } else { "DIFFER" }
		);
		for m in miners {
			let cell = match (w.score.get(&m.name), w.flags.get(&m.name)) {
				(Some(s), Some(f)) if !f.is_empty() => format!("{s:.3} {}", f.join(",")),
				(Some(s), _) => format!("{s:.3}"),
				_ => "-".into(),
			};
			let _ = write!(out, "  {cell:>14}");
		}
		out.push('\n');
	}
	out
}

/// Each miner's utilisation: the seconds it trained (`Record::Trained::train_seconds`) over
/// windows `1..` of `window_seconds` each (a window it did not train, or whose update it did not
/// commit, counts as 0), e.g.
/// `miner utilisation (training time / window time, windows 1–4): alice 61.2 %, bob 58.0 %`.
pub fn utilisation(windows: &[WindowSummary], miners: &[&PeerInfo], window_seconds: f64) -> String {
	let shown: Vec<&WindowSummary> = windows.iter().filter(|w| w.window >= 1).collect();
	let (Some(first), Some(last)) = (shown.first(), shown.last()) else { return String::new() };
	let cells: Vec<String> = miners
		.iter()
		.map(|m| {
			let trained: f64 = shown.iter().filter_map(|w| w.train_seconds.get(&m.name)).sum();
			let share = trained / (window_seconds * shown.len() as f64);
			format!("{} {:.1} %", m.name, 100.0 * share)
		})
		.collect();
	format!(
		"miner utilisation (training time / window time, windows {}–{}): {}",
		first.window,
		last.window,
		cells.join(", ")
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_table_has_a_row_per_window_and_a_column_per_miner() {
		let alice = PeerInfo { name: "alice".into(), account: "aa".into(), validator: false };
		let mut w = WindowSummary {
			window: 1,
			held_out_loss: Some(7.5),
			included: Some(2),
			..Default::default()
		};
		w.theta.insert("alice".into(), "h".into());
		w.score.insert("alice".into(), 0.42);
		w.flags.insert("alice".into(), vec!["late".into()]);
		let table = summary_table(&[w.clone()], &[&alice]);
		let lines: Vec<&str> = table.lines().collect();
		assert_eq!(lines.len(), 2);
		assert!(lines[0].contains("alice"));
		assert!(lines[1].contains("7.500") && lines[1].contains("0.420 late"), "{table}");
		let live = status(Some(12), &[w.clone()], &[&alice]);
		assert!(live.contains("held-out loss 7.500 after window 1") && live.contains("agreed"));
		// The next window is applied before a miner measured its θ: the last loss stands.
		let mut next = WindowSummary { window: 2, held_out_loss: None, ..Default::default() };
		next.theta.insert("alice".into(), "h2".into());
		let live = status(Some(22), &[w, next], &[&alice]);
		assert!(
			live.contains("window 2 applied")
				&& live.contains("held-out loss 7.500 after window 1"),
			"{live}"
		);
	}

	#[test]
	fn utilisation_is_training_time_over_window_time_with_idle_windows_counted() {
		let alice = PeerInfo { name: "alice".into(), account: "aa".into(), validator: false };
		let bob = PeerInfo { name: "bob".into(), account: "bb".into(), validator: false };
		let window = |n: u64, alice_s: Option<f64>| {
			let mut w = WindowSummary { window: n, ..Default::default() };
			if let Some(s) = alice_s {
				w.train_seconds.insert("alice".into(), s);
			}
			w.train_seconds.insert("bob".into(), 50.0);
			w
		};
		// Window 0 (nothing trains) is not shown; alice idles in window 2.
		let windows =
			[window(0, None), window(1, Some(60.0)), window(2, None), window(3, Some(90.0))];
		let line = utilisation(&windows, &[&alice, &bob], 100.0);
		assert_eq!(
			line,
			"miner utilisation (training time / window time, windows 1–3): alice 50.0 %, bob 50.0 %"
		);
		assert_eq!(utilisation(&[], &[&alice], 100.0), "");
	}
}
