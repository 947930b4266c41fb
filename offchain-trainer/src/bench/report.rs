//! The table `offchain-trainer bench` prints: each figure, ours beside the reference's, the
//! ratio read the way the target is written ("× faster", "× the bytes"), and the target
//! (DESIGN.md §8); and the same run as JSON (`--json`), with each figure's advantage over the
//! reference, which the regression guard (`guard.rs`) compares.

use super::measure::{BenchSpec, Figures};
use serde::Serialize;
use std::fmt::Write;

/// How a figure compares.
#[derive(Clone, Copy)]
enum Better {
	/// Larger is better (GB/s, tokens/s): ratio = ours / theirs.
	Higher,
	/// Smaller is better and it is a size: ratio = ours / theirs, "× the bytes".
	Smaller,
	/// Smaller is better and it is a time: ratio = theirs / ours, "× faster".
	Faster,
}

struct Row {
	label: String,
	unit: &'static str,
	ours: Option<f64>,
	theirs: Option<f64>,
	better: Better,
	target: &'static str,
}

/// Which way each figure of [`Figures::named`] is better.
fn direction(figure: &str) -> Option<Better> {
	Some(match figure {
		"compress_gbps_one" | "compress_gbps_all" | "tokens_per_s" | "matmul_gflops" => {
			Better::Higher
		},
		"bytes_per_chunk" => Better::Smaller,
		"aggregate_s" | "optimizer_s" | "gauntlet_s" => Better::Faster,
		_ => return None,
	})
}

/// How many times better ours is than the reference on `figure` (above 1: ours is better):
/// ours / theirs for a rate, theirs / ours for a time or a size. `None` where either side is
/// missing or not positive, or the figure is unknown.
pub fn advantage(figure: &str, ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
	let (o, t) = (ours?, theirs?);
	if !(o.is_finite() && t.is_finite() && o > 0.0 && t > 0.0) {
		return None;
	}
	Some(match direction(figure)? {
		Better::Higher => o / t,
		Better::Smaller | Better::Faster => t / o,
	})
}

/// One figure of a run, as the JSON has it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FigureJson {
	/// The figure's name (`Figures`' field).
	pub figure: &'static str,
	/// Ours.
	pub ours: Option<f64>,
	/// The reference's.
	pub reference: Option<f64>,
	/// How many times better ours is ([`advantage`]).
	pub advantage: Option<f64>,
}

/// A whole `offchain-trainer bench` run, as `--json` writes it.
#[derive(Clone, Debug, Serialize)]
pub struct RunJson<'a> {
	/// The table's title (model, device, threads, profile).
	pub title: &'a str,
	/// The reference's column title (`PyTorch 2.15.0`), or `reference` when it did not run.
	pub reference: &'a str,
	/// What was measured.
	pub spec: &'a BenchSpec,
	/// Every figure, in table order.
	pub figures: Vec<FigureJson>,
	/// Why figures are missing, ours and the reference's.
	pub notes: Vec<String>,
}

/// The run as JSON.
pub fn json<'a>(
	title: &'a str,
	reference: &'a str,
	spec: &'a BenchSpec,
	ours: &Figures,
	theirs: &Figures,
) -> RunJson<'a> {
	let figures = ours
		.named()
		.into_iter()
		.zip(theirs.named())
		.map(|((figure, o), (_, t))| FigureJson {
			figure,
			ours: o,
			reference: t,
			advantage: advantage(figure, o, t),
		})
		.collect();
	let notes = ours.notes.iter().chain(&theirs.notes).cloned().collect();
	RunJson { title, reference, spec, figures, notes }
}

fn cell(v: Option<f64>, unit: &str) -> String {
	match v {
		Some(v) if v >= 100.0 => format!("{v:.0} {unit}"),
		Some(v) if v >= 1.0 => format!("{v:.2} {unit}"),
		Some(v) => format!("{v:.3} {unit}"),
		None => "—".into(),
	}
}

fn ratio(row: &Row) -> String {
	match (row.ours, row.theirs) {
		(Some(o), Some(t)) if o > 0.0 && t > 0.0 => match row.better {
			Better::Higher => format!("{:.2}×", o / t),
			Better::Smaller => format!("{:.2}× the bytes", o / t),
			Better::Faster if t >= o => format!("{:.2}× faster", t / o),
			Better::Faster => format!("{:.2}× slower", o / t),
		},
		_ => "—".into(),
	}
}

/// The table, with `title` above it. `reference` is the reference's column title.
pub fn table(
	title: &str,
	reference: &str,
	ours: &Figures,
	theirs: &Figures,
	threads: usize,
	peers: usize,
) -> String {
	let rows = [
		Row {
			label: "compress + error feedback, 1 thread".into(),
			unit: "GB/s",
			ours: ours.compress_gbps_one,
			theirs: theirs.compress_gbps_one,
			better: Better::Higher,
			target: "≥ 1 GB/s; ≥ 2× PyTorch",
		},
		Row {
			label: format!("compress + error feedback, {threads} threads"),
			unit: "GB/s",
			ours: ours.compress_gbps_all,
			theirs: theirs.compress_gbps_all,
			better: Better::Higher,
			target: "GPU: ≥ 50% HBM; ≥ 3×",
		},
		Row {
			label: "payload bytes per 64×64 chunk".into(),
			unit: "B",
			ours: ours.bytes_per_chunk,
			theirs: theirs.bytes_per_chunk,
			better: Better::Smaller,
			target: "≤ 0.7× Templar",
		},
		Row {
			label: format!("decode + aggregate + apply, {peers} peers"),
			unit: "s",
			ours: ours.aggregate_s,
			theirs: theirs.aggregate_s,
			better: Better::Faster,
			target: "GPU, 1B params: < 2 s",
		},
		Row {
			label: "inner step (fwd + bwd + AdamW)".into(),
			unit: "tok/s",
			ours: ours.tokens_per_s,
			theirs: theirs.tokens_per_s,
			better: Better::Higher,
			target: "GPU: ≥ 0.8× eager",
		},
		Row {
			label: "  its largest matrix product".into(),
			unit: "GFLOP/s",
			ours: ours.matmul_gflops,
			theirs: theirs.matmul_gflops,
			better: Better::Higher,
			target: "— (where the step's time goes)",
		},
		Row {
			label: "  its optimizer update (clip + AdamW)".into(),
			unit: "s",
			ours: ours.optimizer_s,
			theirs: theirs.optimizer_s,
			better: Better::Faster,
			target: "—",
		},
		Row {
			label: "Gauntlet, per payload".into(),
			unit: "s",
			ours: ours.gauntlet_s,
			theirs: theirs.gauntlet_s,
			better: Better::Faster,
			target: "—",
		},
	];
	let mut out = format!("{title}\n");
	let _ =
		writeln!(out, "{:<40} {:>14} {reference:>14} {:>18}  target", "figure", "tessera", "ratio");
	for row in &rows {
		let _ = writeln!(
			out,
			"{:<40} {:>14} {:>14} {:>18}  {}",
			row.label,
			cell(row.ours, row.unit),
			cell(row.theirs, row.unit),
			ratio(row),
			row.target
		);
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn ratios_read_the_way_the_targets_are_written() {
		let ours = Figures {
			compress_gbps_one: Some(1.0),
			bytes_per_chunk: Some(76.0),
			aggregate_s: Some(0.1),
			gauntlet_s: Some(2.0),
			..Figures::default()
		};
		let theirs = Figures {
			compress_gbps_one: Some(0.25),
			bytes_per_chunk: Some(160.0),
			aggregate_s: Some(0.4),
			tokens_per_s: Some(1000.0),
			gauntlet_s: Some(0.5),
			..Figures::default()
		};
		let t = table("t", "PyTorch", &ours, &theirs, 2, 20);
		assert!(t.contains("4.00×"), "{t}");
		assert!(t.contains("0.47× the bytes"), "{t}");
		assert!(t.contains("4.00× faster"), "{t}");
		assert!(t.contains("4.00× slower"), "{t}");
		let tokens = t.lines().find(|l| l.starts_with("inner step")).unwrap();
		assert!(tokens.contains("—") && tokens.contains("1000 tok/s"), "{tokens}");
	}

	#[test]
	fn the_advantage_is_above_one_where_ours_is_better_whichever_way_a_figure_reads() {
		assert_eq!(advantage("compress_gbps_one", Some(1.0), Some(0.25)), Some(4.0));
		assert_eq!(advantage("bytes_per_chunk", Some(80.0), Some(160.0)), Some(2.0));
		assert_eq!(advantage("aggregate_s", Some(0.1), Some(0.4)), Some(4.0));
		assert_eq!(advantage("gauntlet_s", Some(2.0), Some(0.5)), Some(0.25));
		assert_eq!(advantage("optimizer_s", Some(0.05), Some(0.1)), Some(2.0));
		assert_eq!(advantage("tokens_per_s", Some(250.0), Some(1000.0)), Some(0.25));
		assert_eq!(advantage("aggregate_s", None, Some(0.4)), None);
		assert_eq!(advantage("aggregate_s", Some(0.0), Some(0.4)), None);
		assert_eq!(advantage("aggregate_s", Some(f64::NAN), Some(0.4)), None);
		assert_eq!(advantage("no_such_figure", Some(1.0), Some(1.0)), None);
		// Every figure the bench measures has a direction.
		for (name, _) in Figures::default().named() {
			assert!(direction(name).is_some(), "{name}");
		}
	}

	#[test]
	fn the_json_carries_every_figure_with_its_advantage() {
		let spec = BenchSpec { codec_only: true, ..crate::bench::measure::test_spec() };
		let ours = Figures { compress_gbps_one: Some(1.0), ..Figures::default() };
		let theirs = Figures {
			compress_gbps_one: Some(0.5),
			notes: vec!["no model rows".into()],
			..Figures::default()
		};
		let run = json("t", "PyTorch 2.15.0", &spec, &ours, &theirs);
		let value = serde_json::to_value(&run).unwrap();
		assert_eq!(value["reference"], "PyTorch 2.15.0");
		assert_eq!(value["spec"]["codec_only"], true);
		let figures = value["figures"].as_array().unwrap();
		assert_eq!(figures.len(), 8);
		assert_eq!(figures[0]["figure"], "compress_gbps_one");
		assert_eq!(figures[0]["advantage"], 2.0);
		assert!(figures[1]["advantage"].is_null());
		assert_eq!(value["notes"][0], "no model rows");
	}
}
