//! Settling a follower's θ against the chain's verdicts, as its machine
//! ([`tessera_protocol::follower`]) asks: comparing a provisional step with its verdict,
//! recomputing it with the verdict's inclusion list, replaying a published verdict, and
//! reloading the newest checkpoint (or θ_0) when none of that reproduces the verdict's θ. The
//! machine decides which; this file only does it and reports what it found.

use super::{FollowError, Follower, Stepped};
use crate::report::Record;
use crate::round::{self, Committed, Verdict};
use std::collections::BTreeMap;
use tessera_chain::{self as chain, Client};
use tessera_codec::Payload;
use tessera_model::checkpoint;
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
		if verdict.inclusion.iter().any(|a| !payloads.contains_key(a)) {
			tracing::warn!(window, "a payload in the verdict cannot be fetched: applying the rest");
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

	/// θ cannot be brought to the verdict of `window` from here: reload the newest checkpoint
	/// older than it (`from_genesis`, or none kept: θ_0) so the recorded verdicts are replayed
	/// from there.
	pub(super) fn resync(&mut self, window: u64, from_genesis: bool) -> Result<(), FollowError> {
		let checkpoint = if from_genesis {
			None
		} else {
			checkpoint::load_latest(&self.options.checkpoint_dir, self.replica.checkpoint_layout())?
				.filter(|ck| ck.window < window)
		};
		match checkpoint {
			Some(ck) => {
				let from = ck.window;
				self.replica.restore(ck)?;
				let theta_hash = hex::encode(self.replica.theta_hash());
				tracing::warn!(window, from, %theta_hash, "re-syncing from the newest checkpoint");
				self.report.write(&Record::Restored { window: from, theta_hash });
			},
			None => {
				let theta = self.replica.initial_theta()?;
				self.replica.set_theta(None, theta)?;
				tracing::warn!(window, "re-syncing from θ_0: replaying every recorded verdict");
			},
		}
		Ok(())
	}
}
