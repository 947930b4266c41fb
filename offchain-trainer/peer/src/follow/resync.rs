//! Settling a follower's θ against the chain's verdicts, as its machine
//! ([`tessera_protocol::follower`]) asks: comparing a provisional step with its verdict,
//! recomputing it with the verdict's inclusion list, replaying a published verdict (all of its
//! payloads or nothing), and loading a checkpoint — the peer's own, or the network's from a
//! validator's store with its hash checked against the chain — to join or when none of that
//! reproduces the verdict's θ. The machine decides which; this file only does it and reports
//! what it found.

use super::{FollowError, Follower, Stepped};
use crate::report::Record;
use crate::round::{self, Committed, Verdict};
use std::collections::BTreeMap;
use tessera_chain::{self as chain, Client};
use tessera_codec::Payload;
use tessera_model::checkpoint;
use tessera_protocol::LoadCause;
use tessera_protocol::follower::{Replayed, VerdictCheck};

impl Follower {
	/// The binding verdict of `window` at block `n`, if one was published.
	async fn binding_verdict(
		&self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<Option<Verdict>, FollowError> {
		Ok(chain::network::verdict(client, n, window).await?.filter(Verdict::is_binding))
	}

	/// Compares the provisional step of `window` with its verdict.
	pub(super) async fn settle(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<VerdictCheck, FollowError> {
		let verdict = self.binding_verdict(client, n, window).await?;
		let Some(p) = self.provisional.as_ref().filter(|p| p.window == window) else {
			return Ok(VerdictCheck::NoVerdict);
		};
		let Some(verdict) = verdict else {
			tracing::debug!(window, "no validator scored the window: own outer step stands");
			return Ok(VerdictCheck::NoVerdict);
		};
		let m = crate::metrics::get();
		if verdict.inclusion == p.inclusion && verdict.theta_hash == p.theta_hash {
			tracing::debug!(window, "outer step confirmed by the verdict");
			m.theta_agreed.set(1);
			return Ok(VerdictCheck::Agrees);
		}
		m.theta_agreed.set(0);
		m.resyncs.inc();
		tracing::warn!(
			window,
			ours = %hex::encode(p.theta_hash),
			chain = %hex::encode(verdict.theta_hash),
			our_list = p.inclusion.len(),
			chain_list = verdict.inclusion.len(),
			"our outer step differs from the verdict: recomputing with the verdict's inclusion list"
		);
		Ok(VerdictCheck::Differs)
	}

	/// Restores θ_w and applies `window`'s step with the verdict's inclusion list (fetching the
	/// payloads it had left out); whether that reproduced the verdict's θ.
	pub(super) async fn recompute(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<bool, FollowError> {
		let verdict = self.binding_verdict(client, n, window).await?;
		let (Some(verdict), Some(p)) = (verdict, self.provisional.take_if(|p| p.window == window))
		else {
			return Ok(false);
		};
		let mut payloads = p.payloads;
		let missing: Vec<Committed> = verdict
			.inclusion
			.iter()
			.filter(|a| !payloads.contains_key(*a))
			.filter_map(|a| p.record.commitment(a).cloned())
			.collect();
		payloads.extend(self.fetch_listed(window, &missing).await);
		self.replica.set_theta(window.checked_sub(1), p.theta_before)?;
		if !verdict.inclusion.iter().all(|a| payloads.contains_key(a)) {
			return Ok(false);
		}
		self.apply(window, &verdict.inclusion, &payloads, true)?;
		// The next window's copy check compares with the verdict's aggregate, as everyone's.
		if let Some(prev) = self.previous.as_mut().filter(|prev| prev.window == window) {
			prev.set = verdict.inclusion.iter().copied().collect();
			for (a, p) in &payloads {
				prev.indices
					.entry(*a)
					.or_insert_with(|| crate::gauntlet::copy::IndexSet::of(&p.tensors));
			}
		}
		Ok(self.replica.theta_hash() == verdict.theta_hash)
	}

	/// Applies window `window` with its published verdict (its scoring period is over): the
	/// verdict's list when it is binding, else — no validator scored it — the own screening.
	pub(super) async fn replay(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
	) -> Result<(Replayed, Option<Stepped>), FollowError> {
		// Window 0 is θ_0's, never on chain.
		if window >= 1 && !chain::network::is_retained(client, n, window).await? {
			tracing::warn!(window, "the window to replay is no longer on chain");
			return Ok((Replayed::Pruned, None));
		}
		let Some(verdict) = self.binding_verdict(client, n, window).await? else {
			let mut stepped = self.step(client, n, window).await?;
			self.provisional = None;
			stepped.provisional = false;
			return Ok((Replayed::NoVerdict, Some(stepped)));
		};
		let record = chain::network::window_record(client, n, window).await?;
		let theta_before_hash = self.replica.theta_hash();
		let listed: Vec<Committed> =
			verdict.inclusion.iter().filter_map(|a| record.commitment(a).cloned()).collect();
		let payloads = self.fetch_listed(window, &listed).await;
		// All of the verdict's payloads or nothing: a partial step is never the network's θ.
		if let Some(missing) = verdict.inclusion.iter().find(|a| !payloads.contains_key(*a)) {
			tracing::warn!(
				window,
				miner = %chain::address::ss58(missing),
				"a payload the verdict lists cannot be fetched: nothing applied"
			);
			return Ok((Replayed::Unreadable, None));
		}
		self.apply(window, &verdict.inclusion, &payloads, false)?;
		let theta_hash = self.replica.theta_hash();
		if theta_hash != verdict.theta_hash {
			tracing::warn!(window, "replaying the verdict gave another θ");
			return Ok((Replayed::Mismatch, None));
		}
		self.previous = Some(round::screen::Previous {
			window,
			hashes: record.commitments.iter().map(|c| (c.account, c.payload_hash)).collect(),
			indices: payloads
				.iter()
				.map(|(a, p)| (*a, crate::gauntlet::copy::IndexSet::of(&p.tensors)))
				.collect(),
			set: verdict.inclusion.iter().copied().collect(),
		});
		let stepped = Stepped {
			window,
			record,
			seed: None,
			eval_seed: None,
			screened: Vec::new(),
			inclusion: verdict.inclusion,
			theta_before_hash,
			theta_hash,
			provisional: false,
		};
		Ok((Replayed::Reproduced, Some(stepped)))
	}

	/// Fetches the payloads of `listed` (decoded), leaving out what cannot be used.
	async fn fetch_listed(&self, window: u64, listed: &[Committed]) -> BTreeMap<[u8; 32], Payload> {
		let shapes = self.replica.shapes().to_vec();
		round::fetch_all(
			&self.options.resolver,
			window,
			listed,
			&shapes,
			self.options.rules,
			self.options.fetch_timeout,
		)
		.await
		.into_iter()
		.filter_map(|(a, f)| f.ok().map(|p| (a, p)))
		.collect()
	}

	/// Loads the newest checkpoint that verifies, of a window in `wanted.at_least..wanted.below`:
	/// the peer's own (unless `network_only`; checked against the chain's record of its window
	/// where one is left) or the network's (downloaded from a validator's store, its θ hash the
	/// chain's). A refused candidate is logged with why and the next one tried; nothing is
	/// applied from it. When none verifies, a mismatch or corruption starts over from θ_0 if
	/// window 1 is still on chain to replay; otherwise θ is kept. Whether θ was replaced.
	pub(super) async fn load(
		&mut self,
		client: &Client,
		n: u64,
		window: u64,
		wanted: Wanted,
	) -> Result<bool, FollowError> {
		let Wanted { below, at_least, network_only, cause } = wanted;
		tracing::warn!(window, ?below, ?at_least, network_only, %cause, "loading θ from a checkpoint");
		// The directory is read (and written) here: the background write finishes first.
		self.writer.finish();
		let fits = |w: u64| below.is_none_or(|b| w < b) && at_least.is_none_or(|a| w >= a);
		let network = chain::network::checkpoints(client, n).await?;
		let mut candidates: Vec<Candidate> = Vec::new();
		if !network_only {
			for (w, path) in checkpoint::list(&self.options.checkpoint_dir)? {
				if fits(w) {
					let recorded = network.iter().find(|c| c.window == w).map(|c| c.theta_hash);
					candidates.push(Candidate::Local { window: w, path, recorded });
				}
			}
		}
		candidates.extend(network.into_iter().filter(|c| fits(c.window)).map(Candidate::Network));
		// Newest first; at the same window the own copy (no download) before the network's.
		candidates.sort_by_key(|c| std::cmp::Reverse(c.window()));
		for candidate in candidates {
			let (source, loaded) = match &candidate {
				Candidate::Local { path, recorded, .. } => {
					("local", self.local_checkpoint(client, n, path, *recorded).await)
				},
				Candidate::Network(c) => ("network", self.network_checkpoint(c).await),
			};
			match loaded {
				Ok(ck) => {
					let from = ck.window;
					if source == "network" {
						self.keep_locally(&ck);
					}
					self.replica.restore(ck)?;
					let theta_hash = hex::encode(self.replica.theta_hash());
					crate::metrics::get().checkpoint_loads.inc();
					tracing::warn!(window, from, source, %cause, %theta_hash, "θ loaded from a checkpoint; replaying the verdicts since");
					self.report.write(&Record::Restored {
						window: from,
						theta_hash,
						source: source.into(),
						cause: cause.to_string(),
					});
					return Ok(true);
				},
				Err(why) => tracing::warn!(
					window,
					checkpoint = candidate.window(),
					source,
					%why,
					"checkpoint refused; trying the next"
				),
			}
		}
		let from_genesis = matches!(cause, LoadCause::Mismatch | LoadCause::Corrupt)
			&& at_least.is_none()
			&& chain::network::is_retained(client, n, 1).await?;
		if !from_genesis {
			tracing::warn!(window, applied = ?self.replica.applied(), %cause, "no usable checkpoint: θ stays as it is");
			return Ok(false);
		}
		let theta = self.replica.initial_theta()?;
		self.replica.set_theta(None, theta)?;
		tracing::warn!(window, %cause, "no usable checkpoint: starting over from θ_0, replaying every recorded verdict");
		Ok(true)
	}

	/// The peer's own checkpoint at `path`, if it verifies and holds the network's θ as far as
	/// the chain still says: the checkpoint recorded on chain for its window (`recorded`), else
	/// the window's binding verdict, when either is left.
	async fn local_checkpoint(
		&self,
		client: &Client,
		n: u64,
		path: &std::path::Path,
		recorded: Option<[u8; 32]>,
	) -> Result<checkpoint::Checkpoint, String> {
		let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
		let ck = checkpoint::decode(&bytes, self.replica.checkpoint_layout())
			.map_err(|e| e.to_string())?;
		let chain = match recorded {
			Some(hash) => Some(hash),
			None => self
				.binding_verdict(client, n, ck.window)
				.await
				.map_err(|e| e.to_string())?
				.map(|v| v.theta_hash),
		};
		let hash = tessera_codec::hash::theta_hash(&ck.theta);
		if let Some(chain) = chain.filter(|c| *c != hash) {
			return Err(format!(
				"θ hashes to {}, the chain records {} for window {}: not the network's",
				hex::encode(hash),
				hex::encode(chain),
				ck.window
			));
		}
		Ok(ck)
	}

	/// The network's checkpoint `c`, downloaded from the first copy that verifies: the bytes
	/// bounded by the model's size, a valid checkpoint of this model and window, θ hashing to
	/// the hash on chain. Only θ is taken (a validator's store never sets a miner's optimizer
	/// or error feedback).
	async fn network_checkpoint(
		&self,
		c: &chain::network::NetworkCheckpoint,
	) -> Result<checkpoint::Checkpoint, String> {
		use tessera_store::ObjectStore;
		let cap = checkpoint_cap(self.replica.shapes());
		let key = tessera_store::checkpoint_key(c.window);
		let mut why = Vec::new();
		for (validator, location) in &c.copies {
			let who = chain::address::ss58(validator);
			let Some(location) = location else {
				why.push(format!("{who}: no storage location"));
				continue;
			};
			let store = match self.options.resolver.open(location) {
				Ok(store) => store,
				Err(e) => {
					why.push(format!("{who}: {e}"));
					continue;
				},
			};
			let bar = download_bar(c.window);
			let shown = bar.clone();
			let progress = move |done: u64, total: Option<u64>| {
				if let Some(total) = total {
					shown.set_length(total);
				}
				shown.set_position(done);
			};
			let started = std::time::Instant::now();
			// A copy that trickles in is given up on: at least 1 MiB/s, plus a minute.
			let deadline = std::time::Duration::from_secs(60 + (cap >> 20) as u64);
			let bytes =
				tokio::time::timeout(deadline, store.get_with_progress(&key, cap, &progress)).await;
			bar.finish_and_clear();
			let bytes = match bytes {
				Ok(Ok(bytes)) => bytes,
				Ok(Err(e)) => {
					why.push(format!("{who}: {e}"));
					continue;
				},
				Err(_) => {
					why.push(format!("{who}: not downloaded within {deadline:?}"));
					continue;
				},
			};
			let m = crate::metrics::get();
			m.download_bytes.inc_by(bytes.len() as u64);
			m.download_seconds.inc_by(started.elapsed().as_secs_f64());
			let layout = self.replica.checkpoint_layout();
			match verify_network_checkpoint(&bytes, layout, c.window, &c.theta_hash) {
				Ok(ck) => {
					tracing::info!(
						checkpoint = c.window,
						validator = %who,
						bytes = bytes.len(),
						seconds = started.elapsed().as_secs_f64(),
						"network checkpoint downloaded and verified"
					);
					return Ok(ck);
				},
				Err(e) => why.push(format!("{who}: {e}")),
			}
		}
		if why.is_empty() {
			why.push("no copy recorded".into());
		}
		Err(why.join("; "))
	}

	/// Writes a downloaded checkpoint into the own directory (a restart then needs no download);
	/// a failure is logged, never fatal.
	fn keep_locally(&self, ck: &checkpoint::Checkpoint) {
		let saved = checkpoint::save(
			&self.options.checkpoint_dir,
			ck.borrowed(),
			self.replica.checkpoint_layout(),
			self.options.checkpoint_keep,
		);
		if let Err(e) = saved {
			tracing::warn!(
				checkpoint = ck.window,
				error = %e,
				"cannot keep the downloaded checkpoint locally"
			);
		}
	}
}

/// What a re-sync asks for (the machine's [`tessera_protocol::FollowerAction::Resync`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Wanted {
	/// Only checkpoints of windows strictly before this one.
	pub below: Option<u64>,
	/// Only checkpoints of this window or later.
	pub at_least: Option<u64>,
	/// Skip the own directory.
	pub network_only: bool,
	/// Why.
	pub cause: LoadCause,
}

/// A checkpoint a re-sync may load.
enum Candidate {
	/// In the peer's own directory.
	Local {
		/// Its window.
		window: u64,
		/// Its file.
		path: std::path::PathBuf,
		/// The θ hash the chain records for a checkpoint of this window, if any.
		recorded: Option<[u8; 32]>,
	},
	/// Recorded on chain, in validators' stores.
	Network(chain::network::NetworkCheckpoint),
}

impl Candidate {
	fn window(&self) -> u64 {
		match self {
			Candidate::Local { window, .. } => *window,
			Candidate::Network(c) => c.window,
		}
	}
}

/// A network checkpoint's bytes as a checkpoint this peer may load: one of this model (every
/// tensor's name and shape, θ hashing to its own metadata — `checkpoint::decode`), of the
/// window the chain records, θ hashing to the chain's hash. Only θ is kept: a validator's file
/// never sets a miner's optimizer state or error feedback.
pub(crate) fn verify_network_checkpoint(
	bytes: &[u8],
	layout: checkpoint::ModelLayout<'_>,
	window: u64,
	theta_hash: &[u8; 32],
) -> Result<checkpoint::Checkpoint, String> {
	let ck = checkpoint::decode(bytes, layout).map_err(|e| e.to_string())?;
	let hash = tessera_codec::hash::theta_hash(&ck.theta);
	if ck.window != window || hash != *theta_hash {
		return Err(format!(
			"window {} θ {}, the chain records window {window} θ {}",
			ck.window,
			hex::encode(hash),
			hex::encode(theta_hash)
		));
	}
	Ok(checkpoint::Checkpoint { optimizer: None, error_feedback: None, ..ck })
}

/// Largest network checkpoint of a model of `shapes`: θ as f32 plus the safetensors header
/// (names, shapes, offsets, metadata).
pub(crate) fn checkpoint_cap(shapes: &[Vec<usize>]) -> usize {
	let values: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
	values.saturating_mul(4).saturating_add(65_536).saturating_add(shapes.len().saturating_mul(512))
}

/// A byte progress bar for a checkpoint download (drawn only on a terminal).
fn download_bar(window: u64) -> indicatif::ProgressBar {
	let bar = crate::progress::add(indicatif::ProgressBar::new(0));
	if let Ok(style) = indicatif::ProgressStyle::with_template(
		"{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
	) {
		bar.set_style(style);
	}
	bar.set_message(format!("checkpoint {window}"));
	bar
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_model::checkpoint::{Checkpoint, ModelLayout, OptimizerState};

	fn parts() -> (Vec<String>, Vec<Vec<usize>>) {
		(vec!["embed".into(), "norm".into()], vec![vec![4, 3], vec![3]])
	}

	fn theta(bump: f32) -> Vec<Vec<f32>> {
		vec![(0..12).map(|i| i as f32 * 0.25 + bump).collect(), vec![1.0, 1.0, bump]]
	}

	/// Issue 19, bad input: a checkpoint from the network is refused — with why — when it is
	/// truncated, of another model, of another window or θ than the chain records; a good one
	/// loads θ only, whatever optimizer state it carries.
	#[test]
	fn network_checkpoints_are_verified_against_the_chain() {
		let (names, shapes) = parts();
		let layout = ModelLayout { model: "tiny", names: &names, shapes: &shapes };
		let good = Checkpoint {
			window: 6,
			theta: theta(0.5),
			optimizer: Some(OptimizerState { steps: 9, m: theta(0.1), v: theta(0.2) }),
			error_feedback: Some(theta(0.3)),
		};
		let bytes = checkpoint::encode(good.borrowed(), layout).unwrap();
		let hash = tessera_codec::hash::theta_hash(&good.theta);

		let ck = verify_network_checkpoint(&bytes, layout, 6, &hash).unwrap();
		assert_eq!((ck.window, &ck.theta), (6, &good.theta));
		assert!(ck.optimizer.is_none() && ck.error_feedback.is_none());

		assert!(verify_network_checkpoint(&bytes[..bytes.len() / 2], layout, 6, &hash).is_err());
		assert!(verify_network_checkpoint(&[], layout, 6, &hash).is_err());
		let other_model = ModelLayout { model: "small", ..layout };
		let err = verify_network_checkpoint(&bytes, other_model, 6, &hash).unwrap_err();
		assert!(err.contains("small"), "{err}");
		let err = verify_network_checkpoint(&bytes, layout, 8, &hash).unwrap_err();
		assert!(err.contains("window 6") && err.contains("window 8"), "{err}");
		let err = verify_network_checkpoint(&bytes, layout, 6, &[7; 32]).unwrap_err();
		assert!(err.contains(&hex::encode([7u8; 32])), "{err}");
		// A checkpoint whose θ was changed after its metadata was written is corrupt.
		let mut flipped = bytes.clone();
		let last = flipped.len() - 1;
		flipped[last] ^= 0x40;
		assert!(verify_network_checkpoint(&flipped, layout, 6, &hash).is_err());
	}

	/// The download cap holds θ and its header, for any model size.
	#[test]
	fn the_download_cap_holds_a_checkpoint_of_the_model() {
		let (names, shapes) = parts();
		let layout = ModelLayout { model: "tiny", names: &names, shapes: &shapes };
		let ck = Checkpoint { window: 1, theta: theta(0.0), optimizer: None, error_feedback: None };
		let bytes = checkpoint::encode(ck.borrowed(), layout).unwrap();
		assert!(bytes.len() <= checkpoint_cap(&shapes));
		assert!(checkpoint_cap(&shapes) < bytes.len() + 70_000);
	}
}
