//! The miner's chain loop (DESIGN.md §2): follow finalized blocks; apply each window's outer
//! step when its reveal period ends and settle it against the verdict ([`crate::follow`]); once
//! θ_w is ready, train window w until shortly before it closes, commit the payload hash on chain,
//! and upload the payload when the reveal period opens. A commit that would be late is never
//! sent. The miner's watcher ([`crate::round::watch`]) observes the other payloads' timing
//! meanwhile. A failing RPC connection is re-opened with backoff; the replica's state survives
//! it.

pub mod behaviour;
pub mod replica;
pub mod report;

pub use behaviour::Behaviour;
pub use replica::{Replica, ReplicaError};
pub use report::{PeerScore, Record, Report};

use crate::{
	chain::{
		self, AccountId, ChainError, Client,
		network::Timing,
		reconnect::{Ended, Session},
		training,
	},
	data::TokenShard,
	follow::{FollowError, FollowOptions, Follower, max_payload_bytes},
	round,
	storage::{Location, ObjectStore, Store, StoreError, gradient_key},
};
use indicatif::ProgressBar;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;
use tessera_codec::{Header, hash::payload_hash};

/// Errors that stop the miner.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
	/// Following the network failed (replica, checkpoint, data).
	#[error(transparent)]
	Follow(#[from] FollowError),
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

impl MinerError {
	/// Whether the error is the chain connection's (worth reconnecting for).
	fn is_connection(&self) -> bool {
		matches!(self, MinerError::Chain(_) | MinerError::Follow(FollowError::Chain(_)))
	}
}

/// Everything the miner needs.
pub struct MinerOptions {
	/// WebSocket URL of the node.
	pub url: String,
	/// The miner's key.
	pub signer: Keypair,
	/// Where the miner's own payloads go (also registered on chain).
	pub location: Location,
	/// How the miner follows the network's θ.
	pub follow: FollowOptions,
	/// Stop once the outer step of this window is confirmed.
	pub until_window: Option<u64>,
	/// Reconnection attempts before giving up.
	pub reconnect_attempts: u32,
	/// Honest, or one of the adversaries the Gauntlet must catch.
	pub behaviour: Behaviour,
	/// Values kept per chunk (for fabricated payloads).
	pub top_k: usize,
}

/// Uploads `bytes` under `key`, counting them in the metrics.
async fn upload(store: &Store, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
	let (len, started) = (bytes.len() as u64, Instant::now());
	store.put(key, bytes.into()).await?;
	let m = crate::metrics::get();
	m.upload_bytes.inc_by(len);
	m.upload_seconds.inc_by(started.elapsed().as_secs_f64());
	Ok(())
}

/// A committed payload waiting for its upload.
struct Pending {
	window: u64,
	bytes: Vec<u8>,
}

/// The miner's state across reconnections.
struct Miner {
	options: MinerOptions,
	account: AccountId,
	follower: Follower,
	shard: TokenShard,
	store: Store,
	progress: ProgressBar,
	/// Last window trained (committed or skipped).
	last_trained: Option<u64>,
	/// A committed payload waiting for its upload.
	pending: Option<Pending>,
	/// The first timestamped block seen (genesis has none) and its chain timestamp (ms), for
	/// the block time.
	first_block: Option<(u64, u64)>,
	/// How long the last payload took to build after training, kept free before the deadline.
	build_time: Duration,
	/// The block interval measured from chain timestamps.
	interval: Duration,
	/// Blocks processed (all sessions).
	blocks: u64,
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
	let store = options.follow.resolver.open(&options.location)?;
	let watch = round::watch::spawn(round::WatchConfig {
		url: options.url.clone(),
		resolver: options.follow.resolver.clone(),
		max_bytes: max_payload_bytes(replica.shapes()),
		fetch_timeout: options.follow.fetch_timeout,
	});
	let follower = Follower::new(replica, &shard, options.follow.clone(), report, watch)?;
	let mut miner = Miner {
		account,
		follower,
		shard,
		store,
		progress,
		last_trained: None,
		pending: None,
		first_block: None,
		build_time: Duration::from_millis(200),
		interval: Duration::from_secs(1),
		blocks: 0,
		options,
	};
	let attempts = miner.options.reconnect_attempts;
	match chain::reconnect::run(&mut miner, attempts, chain::reconnect::BACKOFF).await {
		Ended::Done => Ok(()),
		Ended::Failed(e) => Err(e),
		Ended::GaveUp { attempts, last } => Err(MinerError::Reconnect {
			url: miner.options.url.clone(),
			attempts,
			last: last.to_string(),
		}),
	}
}

impl Session for Miner {
	type Error = MinerError;

	fn blocks(&self) -> u64 {
		self.blocks
	}

	fn is_connection(error: &MinerError) -> bool {
		error.is_connection()
	}

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
			self.blocks += 1;
			let now_ms = chain::network::timestamp(&client, n).await?;
			// Genesis carries no timestamp (0): measure from block 1 on.
			if now_ms == 0 {
				continue;
			}
			let first = *self.first_block.get_or_insert((n, now_ms));
			if n > first.0 {
				self.interval =
					Duration::from_millis(now_ms.saturating_sub(first.1) / (n - first.0));
			}
			self.upload_if_due(n, &timing).await;
			self.follower.confirm(&client, n, &timing).await?;
			self.follower.catch_up(&client, n, &timing).await?;
			if self.options.until_window.is_some_and(|u| self.follower.is_confirmed(u)) {
				return Ok(());
			}
			self.train_if_ready(&client, n, now_ms, first, &timing).await?;
		}
		Err(ChainError::Blocks("the node closed the finalized block stream".into()).into())
	}
}

impl Miner {
	async fn ensure_registered(&mut self, client: &Client) -> Result<(), MinerError> {
		let at = client.at_current_block().await.map_err(ChainError::query)?;
		let window = chain::network::current_window(client, at.block_number()).await?;
		tracing::info!(url = %self.options.url, block = at.block_number(), window, role = "miner", "connected");
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

	/// Uploads the pending payload when its behaviour says so: in the reveal period (honest),
	/// at once (early), about one block after the reveal period (late, from a background task so
	/// that training cannot hold it back), never (no-upload).
	async fn upload_if_due(&mut self, n: u64, timing: &Timing) {
		let Some(window) = self.pending.as_ref().map(|p| p.window) else { return };
		let reveal = timing.start(window + 1)..timing.reveal_end(window);
		match self.options.behaviour {
			Behaviour::NoUpload => {
				self.pending = None;
				return;
			},
			Behaviour::Late if n >= reveal.end => {
				let Some(pending) = self.pending.take() else { return };
				let (store, report, delay) =
					(self.store.clone(), self.follower.report().clone(), self.interval);
				let key = gradient_key(window, &self.account.0);
				tokio::spawn(async move {
					tokio::time::sleep(delay).await;
					match upload(&store, &key, pending.bytes).await {
						Ok(()) => {
							tracing::info!(window, %key, "payload uploaded after the reveal period");
							report.write(&Record::Uploaded { window });
						},
						Err(e) => tracing::warn!(window, error = %e, "payload upload failed"),
					}
				});
				return;
			},
			Behaviour::Early | Behaviour::Late => {},
			_ if n >= reveal.end => {
				tracing::warn!(window, "reveal period over before the upload: payload dropped");
				self.pending = None;
				return;
			},
			_ if n < reveal.start => return,
			_ => {},
		}
		if self.options.behaviour == Behaviour::Late {
			return;
		}
		let Some(pending) = self.pending.take() else { return };
		let key = gradient_key(window, &self.account.0);
		match upload(&self.store, &key, pending.bytes).await {
			Ok(()) => {
				tracing::info!(window, store = %self.store.describe(), %key, "payload uploaded");
				self.follower.report().write(&Record::Uploaded { window });
			},
			Err(e) => tracing::warn!(window, error = %e, "payload upload failed"),
		}
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
			&& self.follower.replica.applied() == Some(window - 1)
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
		tracing::info!(
			window,
			block = n,
			interval_ms = interval.as_millis() as u64,
			seconds_left = deadline.saturating_duration_since(Instant::now()).as_secs_f64(),
			"training"
		);
		self.last_trained = Some(window);
		let built = if self.options.behaviour.trains() {
			self.train(window, &seed, deadline)?
		} else {
			self.fabricate(client, n, window).await?
		};
		let Some((bytes, trained)) = built else { return Ok(()) };
		let committed_hash = match self.options.behaviour {
			Behaviour::WrongHash => payload_hash(&[bytes.as_slice(), b"x"].concat()),
			_ => payload_hash(&bytes),
		};
		let len = bytes.len() as u32;
		match training::commit_gradient(
			client,
			&self.options.signer,
			window,
			H256(committed_hash),
			len,
		)
		.await
		{
			Ok(_) => {
				tracing::info!(
					window,
					behaviour = self.options.behaviour.name(),
					bytes = len,
					"update committed"
				);
				let mut record = trained;
				if let Record::Trained { payload_hash, payload_bytes, .. } = &mut record {
					*payload_hash = hex::encode(committed_hash);
					*payload_bytes = bytes.len();
				}
				self.follower.report().write(&record);
				self.pending = Some(Pending { window, bytes });
				if self.options.behaviour == Behaviour::Early {
					self.upload_if_due(n, timing).await;
				}
			},
			Err(e) => tracing::warn!(window, error = %e, "commit refused; the update is dropped"),
		}
		Ok(())
	}

	/// Trains window `window` until `deadline`; the payload and its report record.
	fn train(
		&mut self,
		window: u64,
		seed: &[u8; 32],
		deadline: Instant,
	) -> Result<Option<(Vec<u8>, Record)>, MinerError> {
		self.progress.set_prefix(format!("window {window}"));
		let account = self.account.0;
		let trained = tokio::task::block_in_place(|| {
			self.follower.replica.train(
				window,
				seed,
				&account,
				&self.shard,
				Some(deadline),
				&self.progress,
			)
		});
		let trained = match trained {
			Ok(t) => t,
			Err(e) => {
				tracing::warn!(window, error = %e, "no update this window");
				return Ok(None);
			},
		};
		self.build_time = trained.build_time;
		if trained.report.steps == 0 {
			tracing::info!(window, "no inner step fitted before the deadline: nothing to commit");
			return Ok(None);
		}
		tracing::info!(
			window,
			steps = trained.report.steps,
			loss = trained.report.mean_loss(),
			tokens_per_second = trained.report.tokens_per_second(),
			"window trained"
		);
		let m = crate::metrics::get();
		if let Some(loss) = trained.report.mean_loss() {
			m.train_loss.set(f64::from(loss));
		}
		m.tokens_per_second.set(trained.report.tokens_per_second());
		let record = Record::Trained {
			window,
			steps: trained.report.steps,
			loss: trained.report.mean_loss(),
			tokens_per_second: trained.report.tokens_per_second(),
			payload_bytes: trained.update.bytes.len(),
			payload_hash: hex::encode(trained.update.hash),
		};
		Ok(Some((trained.update.bytes, record)))
	}

	/// An adversary's payload for `window` (no training).
	async fn fabricate(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<Option<(Vec<u8>, Record)>, MinerError> {
		let shapes = self.follower.replica.shapes().to_vec();
		let header = Header {
			window,
			miner: self.account.0,
			theta_hash: self.follower.replica.theta_hash(),
			data_digest: [0; 32],
		};
		let k = self.options.top_k;
		let bytes = match self.options.behaviour {
			Behaviour::Nan => behaviour::nan_payload(&shapes, &header, k),
			Behaviour::Noise
			| Behaviour::NoUpload
			| Behaviour::WrongHash
			| Behaviour::Late
			| Behaviour::Early => behaviour::noise_payload(&shapes, &header, k, 0.02),
			Behaviour::CopyExact { victim } | Behaviour::CopyPerturbed { victim } => {
				let Some(original) = self.victim_payload(client, n, window, &victim).await? else {
					tracing::info!(window, victim = %hex::encode(victim), "nothing to copy this window");
					return Ok(None);
				};
				if matches!(self.options.behaviour, Behaviour::CopyExact { .. }) {
					Ok(original)
				} else {
					behaviour::perturbed_copy(
						&original,
						&victim,
						&shapes,
						&header,
						max_payload_bytes(&shapes),
					)
				}
			},
			Behaviour::Honest => return Ok(None),
		};
		let bytes = match bytes {
			Ok(b) => b,
			Err(e) => {
				tracing::warn!(window, error = %e, "cannot build the payload");
				return Ok(None);
			},
		};
		let record = Record::Trained {
			window,
			steps: 0,
			loss: None,
			tokens_per_second: 0.0,
			payload_bytes: bytes.len(),
			payload_hash: hex::encode(payload_hash(&bytes)),
		};
		Ok(Some((bytes, record)))
	}

	/// `victim`'s payload of the window before `window`, from its store.
	async fn victim_payload(
		&self,
		client: &Client,
		n: u64,
		window: u64,
		victim: &[u8; 32],
	) -> Result<Option<Vec<u8>>, MinerError> {
		let Some(location) =
			chain::network::peer_location(client, n, &AccountId::from(*victim)).await?
		else {
			return Ok(None);
		};
		let store = self.options.follow.resolver.open(&location)?;
		let shapes = self.follower.replica.shapes();
		let key = gradient_key(window.saturating_sub(1), victim);
		Ok(store.get(&key, max_payload_bytes(shapes)).await.ok().map(|b| b.to_vec()))
	}
}
