//! The devnet's picture: a PNG with the held-out loss after each window's outer step (top) and
//! each miner's Gauntlet score per window (bottom), drawn with plotters on its bitmap backend.
//! Text uses DejaVu Sans, embedded in the binary, so no system font is needed.

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

/// Draws `windows` into the PNG file `path` (1000 × 800 pixels).
pub fn draw(path: &Path, windows: &[WindowSummary]) -> Result<(), PlotError> {
	register_font();
	let err = |e: &dyn std::fmt::Display| PlotError {
		path: path.display().to_string(),
		message: e.to_string(),
	};
	let root = BitMapBackend::new(path, (1000, 800)).into_drawing_area();
	root.fill(&WHITE).map_err(|e| err(&e))?;
	let (top, bottom) = root.split_vertically(400);
	let last = windows.iter().map(|w| w.window).max().unwrap_or(1).max(1);

	let losses: Vec<(u64, f32)> =
		windows.iter().filter_map(|w| w.held_out_loss.map(|l| (w.window, l))).collect();
	let (lo, hi) =
		losses.iter().fold((f32::MAX, f32::MIN), |(lo, hi), (_, l)| (lo.min(*l), hi.max(*l)));
	let (lo, hi) = if losses.is_empty() { (0.0, 1.0) } else { (lo - 0.1, hi + 0.1) };
	let mut chart = ChartBuilder::on(&top)
		.caption("held-out loss after each outer step", ("sans-serif", 22))
		.margin(15)
		.x_label_area_size(35)
		.y_label_area_size(55)
		.build_cartesian_2d(0u64..last, lo..hi)
		.map_err(|e| err(&e))?;
	chart.configure_mesh().x_desc("window").y_desc("nats / token").draw().map_err(|e| err(&e))?;
	chart
		.draw_series(LineSeries::new(losses.iter().copied(), COLOURS[0].stroke_width(2)))
		.map_err(|e| err(&e))?;
	chart
		.draw_series(losses.iter().map(|&(w, l)| Circle::new((w, l), 3, COLOURS[0].filled())))
		.map_err(|e| err(&e))?;

	let miners: BTreeSet<&String> = windows.iter().flat_map(|w| w.score.keys()).collect();
	let mut chart = ChartBuilder::on(&bottom)
		.caption("Gauntlet final score per miner", ("sans-serif", 22))
		.margin(15)
		.x_label_area_size(35)
		.y_label_area_size(55)
		.build_cartesian_2d(0u64..last, 0f64..1f64)
		.map_err(|e| err(&e))?;
	chart.configure_mesh().x_desc("window").y_desc("score").draw().map_err(|e| err(&e))?;
	for (i, miner) in miners.into_iter().enumerate() {
		let colour = COLOURS[i % COLOURS.len()];
		let points: Vec<(u64, f64)> =
			windows.iter().filter_map(|w| w.score.get(miner).map(|s| (w.window, *s))).collect();
		chart
			.draw_series(LineSeries::new(points, colour.stroke_width(2)))
			.map_err(|e| err(&e))?
			.label(miner.as_str())
			.legend(move |(x, y)| {
				PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
			});
	}
	chart
		.configure_series_labels()
		.background_style(WHITE.mix(0.8))
		.border_style(BLACK)
		.draw()
		.map_err(|e| err(&e))?;
	root.present().map_err(|e| err(&e))?;
	Ok(())
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
	}
}
