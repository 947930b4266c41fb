//! Keeping a replica on the network's θ (DESIGN.md §2 steps 6–7), the part miners and validators
//! share. *When* to do what is the follower machine's ([`tessera_protocol::follower`]); this
//! module executes its actions on the replica:
//!
//! - **step**: when a window's reveal period ends — or once the watcher has read every payload
//!   it watches — take the payloads the watcher ([`crate::round::watch`]) read during the
//!   reveal period and the early uploads it saw,
//!   screen them ([`crate::round::screen`]) and apply the outer step *provisionally*;
//! - **replay**: a window whose verdict is already published (a restarted or late peer) is
//!   applied with the verdict's inclusion list instead, and must reproduce its θ hash;
//! - **settle**: when the window's scoring period closes, compare the provisional inclusion
//!   list and θ hash with the verdict; on a difference, **recompute** the step from θ_w with the
//!   verdict's list (fetching what it had left out), and if even that does not give the
//!   verdict's θ, **re-sync** from the newest checkpoint (then θ_0) and replay the recorded
//!   verdicts. Every re-sync is logged and reported. Checkpoints are written only of confirmed θ;
//! - **join**: a peer that holds less than the network's newest checkpoint (an empty disk, a
//!   long absence) loads it from a validator's store, checks its hash against the chain, and
//!   replays the verdicts since (`resync.rs`);
//! - **publish** (validators): θ after every checkpoint window is handed to the validator's
//!   driver ([`Follower::take_published`]), which uploads it and records it on chain.

mod resync;
pub mod writer;

use crate::replica::{Replica, ReplicaError};
use crate::report::{Record, Report};
use crate::round::{self, Exclusion, Revealed, Screened, Watch, WindowRecord, screen::Previous};
use std::{collections::BTreeMap, path::PathBuf, time::Duration};
use tessera_chain::{self as chain, ChainError, Client, network::Timing};
use tessera_codec::{OuterStep, Payload, Rules};
use tessera_data::TokenShard;
use tessera_model::checkpoint::{self, CheckpointError};
use tessera_protocol::{self as protocol, FollowerAction};
use tessera_store::Resolver;
use tracing::Instrument;

/// Errors that stop following the network.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
	/// The chain could not be read.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The replica failed.
	#[error(transparent)]
	Replica(#[from] ReplicaError),
	/// A checkpoint could not be written or read.
	#[error(transparent)]
	Checkpoint(#[from] CheckpointError),
	/// The held-out rows could not be read.
	#[error(transparent)]
	Data(#[from] tessera_data::DataError),
}

/// How a follower works.
#[derive(Clone, Debug)]
pub struct FollowOptions {
	/// How on-chain locations map to stores.
	pub resolver: Resolver,
	/// The outer step (its learning rate is the run's, from the chain).
	pub outer: OuterStep,
	/// The run's codec rules: every payload is held to them, and sized by them.
	pub rules: Rules,
	/// Fewest included updates that make a step; fewer is a null round (θ unchanged).
	pub min_updates: usize,
	/// Fetch and decode only the aggregation set's payloads (miners: nothing else can enter
	/// θ); a validator reads every commitment, to score it.
	pub members_only: bool,
	/// Local checkpoint directory.
	pub checkpoint_dir: PathBuf,
	/// Checkpoint every this many confirmed windows (0: never).
	pub checkpoint_every: u64,
	/// Checkpoints kept.
	pub checkpoint_keep: usize,
	/// Deadline of one payload fetch or probe.
	pub fetch_timeout: Duration,
	/// Held-out rows evaluated after each outer step.
	pub eval_rows: usize,
	/// The run's history and checkpoint schedule (from the chain).
	pub history: crate::run::History,
	/// Hand θ after every checkpoint window to the driver (validators publish it).
	pub publish_checkpoints: bool,
	/// Leave the held-out evaluation of a stepped θ for [`Follower::evaluate_pending`]
	/// (miners: training does not change θ_{w+1}, so it starts right after the outer step, and
	/// the driver has θ_{w+1} evaluated once window w+1's commitment is finalized or the window
	/// is sat out, before the reveal period's upload); otherwise it runs with the step.
	pub evaluate_later: bool,
}

impl FollowOptions {
	/// The watcher that feeds a follower with these options on a model of `shapes`, on the
	/// nodes at `endpoints` (left after `stall` of silence): the same stores, payload cap, fetch deadline and scope (members only or everyone).
	pub fn watch_config(
		&self,
		endpoints: &tessera_chain::Endpoints,
		stall: std::time::Duration,
		shapes: &[Vec<usize>],
	) -> round::WatchConfig {
		round::WatchConfig {
			endpoints: endpoints.clone(),
			stall,
			resolver: self.resolver.clone(),
			max_bytes: self.rules.max_payload_len(shapes),
			fetch_timeout: self.fetch_timeout,
			members_only: self.members_only,
		}
	}
}

/// A window applied from the peer's own screening, awaiting its verdict.
struct Provisional {
	window: u64,
	record: WindowRecord,
	inclusion: Vec<[u8; 32]>,
	theta_hash: [u8; 32],
	theta_before: Vec<Vec<f32>>,
	payloads: BTreeMap<[u8; 32], Payload>,
}

/// What one outer step did.
#[derive(Debug)]
pub struct Stepped {
	/// The window.
	pub window: u64,
	/// The chain's record of it.
	pub record: WindowRecord,
	/// Its seed (`None` once pruned).
	pub seed: Option<[u8; 32]>,
	/// The next window's seed, which draws the Gauntlet's random rows (`None` once pruned).
	pub eval_seed: Option<[u8; 32]>,
	/// The screened updates (empty when a binding verdict was replayed).
	pub screened: Vec<Screened>,
	/// The updates applied, in set order.
	pub inclusion: Vec<[u8; 32]>,
	/// θ hash before the step (θ_w).
	pub theta_before_hash: [u8; 32],
	/// θ hash after it.
	pub theta_hash: [u8; 32],
	/// Applied from the peer's own screening (a verdict is still to come).
	pub provisional: bool,
}

/// A stepped θ whose held-out loss is still to be measured ([`FollowOptions::evaluate_later`]).
#[derive(Clone, Debug)]
struct PendingEvaluation {
	window: u64,
	theta_hash: [u8; 32],
}

/// θ after a checkpoint window, encoded, for the validator to upload and record.
#[derive(Debug)]
pub struct Published {
	/// θ is the result of this window's outer step.
	pub window: u64,
	/// θ's hash.
	pub theta_hash: [u8; 32],
	/// The checkpoint file (θ only, safetensors).
	pub bytes: Vec<u8>,
}

/// A replica that follows the network's θ.
pub struct Follower {
	/// The replica.
	pub replica: Replica,
	options: FollowOptions,
	held_out: Vec<Vec<u16>>,
	report: Report,
	watch: Watch,
	previous: Option<Previous>,
	/// The data of the window applied provisionally (the machine says which window that is).
	provisional: Option<Provisional>,
	/// The window protocol's decisions (made at the first catch-up, when the timing is known).
	machine: Option<protocol::Follower>,
	/// Checkpoints for the validator's driver to publish.
	published: Vec<Published>,
	/// Writes the own checkpoints in the background.
	writer: writer::CheckpointWriter,
	/// The θ stepped last, when its held-out evaluation was left for later.
	pending_evaluation: Option<PendingEvaluation>,
}

impl Follower {
	/// A follower on `replica`, resumed from the newest checkpoint when there is one; `watch`
	/// is the watcher's view of the stores ([`round::watch`]).
	pub fn new(
		mut replica: Replica,
		shard: &TokenShard,
		options: FollowOptions,
		report: Report,
		watch: Watch,
	) -> Result<Self, FollowError> {
		let held_out =
			shard.held_out_rows(replica.model().config().seq_len + 1, options.eval_rows.max(1))?;
		let leftovers = checkpoint::remove_leftovers(&options.checkpoint_dir);
		if leftovers > 0 {
			tracing::info!(
				dir = %options.checkpoint_dir.display(),
				files = leftovers,
				"removed what an interrupted checkpoint write left"
			);
		}
		if let Some(ck) =
			checkpoint::load_latest(&options.checkpoint_dir, replica.checkpoint_layout())?
		{
			let window = ck.window;
			replica.restore(ck)?;
			let theta_hash = hex::encode(replica.theta_hash());
			tracing::info!(
				window,
				phase = "resume",
				%theta_hash,
				"resumed from checkpoint; replaying later aggregates"
			);
			report.write(&Record::Restored {
				window,
				theta_hash,
				source: "local".into(),
				cause: "start".into(),
			});
		}
		let writer = writer::CheckpointWriter::new(
			options.checkpoint_dir.clone(),
			options.checkpoint_keep,
			writer::OwnedLayout::of(replica.checkpoint_layout()),
		);
		Ok(Self {
			writer,
			replica,
			options,
			held_out,
			report,
			watch,
			previous: None,
			provisional: None,
			machine: None,
			published: Vec::new(),
			pending_evaluation: None,
		})
	}

	/// Waits for the checkpoint being written in the background, if one is.
	pub fn finish_checkpoint_writes(&mut self) {
		self.writer.finish();
	}

	/// Checkpoints of θ due for publishing since the last call (validators).
	pub fn take_published(&mut self) -> Vec<Published> {
		std::mem::take(&mut self.published)
	}

	/// Checks that θ still hashes to what was applied; when not (memory or disk corruption),
	/// says so and has the next catch-up reload it from a checkpoint. Call it before training
	/// or scoring on θ.
	pub fn check_theta(&mut self, window: u64) -> bool {
		if self.replica.is_intact() {
			return true;
		}
		tracing::error!(
			window,
			phase = "check",
			applied = ?self.replica.applied(),
			"θ no longer hashes to what was applied (corrupted): reloading it from a checkpoint"
		);
		self.report
			.write(&Record::SatOut { window, reason: protocol::LoadCause::Corrupt.to_string() });
		self.provisional = None;
		if let Some(m) = self.machine.as_mut() {
			m.on_theta_corrupt();
		}
		false
	}

	/// The report records are written to.
	pub fn report(&self) -> &Report {
		&self.report
	}

	/// θ_w of the window applied provisionally, while its verdict is awaited.
	pub fn theta_before(&self, window: u64) -> Option<&[Vec<f32>]> {
		self.provisional.as_ref().filter(|p| p.window == window).map(|p| p.theta_before.as_slice())
	}

	/// Whether `window` has been applied and confirmed by its verdict (or needs none).
	pub fn is_confirmed(&self, window: u64) -> bool {
		self.machine.as_ref().is_some_and(|m| m.is_confirmed(window))
	}

	/// Whether θ is believed to be the network's: false once re-syncs kept failing to
	/// reproduce a verdict (the follower goes on with its own θ until a verdict agrees again).
	pub fn in_sync(&self) -> bool {
		self.machine.as_ref().is_none_or(protocol::Follower::in_sync)
	}

	/// A new connection: whatever was in flight on the old one is over.
	pub fn resume(&mut self) {
		let applied = self.replica.applied();
		let provisional = self.provisional.as_ref().map(|p| p.window);
		if let Some(m) = self.machine.as_mut() {
			m.on_restart(applied, provisional);
			if m.provisional().is_none() {
				self.provisional = None;
			}
		}
	}

	/// The watcher's observations.
	pub fn watch(&self) -> &Watch {
		&self.watch
	}

	/// Does everything the window protocol asks for by block `n`: settles the provisional
	/// window against its verdict once its scoring period is over, and applies the outer step
	/// of every window whose reveal period has ended, in order. Returns what each step did.
	pub async fn catch_up(
		&mut self,
		client: &Client,
		n: u64,
		timing: &Timing,
	) -> Result<Vec<Stepped>, FollowError> {
		let applied = self.replica.applied();
		let mut machine =
			self.machine.take().unwrap_or_else(|| protocol::Follower::new(*timing, applied));
		machine.set_timing(*timing);
		match chain::network::newest_checkpoint(client, n).await {
			Ok(newest) => machine.on_network_checkpoint(newest),
			Err(e) => {
				self.machine = Some(machine);
				return Err(e.into());
			},
		}
		// The next window's payloads all read in its reveal period: its step need not wait
		// for the period's end.
		let next = self.replica.applied().map_or(0, |a| a + 1);
		if self.watch.is_all_read(next) {
			machine.on_reveal_complete(next);
		}
		let result = self.drive(&mut machine, client, n).await;
		self.machine = Some(machine);
		result
	}

	async fn drive(
		&mut self,
		machine: &mut protocol::Follower,
		client: &Client,
		n: u64,
	) -> Result<Vec<Stepped>, FollowError> {
		let mut done = Vec::new();
		while let Some(action) = machine.next(n) {
			// Every log line of the action and of what it leads to carries its window and
			// phase (the peer comes from the miner's or validator's span).
			let span =
				tracing::error_span!("window", window = action.window(), phase = action.phase());
			let follow_up = async {
				Ok::<_, FollowError>(match action {
					FollowerAction::Step { window } => {
						let stepped = self.step(client, n, window).await?;
						machine.on_stepped(window);
						done.push(stepped);
						Vec::new()
					},
					FollowerAction::Replay { window } => {
						let (outcome, stepped) = self.replay(client, n, window).await?;
						done.extend(stepped);
						machine.on_replayed(window, outcome)
					},
					FollowerAction::Settle { window } => {
						let check = self.settle(client, n, window).await?;
						machine.on_verdict(window, check)
					},
					other => vec![other],
				})
			}
			.instrument(span.clone())
			.await?;
			self.execute(machine, client, n, follow_up).instrument(span).await?;
		}
		Ok(done)
	}

	/// Executes what settling or replaying led to.
	async fn execute(
		&mut self,
		machine: &mut protocol::Follower,
		client: &Client,
		n: u64,
		mut actions: Vec<FollowerAction>,
	) -> Result<(), FollowError> {
		while let Some(action) = actions.pop() {
			// What a step, replay or settle led to runs in its own phase, nested in that
			// action's span.
			let span = tracing::error_span!("then", phase = action.phase());
			async {
				match action {
					FollowerAction::Confirmed { window } => {
						if machine.provisional().is_none() {
							self.provisional = None;
						}
						if machine.in_sync() {
							crate::metrics::get().theta_diverged.set(0);
						}
						self.checkpoint_if_due(window)?;
					},
					FollowerAction::Recompute { window } => {
						let reproduced = self.recompute(client, n, window).await?;
						actions.extend(machine.on_recomputed(window, reproduced));
					},
					FollowerAction::Resync { window, below, at_least, network_only, cause } => {
						self.provisional = None;
						self.previous = None;
						let wanted = resync::Wanted { below, at_least, network_only, cause };
						if self.load(client, n, window, wanted).await? {
							machine.on_restored(window, self.replica.applied());
						} else {
							machine.on_nothing_loaded(window);
						}
					},
					FollowerAction::Diverged { window } => {
						self.provisional = None;
						self.previous = None;
						let theta_hash = hex::encode(self.replica.theta_hash());
						tracing::error!(
							window,
							theta = %theta_hash,
							"cannot reproduce the network's θ; following on our own θ (no training \
							 on it; a later verdict that agrees brings it back)"
						);
						crate::metrics::get().theta_diverged.set(1);
						self.report.write(&Record::Diverged { window, theta_hash });
					},
					FollowerAction::Step { window }
					| FollowerAction::Replay { window }
					| FollowerAction::Settle { window } => {
						tracing::warn!(window, ?action, "unexpected follow-up action ignored");
					},
				}
				Ok::<_, FollowError>(())
			}
			.instrument(span)
			.await?;
		}
		Ok(())
	}

	/// Applies window `window`'s outer step at block `n` from the own screening of the
	/// payloads revealed (provisional until its verdict).
	async fn step(&mut self, client: &Client, n: u64, window: u64) -> Result<Stepped, FollowError> {
		let record = chain::network::window_record(client, n, window).await?;
		let theta_before_hash = self.replica.theta_hash();

		// The chain's θ_w: the previous window's binding verdict, else our own.
		let chain_theta = match window.checked_sub(1) {
			Some(prev) if prev >= 1 => chain::network::verdict(client, n, prev)
				.await?
				.filter(|v| v.is_binding())
				.map(|v| v.theta_hash),
			_ => None,
		};
		let theta_hash_w = chain_theta.unwrap_or(theta_before_hash);
		if self.previous.as_ref().is_none_or(|p| p.window + 1 != window) && window >= 2 {
			// After a restart: hashes of the previous window's commitments (positions unknown).
			let prev = chain::network::commitments(client, n, window - 1).await?;
			self.previous = Some(Previous {
				window: window - 1,
				hashes: prev.iter().map(|c| (c.account, c.payload_hash)).collect(),
				indices: BTreeMap::new(),
				set: Default::default(),
			});
		}
		let shapes = self.replica.shapes().to_vec();
		let rules = self.options.rules;
		// Only looks recording a finished fetch are waited for: one chain query each.
		let settle = std::time::Duration::from_secs(5);
		let fetched = match self.watch.revealed_settled(window, settle).await {
			// What the watcher read during the reveal period, and nothing else.
			Some(revealed) => record
				.commitments
				.iter()
				.map(|c| {
					let outcome = match revealed.get(&c.account) {
						Some(Revealed::Bytes(b)) => {
							round::fetch::decode_payload(window, c, b, &shapes, rules)
						},
						Some(Revealed::Unusable(why)) => Err(Exclusion::Unusable(why.clone())),
						None => Err(Exclusion::NotRevealed),
					};
					(c.account, outcome)
				})
				.collect(),
			// The reveal period was not watched in time (a restart, a lagging watcher): what is
			// there now.
			None => {
				tracing::warn!(
					window,
					"the reveal period was not watched in time: fetching every payload now"
				);
				let wanted: Vec<_> = record
					.commitments
					.iter()
					.filter(|c| !self.options.members_only || record.set.contains(&c.account))
					.cloned()
					.collect();
				round::fetch_all(
					&self.options.resolver,
					window,
					&wanted,
					&shapes,
					rules,
					self.options.fetch_timeout,
				)
				.await
			},
		};
		let early = self.watch.early(window);
		// The next window's seed: unknown to every committer of this one.
		let eval_seed = chain::network::window_seed(client, n, window + 1).await?;
		let key = eval_seed.unwrap_or(theta_hash_w);
		let screened =
			round::screen(&record, fetched, &early, &theta_hash_w, self.previous.as_ref(), &key);
		for s in screened.iter().filter(|s| s.flags != 0) {
			tracing::info!(
				window,
				miner = %chain::address::ss58(&s.account),
				flags = ?round::flags::names(s.flags),
				reasons = ?s.reasons,
				"update set aside"
			);
		}
		let inclusion = round::inclusion(&record, &screened);
		let payloads: BTreeMap<[u8; 32], Payload> = screened
			.iter()
			.filter(|s| inclusion.contains(&s.account))
			.filter_map(|s| s.payload.clone().map(|p| (s.account, p)))
			.collect();
		// Everything read from the chain is read before θ changes: a failing query leaves the
		// window unapplied, to be stepped again on the next connection.
		let seed = chain::network::window_seed(client, n, window).await?;
		let theta_before = self.replica.theta().to_vec();
		self.apply(window, &inclusion, &payloads, false)?;
		let theta_hash = self.replica.theta_hash();
		self.previous = Some(round::screen::previous_of(&record, &screened));
		self.provisional = Some(Provisional {
			window,
			record: record.clone(),
			inclusion: inclusion.clone(),
			theta_hash,
			theta_before,
			payloads,
		});
		Ok(Stepped {
			window,
			record,
			seed,
			eval_seed,
			screened,
			inclusion,
			theta_before_hash,
			theta_hash,
			provisional: true,
		})
	}

	/// Applies `inclusion` (in order) from `payloads` to θ and reports it.
	fn apply(
		&mut self,
		window: u64,
		inclusion: &[[u8; 32]],
		payloads: &BTreeMap<[u8; 32], Payload>,
		resynced: bool,
	) -> Result<(), FollowError> {
		let list = step_list(inclusion, payloads, self.options.min_updates);
		if list.is_empty() && !inclusion.is_empty() {
			tracing::info!(
				window,
				updates = inclusion.len(),
				min_updates = self.options.min_updates,
				"null round: too few included updates, θ unchanged"
			);
		}
		// Several steps in one catch-up (a replay): only the last θ is measured, once the
		// miner is idle.
		if let Some(p) = self.pending_evaluation.take() {
			tracing::debug!(superseded = p.window, "θ replaced before its held-out evaluation");
		}
		self.replica.apply_outer_step(window, &list, &self.options.outer)?;
		let hash = self.replica.held_hash();
		let held_out_loss = if self.options.evaluate_later {
			self.pending_evaluation = Some(PendingEvaluation { window, theta_hash: hash });
			None
		} else {
			Some(self.evaluate_held_out()?)
		};
		crate::metrics::get().window.set(i64::try_from(window).unwrap_or(i64::MAX));
		let theta_hash = hex::encode(hash);
		let included: Vec<String> = inclusion.iter().map(chain::address::ss58).collect();
		if resynced {
			tracing::warn!(window, %theta_hash, included = included.len(), held_out_loss, "θ re-synced to the verdict");
			self.report.write(&Record::Resynced { window, theta_hash, included, held_out_loss });
		} else {
			tracing::info!(window, included = included.len(), %theta_hash, held_out_loss, "outer step applied");
			self.report.write(&Record::Applied { window, theta_hash, included, held_out_loss });
		}
		Ok(())
	}

	/// Loss of the model's parameters (θ) on the held-out rows; the gauge follows it.
	fn evaluate_held_out(&self) -> Result<f32, FollowError> {
		let loss = self.replica.evaluate(&self.held_out, 8)?;
		crate::metrics::get().held_out_loss.set(f64::from(loss));
		Ok(loss)
	}

	/// Measures the held-out loss of the θ stepped last, when that was left for later
	/// ([`FollowOptions::evaluate_later`]), and reports it (`Evaluated`). Nothing when none is
	/// pending, or when θ is no longer the one stepped (a re-sync replaced it: the loss of a θ
	/// the peer does not hold is not measured).
	pub fn evaluate_pending(&mut self) -> Result<(), FollowError> {
		let Some(pending) = self.pending_evaluation.take() else { return Ok(()) };
		if self.replica.applied() != Some(pending.window)
			|| self.replica.held_hash() != pending.theta_hash
		{
			return Ok(());
		}
		let _span =
			tracing::error_span!("window", window = pending.window, phase = "evaluate").entered();
		// Training puts θ back into the model when it ends; a training that failed half way
		// may not have.
		self.replica.sync_model()?;
		let held_out_loss = self.evaluate_held_out()?;
		let theta_hash = hex::encode(pending.theta_hash);
		tracing::info!(%theta_hash, held_out_loss, "θ evaluated");
		self.report.write(&Record::Evaluated { window: pending.window, theta_hash, held_out_loss });
		Ok(())
	}

	/// Writes a checkpoint of the confirmed θ after `window`, when one is due; hands it to the
	/// validator's driver when `window` is one of the network's checkpoint windows.
	fn checkpoint_if_due(&mut self, window: u64) -> Result<(), FollowError> {
		if self.options.publish_checkpoints
			&& self.options.history.is_checkpoint_window(window)
			&& self.replica.applied() == Some(window)
			&& self.replica.is_intact()
		{
			let ck = checkpoint::CheckpointRef {
				window,
				theta: self.replica.theta(),
				optimizer: None,
				error_feedback: None,
			};
			let bytes = checkpoint::encode(ck, self.replica.checkpoint_layout())?;
			self.published.push(Published { window, theta_hash: self.replica.theta_hash(), bytes });
		}
		let every = self.options.checkpoint_every;
		if every == 0 || !window.is_multiple_of(every) || self.replica.applied() != Some(window) {
			return Ok(());
		}
		if !self.replica.is_intact() {
			tracing::error!(window, "θ no longer hashes to what was applied: no checkpoint of it");
			return Ok(());
		}
		// A snapshot, written in the background: the outer step and the next window's training
		// do not wait for the disk. The write before it (a window ago) has finished first, so
		// one snapshot at most is held.
		self.writer.finish();
		match self.replica.checkpoint() {
			Ok(Some(ck)) => self.writer.write(ck),
			Ok(None) => {},
			Err(e) => tracing::error!(
				window,
				error = %e,
				"checkpoint not written; the previous one stays the newest"
			),
		}
		Ok(())
	}
}

/// The updates a window's outer step applies: `inclusion`'s payloads in order, or none at all
/// when the list is shorter than `min_updates` (a null round, DESIGN.md §2: θ stays θ_w).
fn step_list<'a>(
	inclusion: &[[u8; 32]],
	payloads: &'a BTreeMap<[u8; 32], Payload>,
	min_updates: usize,
) -> Vec<&'a Payload> {
	if inclusion.len() < min_updates {
		return Vec::new();
	}
	inclusion.iter().filter_map(|a| payloads.get(a)).collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_codec::Header;

	fn payload(miner: u8) -> Payload {
		Payload {
			header: Header {
				window: 1,
				miner: [miner; 32],
				theta_hash: [0; 32],
				data_digest: [0; 32],
			},
			tensors: Vec::new(),
		}
	}

	/// Issue 17 item 4: a list shorter than the run's `min_updates` steps on nothing; a long
	/// enough one steps on its payloads in list order.
	#[test]
	fn a_short_inclusion_list_is_a_null_round() {
		let payloads: BTreeMap<[u8; 32], Payload> =
			[1u8, 2, 3].into_iter().map(|m| ([m; 32], payload(m))).collect();
		let two = [[2u8; 32], [1; 32]];
		assert!(step_list(&two, &payloads, 3).is_empty());
		let list = step_list(&two, &payloads, 2);
		assert_eq!(list.iter().map(|p| p.header.miner[0]).collect::<Vec<_>>(), vec![2, 1]);
		assert!(step_list(&[], &payloads, 1).is_empty());
	}
}
