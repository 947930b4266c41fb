//! The validator's chain loop (DESIGN.md §2 step 5, §5): it follows the network's θ like a miner
//! ([`crate::follow`]) without training; its watcher ([`crate::round::watch`]) notes early,
//! revealed and late payloads. The validator machine ([`tessera_protocol::validator`]) decides
//! when to evaluate a window and when to submit: when the reveal period ends (or every payload
//! was read in it) the window's updates are screened and applied, every clean one is evaluated
//! on the miner's assigned data and on random data; late uploads are watched for a few blocks,
//! and the window is scored (Plackett–Luce ratings, honest indicator, sync) and its results,
//! inclusion list and θ_{w+1} hash submitted through `submit_gauntlet_results` at a moment
//! planned from the measured results-transaction time, so they arrive before the scoring
//! deadline on a busy machine too.
//! A bad payload costs at most one fetch deadline and one evaluation of `eval_sequences` rows;
//! nothing a peer uploads can stop the loop.

pub mod scoring;

pub use scoring::{ScorePolicy, Scoring};

use crate::follow::{FollowError, FollowOptions, Follower, Published, Stepped};
use crate::gauntlet::{
	GauntletState, ScoreConfig,
	evaluate::{EvalInput, before_losses},
	evaluate_window,
	state::StateError,
};
use crate::replica::Replica;
use crate::report::{Record, Report};
use crate::round;
use crate::wallclock::{ms, now_ms};
use std::{collections::BTreeMap, path::PathBuf, time::Instant};
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;
use tessera_chain::{
	self as chain, AccountId, ChainError, Client, network::Timing, reconnect::Session, training,
};
use tessera_data::TokenShard;
use tessera_protocol::{self as protocol, ValidatorAction};
use tessera_store::Location;
use tracing::Instrument;

/// Errors that stop the validator.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
	/// Following the network failed.
	#[error(transparent)]
	Follow(#[from] FollowError),
	/// The chain could not be used.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// Registering or bonding failed.
	#[error("registration failed: {0}")]
	Register(#[from] chain::tx::TxError),
	/// The Gauntlet state file could not be used.
	#[error(transparent)]
	State(#[from] StateError),
}

impl ValidatorError {
	fn is_connection(&self) -> bool {
		matches!(
			self,
			ValidatorError::Chain(_)
				| ValidatorError::Follow(FollowError::Chain(_))
				// Registering through a node that went silent: the next session checks again.
				| ValidatorError::Register(chain::tx::TxError::Silent(_) | chain::tx::TxError::TimedOut(_))
		)
	}
}

/// How long a stop waits for checkpoint publications in flight.
const PUBLISH_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Everything the validator needs.
pub struct ValidatorOptions {
	/// The nodes' WebSocket URLs, in order of preference.
	pub endpoints: chain::Endpoints,
	/// No finalized block (or no answer to a connection) for this long, and the next endpoint
	/// is used.
	pub stall: std::time::Duration,
	/// The validator's key.
	pub signer: Keypair,
	/// Its storage location (registered on chain; validators publish no payloads).
	pub location: Location,
	/// How it follows the network's θ.
	pub follow: FollowOptions,
	/// Rows of assigned and of random data evaluated per update.
	pub eval_sequences: usize,
	/// Rows per forward pass.
	pub eval_batch: usize,
	/// Scoring settings.
	pub score: ScoreConfig,
	/// Honest, or random scores (a dishonest validator for tests).
	pub policy: ScorePolicy,
	/// Where the Gauntlet state (ratings, indicators) is kept.
	pub state_path: PathBuf,
	/// Stake to bond when registering.
	pub bond: Option<u128>,
	/// Stop once this window is scored (or its deadline passed) and confirmed.
	pub until_window: Option<u64>,
}

struct Validator {
	options: ValidatorOptions,
	account: AccountId,
	follower: Follower,
	shard: TokenShard,
	state: GauntletState,
	/// The window being scored: its evaluated updates, until they are submitted.
	scoring: Option<Scoring>,
	/// A window just stepped, while the machine decides whether to evaluate it.
	pending: Option<Stepped>,
	/// The window protocol's decisions (made once the chain's timing is known).
	machine: Option<protocol::Validator>,
	/// The chain's window timing, read again once per window.
	timing: chain::network::TimingCache,
	/// Blocks processed (all sessions).
	blocks: u64,
	/// θ_w's losses on each committed miner's rows, computed in window w's reveal period.
	before: (u64, BTreeMap<[u8; 32], (f64, f64)>),
	/// Held while one of the validator's transactions is in flight: the chain gives a signer's
	/// next nonce from finalized state, so two at once would share it.
	tx_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
	/// Checkpoint publications in flight (upload, then record on chain): a stop waits for them.
	publishing: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// Runs the validator until `until_window` (forever without it).
pub async fn run(
	options: ValidatorOptions,
	replica: Replica,
	shard: TokenShard,
	report: Report,
) -> Result<(), ValidatorError> {
	// Every log line of the validator, and of the tasks it spawns, carries its SS58 address.
	let span = tracing::error_span!(
		"validator",
		peer = %chain::address::ss58(&options.signer.public_key().0)
	);
	run_in_span(options, replica, shard, report).instrument(span).await
}

async fn run_in_span(
	options: ValidatorOptions,
	replica: Replica,
	shard: TokenShard,
	report: Report,
) -> Result<(), ValidatorError> {
	let account = AccountId::from(options.signer.public_key().0);
	let follow =
		FollowOptions { members_only: false, publish_checkpoints: true, ..options.follow.clone() };
	let watch = round::watch::spawn(follow.watch_config(
		&options.endpoints,
		options.stall,
		replica.shapes(),
	));
	let follower = Follower::new(replica, &shard, follow, report, watch)?;
	let state = GauntletState::load(&options.state_path)?;
	let mut v = Validator {
		account,
		follower,
		shard,
		state,
		scoring: None,
		pending: None,
		machine: None,
		timing: chain::network::TimingCache::default(),
		blocks: 0,
		before: (0, BTreeMap::new()),
		tx_lock: Default::default(),
		publishing: Default::default(),
		options,
	};
	chain::reconnect::run(&mut v, chain::reconnect::BACKOFF).await
}

impl Session for Validator {
	type Error = ValidatorError;

	fn blocks(&self) -> u64 {
		self.blocks
	}

	fn is_connection(error: &ValidatorError) -> bool {
		error.is_connection()
	}

	fn endpoints(&mut self) -> &mut chain::Endpoints {
		&mut self.options.endpoints
	}

	/// One connection's worth of work; `Ok` when `until_window` is scored and confirmed.
	async fn session(&mut self) -> Result<(), ValidatorError> {
		// Asked to stop while away from the node (a reconnect): nothing is left to finish.
		if crate::shutdown::requested() && self.scoring.is_none() {
			self.finish_publishing().await;
			return Ok(());
		}
		let url = self.options.endpoints.current().to_string();
		let client = chain::endpoints::connect_within(&url, self.options.stall).await?;
		let timing = chain::network::timing(&client).await?;
		self.ensure_registered(&client).await?;
		let last_scored = self.state.window;
		let machine = self.machine.get_or_insert_with(|| {
			protocol::Validator::new(timing, protocol::Margins::default(), last_scored)
		});
		if let Some((number, timestamp)) = chain::network::previous_block_time(&client).await? {
			machine.observe_block(number, timestamp);
		}
		self.follower.resume();
		let mut blocks =
			client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
		loop {
			// A stop is taken between blocks once no evaluated window waits for its submission.
			let idle = self.scoring.is_none();
			let stalling = chain::endpoints::within(self.options.stall, &url, blocks.next());
			let Some(next) = crate::shutdown::unless_stopped(idle, stalling).await else {
				self.finish_publishing().await;
				tracing::info!("stopping: nothing evaluated or submitted is left half done");
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
			self.mark_late();
			let actions = self.machine(|m| m.on_finalized_block(n, timestamp, now_ms()));
			self.execute(&client, actions).await?;
			for stepped in self.follower.catch_up(&client, n, &timing).await? {
				let (window, provisional) = (stepped.window, stepped.provisional);
				// Never score on a θ that is not the network's.
				let in_sync =
					!provisional || (self.follower.in_sync() && self.follower.check_theta(window));
				let actions = if in_sync {
					self.machine(|m| m.on_stepped(window, provisional, now_ms()))
				} else {
					crate::metrics::get().sat_out.inc();
					self.follower.report().write(&Record::SatOut {
						window,
						reason: protocol::Skip::Diverged.to_string(),
					});
					self.machine(|m| m.on_stepped_out_of_sync(window))
				};
				self.pending = Some(stepped);
				self.execute(&client, actions).await?;
				self.pending = None;
			}
			for published in self.follower.take_published() {
				self.publish(&client, published);
			}
			self.prepare_before(&client, n, &timing).await?;
			let last_scored = self.machine.as_ref().and_then(protocol::Validator::last_scored);
			if let Some(u) = self.options.until_window
				&& last_scored.is_some_and(|s| s >= u)
				&& self.scoring.is_none()
				&& self.follower.is_confirmed(u)
			{
				self.finish_publishing().await;
				return Ok(());
			}
		}
		Err(ChainError::Blocks("the node closed the finalized block stream".into()).into())
	}
}

impl Validator {
	/// Uploads a checkpoint of θ to the validator's store under the documented key and records
	/// it on chain, in the background (scoring goes on meanwhile); then deletes from the store
	/// the checkpoints older than every one the chain keeps. One the chain refuses (no binding
	/// verdict to check it against) is deleted again.
	fn publish(&self, client: &Client, published: Published) {
		use tessera_store::ObjectStore;
		let store = match self.options.follow.resolver.open(&self.options.location) {
			Ok(store) => store,
			Err(e) => {
				tracing::warn!(
					window = published.window,
					phase = "publish",
					error = %e,
					"checkpoint not published"
				);
				return;
			},
		};
		let (client, signer) = (client.clone(), self.options.signer.clone());
		let report = self.follower.report().clone();
		let interval = self.options.follow.history.checkpoint_interval.max(1);
		let lock = self.tx_lock.clone();
		// Every line of the publication names its window and phase (and, through the parent
		// span, the validator).
		let span = tracing::error_span!("window", window = published.window, phase = "publish");
		let task = tracing::Instrument::instrument(
			async move {
				let Published { window, theta_hash, bytes } = published;
				let key = tessera_store::checkpoint_key(window);
				if let Err(e) = store.put(&key, bytes.into()).await {
					tracing::warn!(window, error = %e, "checkpoint upload failed; not recorded");
					return;
				}
				let recorded = {
					let _one_at_a_time = lock.lock().await;
					training::record_checkpoint(&client, &signer, window, H256(theta_hash)).await
				};
				let recorded = match recorded {
					Ok(_) => {
						tracing::info!(window, theta = %hex::encode(theta_hash), %key, "checkpoint published");
						true
					},
					Err(e) => {
						tracing::warn!(window, error = %e, "checkpoint not recorded on chain; deleting the upload");
						if let Err(e) = store.delete(&key).await {
							tracing::warn!(window, error = %e, "cannot delete the unrecorded checkpoint");
						}
						false
					},
				};
				report.write(&Record::Published {
					window,
					theta_hash: hex::encode(theta_hash),
					recorded,
				});
				if !recorded {
					return;
				}
				// What the chain no longer keeps goes: the three checkpoint windows before the
				// oldest it keeps (earlier ones went at earlier publications).
				let oldest = match chain::network::oldest_kept_checkpoint(&client).await {
					Ok(oldest) => oldest,
					Err(e) => {
						tracing::warn!(window, error = %e, "old checkpoints not collected");
						return;
					},
				};
				let Some(oldest) = oldest else { return };
				for k in 1..=3u64 {
					if let Some(old) = oldest.checked_sub(k * interval).filter(|w| *w >= 1)
						&& let Err(e) = store.delete(&tessera_store::checkpoint_key(old)).await
					{
						tracing::warn!(
							checkpoint = old,
							error = %e,
							"cannot delete an old checkpoint"
						);
					}
				}
			},
			span,
		);
		match self.publishing.lock() {
			Ok(mut running) => {
				// Forget the publications that ended.
				while running.try_join_next().is_some() {}
				running.spawn(task);
			},
			Err(_) => {
				tokio::spawn(task);
			},
		}
	}

	async fn ensure_registered(&mut self, client: &Client) -> Result<(), ValidatorError> {
		let (_, registered) = crate::registration::ensure::<ValidatorError>(
			client,
			self.options.endpoints.current(),
			&self.options.signer,
			&self.account,
			training::Role::Validator,
			&self.options.location,
		)
		.await?;
		if let Some(amount) = self.options.bond.filter(|_| registered) {
			tracing::info!(amount, "bonding stake");
			training::bond(client, &self.options.signer, amount).await?;
		}
		Ok(())
	}

	/// In window w's reveal period, until w is stepped, θ is still θ_w: the losses of θ_w on
	/// the rows of each miner whose payload the watcher has read are computed now, rather than
	/// after the step. A window whose payloads were all read is stepped at once, and these
	/// losses are then computed after the step (from θ_w kept for its evaluation).
	async fn prepare_before(
		&mut self,
		client: &Client,
		n: u64,
		timing: &Timing,
	) -> Result<(), ValidatorError> {
		let Some(window) = timing.window_of(n).checked_sub(1) else { return Ok(()) };
		let theta_w_ready = match window.checked_sub(1) {
			Some(prev) => self.follower.replica.applied() == Some(prev),
			None => self.follower.replica.applied().is_none(),
		};
		if window == 0 || n >= timing.reveal_end(window) || !theta_w_ready {
			return Ok(());
		}
		let readable: Vec<[u8; 32]> = self
			.follower
			.watch()
			.revealed_so_far(window)
			.into_iter()
			.filter(|a| self.before.0 != window || !self.before.1.contains_key(a))
			.collect();
		if readable.is_empty() {
			return Ok(());
		}
		if self.before.0 != window {
			self.before = (window, BTreeMap::new());
		}
		let Some(seed) = chain::network::window_seed(client, n, window).await? else {
			return Ok(());
		};
		// The random rows' seed: the next window's, which exists once this one's commitments
		// closed (the reveal period is after that).
		let Some(random_seed) = chain::network::window_seed(client, n, window + 1).await? else {
			return Ok(());
		};
		let input = EvalInput {
			model: self.follower.replica.model(),
			theta: self.follower.replica.theta(),
			shard: &self.shard,
			seed: &seed,
			random_seed: &random_seed,
			sequences: self.options.eval_sequences,
			batch: self.options.eval_batch,
			lr: self.options.follow.outer.lr,
		};
		let before = &mut self.before.1;
		tokio::task::block_in_place(|| {
			for account in readable {
				match before_losses(&input, &account) {
					Ok(l) => {
						before.insert(account, l);
					},
					Err(e) => {
						tracing::warn!(window, phase = "evaluate", error = %e, "cannot evaluate θ_w")
					},
				}
			}
		});
		Ok(())
	}

	/// Feeds the machine (made at the start of the first session) one event.
	fn machine(
		&mut self,
		event: impl FnOnce(&mut protocol::Validator) -> Vec<ValidatorAction>,
	) -> Vec<ValidatorAction> {
		self.machine.as_mut().map(event).unwrap_or_default()
	}

	/// Executes the machine's actions, feeding their outcomes back until it has none left.
	async fn execute(
		&mut self,
		client: &Client,
		mut actions: Vec<ValidatorAction>,
	) -> Result<(), ValidatorError> {
		while !actions.is_empty() {
			let mut next = Vec::new();
			for action in actions {
				// Every log line of the action carries its window and phase (the peer comes
				// from the validator's own span).
				let span = tracing::error_span!(
					"window",
					window = action.window(),
					phase = action.phase()
				);
				next.extend(self.act(client, action).instrument(span).await?);
			}
			actions = next;
		}
		Ok(())
	}

	/// Waits (up to [`PUBLISH_GRACE`]) for the checkpoint publications in flight.
	async fn finish_publishing(&self) {
		let mut running = match self.publishing.lock() {
			Ok(mut running) => std::mem::take(&mut *running),
			Err(_) => return,
		};
		if running.is_empty() {
			return;
		}
		tracing::info!(tasks = running.len(), "stopping: finishing checkpoint publications");
		let all = async { while running.join_next().await.is_some() {} };
		if tokio::time::timeout(PUBLISH_GRACE, all).await.is_err() {
			tracing::warn!("stopping: a checkpoint publication did not finish in time; abandoned");
		}
	}

	/// Executes one action; returns what the machine asks for next.
	async fn act(
		&mut self,
		client: &Client,
		action: ValidatorAction,
	) -> Result<Vec<ValidatorAction>, ValidatorError> {
		Ok(match action {
			ValidatorAction::Evaluate { window } => {
				let started = Instant::now();
				let ready = self.begin_scoring(window)?;
				let elapsed = ms(started.elapsed());
				self.machine(|m| {
					if ready {
						m.on_evaluated(window, elapsed, now_ms())
					} else {
						m.on_nothing_to_score(window)
					}
				})
			},
			ValidatorAction::Submit { window } => {
				let sent = Instant::now();
				let (accepted, followed) = self.submit(client, window).await;
				// Scoring, saving the state and the way into the node's pool: results there
				// when the period's last block is authored are in it.
				let elapsed = ms(followed.map_or_else(|| sent.elapsed(), |f| f.taken_since(sent)));
				self.machine(|m| m.on_submit_result(window, accepted, elapsed))
			},
			ValidatorAction::Skip { window, reason } => {
				if self.scoring.as_ref().is_some_and(|s| s.window == window) {
					self.scoring = None;
				}
				match reason {
					protocol::Skip::AlreadySettled => {
						tracing::debug!(window, %reason, "not scored");
					},
					_ => tracing::warn!(window, %reason, "not scored"),
				}
				Vec::new()
			},
		})
	}

	/// Evaluates the window just applied provisionally (`self.pending`).
	/// Whether there is something to score.
	fn begin_scoring(&mut self, window: u64) -> Result<bool, ValidatorError> {
		let Some(stepped) = self.pending.take_if(|s| s.window == window) else {
			return Ok(false);
		};
		let Some(theta) = self.follower.theta_before(window).map(<[Vec<f32>]>::to_vec) else {
			return Ok(false);
		};
		let losses = self.evaluate(&stepped, &theta)?;
		self.scoring = Some(Scoring { window, stepped, losses });
		Ok(true)
	}

	/// Notes the late uploads the watcher has seen for the window being scored.
	fn mark_late(&mut self) {
		let Some(scoring) = self.scoring.as_mut() else { return };
		let late: Vec<[u8; 32]> = self.follower.watch().late(scoring.window).into_iter().collect();
		scoring.mark_late(&late);
	}

	/// The losses of every update of `stepped` that decoded.
	fn evaluate(
		&mut self,
		stepped: &Stepped,
		theta: &[Vec<f32>],
	) -> Result<Vec<Option<crate::gauntlet::Losses>>, ValidatorError> {
		let window = stepped.window;
		let (Some(seed), Some(random_seed)) = (stepped.seed, stepped.eval_seed) else {
			return Ok(vec![None; stepped.screened.len()]);
		};
		// Set-aside updates score 0 whatever their losses: only clean ones are evaluated.
		let updates: Vec<([u8; 32], &tessera_codec::Payload)> = stepped
			.screened
			.iter()
			.filter(|s| s.is_clean())
			.filter_map(|s| s.payload.as_ref().map(|p| (s.account, p)))
			.collect();
		if updates.is_empty() {
			return Ok(vec![None; stepped.screened.len()]);
		}
		let started = std::time::Instant::now();
		let input = EvalInput {
			model: self.follower.replica.model(),
			theta,
			shard: &self.shard,
			seed: &seed,
			random_seed: &random_seed,
			sequences: self.options.eval_sequences,
			batch: self.options.eval_batch,
			lr: self.options.follow.outer.lr,
		};
		let empty = BTreeMap::new();
		let known = if self.before.0 == window { &self.before.1 } else { &empty };
		let evaluated = tokio::task::block_in_place(|| evaluate_window(&input, &updates, known));
		self.follower.replica.sync_model().map_err(FollowError::from)?;
		let evaluated = match evaluated {
			Ok(e) => e,
			Err(e) => {
				tracing::warn!(window, error = %e, "evaluation failed: every update scores as unevaluated");
				return Ok(vec![None; stepped.screened.len()]);
			},
		};
		tracing::info!(
			window,
			updates = updates.len(),
			seconds = started.elapsed().as_secs_f64(),
			"updates evaluated"
		);
		let mut by_account = updates.iter().map(|(a, _)| *a).zip(evaluated);
		let mut out = Vec::with_capacity(stepped.screened.len());
		for s in &stepped.screened {
			out.push(if s.is_clean() { by_account.next().map(|(_, l)| l) } else { None });
		}
		Ok(out)
	}

	/// Scores the window and submits its results; whether the chain accepted them, and the
	/// transaction as followed (`None`: nothing was sent).
	async fn submit(
		&mut self,
		client: &Client,
		window: u64,
	) -> (bool, Option<tessera_chain::tx::Followed>) {
		self.mark_late();
		let Some(scoring) = self.scoring.take_if(|s| s.window == window) else {
			return (false, None);
		};
		let scored = scoring.score(&mut self.state, &self.options.score, self.options.policy);
		self.state.window = Some(window);
		if let Err(e) = self.state.save(&self.options.state_path) {
			tracing::warn!(error = %e, "cannot save the Gauntlet state");
		}
		let results = scoring.chain_results(&scored);
		let inclusion: Vec<AccountId> =
			scoring.stepped.inclusion.iter().map(|a| AccountId::from(*a)).collect();
		let theta_hash = scoring.stepped.theta_hash;
		let lock = self.tx_lock.clone();
		let _one_at_a_time = lock.lock().await;
		let followed = training::submit_gauntlet_results(
			client,
			&self.options.signer,
			window,
			results,
			inclusion,
			H256(theta_hash),
		)
		.await;
		let submitted = match &followed.outcome {
			Ok(_) => {
				crate::metrics::get().windows_scored.inc();
				true
			},
			Err(e) => {
				tracing::warn!(window, error = %e, "results refused");
				false
			},
		};
		for s in &scored {
			crate::metrics::get()
				.scores
				.with_label_values(&[chain::address::ss58(&s.account).as_str()])
				.set(s.final_score);
			tracing::info!(
				window,
				miner = %chain::address::ss58(&s.account),
				score = s.final_score,
				gradient = s.gradient_score,
				flags = ?round::flags::names(s.flags),
				"scored"
			);
		}
		self.follower.report().write(&Record::Scored {
			window,
			submitted,
			inclusion: scoring.stepped.inclusion.iter().map(chain::address::ss58).collect(),
			theta_hash: hex::encode(theta_hash),
			peers: scored.iter().map(scoring::to_report).collect(),
		});
		(submitted, Some(followed))
	}
}
