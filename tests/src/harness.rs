//! What every network test starts with: the corpus, a node with the given block time and the
//! tests' run started on it ([`start_run`]), a test directory, and an S3 server serving part of
//! it.

use crate::{Network, NodeOptions, S3Server, TestDir, TestNode};
use std::path::{Path, PathBuf};

/// A node, a store and a directory for one test.
pub struct Harness {
	/// The corpus directory.
	pub corpus: PathBuf,
	/// The node.
	pub node: TestNode,
	/// The S3 server.
	pub s3: S3Server,
	dir: TestDir,
}

impl Harness {
	/// Starts a node sealing every `block_time_ms` and an S3 server.
	pub async fn start(block_time_ms: u64) -> anyhow::Result<Self> {
		Self::start_with(block_time_ms, &[]).await
	}

	/// [`Harness::start`], the run started with `run_args` after [`RUN_ARGS`] (a test preset:
	/// a short history, frequent checkpoints).
	pub async fn start_with(block_time_ms: u64, run_args: &[&str]) -> anyhow::Result<Self> {
		let corpus = crate::corpus()?;
		// An archive node: audits answer for windows the chain has pruned.
		let node = TestNode::start(NodeOptions {
			block_time_ms,
			state_pruning: Some("archive".into()),
			..Default::default()
		})?;
		start_run(node.rpc_url(), &corpus, run_args).await?;
		let dir = TestDir::new()?;
		let s3 = S3Server::start(&dir.path().join("s3")).await?;
		Ok(Self { corpus, node, s3, dir })
	}

	/// The test's directory (logs, reports, checkpoints).
	pub fn dir(&self) -> &Path {
		self.dir.path()
	}

	/// Peers reaching the node at `url` (its own, or a proxy's).
	pub fn network<'a>(&'a self, url: &'a str) -> Network<'a> {
		Network {
			url,
			s3: &self.s3,
			corpus: &self.corpus,
			dir: self.dir.path(),
			fetch_timeout_s: 3,
		}
	}
}

/// The choices of the tests' run: the tiny model, 8 inner steps of 4 sequences at a peak
/// learning rate of 3e-3 after 4 warm-up steps, 256 values kept per chunk, outer lr 0.7.
pub const RUN_ARGS: [&str; 16] = [
	"--model",
	"tiny",
	"--inner-steps",
	"8",
	"--batch-size",
	"4",
	"--lr",
	"3e-3",
	"--warmup-steps",
	"4",
	"--top-k",
	"256",
	"--outer-lr",
	"0.7",
	"--min-updates",
	"1",
];

/// Starts the tests' run on the node at `url` with `offchain-trainer start-run` (Alice is the
/// dev chain's sudo key); `extra` options are appended (they win over [`RUN_ARGS`]).
pub async fn start_run(url: &str, corpus: &Path, extra: &[&str]) -> anyhow::Result<()> {
	use anyhow::Context;
	let out = tokio::process::Command::new(crate::binary("offchain-trainer")?)
		.args(["start-run", "--url", url, "--suri", "//Alice"])
		.arg("--corpus")
		.arg(corpus)
		.args(RUN_ARGS)
		.args(extra)
		.output()
		.await
		.context("running start-run")?;
	anyhow::ensure!(
		out.status.success(),
		"start-run failed: {}{}",
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
	Ok(())
}
