//! `offchain-trainer simulate`: the window protocol's machines on a simulated chain with the
//! given compute and links, then what overlapping the exchange with training would buy.

/// Options of `offchain-trainer simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
	/// Model parameters.
	#[arg(long, default_value_t = 72e9)]
	params: f64,
	/// Miners exchanging payloads.
	#[arg(long, default_value_t = 20)]
	peers: usize,
	/// Downlink in Mb/s.
	#[arg(long, default_value_t = 500.0)]
	down_mbps: f64,
	/// Uplink in Mb/s.
	#[arg(long, default_value_t = 110.0)]
	up_mbps: f64,
	/// Inner-loop compute per window, in minutes.
	#[arg(long, default_value_t = 20.0)]
	window_minutes: f64,
	/// Payload bytes per 64 × 64 chunk (ours: 76; Templar's: 160).
	#[arg(long, default_value_t = 76.0)]
	bytes_per_chunk: f64,
	/// Seconds to apply the outer step after the last payload.
	#[arg(long, default_value_t = 2.0)]
	apply_seconds: f64,
	/// Spread of the miners' training end, as a fraction of the window.
	#[arg(long, default_value_t = 0.02)]
	jitter: f64,
	/// Seed of the jitter.
	#[arg(long, default_value_t = 7)]
	seed: u64,
	/// Windows the protocol machines run.
	#[arg(long, default_value_t = 6)]
	windows: u64,
	/// Blocks per window (the chain's `window_length` parameter).
	#[arg(long, default_value_t = 10)]
	window_blocks: u64,
	/// Reveal period in blocks (the chain's `reveal_blocks`).
	#[arg(long, default_value_t = 3)]
	reveal_blocks: u64,
	/// Scoring period in blocks (the chain's `score_deadline_blocks`).
	#[arg(long, default_value_t = 10)]
	score_blocks: u64,
	/// Inner steps per window at most (the window's compute is this many steps).
	#[arg(long, default_value_t = 30)]
	inner_steps: usize,
	/// Seconds to build a payload after the inner loop.
	#[arg(long, default_value_t = 5.0)]
	build_seconds: f64,
	/// Seconds for a transaction to reach the node's pool.
	#[arg(long, default_value_t = 1.0)]
	transaction_seconds: f64,
	/// Seconds the validator evaluates one update.
	#[arg(long, default_value_t = 10.0)]
	evaluate_seconds: f64,
}

/// Prints the utilisation table of the scenario `a` describes.
pub(crate) fn run(a: SimulateArgs) -> anyhow::Result<()> {
	use tessera_trainer::bench::simulate::{
		ProtocolSettings, Scenario, protocol_network, protocol_table, simulate, table,
	};
	anyhow::ensure!(
		a.params > 0.0 && a.peers >= 2 && a.down_mbps > 0.0 && a.up_mbps > 0.0,
		"--params, --down-mbps and --up-mbps must be positive and --peers at least 2"
	);
	let scenario = Scenario {
		params: a.params,
		peers: a.peers,
		down_bps: a.down_mbps * 1e6,
		up_bps: a.up_mbps * 1e6,
		window_seconds: a.window_minutes * 60.0,
		bytes_per_chunk: a.bytes_per_chunk,
		apply_seconds: a.apply_seconds,
		jitter: a.jitter,
	};
	let timing =
		tessera_protocol::Timing::uniform(a.window_blocks, a.reveal_blocks, a.score_blocks);
	timing.check()?;
	anyhow::ensure!(
		a.windows >= 1 && a.inner_steps >= 1,
		"--windows and --inner-steps must be at least 1"
	);
	let settings = ProtocolSettings {
		timing,
		windows: a.windows,
		inner_steps: a.inner_steps,
		build_seconds: a.build_seconds,
		transaction_seconds: a.transaction_seconds,
		evaluate_seconds: a.evaluate_seconds,
	};
	let network = protocol_network(&scenario, &settings, a.seed);
	print!("{}", protocol_table(&network, &tessera_protocol::sim::run(&network)));
	println!();
	println!("what overlapping the exchange with training would buy (a model of schedules):");
	print!("{}", table(&scenario, &simulate(&scenario, a.seed)));
	Ok(())
}
