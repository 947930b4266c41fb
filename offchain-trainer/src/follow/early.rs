//! Early uploads: committed payloads that are readable while their window is still running.
//! Probed every block a peer is free to (validators every block, miners once they have
//! committed); a payload seen early is set aside when the window is screened.

use crate::{
	round::{self, Committed},
	storage::Resolver,
};
use std::{
	collections::{BTreeMap, BTreeSet},
	time::Duration,
};

/// The accounts seen early, per window.
#[derive(Debug, Default)]
pub struct EarlyUploads {
	seen: BTreeMap<u64, BTreeSet<[u8; 32]>>,
}

impl EarlyUploads {
	/// Which commitments of `window` not yet seen early are readable now. Only evidence once
	/// the caller has checked that the window was still open before and after the probe.
	pub async fn probe(
		&self,
		resolver: &Resolver,
		window: u64,
		commitments: &[Committed],
		deadline: Duration,
	) -> Vec<[u8; 32]> {
		let unseen: Vec<&Committed> =
			commitments.iter().filter(|c| !self.contains(window, &c.account)).collect();
		round::probe(resolver, window, &unseen, deadline).await
	}

	/// Records `accounts` as seen early in `window`.
	pub fn record(&mut self, window: u64, accounts: Vec<[u8; 32]>) {
		let seen = self.seen.entry(window).or_default();
		for account in accounts {
			tracing::warn!(window, peer = %hex::encode(account), "payload readable before the window closed: early upload");
			seen.insert(account);
		}
		// Keep only the windows that can still be screened.
		self.seen.retain(|w, _| *w + 2 >= window);
	}

	/// The accounts seen early in `window` (forgotten afterwards).
	pub fn take(&mut self, window: u64) -> BTreeSet<[u8; 32]> {
		self.seen.remove(&window).unwrap_or_default()
	}

	/// Whether `account` was seen early in `window`.
	pub fn contains(&self, window: u64, account: &[u8; 32]) -> bool {
		self.seen.get(&window).is_some_and(|s| s.contains(account))
	}
}
