//! The `offchain-trainer` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::ops::ControlFlow;
use tessera_trainer::{chain, windows};

/// tessera's off-chain trainer.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();

	match Cli::parse().command {
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
	}
	Ok(())
}
