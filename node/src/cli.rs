//! The node's command line: sc-cli's run options, `--block-time-ms`, and the subcommands.

/// Command line of `tessera-node`.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of a running node (`--dev`, `--rpc-port`, `--base-path`, …).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	/// Milliseconds between sealed blocks. Every block is finalized as soon as it is sealed.
	#[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
	pub block_time_ms: u64,
}

/// The node's subcommands: sc-cli's chain maintenance commands, `export-metadata`, and
/// `benchmark` in a node built with the `runtime-benchmarks` feature.
#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
	/// Key management utilities.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (deprecated in favour of `export-chain-spec`).
	#[deprecated(note = "build-spec will be removed; use export-chain-spec instead")]
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of `--chain` as JSON.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Write the runtime's SCALE-encoded metadata (the file subxt generates its client from).
	ExportMetadata(crate::metadata::ExportMetadataCmd),

	/// Runtime benchmarks (`benchmark pallet` measures `pallet-training`'s weights). Only in a node
	/// built with `--features runtime-benchmarks`.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(Box<frame_benchmarking_cli::BenchmarkCmd>),
}

#[cfg(test)]
mod tests {
	use super::Cli;
	use clap::CommandFactory;

	#[test]
	fn command_line_definition_is_consistent() {
		Cli::command().debug_assert();
	}

	/// `deploy/systemd/tessera-node.service` starts the node with options it accepts.
	#[test]
	fn the_service_unit_runs_what_the_node_accepts() {
		use clap::Parser;
		let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
			.join("../deploy/systemd/tessera-node.service");
		let unit = std::fs::read_to_string(&path).unwrap();
		let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
		let mut tokens = exec.split_whitespace();
		assert!(tokens.next().unwrap().ends_with("/tessera-node"), "{exec}");
		let cli = Cli::try_parse_from(std::iter::once("tessera-node").chain(tokens))
			.unwrap_or_else(|e| panic!("{exec}\n{e}"));
		assert!(cli.subcommand.is_none());
		assert_eq!(cli.block_time_ms, 6000);
	}
}
