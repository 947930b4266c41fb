//! `offchain-trainer audit`: what the chain recorded, as a table, JSON, CSV or a plot.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// Options of `offchain-trainer audit`.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
	/// WebSocket URL of a running node; repeat it (or separate URLs with commas) to list
	/// several nodes: the first that answers is read.
	#[arg(
		long,
		env = "TESSERA_NODE_URL",
		default_value = "ws://127.0.0.1:9944",
		value_delimiter = ',',
		conflicts_with = "db"
	)]
	url: Vec<String>,
	/// Read a stopped node's database (its `--base-path`, e.g. a devnet run's `node/`) through a
	/// node started on it for the audit.
	#[arg(long)]
	db: Option<PathBuf>,
	/// The `tessera-node` binary for `--db` (default: next to this one).
	#[arg(long)]
	node_bin: Option<PathBuf>,
	/// JSON instead of a table.
	#[arg(long, global = true, conflicts_with = "csv")]
	json: bool,
	/// CSV instead of a table.
	#[arg(long, global = true)]
	csv: bool,
	/// Read the chain as it was at this block (an archive node keeps every block's state;
	/// another node only its recent ones).
	#[arg(long, global = true, conflicts_with = "at_window")]
	at: Option<u64>,
	/// Read the chain at the last block that still kept this window's records (found by binary
	/// search; an archive node for a window pruned long ago). `audit window W` does this by
	/// itself when W is pruned.
	#[arg(long, global = true)]
	at_window: Option<u64>,
	#[command(subcommand)]
	question: AuditQuestion,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditQuestion {
	/// The run's identity: model, tokenizer, dataset, outer step and codec (the manifest every
	/// peer checks its own against).
	Run,
	/// What happened in window W: commitments, flags, verdict, aggregation set, θ hash.
	Window {
		/// The window.
		window: u64,
	},
	/// How peers did from window A to B (dev keys like //Alice, hex or SS58).
	Peer {
		/// The peers.
		#[arg(required = true)]
		accounts: Vec<String>,
		/// First window (default: the oldest retained).
		#[arg(long, default_value_t = 1)]
		from: u64,
		/// Last window (default: the newest).
		#[arg(long, default_value_t = u64::MAX)]
		to: u64,
		/// Also draw their scores and earnings per window into this PNG.
		#[arg(long)]
		plot: Option<PathBuf>,
	},
	/// Who holds the most incentive.
	Top {
		/// Rows shown.
		#[arg(long, default_value_t = 20)]
		limit: usize,
	},
}

pub(crate) async fn run(args: AuditArgs) -> anyhow::Result<()> {
	use tessera_trainer::audit::{self, Source, history, query, render};
	let source = match args.db {
		Some(base_path) => {
			let exe = std::env::current_exe().context("locating this binary")?;
			let node_bin = args.node_bin.unwrap_or_else(|| exe.with_file_name("tessera-node"));
			Source::Database { base_path, node_bin }
		},
		None => Source::Url(tessera_chain::Endpoints::new(&args.url).context("--url")?),
	};
	let format = match (args.json, args.csv) {
		(true, _) => render::Format::Json,
		(_, true) => render::Format::Csv,
		_ => render::Format::Table,
	};
	let mut conn = audit::connect(&source).await.context("reaching the chain")?;
	let newest = conn.at;
	if let Some(block) = args.at {
		history::check_block(&conn.client, &conn.url, newest, block).await?;
		conn.at = block;
	}
	if let Some(window) = args.at_window {
		conn.at = history::last_block_with(&conn.client, &conn.url, newest, window)
			.await?
			.with_context(|| format!("window {window} has not opened on this chain"))?;
		eprintln!("reading the chain at block {}, the last that kept window {window}", conn.at);
	}
	let out = match args.question {
		AuditQuestion::Run => {
			let manifest = tessera_chain::run::manifest_at(&conn.client, conn.at)
				.await?
				.context("no run has been started on this chain")?;
			render::run(&tessera_chain::run::fields(&manifest), format)
		},
		AuditQuestion::Window { window } => {
			// A window pruned by the chosen block is read where it was last kept.
			let kept = tessera_chain::network::is_retained(&conn.client, conn.at, window)
				.await
				.map_err(|e| history::HistoryError::from_chain(e, &conn.url, conn.at, ""))?;
			if !kept
				&& let Some(block) =
					history::last_block_with(&conn.client, &conn.url, conn.at, window).await?
			{
				eprintln!(
					"window {window} is pruned at block {}: reading it at block {block}, the \
					 last that kept it",
					conn.at
				);
				conn.at = block;
			}
			render::window(&query::window(&conn.client, conn.at, window).await?, format)
		},
		AuditQuestion::Peer { accounts, from, to, plot } => {
			let mut audits = Vec::new();
			for a in &accounts {
				let account = audit::parse_account(a)?;
				audits.push(query::peer(&conn.client, conn.at, account, from, to).await?);
			}
			// Windows pruned at the block read are not in the answer: say where they are.
			let oldest = history::oldest_kept(&conn.client, conn.at).await?;
			let first = from.max(1);
			let newest_asked =
				to.min(tessera_chain::network::current_window(&conn.client, conn.at).await?);
			if first <= newest_asked {
				let pruned_to = oldest.map_or(newest_asked, |o| (o - 1).min(newest_asked));
				if pruned_to >= first {
					eprintln!(
						"windows {first}..{pruned_to} are pruned at block {}: `audit window W` or \
						 `--at-window W` reads them (from an archive node once their blocks are old)",
						conn.at
					);
				}
			}
			if let Some(path) = plot {
				use tessera_trainer::devnet::plot::{Series, peers};
				/// Base units per unit of the chain's token.
				const UNIT: f64 = 1e12;
				let label = |a: &query::PeerAudit| {
					a.name.clone().unwrap_or_else(|| a.account[..12].to_string())
				};
				let scores: Vec<Series> = audits
					.iter()
					.map(|a| {
						let points = a
							.windows
							.iter()
							.filter_map(|w| w.score.map(|s| (w.window, s)))
							.collect();
						(label(a), points)
					})
					.collect();
				let earnings: Vec<Series> = audits
					.iter()
					.map(|a| {
						let points =
							a.windows.iter().map(|w| (w.window, w.earned as f64 / UNIT)).collect();
						(label(a), points)
					})
					.collect();
				peers(&path, &scores, &earnings)?;
				eprintln!("plot: {}", path.display());
			}
			render::peers(&audits, format)
		},
		AuditQuestion::Top { limit } => {
			let mut rows = query::standings(&conn.client, conn.at).await?;
			rows.truncate(limit);
			render::standings(&rows, format)
		},
	};
	print!("{out}");
	Ok(())
}
