//! The miner's chain loop (DESIGN.md §2): follow finalized blocks, keep θ on the network's
//! ([`crate::follow`]), and execute what the miner machine ([`tessera_protocol::miner`]) decides:
//! train window w on θ_w until the deadline it planned from this miner's measured durations,
//! commit the payload hash on chain, and upload the payload when the reveal period opens. A
//! commitment is not sent once the window's last block is finalized or too little time is
//! left before it. The adversarial behaviours of the tests
//! ([`Behaviour`]) bend only the upload and the payload. The miner's watcher
//! ([`crate::round::watch`]) observes the other payloads' timing meanwhile. A failing RPC
//! connection is re-opened with backoff; the replica's state and the machine survive it.

pub mod behaviour;
mod gc;

pub use behaviour::Behaviour;

use crate::follow::{FollowError, FollowOptions, Follower};
use crate::replica::{Replica, ReplicaError};
use crate::report::{Record, Report};
use crate::round;
use crate::wallclock::{instant_of, ms, now_ms};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;
use tessera_chain::{
	self as chain, AccountId, ChainError, Client, network::Timing, reconnect::Session, training,
};
use tessera_codec::{Header, hash::payload_hash};
use tessera_data::TokenShard;
use tessera_protocol::{self as protocol, Millis, MinerAction};
use tessera_store::{Location, ObjectStore, Store, StoreError, gradient_key};
use tracing::Instrument;

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
	Data(#[from] tessera_data::DataError),
	/// The chain could not be used.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// Registration failed.
	#[error("registration failed: {0}")]
	Register(#[from] chain::tx::TxError),
	/// The own storage location cannot be used.
	#[error(transparent)]
	Store(#[from] StoreError),
}

impl MinerError {
	/// Whether the error is the chain connection's (worth reconnecting for).
	fn is_connection(&self) -> bool {
		matches!(
			self,
			MinerError::Chain(_)
				| MinerError::Follow(FollowError::Chain(_))
				// Registering through a node that went silent: the next session checks again.
				| MinerError::Register(chain::tx::TxError::Silent(_) | chain::tx::TxError::TimedOut(_))
		)
	}
}

/// Everything the miner needs.
pub struct MinerOptions {
	/// The nodes' WebSocket URLs, in order of preference.
	pub endpoints: chain::Endpoints,
	/// No finalized block (or no answer to a connection) for this long, and the next endpoint
	/// is used.
	pub stall: Duration,
	/// The miner's key.
	pub signer: Keypair,
	/// Where the miner's own payloads go (also registered on chain).
	pub location: Location,
	/// How the miner follows the network's θ.
	pub follow: FollowOptions,
	/// Stop once the outer step of this window is confirmed.
	pub until_window: Option<u64>,
	/// Honest, or one of the adversaries the Gauntlet must catch.
	pub behaviour: Behaviour,
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

/// A built payload: its bytes, its report record, and the durations the machine learns from.
struct Built {
	bytes: Vec<u8>,
	record: Record,
	longest_step: Option<Duration>,
	build_time: Option<Duration>,
}

/// The miner's state across reconnections.
struct Miner {
	options: MinerOptions,
	account: AccountId,
	follower: Follower,
	shard: TokenShard,
	store: Store,
	progress: ProgressBar,
	/// The window protocol's decisions (made once the chain's timing is known).
	machine: Option<protocol::Miner>,
	/// The chain's window timing, read again once per window.
	timing: chain::network::TimingCache,
	/// The payload just built, until the machine says to commit it (or sits the window out).
	built: Option<Built>,
	/// The payload committed last, until it is uploaded.
	payload: Option<Pending>,
	/// A payload whose commitment's fate is unknown (the node went away while it was sent):
	/// uploaded once the next node shows the commitment on chain, dropped otherwise.
	uncertain: Option<Pending>,
	/// Blocks processed (all sessions).
	blocks: u64,
	/// The `corrupt-theta` fault was staged.
	corrupted: bool,
	/// The oldest own payload window not yet deleted (0: not known yet).
	gc_next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Runs the miner until `until_window` (forever without it).
pub async fn run(
	options: MinerOptions,
	replica: Replica,
	shard: TokenShard,
	report: Report,
	progress: ProgressBar,
) -> Result<(), MinerError> {
	// Every log line of the miner, and of the tasks it spawns, carries its SS58 address.
	let span = tracing::error_span!(
		"miner",
		peer = %chain::address::ss58(&options.signer.public_key().0)
	);
	run_in_span(options, replica, shard, report, progress).instrument(span).await
}

async fn run_in_span(
	options: MinerOptions,
	replica: Replica,
	shard: TokenShard,
	report: Report,
	progress: ProgressBar,
) -> Result<(), MinerError> {
	let account = AccountId::from(options.signer.public_key().0);
	let store = options.follow.resolver.open(&options.location)?;
	// θ's held-out loss waits until the next commitment is sent: training starts right after
	// the outer step.
	let follow =
		FollowOptions { members_only: true, evaluate_later: true, ..options.follow.clone() };
	let watch = round::watch::spawn(follow.watch_config(
		&options.endpoints,
		options.stall,
		replica.shapes(),
	));
	let follower = Follower::new(replica, &shard, follow, report, watch)?;
	let mut miner = Miner {
		account,
		follower,
		shard,
		store,
		progress,
		machine: None,
		timing: chain::network::TimingCache::default(),
		built: None,
		payload: None,
		uncertain: None,
		blocks: 0,
		corrupted: false,
		gc_next: Default::default(),
		options,
	};
	chain::reconnect::run(&mut miner, chain::reconnect::BACKOFF).await
}

impl Session for Miner {
	type Error = MinerError;

	fn blocks(&self) -> u64 {
		self.blocks
	}

	fn is_connection(error: &MinerError) -> bool {
		error.is_connection()
	}

	fn endpoints(&mut self) -> &mut chain::Endpoints {
		&mut self.options.endpoints
	}

	/// One connection's worth of work; `Ok` when `until_window` is reached.
	async fn session(&mut self) -> Result<(), MinerError> {
		// Asked to stop while away from the node (a reconnect): nothing is left to finish.
		if crate::shutdown::requested() && self.payload.is_none() {
			return Ok(());
		}
		let url = self.options.endpoints.current().to_string();
		let client = chain::endpoints::connect_within(&url, self.options.stall).await?;
		let timing = chain::network::timing(&client).await?;
		let window = self.ensure_registered(&client).await?;
		// What the chain holds of this miner in the open window: never committed twice.
		let committed = training::commitment(&client, window, &self.account).await?.map(|_| window);
		let machine = self
			.machine
			.get_or_insert_with(|| protocol::Miner::new(timing, protocol::Margins::default()));
		// A commitment sent through a node that went away: uploaded if the chain holds it.
		let held = self.uncertain.take();
		let kept = held.as_ref().is_some_and(|p| committed == Some(p.window));
		if let Some(p) = &held {
			if kept {
				tracing::info!(
					window = p.window,
					"the commitment sent before the node went away is on chain: its payload will be uploaded"
				);
			} else {
				tracing::warn!(
					window = p.window,
					"the commitment sent before the node went away is not on chain: the update is dropped"
				);
			}
		}
		// The machine schedules the upload only if the chain holds the held window's commitment.
		machine.on_restart(committed, held.as_ref().map(|p| p.window));
		if kept {
			self.payload = held;
		}
		if let Some((number, timestamp)) = chain::network::previous_block_time(&client).await? {
			machine.observe_block(number, timestamp);
		}
		self.follower.resume();
		let mut blocks =
			client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
		let watch = self.follower.watch().clone();
		// The newest finalized block and its timing, once one has come.
		let mut newest: Option<(u64, Timing)> = None;
		loop {
			// A stop is taken between blocks once no committed payload waits for its upload.
			let idle = self.payload.is_none();
			// The next block, or — after one — the moment a window's payloads are all read:
			// the outer step and the next window's training need not wait for the next block.
			let next = tokio::select! {
				next = crate::shutdown::unless_stopped(idle, chain::endpoints::within(self.options.stall, &url, blocks.next())) => Some(next),
				() = watch.all_read_signalled(), if newest.is_some() => None,
			};
			let (n, timing) = match (next, newest) {
				(Some(next), _) => {
					let Some(next) = next else {
						tracing::info!("stopping: no committed payload waits for its upload");
						return Ok(());
					};
					// No finalized block for the stall time: the node went silent.
					let Some(block) = next? else { break };
					let block = block.map_err(|e| ChainError::Blocks(e.to_string()))?;
					let n = block.number();
					self.blocks += 1;
					// The governed timing may change when a window opens.
					let timing = self.timing.at(&client, n).await?;
					if let Some(machine) = self.machine.as_mut() {
						machine.set_timing(timing);
					}
					let timestamp = chain::network::timestamp(&client, n).await?;
					let actions = self.machine(|m| m.on_finalized_block(n, timestamp, now_ms()));
					self.execute(&client, n, actions).await?;
					self.late_upload_if_due(n, &timing);
					newest = Some((n, timing));
					(n, timing)
				},
				(None, Some((n, timing))) => {
					tracing::debug!(
						block = n,
						"payloads all read: catching up before the next block"
					);
					(n, timing)
				},
				(None, None) => continue,
			};
			self.follower.catch_up(&client, n, &timing).await?;
			self.stage_fault();
			if self.options.until_window.is_some_and(|u| self.follower.is_confirmed(u)) {
				// The last θ's loss is measured before the miner stops.
				self.follower.evaluate_pending()?;
				return Ok(());
			}
			if let Some(applied) = self.follower.replica.applied() {
				let in_sync = self.follower.in_sync();
				let actions = self.machine(|m| m.on_theta(applied + 1, in_sync, now_ms()));
				self.execute(&client, n, actions).await?;
			}
			// The window is trained and its commitment sent (or sat out): the held-out loss of
			// the θ it trained from is measured while the miner waits for the reveal period.
			self.follower.evaluate_pending()?;
		}
		Err(ChainError::Blocks("the node closed the finalized block stream".into()).into())
	}
}

impl Miner {
	/// Feeds the machine (made at the start of the first session) one event.
	fn machine(
		&mut self,
		event: impl FnOnce(&mut protocol::Miner) -> Vec<MinerAction>,
	) -> Vec<MinerAction> {
		self.machine.as_mut().map(event).unwrap_or_default()
	}

	/// Tells the machine the newest finalized block once training (which followed no blocks)
	/// ends: whether the commitment still has time is then judged from where the chain is, not
	/// from a prediction made before the chain slowed down. Without an answer from the node
	/// (logged) the prediction stands.
	async fn observe_newest_block(&mut self, client: &Client) {
		match chain::network::newest_block_time(client).await {
			Ok(Some((number, timestamp))) => {
				if let Some(machine) = self.machine.as_mut() {
					machine.observe_block(number, timestamp);
				}
			},
			Ok(None) => {},
			Err(e) => {
				tracing::warn!(error = %e, "newest block not known: deadlines from the prediction")
			},
		}
	}

	/// Registers (or moves the storage location) if needed; the open window.
	async fn ensure_registered(&mut self, client: &Client) -> Result<u64, MinerError> {
		let (window, _) = crate::registration::ensure::<MinerError>(
			client,
			self.options.endpoints.current(),
			&self.options.signer,
			&self.account,
			training::Role::Miner,
			&self.options.location,
		)
		.await?;
		Ok(window)
	}

	/// Executes the machine's actions, feeding their outcomes back until it has none left.
	async fn execute(
		&mut self,
		client: &Client,
		n: u64,
		mut actions: Vec<MinerAction>,
	) -> Result<(), MinerError> {
		while !actions.is_empty() {
			let mut next = Vec::new();
			for action in actions {
				// Every log line of the action carries its window and phase (the peer comes
				// from the miner's own span).
				let span = tracing::error_span!(
					"window",
					window = action.window(),
					phase = action.phase()
				);
				next.extend(self.act(client, n, action).instrument(span).await?);
			}
			actions = next;
		}
		Ok(())
	}

	/// Executes one action; returns what the machine asks for next.
	async fn act(
		&mut self,
		client: &Client,
		n: u64,
		action: MinerAction,
	) -> Result<Vec<MinerAction>, MinerError> {
		if crate::shutdown::requested() {
			match action {
				MinerAction::Train { window, .. } => {
					tracing::info!(window, "stopping: not training");
					let nothing =
						protocol::Trained { built: false, longest_step_ms: None, build_ms: None };
					return Ok(self.machine(|m| m.on_training_done(window, nothing, now_ms())));
				},
				MinerAction::Commit { window } => {
					self.built = None;
					tracing::info!(window, "stopping: the update is not committed");
					return Ok(Vec::new());
				},
				// Nothing was built because of the stop: not a window sat out.
				MinerAction::SitOut { reason: protocol::SitOut::NothingBuilt, .. } => {
					return Ok(Vec::new());
				},
				// A committed payload is still uploaded; sitting out changes nothing.
				MinerAction::Upload { .. } | MinerAction::SitOut { .. } => {},
			}
		}
		Ok(match action {
			MinerAction::Train { window, stop_at } => {
				// Never train on a θ that no longer hashes to what was applied.
				let built = if self.follower.check_theta(window) {
					self.build(client, n, window, stop_at).await?
				} else {
					None
				};
				let trained = protocol::Trained {
					built: built.is_some(),
					longest_step_ms: built.as_ref().and_then(|b| b.longest_step).map(ms),
					build_ms: built.as_ref().and_then(|b| b.build_time).map(ms),
				};
				self.built = built;
				self.observe_newest_block(client).await;
				self.machine(|m| m.on_training_done(window, trained, now_ms()))
			},
			MinerAction::Commit { window } => match self.built.take() {
				Some(built) => self.commit(client, window, built).await,
				None => {
					tracing::warn!(window, "commit asked for without a payload: nothing sent");
					Vec::new()
				},
			},
			MinerAction::Upload { window } => {
				self.upload_revealed(window).await;
				self.delete_old_payloads(client, window);
				Vec::new()
			},
			MinerAction::SitOut { window, reason } => {
				// Whatever was built is not committed.
				self.built = None;
				crate::metrics::get().sat_out.inc();
				self.follower
					.report()
					.write(&Record::SatOut { window, reason: reason.to_string() });
				if matches!(reason, protocol::SitOut::RevealOver) {
					self.payload = None;
					tracing::warn!(window, %reason, "payload dropped");
				} else {
					tracing::info!(window, block = n, %reason, "sitting the window out");
				}
				Vec::new()
			},
		})
	}

	/// Trains (or, for an adversary, fabricates) the payload of `window`.
	async fn build(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
		stop_at: Millis,
	) -> Result<Option<Built>, MinerError> {
		let Some(seed) = chain::network::window_seed(client, n, window).await? else {
			return Ok(None);
		};
		let deadline = instant_of(stop_at);
		tracing::info!(
			window,
			block = n,
			interval_ms = self.machine.as_ref().map_or(0, |m| m.clock().interval_ms()),
			seconds_left = deadline.saturating_duration_since(Instant::now()).as_secs_f64(),
			"training"
		);
		if self.options.behaviour.trains() {
			self.train(window, &seed, deadline)
		} else {
			self.fabricate(client, n, window).await
		}
	}

	/// Commits `built` for `window` and reports the outcome to the machine.
	async fn commit(&mut self, client: &Client, window: u64, built: Built) -> Vec<MinerAction> {
		let Built { bytes, record, .. } = built;
		let committed_hash = match self.options.behaviour {
			Behaviour::WrongHash => payload_hash(&[bytes.as_slice(), b"x"].concat()),
			_ => payload_hash(&bytes),
		};
		let len = bytes.len() as u32;
		let sent = Instant::now();
		let followed = training::commit_gradient(
			client,
			&self.options.signer,
			window,
			H256(committed_hash),
			len,
		)
		.await;
		let elapsed = ms(sent.elapsed());
		// What the machine plans with: the way into the node's pool. A commitment there when
		// the window's last block is authored is in that block; the wait for the block and its
		// finalization is no part of the deadline.
		let pooled = ms(followed.taken_since(sent));
		let accepted = match followed.outcome {
			Ok(_) => {
				tracing::info!(
					window,
					behaviour = self.options.behaviour.name(),
					bytes = len,
					seconds = elapsed as f64 / 1e3,
					pooled_seconds = pooled as f64 / 1e3,
					"update committed"
				);
				let mut record = record;
				if let Record::Trained { payload_hash, payload_bytes, .. } = &mut record {
					*payload_hash = hex::encode(committed_hash);
					*payload_bytes = bytes.len();
				}
				self.follower.report().write(&record);
				match self.options.behaviour {
					Behaviour::NoUpload => self.payload = None,
					Behaviour::Early => {
						self.payload = None;
						self.upload_now(window, bytes, "payload uploaded before the reveal period")
							.await;
					},
					_ => self.payload = Some(Pending { window, bytes }),
				}
				true
			},
			// The node went silent or away while the commitment was on its way: it may be on
			// chain. The payload is kept until the next node says (`session`).
			Err(
				ref e @ (chain::tx::TxError::Silent(_)
				| chain::tx::TxError::TimedOut(_)
				| chain::tx::TxError::Submission(_)),
			) if !matches!(self.options.behaviour, Behaviour::NoUpload | Behaviour::Early) => {
				tracing::warn!(window, error = %e, "commitment's fate unknown; its payload is kept until the chain says");
				self.uncertain = Some(Pending { window, bytes });
				false
			},
			Err(e) => {
				tracing::warn!(window, error = %e, "commit refused; the update is dropped");
				false
			},
		};
		self.machine(|m| m.on_commit_result(window, accepted, pooled))
	}

	/// The reveal period of `window` opened: upload its payload (a late adversary holds it
	/// back until the period is over).
	async fn upload_revealed(&mut self, window: u64) {
		if self.options.behaviour == Behaviour::Late {
			return;
		}
		let Some(pending) = self.payload.take_if(|p| p.window == window) else { return };
		self.upload_now(window, pending.bytes, "payload uploaded").await;
	}

	async fn upload_now(&self, window: u64, bytes: Vec<u8>, what: &'static str) {
		let key = gradient_key(window, &self.account.0);
		match upload(&self.store, &key, bytes).await {
			Ok(()) => {
				tracing::info!(window, store = %self.store.describe(), %key, "{what}");
				self.follower.report().write(&Record::Uploaded { window });
			},
			Err(e) => tracing::warn!(window, error = %e, "payload upload failed"),
		}
	}

	/// `--behaviour corrupt-theta:W`: once θ includes window W − 1, corrupt it in memory and
	/// every local checkpoint file (once).
	fn stage_fault(&mut self) {
		let Behaviour::CorruptTheta { at } = self.options.behaviour else { return };
		if self.corrupted || self.follower.replica.applied().is_none_or(|a| a + 1 < at) {
			return;
		}
		self.corrupted = true;
		self.follower.replica.inject_fault();
		// Every file, the one being written included.
		self.follower.finish_checkpoint_writes();
		behaviour::corrupt_files(&self.options.follow.checkpoint_dir);
		tracing::warn!(
			window = at,
			phase = "fault",
			"fault staged: θ corrupted in memory and in every local checkpoint file"
		);
	}

	/// A late adversary uploads about one block after the reveal period, from a background
	/// task so that training cannot hold it back.
	fn late_upload_if_due(&mut self, n: u64, timing: &Timing) {
		if self.options.behaviour != Behaviour::Late {
			return;
		}
		let Some(pending) = self.payload.take_if(|p| n >= timing.reveal_end(p.window)) else {
			return;
		};
		let window = pending.window;
		let (store, report) = (self.store.clone(), self.follower.report().clone());
		let delay = Duration::from_millis(
			self.machine
				.as_ref()
				.map_or(protocol::clock::DEFAULT_INTERVAL_MS, |m| m.clock().interval_ms()),
		);
		let key = gradient_key(window, &self.account.0);
		let span = tracing::error_span!("window", window, phase = "upload");
		tokio::spawn(tracing::Instrument::instrument(
			async move {
				tokio::time::sleep(delay).await;
				match upload(&store, &key, pending.bytes).await {
					Ok(()) => {
						tracing::info!(window, %key, "payload uploaded after the reveal period");
						report.write(&Record::Uploaded { window });
					},
					Err(e) => tracing::warn!(window, error = %e, "payload upload failed"),
				}
			},
			span,
		));
	}

	/// Trains window `window` until `deadline`; the payload and its report record.
	fn train(
		&mut self,
		window: u64,
		seed: &[u8; 32],
		deadline: Instant,
	) -> Result<Option<Built>, MinerError> {
		self.progress.set_prefix(format!("window {window}"));
		let account = self.account.0;
		let started = Instant::now();
		let trained = tokio::task::block_in_place(|| {
			self.follower.replica.train(
				window,
				seed,
				&account,
				&self.shard,
				tessera_model::train::StopWhen {
					deadline: Some(deadline),
					cancel: Some(crate::shutdown::flag()),
				},
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
		if trained.report.steps == 0 {
			tracing::info!(window, "no inner step fitted before the deadline: nothing to commit");
			return Ok(None);
		}
		tracing::info!(
			window,
			steps = trained.report.steps,
			last_step_sequences = trained.report.shortened,
			loss = trained.report.mean_loss(),
			tokens_per_second = trained.report.tokens_per_second(),
			"window trained"
		);
		let m = crate::metrics::get();
		if let Some(loss) = trained.report.mean_loss() {
			m.train_loss.set(f64::from(loss));
		}
		m.tokens_per_second.set(trained.report.tokens_per_second());
		let train_seconds = started.elapsed().saturating_sub(trained.build_time).as_secs_f64();
		m.windows_trained.inc();
		m.training_seconds.inc_by(train_seconds);
		let record = Record::Trained {
			window,
			steps: trained.report.steps,
			loss: trained.report.mean_loss(),
			tokens_per_second: trained.report.tokens_per_second(),
			train_seconds,
			payload_bytes: trained.update.bytes.len(),
			payload_hash: hex::encode(trained.update.hash),
		};
		Ok(Some(Built {
			bytes: trained.update.bytes,
			record,
			longest_step: Some(trained.report.longest_step),
			build_time: Some(trained.build_time),
		}))
	}

	/// An adversary's payload for `window` (no training).
	async fn fabricate(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<Option<Built>, MinerError> {
		let shapes = self.follower.replica.shapes().to_vec();
		let header = Header {
			window,
			miner: self.account.0,
			theta_hash: self.follower.replica.theta_hash(),
			data_digest: [0; 32],
		};
		let rules = self.options.follow.rules;
		let bytes = match self.options.behaviour {
			Behaviour::Nan => behaviour::nan_payload(&shapes, &header, &rules),
			Behaviour::Noise
			| Behaviour::NoUpload
			| Behaviour::WrongHash
			| Behaviour::Late
			| Behaviour::Early => behaviour::noise_payload(&shapes, &header, &rules, 0.02),
			Behaviour::CopyExact { victim } | Behaviour::CopyPerturbed { victim } => {
				let Some(original) = self.victim_payload(client, n, window, &victim).await? else {
					tracing::info!(window, victim = %tessera_chain::address::ss58(&victim), "nothing to copy this window");
					return Ok(None);
				};
				if matches!(self.options.behaviour, Behaviour::CopyExact { .. }) {
					Ok(original)
				} else {
					behaviour::perturbed_copy(&original, &victim, &shapes, &header, rules)
				}
			},
			Behaviour::Honest | Behaviour::CorruptTheta { .. } => return Ok(None),
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
			train_seconds: 0.0,
			payload_bytes: bytes.len(),
			payload_hash: hex::encode(payload_hash(&bytes)),
		};
		Ok(Some(Built { bytes, record, longest_step: None, build_time: None }))
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
		Ok(store
			.get(&key, self.options.follow.rules.max_payload_len(shapes))
			.await
			.ok()
			.map(|b| b.to_vec()))
	}
}
