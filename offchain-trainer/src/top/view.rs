//! Drawing a [`Snapshot`] with ratatui: the chain's state and the windows in play at the top,
//! every peer in a table, the local peer's own progress below, a footer line. The same
//! drawing goes to the terminal and, in tests and `top --once`, to ratatui's test backend.

use super::own::Own;
use super::snapshot::{InPlay, PeerRow, Snapshot};
use ratatui::{
	Frame,
	layout::{Constraint, Layout},
	style::{Modifier, Style},
	text::Line,
	widgets::{Block, Paragraph, Row, Table},
};
use tessera_chain::amount;
use tessera_protocol::Phase;

/// `blocks` as blocks and, with a known block time, seconds.
fn left(blocks: u64, block_ms: Option<u64>) -> String {
	let unit = if blocks == 1 { "block" } else { "blocks" };
	match block_ms {
		Some(ms) => format!("{blocks} {unit} (~{:.0} s)", (blocks * ms) as f64 / 1000.0),
		None => format!("{blocks} {unit}"),
	}
}

/// One line per window in play.
fn window_line(w: &InPlay, block_ms: Option<u64>) -> String {
	let left = left(w.blocks_left, block_ms);
	match w.phase {
		Phase::Open => format!("window {} open: {left} left to train and commit", w.window),
		Phase::Reveal => format!("window {} revealing: {left} left to upload payloads", w.window),
		Phase::Scoring => format!("window {} scoring: {left} left to submit results", w.window),
		Phase::Future | Phase::Settled => format!("window {}", w.window),
	}
}

/// `0x12345678…abcd` for a long hash; the text as it is when short or not plain ASCII (a
/// report file is the peer's own, but never trusted to be well formed).
fn short_hash(hex: &str) -> String {
	match (hex.get(..8), hex.len().checked_sub(4).and_then(|i| hex.get(i..))) {
		(Some(head), Some(tail)) if hex.len() > 16 => format!("0x{head}…{tail}"),
		_ => hex.into(),
	}
}

/// The top block's lines.
pub fn status_lines(s: &Snapshot) -> Vec<String> {
	let mut lines: Vec<String> = s.in_play.iter().map(|w| window_line(w, s.block_ms)).collect();
	if s.window == 0 {
		lines.push("no window has opened yet (has a run been started? `audit run`)".into());
	}
	lines.push(match (&s.agreement, s.settled) {
		(Some(a), _) if a.submitted == 0 => {
			format!("settled: window {} · no validator scored it", a.window)
		},
		(Some(a), _) => format!(
			"settled: window {} · θ {} · {} of {} validator(s) agree",
			a.window,
			a.theta_hash.as_deref().map_or("not bound (no ⅔ agreement)".into(), short_hash),
			a.agreeing,
			a.submitted
		),
		(None, Some(w)) => format!("settled: window {w} · no validator scored it"),
		(None, None) => "no window settled yet".into(),
	});
	lines
}

fn peer_row(p: &PeerRow) -> Row<'static> {
	let who = p.name.clone().unwrap_or_else(|| p.account.clone());
	let who = if p.leaving { format!("{who} (leaving)") } else { who };
	let miner = p.role == "miner";
	Row::new(vec![
		who,
		p.role.to_string(),
		if !miner {
			"-".into()
		} else if p.committed {
			"yes".into()
		} else {
			"no".into()
		},
		p.score.map_or("-".into(), |s| format!("{s:.3}")),
		if !miner {
			"-".into()
		} else if p.applied {
			"yes".into()
		} else {
			"no".into()
		},
		amount::short(p.earned),
		format!("{:.4}", p.incentive),
	])
}

/// The own block's lines.
pub fn own_lines(own: &Result<Own, String>, s: &Snapshot) -> Vec<String> {
	let own = match own {
		Ok(own) => own,
		Err(e) => return vec![e.clone()],
	};
	let mut lines = Vec::new();
	if let Some(t) = &own.trained {
		lines.push(format!(
			"trained window {}: {} inner steps, loss {}, {:.0} tokens/s, payload {} bytes, {}",
			t.window,
			t.steps,
			t.loss.map_or("-".into(), |l| format!("{l:.3}")),
			t.tokens_per_second,
			t.payload_bytes,
			if t.uploaded { "uploaded" } else { "not uploaded yet" }
		));
	}
	if let Some((window, theta, loss)) = &own.applied {
		let chain = match &s.own_chain_theta {
			Some((w, Some(h))) if w == window && h == theta => "the chain's",
			Some((w, Some(_))) if w == window => "NOT the chain's",
			Some((w, None)) if w == window => "no binding verdict",
			_ => "verdict not out yet",
		};
		let loss = loss.map_or("not measured yet".into(), |l| format!("{l:.3}"));
		lines.push(format!(
			"θ after window {window}: {} ({chain}), held-out loss {loss}",
			short_hash(theta)
		));
	}
	if let Some((window, submitted, peers)) = &own.scored {
		lines.push(format!(
			"scored window {window}: {peers} peer(s), {}",
			if *submitted { "submitted" } else { "not accepted by the chain" }
		));
	}
	if let Some(w) = own.diverged {
		lines.push(format!("diverged: could not reproduce window {w}'s verdict"));
	}
	if lines.is_empty() {
		lines.push("nothing reported yet".into());
	}
	lines
}

/// Draws `s` on `frame`; `footer` goes on the last line.
pub fn draw(frame: &mut Frame, s: &Snapshot, footer: &str) {
	let status = status_lines(s);
	let own = s.own.as_ref().map(|own| own_lines(own, s));
	let own_height = own.as_ref().map_or(0, |l| l.len() as u16 + 2);
	let [top, middle, bottom, foot] = Layout::vertical([
		Constraint::Length(status.len() as u16 + 2),
		Constraint::Min(4),
		Constraint::Length(own_height),
		Constraint::Length(1),
	])
	.areas(frame.area());
	let title = match s.block_ms {
		Some(ms) => format!(
			" tessera · {} · block {} ({:.1} s per block) ",
			s.url,
			s.block,
			ms as f64 / 1000.0
		),
		None => format!(" tessera · {} · block {} ", s.url, s.block),
	};
	let lines: Vec<Line> = status.into_iter().map(Line::from).collect();
	frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), top);

	let settled = s.settled.map_or("-".into(), |w| format!("w{w}"));
	let titles = [
		"peer".to_string(),
		"role".into(),
		format!("committed w{}", s.window),
		format!("score {settled}"),
		"applied".into(),
		format!("earned {settled}"),
		"incentive".into(),
	];
	// Each column as wide as its title, at least as wide as its values; the peer takes the rest.
	let least = [10u16, 9, 3, 5, 3, 12, 9];
	let widths: Vec<Constraint> = titles
		.iter()
		.zip(least)
		.enumerate()
		.map(|(i, (t, l))| {
			let width = (t.chars().count() as u16).max(l);
			if i == 0 { Constraint::Min(width) } else { Constraint::Length(width) }
		})
		.collect();
	let header = Row::new(titles.to_vec()).style(Style::new().add_modifier(Modifier::BOLD));
	let table = Table::new(s.peers.iter().map(peer_row), widths)
		.header(header)
		.block(Block::bordered().title(format!(" {} peers ", s.peers.len())));
	frame.render_widget(table, middle);

	if let Some(lines) = own {
		let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
		frame.render_widget(
			Paragraph::new(lines).block(Block::bordered().title(" this peer (--report) ")),
			bottom,
		);
	}
	frame.render_widget(Paragraph::new(footer.to_string()), foot);
}

/// `s` drawn into a `width` × `height` test backend, as text lines (trailing spaces trimmed):
/// `top --once`, and what tests read.
pub fn render_text(s: &Snapshot, width: u16, height: u16, footer: &str) -> String {
	let backend = ratatui::backend::TestBackend::new(width, height);
	// The test backend cannot fail.
	let Ok(mut terminal) = ratatui::Terminal::new(backend);
	let Ok(_) = terminal.draw(|frame| draw(frame, s, footer));
	let buffer = terminal.backend().buffer();
	let mut out = String::new();
	for y in 0..buffer.area.height {
		let mut line = String::new();
		for x in 0..buffer.area.width {
			line.push_str(buffer[(x, y)].symbol());
		}
		out.push_str(line.trim_end());
		out.push('\n');
	}
	out
}

#[cfg(test)]
mod tests {
	use super::super::snapshot::Agreement;
	use super::*;

	fn snapshot() -> Snapshot {
		Snapshot {
			url: "ws://127.0.0.1:9944".into(),
			block: 57,
			block_ms: Some(1000),
			window: 5,
			in_play: vec![
				InPlay { window: 5, phase: Phase::Open, blocks_left: 4 },
				InPlay { window: 4, phase: Phase::Scoring, blocks_left: 3 },
			],
			settled: Some(3),
			peers: vec![
				PeerRow {
					account: "5Dave".into(),
					name: Some("Dave".into()),
					role: "validator",
					committed: false,
					score: None,
					applied: false,
					earned: 2 * amount::UNIT,
					incentive: 0.0,
					leaving: false,
				},
				PeerRow {
					account: "5Alice".into(),
					name: Some("Alice".into()),
					role: "miner",
					committed: true,
					score: Some(0.8125),
					applied: true,
					earned: 33 * amount::UNIT,
					incentive: 0.5,
					leaving: false,
				},
			],
			agreement: Some(Agreement {
				window: 3,
				theta_hash: Some("ab".repeat(32)),
				submitted: 1,
				agreeing: 1,
			}),
			own: Some(Ok(Own {
				applied: Some((3, "ab".repeat(32), Some(6.25))),
				..Default::default()
			})),
			own_chain_theta: Some((3, Some("ab".repeat(32)))),
		}
	}

	#[test]
	fn the_view_shows_windows_peers_agreement_and_own_progress() {
		let text = render_text(&snapshot(), 110, 20, "q quits");
		for want in [
			"block 57 (1.0 s per block)",
			"window 5 open: 4 blocks (~4 s) left to train and commit",
			"window 4 scoring: 3 blocks (~3 s) left to submit results",
			"settled: window 3 · θ 0xabababab…abab · 1 of 1 validator(s) agree",
			"Alice",
			"0.812",
			"33 TSR",
			"θ after window 3: 0xabababab…abab (the chain's), held-out loss 6.250",
			"q quits",
		] {
			assert!(text.contains(want), "missing {want:?} in:\n{text}");
		}
		// Validators first.
		assert!(text.find("Dave").unwrap() < text.find("Alice").unwrap(), "{text}");
		let mut other = snapshot();
		other.own =
			Some(Ok(Own { applied: Some((3, "cd".repeat(32), Some(6.0))), ..Default::default() }));
		assert!(render_text(&other, 110, 20, "").contains("(NOT the chain's)"));
		// A report's hash that is not hex is shown, not sliced.
		other.own =
			Some(Ok(Own { applied: Some((4, "é".repeat(20), Some(6.0))), ..Default::default() }));
		assert!(render_text(&other, 110, 20, "").contains("(verdict not out yet)"));
		// Long window numbers fit their column titles.
		let mut late = snapshot();
		late.window = 123_456;
		late.settled = Some(123_454);
		let text = render_text(&late, 110, 20, "");
		for title in ["committed w123456", "score w123454", "earned w123454"] {
			assert!(text.contains(title), "{title} cut in:\n{text}");
		}
	}
}
