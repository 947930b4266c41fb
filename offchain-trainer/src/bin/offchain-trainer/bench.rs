//! `offchain-trainer bench`: ours beside the PyTorch reference, one table.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Options of `offchain-trainer bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
	/// Model preset (tiny, small, medium) or a TOML file.
	#[arg(long, default_value = "small")]
	model: String,
	/// Device: cpu, or cuda (needs a build with `--features cuda`).
	#[arg(long, default_value = "cpu")]
	device: String,
	/// Threads for the multi-threaded figures (default: every core).
	#[arg(long)]
	threads: Option<usize>,
	/// Timed runs per figure; the median is reported.
	#[arg(long, default_value_t = 5)]
	runs: usize,
	/// Peers whose payloads are aggregated.
	#[arg(long, default_value_t = 20)]
	peers: usize,
	/// Sequences per inner step.
	#[arg(long, default_value_t = 8)]
	batch: usize,
	/// Rows per data kind the Gauntlet evaluates per payload.
	#[arg(long, default_value_t = 16)]
	eval_sequences: usize,
	/// Python interpreter with PyTorch for the reference.
	#[arg(long, env = "TESSERA_PYTHON", default_value = "python3")]
	python: String,
	/// The reference script (default: bench/reference/templar_reference.py of this checkout).
	#[arg(long)]
	reference_script: Option<PathBuf>,
	/// Measure ours only.
	#[arg(long)]
	no_reference: bool,
	/// Keep the spec given to the reference at this path (to rerun it alone).
	#[arg(long)]
	keep_spec: Option<PathBuf>,
	/// Measure the codec's figures only (compress, payload bytes, the outer step), on both
	/// sides: what `--guard` holds, in a fraction of the time.
	#[arg(long)]
	codec_only: bool,
	/// Also write the run (spec, every figure on both sides, each advantage) as JSON here.
	#[arg(long)]
	json: Option<PathBuf>,
	/// Hold the codec's advantages over the reference to the floors in this file (e.g.
	/// bench/guard.toml); fail when one falls below its floor or is not measured.
	#[arg(long)]
	guard: Option<PathBuf>,
}

/// `offchain-trainer bench`: ours, then the reference, then the table.
pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
	use tessera_model::{Llama, ModelConfig};
	use tessera_trainer::bench::{guard, measure, reference, report};
	let model = ModelConfig::load(&args.model)?;
	anyhow::ensure!(args.runs >= 1, "--runs must be at least 1");
	anyhow::ensure!(args.peers >= 1, "--peers must be at least 1");
	let threads = args
		.threads
		.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
		.max(1);
	let shapes = Llama::shapes(&model);
	// A bad guard file, or one for other conditions, is refused before a minute of measuring.
	let guard = args.guard.as_deref().map(guard::Guard::load).transpose()?;
	if let Some(why) = guard.as_ref().and_then(|g| g.mismatch(&model.name, &args.device, threads)) {
		anyhow::bail!("{why}");
	}
	let spec = measure::BenchSpec {
		model: model.clone(),
		device: args.device.clone(),
		threads,
		runs: args.runs,
		peers: args.peers,
		batch: args.batch,
		eval_sequences: args.eval_sequences,
		eval_batch: args.batch,
		lr: 0.7,
		k: 64,
		beta: 0.95,
		shapes,
		codec_only: args.codec_only,
	};
	let profile = if cfg!(debug_assertions) {
		"dev profile (codec and candle at opt-level 3)"
	} else {
		"release profile"
	};
	let profile = format!("{profile}, CPU matrix products on {}", tessera_model::CPU_MATMUL);
	eprintln!(
		"measuring tessera: model {} ({:.1}M parameters), {} device, {threads} threads, {} runs per figure, {profile}",
		model.name,
		model.parameter_count() as f64 / 1e6,
		args.device,
		args.runs
	);
	let ours = measure::measure(&spec)?;
	for note in &ours.notes {
		eprintln!("{note}");
	}
	let (theirs, column) = if args.no_reference {
		(measure::Figures::default(), "reference".to_string())
	} else {
		let script = args.reference_script.clone().unwrap_or_else(reference::default_script);
		eprintln!("measuring the reference: {} {}", args.python, script.display());
		match reference::run_reference(&args.python, &script, &spec, args.keep_spec.as_deref()) {
			Ok(run) => {
				(run.figures, format!("PyTorch {}", run.torch.split('+').next().unwrap_or("?")))
			},
			Err(e) => {
				eprintln!(
					"reference not measured: {e}\n  (PyTorch for it: --python \"$(bash scripts/fetch-torch.sh)\", which installs the pinned version)"
				);
				(measure::Figures::default(), "reference".to_string())
			},
		}
	};
	let title = format!(
		"tessera bench: model {} ({:.1}M parameters), {} device, {threads} threads, {} peers, median of {} runs, {profile}",
		model.name,
		model.parameter_count() as f64 / 1e6,
		args.device,
		args.peers,
		args.runs
	);
	print!("{}", report::table(&title, &column, &ours, &theirs, threads, args.peers));
	if let Some(path) = &args.json {
		let run = report::json(&title, &column, &spec, &ours, &theirs);
		let text = serde_json::to_string_pretty(&run).context("the run as JSON")?;
		std::fs::write(path, text + "\n")
			.with_context(|| format!("cannot write {}", path.display()))?;
		eprintln!("run written as JSON to {}", path.display());
	}
	if let Some(guard) = guard {
		let verdicts = guard.check(&ours, &theirs);
		println!(
			"regression guard ({}):",
			args.guard.as_deref().unwrap_or(Path::new("")).display()
		);
		for v in &verdicts {
			println!("  {v}");
		}
		let failed = verdicts.iter().filter(|v| !v.passed()).count();
		anyhow::ensure!(
			failed == 0,
			"{failed} of {} guarded figures fell below their floor or were not measured",
			verdicts.len()
		);
	}
	Ok(())
}
