//! The miner's chain loop (DESIGN.md §2): follow finalized blocks; when a window's reveal period
//! ends, apply its outer step (every window in order, so a restarted or late miner replays the
//! recorded aggregates); once θ_w is ready, train window w until shortly before it closes, commit
//! the payload hash on chain, and upload the payload when the reveal period opens. A commit that
//! would be late is never sent. Checkpoints every `checkpoint_every` windows. A failing RPC
//! connection is re-opened with backoff; the replica's state survives it.

pub mod replica;
pub mod report;

pub use replica::{Replica, ReplicaError};
pub use report::{Record, Report};

use crate::{
	chain::{self, AccountId, ChainError, Client, network::Timing, training},
	checkpoint,
	data::TokenShard,
	outer,
	storage::{Location, ObjectStore, Resolver, Store, StoreError, gradient_key},
	train::update::BuiltUpdate,
};
use indicatif::ProgressBar;
use std::{
	path::PathBuf,
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;
use tessera_codec::OuterStep;

/// Largest payload accepted from a peer, in bytes, for a model with `shapes`: generous for
/// quantised and raw values alike, far below what a hostile peer could make us allocate.
pub fn max_payload_bytes(shapes: &[Vec<usize>]) -> usize {
	let values: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
	4096 + shapes.len() * 512 + values * 6
}

/// Errors that stop the miner.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
	/// The replica failed (model, data, checkpoint).
	#[error(transparent)]
	Replica(#[from] ReplicaError),
	/// The corpus could not be used.
	#[error(transparent)]
	Data(#[from] crate::data::DataError),
	/// The chain could not be used.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// Registration failed.
	#[error("registration failed: {0}")]
	Register(#[from] chain::tx::TxError),
	/// The own storage location cannot be used.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// A checkpoint could not be written.
	#[error(transparent)]
	Checkpoint(#[from] checkpoint::CheckpointError),
	/// The connection kept failing.
	#[error("gave up reconnecting to {url} after {attempts} attempts: {last}")]
	Reconnect {
		/// The node.
		url: String,
		/// Attempts made.
		attempts: u32,
		/// The last error.
		last: String,
	},
}

/// Everything the miner needs.
pub struct MinerOptions {
	/// WebSocket URL of the node.
	pub url: String,
	/// The miner's key.
	pub signer: Keypair,
	/// Where the miner's own payloads go (also registered on chain).
	pub location: Location,
	/// How locations map to stores.
	pub resolver: Resolver,
	/// The outer step.
	pub outer: OuterStep,
	/// Local checkpoint directory.
	pub checkpoint_dir: PathBuf,
	/// Checkpoint after every this many windows.
	pub checkpoint_every: u64,
	/// Checkpoints kept.
	pub checkpoint_keep: usize,
	/// Held-out rows evaluated after each outer step.
	pub eval_rows: usize,
	/// Stop once the outer step of this window is applied.
	pub until_window: Option<u64>,
	/// Reconnection attempts before giving up.
	pub reconnect_attempts: u32,
}

/// The miner's state across reconnections.
struct Miner {
	options: MinerOptions,
	account: AccountId,
	replica: Replica,
	shard: TokenShard,
	held_out: Vec<Vec<u16>>,
	store: Store,
	report: Report,
	progress: ProgressBar,
	/// Last window trained (committed or skipped).
	last_trained: Option<u64>,
	/// A committed payload waiting for its reveal period.
	pending: Option<(u64, BuiltUpdate)>,
	/// The first block seen in this session and its chain timestamp (ms), for the block time.
	first_block: Option<(u64, u64)>,
	/// How long the last payload took to build after training, kept free before the deadline.
	build_time: Duration,
}

/// Runs the miner until `until_window` (forever without it).
pub async fn run(
	options: MinerOptions,
	replica: Replica,
	shard: TokenShard,
	report: Report,
	progress: ProgressBar,
) -> Result<(), MinerError> {
	let account = AccountId::from(options.signer.public_key().0);
	let store = options.resolver.open(&options.location)?;
	let held_out =
		shard.held_out_rows(replica.model().config().seq_len + 1, options.eval_rows.max(1))?;
	let mut miner = Miner {
		account,
		replica,
		shard,
		held_out,
		store,
		report,
		progress,
		last_trained: None,
		pending: None,
		first_block: None,
		build_time: Duration::from_millis(200),
		options,
	};
	if let Some(ck) =
		checkpoint::load_latest(&miner.options.checkpoint_dir, miner.replica.checkpoint_layout())?
	{
		let window = ck.window;
		miner.replica.restore(ck)?;
		let theta_hash = hex::encode(miner.replica.theta_hash());
		tracing::info!(window, %theta_hash, "resumed from checkpoint; replaying later aggregates");
		miner.report.write(&Record::Restored { window, theta_hash });
	}
	let mut failures = 0u32;
	loop {
		match miner.session().await {
			Ok(()) => return Ok(()),
			Err(MinerError::Chain(e)) => {
				failures += 1;
				if failures >= miner.options.reconnect_attempts {
					return Err(MinerError::Reconnect {
						url: miner.options.url.clone(),
						attempts: failures,
						last: e.to_string(),
					});
				}
				let wait = Duration::from_millis(500u64 << failures.min(5));
				tracing::warn!(error = %e, attempt = failures, ?wait, "chain connection lost; reconnecting");
				tokio::time::sleep(wait).await;
			},
			Err(e) => return Err(e),
		}
	}
}

impl Miner {
	/// One connection's worth of work; `Ok` when `until_window` is reached.
	async fn session(&mut self) -> Result<(), MinerError> {
		let client = chain::connect(&self.options.url).await?;
		let timing = chain::network::timing(&client).await?;
		self.ensure_registered(&client).await?;
		let mut blocks =
			client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
		while let Some(block) = blocks.next().await {
			let block = block.map_err(|e| ChainError::Blocks(e.to_string()))?;
			let n = block.number();
			let now_ms = chain::network::timestamp(&client, n).await?;
			let first = *self.first_block.get_or_insert((n, now_ms));
			self.upload_if_revealing(n, &timing).await;
			if self.catch_up(&client, n, &timing).await? {
				return Ok(());
			}
			self.train_if_ready(&client, n, now_ms, first, &timing).await?;
		}
		Err(ChainError::Blocks("the node closed the finalized block stream".into()).into())
	}

	async fn ensure_registered(&mut self, client: &Client) -> Result<(), MinerError> {
		let at = client.at_current_block().await.map_err(ChainError::query)?;
		let number = at.block_number();
		match chain::network::peer_location(client, number, &self.account).await? {
			Some(location) if location == self.options.location => return Ok(()),
			Some(location) => {
				tracing::info!(from = ?location, to = ?self.options.location, "moving the storage location on chain");
				training::set_storage_location(
					client,
					&self.options.signer,
					&self.options.location,
				)
				.await?;
				return Ok(());
			},
			None => {},
		}
		tracing::info!(account = %self.account, "registering as a miner");
		training::register(
			client,
			&self.options.signer,
			training::Role::Miner,
			&self.options.location,
		)
		.await?;
		Ok(())
	}

	async fn upload_if_revealing(&mut self, n: u64, timing: &Timing) {
		let Some((window, _)) = &self.pending else { return };
		let window = *window;
		if n < timing.start(window + 1) {
			return;
		}
		if n >= timing.reveal_end(window) {
			tracing::warn!(window, "reveal period over before the upload: payload dropped");
			self.pending = None;
			return;
		}
		let Some((_, update)) = self.pending.take() else { return };
		let key = gradient_key(window, &self.account.0);
		match self.store.put(&key, update.bytes.into()).await {
			Ok(()) => {
				tracing::info!(window, store = %self.store.describe(), %key, "payload uploaded");
				self.report.write(&Record::Uploaded { window });
			},
			Err(e) => tracing::warn!(window, error = %e, "payload upload failed"),
		}
	}

	/// Applies the outer step of every window whose reveal period has ended. Returns whether
	/// `until_window` has been reached.
	async fn catch_up(
		&mut self,
		client: &Client,
		n: u64,
		timing: &Timing,
	) -> Result<bool, MinerError> {
		let next = self.replica.applied().map_or(0, |w| w + 1);
		let mut window = next;
		while timing.reveal_end(window) <= n {
			let members = chain::network::members(client, n, window).await?;
			let shapes = self.replica.shapes().to_vec();
			let fetched = outer::fetch_set(
				&self.options.resolver,
				window,
				&members,
				&shapes,
				max_payload_bytes(&shapes),
			)
			.await;
			let included = self.replica.apply_outer_step(window, fetched, &self.options.outer)?;
			let held_out_loss = self.replica.evaluate(&self.held_out, 8)?;
			let theta_hash = hex::encode(self.replica.theta_hash());
			tracing::info!(
				window,
				included = included.len(),
				of = members.len(),
				%theta_hash,
				held_out_loss,
				"outer step applied"
			);
			self.report.write(&Record::Applied {
				window,
				theta_hash,
				included: included.iter().map(hex::encode).collect(),
				held_out_loss,
			});
			if self.options.checkpoint_every > 0
				&& window.is_multiple_of(self.options.checkpoint_every)
				&& let Some(ck) = self.replica.checkpoint()?
			{
				let path = checkpoint::save(
					&self.options.checkpoint_dir,
					&ck,
					self.replica.checkpoint_layout(),
					self.options.checkpoint_keep,
				)?;
				tracing::debug!(window, path = %path.display(), "checkpoint written");
			}
			if self.options.until_window.is_some_and(|u| window >= u) {
				return Ok(true);
			}
			window += 1;
		}
		Ok(false)
	}

	/// The wall-clock deadline for training window `window`, from chain time: block `n` was
	/// authored at `now_ms`, blocks come every `interval`; the commit must be in the pool one
	/// block before the window's last block is sealed, and the payload must be built by then.
	fn deadline(
		&self,
		n: u64,
		now_ms: u64,
		interval: Duration,
		window: u64,
		timing: &Timing,
	) -> Option<Instant> {
		let blocks = timing.start(window + 1).checked_sub(n + 2)?;
		let at_ms = now_ms + (interval.as_millis() as u64) * blocks;
		let at = UNIX_EPOCH + Duration::from_millis(at_ms);
		let left = at.duration_since(SystemTime::now()).ok()?.checked_sub(self.build_time)?;
		Some(Instant::now() + left)
	}

	async fn train_if_ready(
		&mut self,
		client: &Client,
		n: u64,
		now_ms: u64,
		(first_n, first_ms): (u64, u64),
		timing: &Timing,
	) -> Result<(), MinerError> {
		let window = timing.window_of(n);
		let ready = window >= 1
			&& self.replica.applied() == Some(window - 1)
			&& self.last_trained.is_none_or(|t| t < window)
			&& self.pending.is_none();
		if !ready || n <= first_n {
			return Ok(());
		}
		let interval = Duration::from_millis(now_ms.saturating_sub(first_ms) / (n - first_n));
		let Some(deadline) = self.deadline(n, now_ms, interval, window, timing) else {
			tracing::info!(window, "too little of the window left to train: skipped");
			self.last_trained = Some(window);
			return Ok(());
		};
		let Some(seed) = chain::network::window_seed(client, n, window).await? else {
			return Ok(());
		};
		self.last_trained = Some(window);
		self.progress.set_prefix(format!("window {window}"));
		let account = self.account.0;
		let trained = tokio::task::block_in_place(|| {
			self.replica.train(window, &seed, &account, &self.shard, Some(deadline), &self.progress)
		});
		let trained = match trained {
			Ok(t) => {
				self.build_time = t.build_time;
				t
			},
			Err(e) => {
				tracing::warn!(window, error = %e, "no update this window");
				return Ok(());
			},
		};
		if trained.report.steps == 0 {
			tracing::info!(window, "no inner step fitted before the deadline: nothing to commit");
			return Ok(());
		}
		let len = trained.update.bytes.len() as u32;
		let hash = H256(trained.update.hash);
		match training::commit_gradient(client, &self.options.signer, window, hash, len).await {
			Ok(_) => {
				tracing::info!(
					window,
					steps = trained.report.steps,
					loss = trained.report.mean_loss(),
					tokens_per_second = trained.report.tokens_per_second(),
					bytes = len,
					"update committed"
				);
				self.report.write(&Record::Trained {
					window,
					steps: trained.report.steps,
					loss: trained.report.mean_loss(),
					tokens_per_second: trained.report.tokens_per_second(),
					payload_bytes: trained.update.bytes.len(),
					payload_hash: hex::encode(trained.update.hash),
				});
				self.pending = Some((window, trained.update));
			},
			Err(e) => tracing::warn!(window, error = %e, "commit refused; the update is dropped"),
		}
		Ok(())
	}
}
