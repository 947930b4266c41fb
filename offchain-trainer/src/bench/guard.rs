//! The bench's regression guard (issue 23 item 6): each guarded figure's advantage over the
//! reference (ours against PyTorch's, measured side by side in one run: ratios, not absolute
//! times, which move with a shared machine's load) held to a floor, `baseline × (1 −
//! tolerance)`. The baselines and tolerances are checked in (`bench/guard.toml`, each with the
//! run it comes from, and the conditions they were measured under); `offchain-trainer bench
//! --guard FILE` refuses a run under other conditions and fails when a figure falls below its
//! floor or was not measured on both sides.

use super::measure::Figures;
use super::report::advantage;
use serde::Deserialize;
use std::path::Path;

/// One guarded figure.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Guarded {
	/// The figure (`Figures`' field: `compress_gbps_one`, `bytes_per_chunk`, …).
	pub figure: String,
	/// Its advantage over the reference when the baseline was recorded.
	pub baseline: f64,
	/// How far below the baseline the advantage may fall before the guard fails, as a fraction
	/// (0.25: a quarter).
	pub tolerance: f64,
}

impl Guarded {
	/// The lowest advantage that passes.
	pub fn floor(&self) -> f64 {
		self.baseline * (1.0 - self.tolerance)
	}
}

/// What the baselines were measured on: a run under other conditions is not comparable.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
	/// The model preset.
	pub model: String,
	/// `cpu` or `cuda`.
	pub device: String,
	/// Threads of the multi-threaded figures.
	pub threads: usize,
}

/// The guard file: its conditions and every guarded figure.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Guard {
	/// What the baselines were measured on.
	pub conditions: Conditions,
	/// The figures, `[[figure]]` tables in the file.
	#[serde(rename = "figure")]
	pub figures: Vec<Guarded>,
}

/// Why a guard file is refused.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
	/// The file could not be read.
	#[error("cannot read the bench guard {path}: {source}")]
	Read {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// The file is not a guard.
	#[error("the bench guard {path} is not valid: {reason}")]
	Invalid {
		/// The file.
		path: String,
		/// Why.
		reason: String,
	},
}

/// The figures whose advantage the guard may hold (those a codec-only run measures).
const GUARDABLE: [&str; 4] =
	["compress_gbps_one", "compress_gbps_all", "bytes_per_chunk", "aggregate_s"];

impl Guard {
	/// Parses and checks a guard file's text: at least one figure, each a codec figure named
	/// once, with a positive finite baseline and a tolerance in [0, 1).
	pub fn parse(text: &str, path: &str) -> Result<Self, GuardError> {
		let invalid = |reason: String| GuardError::Invalid { path: path.into(), reason };
		let guard: Guard = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
		if guard.figures.is_empty() {
			return Err(invalid("it guards no figure".into()));
		}
		for (i, g) in guard.figures.iter().enumerate() {
			if !GUARDABLE.contains(&g.figure.as_str()) {
				return Err(invalid(format!(
					"`{}` is not a guarded figure (one of {})",
					g.figure,
					GUARDABLE.join(", ")
				)));
			}
			if guard.figures[..i].iter().any(|h| h.figure == g.figure) {
				return Err(invalid(format!("`{}` is guarded twice", g.figure)));
			}
			if !(g.baseline.is_finite() && g.baseline > 0.0) {
				return Err(invalid(format!("`{}`: baseline must be positive", g.figure)));
			}
			if !(0.0..1.0).contains(&g.tolerance) {
				return Err(invalid(format!(
					"`{}`: tolerance must be at least 0 and below 1",
					g.figure
				)));
			}
		}
		Ok(guard)
	}

	/// Reads and checks the guard file at `path`.
	pub fn load(path: &Path) -> Result<Self, GuardError> {
		let text = std::fs::read_to_string(path)
			.map_err(|source| GuardError::Read { path: path.display().to_string(), source })?;
		Self::parse(&text, &path.display().to_string())
	}

	/// Why a run of `model` on `device` with `threads` cannot be held to this guard, if it
	/// cannot: its baselines were measured under other conditions.
	pub fn mismatch(&self, model: &str, device: &str, threads: usize) -> Option<String> {
		let c = &self.conditions;
		(c.model != model || c.device != device || c.threads != threads).then(|| {
			format!(
				"the guard's baselines are for model {} on {} with {} threads; this run is model \
				 {model} on {device} with {threads} threads (--model, --device, --threads)",
				c.model, c.device, c.threads
			)
		})
	}

	/// Holds `ours` against `theirs`: one verdict per guarded figure, in the file's order.
	pub fn check(&self, ours: &Figures, theirs: &Figures) -> Vec<Verdict> {
		let value = |f: &Figures, name: &str| {
			f.named().into_iter().find(|(n, _)| *n == name).and_then(|(_, v)| v)
		};
		self.figures
			.iter()
			.map(|g| {
				let measured =
					advantage(&g.figure, value(ours, &g.figure), value(theirs, &g.figure));
				let outcome = match measured {
					None => Outcome::Unmeasured,
					Some(a) if a < g.floor() => Outcome::Regressed(a),
					Some(a) => Outcome::Held(a),
				};
				Verdict { guarded: g.clone(), outcome }
			})
			.collect()
	}
}

/// What the guard found for one figure.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
	/// Its advantage is at or above the floor.
	Held(f64),
	/// Its advantage fell below the floor.
	Regressed(f64),
	/// One side (ours or the reference's) was not measured: the guard cannot pass.
	Unmeasured,
}

/// One figure's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
	/// The figure as guarded.
	pub guarded: Guarded,
	/// What was found.
	pub outcome: Outcome,
}

impl Verdict {
	/// Whether the figure passes.
	pub fn passed(&self) -> bool {
		matches!(self.outcome, Outcome::Held(_))
	}
}

impl std::fmt::Display for Verdict {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let g = &self.guarded;
		let percent = g.tolerance * 100.0;
		let percent = if (percent - percent.round()).abs() < 1e-9 {
			format!("{percent:.0}")
		} else {
			format!("{percent:.1}")
		};
		let bounds =
			format!("floor {:.3}× = baseline {:.2}× less {percent} %", g.floor(), g.baseline);
		match self.outcome {
			Outcome::Held(a) => {
				write!(f, "held      {:<18} {a:.2}× the reference ({bounds})", g.figure)
			},
			Outcome::Regressed(a) => {
				write!(f, "REGRESSED {:<18} {a:.2}× the reference ({bounds})", g.figure)
			},
			Outcome::Unmeasured => write!(
				f,
				"UNMEASURED {:<17} ours or the reference's figure is missing ({bounds})",
				g.figure
			),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const GUARD: &str = r#"
[conditions]
model = "small"
device = "cpu"
threads = 2

[[figure]]
figure = "compress_gbps_one"
baseline = 3.0
tolerance = 0.25

[[figure]]
figure = "bytes_per_chunk"
baseline = 2.0
tolerance = 0.02
"#;

	fn figures(compress: Option<f64>, bytes: Option<f64>) -> Figures {
		Figures { compress_gbps_one: compress, bytes_per_chunk: bytes, ..Figures::default() }
	}

	#[test]
	fn a_figure_below_its_floor_fails_and_one_above_passes() {
		let guard = Guard::parse(GUARD, "g.toml").unwrap();
		let theirs = figures(Some(0.4), Some(160.0));
		// 1.0 / 0.4 = 2.5× ≥ 2.25; 160 / 80 = 2.0× ≥ 1.96.
		let ok = guard.check(&figures(Some(1.0), Some(80.0)), &theirs);
		assert!(ok.iter().all(Verdict::passed), "{ok:?}");
		assert_eq!(ok[0].outcome, Outcome::Held(2.5));
		// 0.8 / 0.4 = 2.0× < 2.25: compress regressed; 160 / 84 = 1.90× < 1.96: bytes too.
		let bad = guard.check(&figures(Some(0.8), Some(84.0)), &theirs);
		assert_eq!(bad[0].outcome, Outcome::Regressed(2.0));
		assert!(
			matches!(bad[1].outcome, Outcome::Regressed(a) if (a - 160.0 / 84.0).abs() < 1e-12)
		);
		assert!(bad[0].to_string().starts_with("REGRESSED compress_gbps_one"), "{}", bad[0]);
		// Exactly at the floor passes.
		let floor = guard.check(&figures(Some(0.9), Some(80.0)), &theirs);
		assert!(floor[0].passed(), "{floor:?}");
	}

	#[test]
	fn a_figure_missing_on_either_side_fails() {
		let guard = Guard::parse(GUARD, "g.toml").unwrap();
		let ours = figures(Some(1.0), Some(80.0));
		// The reference did not run (no PyTorch): nothing passes.
		let none = guard.check(&ours, &Figures::default());
		assert!(none.iter().all(|v| v.outcome == Outcome::Unmeasured), "{none:?}");
		assert!(none[0].to_string().starts_with("UNMEASURED"), "{}", none[0]);
		let half = guard.check(&figures(None, Some(80.0)), &figures(Some(0.4), Some(160.0)));
		assert_eq!(half[0].outcome, Outcome::Unmeasured);
		assert!(half[1].passed());
	}

	#[test]
	fn a_guard_file_that_cannot_hold_anything_is_refused() {
		let refused = |text: &str, why: &str| {
			let err = Guard::parse(text, "g.toml").unwrap_err().to_string();
			assert!(err.contains(why), "{err} (wanted {why})");
		};
		const CONDITIONS: &str = "[conditions]\nmodel = \"small\"\ndevice = \"cpu\"\nthreads = 2\n";
		refused("", "missing field `conditions`");
		refused(CONDITIONS, "missing field `figure`");
		refused(&format!("figure = []\n{CONDITIONS}"), "guards no figure");
		// TOML writes the values as given (`nan`, `-0.1`).
		let fig = |name: &str, baseline: &str, tolerance: &str| {
			format!(
				"[[figure]]\nfigure = \"{name}\"\nbaseline = {baseline}\ntolerance = {tolerance}\n"
			)
		};
		let one = |name: &str, baseline: &str, tolerance: &str| {
			format!("{CONDITIONS}{}", fig(name, baseline, tolerance))
		};
		refused(&one("tokens_per_s", "1.0", "0.1"), "not a guarded figure");
		refused(&one("aggregate_s", "0.0", "0.1"), "baseline must be positive");
		refused(&one("aggregate_s", "nan", "0.1"), "baseline must be positive");
		refused(&one("aggregate_s", "2.0", "1.0"), "tolerance");
		refused(&one("aggregate_s", "2.0", "-0.1"), "tolerance");
		let twice =
			format!("{}{}", one("aggregate_s", "2.0", "0.1"), fig("aggregate_s", "2.0", "0.1"));
		refused(&twice, "twice");
		refused(&format!("{}extra = 1\n", one("aggregate_s", "2.0", "0.1")), "unknown field");
		refused(
			&one("aggregate_s", "2.0", "0.1").replace("threads = 2", "threads = two"),
			"threads",
		);
	}

	#[test]
	fn a_run_under_other_conditions_than_the_baselines_is_refused() {
		let guard = Guard::parse(GUARD, "g.toml").unwrap();
		assert_eq!(guard.mismatch("small", "cpu", 2), None);
		for (model, device, threads) in
			[("tiny", "cpu", 2), ("small", "cuda", 2), ("small", "cpu", 16)]
		{
			let why = guard.mismatch(model, device, threads).unwrap();
			assert!(why.contains("model small on cpu with 2 threads"), "{why}");
		}
	}

	/// The checked-in guard is valid and guards every codec figure.
	#[test]
	fn the_checked_in_guard_holds_every_codec_figure() {
		let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/guard.toml");
		let guard = Guard::load(&path).unwrap();
		let mut names: Vec<&str> = guard.figures.iter().map(|g| g.figure.as_str()).collect();
		names.sort_unstable();
		let mut all = GUARDABLE.to_vec();
		all.sort_unstable();
		assert_eq!(names, all);
	}
}
