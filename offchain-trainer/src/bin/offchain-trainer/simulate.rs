//! `offchain-trainer simulate`: one window's payload exchange over given links.

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
}

/// Prints the utilisation table of the scenario `a` describes.
pub(crate) fn run(a: SimulateArgs) -> anyhow::Result<()> {
	use tessera_trainer::bench::simulate::{Scenario, simulate, table};
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
	print!("{}", table(&scenario, &simulate(&scenario, a.seed)));
	Ok(())
}
