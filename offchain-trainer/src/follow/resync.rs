//! Settling a follower's θ against the chain's verdicts: confirming a provisional step,
//! recomputing it with the verdict's inclusion list, replaying a published verdict, and — when
//! none of that reproduces the verdict's θ — reloading the newest checkpoint (then θ_0) and
//! replaying from there. Never keeps training on a θ the chain disagrees with without saying so.

use super::{FollowError, Follower, Stepped, max_payload_bytes};
use crate::{
	chain::{self, Client, network::Timing},
	checkpoint,
	miner::Record,
	round::{self, Committed, Verdict, WindowRecord},
};
use std::collections::BTreeMap;
use tessera_codec::Payload;

/// Re-syncs in a row after which the follower stops trying and keeps its own θ.
const MAX_FAILED_RESYNCS: u32 = 2;

impl Follower {
	/// Settles the provisional window once its verdict is published (block `n` at or after its
	/// scoring deadline).
	pub async fn confirm(
		&mut self,
		client: &Client,
		n: u64,
		timing: &Timing,
	) -> Result<(), FollowError> {
		let Some(window) = self.provisional.as_ref().map(|p| p.window) else { return Ok(()) };
		if n < timing.score_deadline(window) {
			return Ok(());
		}
		let verdict = chain::network::verdict(client, n, window).await?;
		let Some(p) = self.provisional.take() else { return Ok(()) };
		let verdict = match verdict {
			Some(v) if v.is_binding() => v,
			_ => {
				tracing::debug!(window, "no validator scored the window: own outer step stands");
				self.checkpoint_if_due(window)?;
				return Ok(());
			},
		};
		if verdict.inclusion == p.inclusion && verdict.theta_hash == p.theta_hash {
			tracing::debug!(window, "outer step confirmed by the verdict");
			crate::metrics::get().theta_agreed.set(1);
			self.failed_resyncs = 0;
			self.checkpoint_if_due(window)?;
			return Ok(());
		}
		crate::metrics::get().theta_agreed.set(0);
		crate::metrics::get().resyncs.inc();
		tracing::warn!(
			window,
			ours = %hex::encode(p.theta_hash),
			chain = %hex::encode(verdict.theta_hash),
			our_list = p.inclusion.len(),
			chain_list = verdict.inclusion.len(),
			"our outer step differs from the verdict: recomputing with the verdict's inclusion list"
		);
		let mut payloads = p.payloads;
		let missing: Vec<Committed> = verdict
			.inclusion
			.iter()
			.filter(|a| !payloads.contains_key(*a))
			.filter_map(|a| p.record.commitment(a).cloned())
			.collect();
		payloads.extend(self.fetch_listed(window, &missing).await);
		let restore_to = window.checked_sub(1);
		self.replica.set_theta(restore_to, p.theta_before)?;
		if verdict.inclusion.iter().all(|a| payloads.contains_key(a)) {
			self.apply(window, &verdict.inclusion, &payloads, true)?;
			if self.replica.theta_hash() == verdict.theta_hash {
				self.failed_resyncs = 0;
				self.checkpoint_if_due(window)?;
				return Ok(());
			}
		}
		self.resync_from_checkpoint(window, "the verdict's list did not reproduce its θ")
	}

	/// Replays window `record.window` with its binding `verdict`.
	pub(super) async fn replay(
		&mut self,
		record: WindowRecord,
		verdict: Verdict,
		theta_before_hash: [u8; 32],
	) -> Result<Option<Stepped>, FollowError> {
		let window = record.window;
		let listed: Vec<Committed> =
			verdict.inclusion.iter().filter_map(|a| record.commitment(a).cloned()).collect();
		let payloads = self.fetch_listed(window, &listed).await;
		if verdict.inclusion.iter().any(|a| !payloads.contains_key(a)) {
			if self.failed_resyncs < MAX_FAILED_RESYNCS {
				self.resync_from_checkpoint(window, "a payload in the verdict cannot be fetched")?;
				return Ok(None);
			}
			tracing::error!(window, "payloads in the verdict cannot be fetched: applying the rest");
		}
		self.apply(window, &verdict.inclusion, &payloads, false)?;
		let theta_hash = self.replica.theta_hash();
		if theta_hash != verdict.theta_hash {
			self.resync_from_checkpoint(window, "replaying the verdict gave another θ")?;
			return Ok(None);
		}
		self.failed_resyncs = 0;
		self.checkpoint_if_due(window)?;
		self.previous = Some(round::screen::Previous {
			window,
			hashes: record.commitments.iter().map(|c| (c.account, c.payload_hash)).collect(),
			indices: payloads
				.iter()
				.map(|(a, p)| (*a, crate::gauntlet::copy::IndexSet::of(&p.tensors)))
				.collect(),
		});
		Ok(Some(Stepped {
			window,
			record,
			seed: None,
			screened: Vec::new(),
			inclusion: verdict.inclusion,
			theta_before_hash,
			theta_hash,
			provisional: false,
		}))
	}

	/// Fetches the payloads of `listed` (decoded), leaving out what cannot be used.
	async fn fetch_listed(&self, window: u64, listed: &[Committed]) -> BTreeMap<[u8; 32], Payload> {
		let shapes = self.replica.shapes().to_vec();
		round::fetch_all(
			&self.options.resolver,
			window,
			listed,
			&shapes,
			max_payload_bytes(&shapes),
			self.options.fetch_timeout,
		)
		.await
		.into_iter()
		.filter_map(|(a, f)| f.ok().map(|p| (a, p)))
		.collect()
	}

	/// θ cannot be brought to the verdict of `window` from here: reload the newest checkpoint
	/// (after a second failure, θ_0) so the recorded verdicts are replayed from there.
	fn resync_from_checkpoint(&mut self, window: u64, why: &str) -> Result<(), FollowError> {
		self.provisional = None;
		self.previous = None;
		self.failed_resyncs += 1;
		if self.failed_resyncs > MAX_FAILED_RESYNCS {
			tracing::error!(
				window,
				why,
				"cannot reproduce the network's θ; continuing on our own θ (updates will be flagged \
				 diverged until a checkpoint or the verdicts agree)"
			);
			return Ok(());
		}
		let checkpoint = if self.failed_resyncs == 1 {
			checkpoint::load_latest(&self.options.checkpoint_dir, self.replica.checkpoint_layout())?
				.filter(|ck| ck.window < window)
		} else {
			None
		};
		match checkpoint {
			Some(ck) => {
				let from = ck.window;
				self.replica.restore(ck)?;
				let theta_hash = hex::encode(self.replica.theta_hash());
				tracing::warn!(window, why, from, %theta_hash, "re-syncing from the newest checkpoint");
				self.report.write(&Record::Restored { window: from, theta_hash });
			},
			None => {
				let theta = self.replica.initial_theta()?;
				self.replica.set_theta(None, theta)?;
				tracing::warn!(
					window,
					why,
					"re-syncing from θ_0: replaying every recorded verdict"
				);
			},
		}
		Ok(())
	}
}
