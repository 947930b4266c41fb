//! PNG charts, drawn with plotters on its bitmap backend: the devnet's picture (held-out loss
//! after each window's outer step above, each miner's Gauntlet score per window below) and the
//! audit's chart of peers' scores and earnings. Text uses DejaVu Sans, embedded in the binary, so no system font is
//! needed.

use super::history::WindowSummary;
use plotters::prelude::*;
use std::{collections::BTreeSet, path::Path, sync::Once};

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("plotting {path}: {message}")]
pub struct PlotError {
	/// The file.
	pub path: String,
	/// What failed.
	pub message: String,
}

const COLOURS: [RGBColor; 6] = [
	RGBColor(31, 119, 180),
	RGBColor(255, 127, 14),
	RGBColor(44, 160, 44),
	RGBColor(214, 39, 40),
	RGBColor(148, 103, 189),
	RGBColor(140, 86, 75),
];

fn register_font() {
	static ONCE: Once = Once::new();
	ONCE.call_once(|| {
		if plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
			.is_err()
		{
			tracing::warn!("the embedded font did not load; the plot has no text");
		}
	});
}

/// A series: its label and its `(window, value)` points.
pub type Series = (String, Vec<(u64, f64)>);

/// One line chart of `series` over windows `0..=last` on `area`.
fn line_chart<DB: DrawingBackend>(
	area: &DrawingArea<DB, plotters::coord::Shift>,
	caption: &str,
	y_desc: &str,
	(lo, hi): (f64, f64),
	last: u64,
	series: &[Series],
) -> Result<(), String> {
	let err = |e: &dyn std::fmt::Display| e.to_string();
	let mut chart = ChartBuilder::on(area)
		.caption(caption, ("sans-serif", 22))
		.margin(15)
		.x_label_area_size(35)
		.y_label_area_size(55)
		.build_cartesian_2d(0u64..last.max(1), lo..hi)
		.map_err(|e| err(&e))?;
	chart.configure_mesh().x_desc("window").y_desc(y_desc).draw().map_err(|e| err(&e))?;
	for (i, (label, points)) in series.iter().enumerate() {
		let colour = COLOURS[i % COLOURS.len()];
		chart
			.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
			.map_err(|e| err(&e))?
			.label(label.as_str())
			.legend(move |(x, y)| {
				PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
			});
		chart
			.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
			.map_err(|e| err(&e))?;
	}
	if series.len() > 1 {
		chart
			.configure_series_labels()
			.background_style(WHITE.mix(0.8))
			.border_style(BLACK)
			.draw()
			.map_err(|e| err(&e))?;
	}
	Ok(())
}

/// The value range of `series`, padded (or `fallback` when empty).
fn range(series: &[Series], fallback: (f64, f64)) -> (f64, f64) {
	let values = series.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v));
	let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
	if lo > hi { fallback } else { (lo - 0.1, hi + 0.1) }
}

/// Draws `windows` into the PNG file `path` (1000 × 800 pixels): held-out loss above, each
/// miner's score below.
pub fn draw(path: &Path, windows: &[WindowSummary]) -> Result<(), PlotError> {
	register_font();
	let fail = |message: String| PlotError { path: path.display().to_string(), message };
	let root = BitMapBackend::new(path, (1000, 800)).into_drawing_area();
	root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
	let (top, bottom) = root.split_vertically(400);
	let last = windows.iter().map(|w| w.window).max().unwrap_or(1);
	let loss: Vec<Series> = vec![(
		"held-out".into(),
		windows.iter().filter_map(|w| w.held_out_loss.map(|l| (w.window, f64::from(l)))).collect(),
	)];
	line_chart(
		&top,
		"held-out loss after each outer step",
		"nats / token",
		range(&loss, (0.0, 1.0)),
		last,
		&loss,
	)
	.map_err(fail)?;
	let miners: BTreeSet<&String> = windows.iter().flat_map(|w| w.score.keys()).collect();
	let scores: Vec<Series> = miners
		.into_iter()
		.map(|m| {
			(
				m.clone(),
				windows.iter().filter_map(|w| w.score.get(m).map(|s| (w.window, *s))).collect(),
			)
		})
		.collect();
	line_chart(&bottom, "Gauntlet final score per miner", "score", (0.0, 1.0), last, &scores)
		.map_err(fail)?;
	root.present().map_err(|e| fail(e.to_string()))
}

/// Draws the audit's picture of peers into the PNG file `path` (1000 × 800): each one's verdict
/// score per window above, what it earned per window (in units) below.
pub fn peers(path: &Path, scores: &[Series], earnings: &[Series]) -> Result<(), PlotError> {
	register_font();
	let fail = |message: String| PlotError { path: path.display().to_string(), message };
	let root = BitMapBackend::new(path, (1000, 800)).into_drawing_area();
	root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
	let (top, bottom) = root.split_vertically(400);
	let last = scores
		.iter()
		.chain(earnings)
		.flat_map(|(_, p)| p.iter().map(|(w, _)| *w))
		.max()
		.unwrap_or(1);
	line_chart(&top, "verdict score per window", "score", (0.0, 1.0), last, scores)
		.map_err(fail)?;
	let (_, hi) = range(earnings, (0.0, 1.0));
	line_chart(&bottom, "earned per window", "units", (0.0, hi.max(0.1)), last, earnings)
		.map_err(fail)?;
	root.present().map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn draws_a_png_from_a_summary() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("plot.png");
		let mut windows = Vec::new();
		for w in 0..5u64 {
			let mut s = WindowSummary {
				window: w,
				held_out_loss: Some(8.0 - w as f32 * 0.3),
				..Default::default()
			};
			s.score.insert("alice".into(), 0.1 * w as f64);
			s.score.insert("bob".into(), 0.05 * w as f64);
			windows.push(s);
		}
		draw(&path, &windows).unwrap();
		let bytes = std::fs::read(&path).unwrap();
		assert_eq!(&bytes[1..4], b"PNG");
		assert!(bytes.len() > 10_000, "a real picture: {} bytes", bytes.len());
		let both = dir.path().join("peers.png");
		peers(&both, &[("alice".into(), vec![(1, 0.2)])], &[("alice".into(), vec![(1, 41.0)])])
			.unwrap();
		let bytes = std::fs::read(&both).unwrap();
		assert_eq!(&bytes[1..4], b"PNG");
		assert!(bytes.len() > 10_000, "a real picture: {} bytes", bytes.len());
	}
}
