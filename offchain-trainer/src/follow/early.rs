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
	/// Probes the commitments of `window` not yet seen early.
	pub async fn probe(
		&mut self,
		resolver: &Resolver,
		window: u64,
		commitments: &[Committed],
		deadline: Duration,
	) {
		let seen = self.seen.entry(window).or_default();
		let unseen: Vec<&Committed> =
			commitments.iter().filter(|c| !seen.contains(&c.account)).collect();
		for account in round::probe(resolver, window, &unseen, deadline).await {
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
