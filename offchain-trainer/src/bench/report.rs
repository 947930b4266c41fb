//! The table `offchain-trainer bench` prints: each figure, ours beside the reference's, the
//! ratio read the way the target is written ("× faster", "× the bytes"), and the target
//! (DESIGN.md §8).

use super::measure::Figures;
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
}
