//! What an auditor asks the chain, answered from a node's state at one finalized block: what
//! happened in a window (its commitments, every validator's flags and scores, the verdict, the
//! aggregation set and θ hash), how one peer did over a range of windows, and who holds the
//! most incentive. Everything comes from `pallet-training` storage and its `TrainingApi`
//! runtime API; nothing is inferred off chain.

use serde::Serialize;
use std::collections::BTreeMap;
use tessera_chain::flags;
use tessera_chain::{ChainError, Client, address, network};

/// One validator's word on one peer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reported {
	/// The validator (SS58 address).
	pub validator: String,
	/// Its final score for the peer, in `[0, 1]`.
	pub score: f64,
	/// Relative improvement on random data it measured.
	pub gradient_score: f64,
	/// The flags it set.
	pub flags: Vec<String>,
}

/// One miner in a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowPeer {
	/// The miner (SS58 address).
	pub account: String,
	/// A dev-key name, when it is one.
	pub name: Option<String>,
	/// Its commitment: payload hash (hex), length, block.
	pub commitment: Option<(String, u32, u64)>,
	/// Member of the window's aggregation set.
	pub in_set: bool,
	/// Its update was applied, per the verdict.
	pub included: bool,
	/// The verdict's score (stake-weighted median), in `[0, 1]`.
	pub score: Option<f64>,
	/// What each validator reported.
	pub reported: Vec<Reported>,
}

/// A window, as the chain records it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowAudit {
	/// The window.
	pub window: u64,
	/// The block whose state this was read from.
	pub block: u64,
	/// Its seed (hex), if retained.
	pub seed: Option<String>,
	/// Validators whose results counted (`None`: the verdict is not out yet).
	pub validators: Option<u32>,
	/// θ hash after the window's outer step, per the verdict (hex).
	pub theta_hash: Option<String>,
	/// Every miner that committed or was in the aggregation set.
	pub peers: Vec<WindowPeer>,
}

/// One window of a peer's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeerWindow {
	/// The window.
	pub window: u64,
	/// Whether it committed.
	pub committed: bool,
	/// Member of the aggregation set.
	pub in_set: bool,
	/// Its update was applied, per the verdict.
	pub included: bool,
	/// The verdict's score, in `[0, 1]`.
	pub score: Option<f64>,
	/// Flags any validator set (union).
	pub flags: Vec<String>,
	/// What the window paid it, in the chain's base units (10⁻¹² of a unit).
	pub earned: u128,
}

/// A peer's history over a range of windows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeerAudit {
	/// The peer (SS58 address).
	pub account: String,
	/// A dev-key name, when it is one.
	pub name: Option<String>,
	/// Its incentive weight now, in `[0, 1]`.
	pub incentive: f64,
	/// One row per retained window in the range.
	pub windows: Vec<PeerWindow>,
}

/// A miner's standing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Standing {
	/// The miner (SS58 address).
	pub account: String,
	/// A dev-key name, when it is one.
	pub name: Option<String>,
	/// Incentive weight, in `[0, 1]`.
	pub incentive: f64,
	/// Registered (not leaving).
	pub active: bool,
}

/// The dev keys' names by account (SS58 address), for readable tables.
pub fn dev_names() -> BTreeMap<String, String> {
	use std::str::FromStr;
	let mut out = BTreeMap::new();
	for name in ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"] {
		for (suri, label) in [
			(format!("//{name}"), name.to_string()),
			(format!("//{name}//stash"), format!("{name}//stash")),
		] {
			if let Ok(uri) = subxt_signer::SecretUri::from_str(&suri)
				&& let Ok(pair) = subxt_signer::sr25519::Keypair::from_uri(&uri)
			{
				out.insert(address::ss58(&pair.public_key().0), label);
			}
		}
	}
	out
}

fn perbill(parts: u32) -> f64 {
	f64::from(parts) / 1e9
}

/// What the validators submitted for `window`, by miner: each validator's report of it.
async fn submissions(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<BTreeMap<[u8; 32], Vec<Reported>>, ChainError> {
	let mut out: BTreeMap<[u8; 32], Vec<Reported>> = BTreeMap::new();
	for s in network::submissions(client, number, window).await? {
		for r in s.results {
			out.entry(r.peer).or_default().push(Reported {
				validator: address::ss58(&s.validator),
				score: perbill(r.final_score),
				gradient_score: f64::from(r.gradient_score) / 1e6,
				flags: flags::names(r.flags).into_iter().map(String::from).collect(),
			});
		}
	}
	Ok(out)
}

/// What happened in `window`, at block `number`.
pub async fn window(client: &Client, number: u64, window: u64) -> Result<WindowAudit, ChainError> {
	let names = dev_names();
	let record = network::window_record(client, number, window).await?;
	let verdict = network::verdict(client, number, window).await?;
	let seed = network::window_seed(client, number, window).await?;
	let mut reported = submissions(client, number, window).await?;
	let mut accounts: Vec<[u8; 32]> = record.commitments.iter().map(|c| c.account).collect();
	for m in &record.set {
		if !accounts.contains(m) {
			accounts.push(*m);
		}
	}
	let peers = accounts
		.into_iter()
		.map(|a| {
			let account = address::ss58(&a);
			WindowPeer {
				name: names.get(&account).cloned(),
				commitment: record
					.commitment(&a)
					.map(|c| (hex::encode(c.payload_hash), c.payload_len, c.committed_at)),
				in_set: record.set.contains(&a),
				included: verdict.as_ref().is_some_and(|v| v.inclusion.contains(&a)),
				score: verdict
					.as_ref()
					.and_then(|v| v.scores.iter().find(|(p, _)| *p == a).map(|(_, s)| perbill(*s))),
				reported: reported.remove(&a).unwrap_or_default(),
				account,
			}
		})
		.collect();
	Ok(WindowAudit {
		window,
		block: number,
		seed: seed.map(hex::encode),
		validators: verdict.as_ref().map(|v| v.validators),
		theta_hash: verdict.as_ref().filter(|v| v.is_binding()).map(|v| hex::encode(v.theta_hash)),
		peers,
	})
}

/// How `peer` did in windows `from..=to` (the retained ones), at block `number`.
pub async fn peer(
	client: &Client,
	number: u64,
	peer: [u8; 32],
	from: u64,
	to: u64,
) -> Result<PeerAudit, ChainError> {
	let current = network::current_window(client, number).await?;
	let mut windows = Vec::new();
	for w in from.max(1)..=to.min(current) {
		if network::window_seed(client, number, w).await?.is_none() {
			continue; // pruned
		}
		let record = network::window_record(client, number, w).await?;
		let verdict = network::verdict(client, number, w).await?;
		let reported = submissions(client, number, w).await?.remove(&peer).unwrap_or_default();
		let mut flags: Vec<String> = reported.iter().flat_map(|r| r.flags.clone()).collect();
		flags.sort();
		flags.dedup();
		windows.push(PeerWindow {
			window: w,
			committed: record.commitment(&peer).is_some(),
			in_set: record.set.contains(&peer),
			included: verdict.as_ref().is_some_and(|v| v.inclusion.contains(&peer)),
			score: verdict
				.as_ref()
				.and_then(|v| v.scores.iter().find(|(p, _)| *p == peer).map(|(_, s)| perbill(*s))),
			flags,
			earned: network::earnings(client, number, w, &peer).await?,
		});
	}
	let account = address::ss58(&peer);
	Ok(PeerAudit {
		name: dev_names().get(&account).cloned(),
		incentive: perbill(network::incentive_weight(client, number, &peer).await?),
		account,
		windows,
	})
}

/// Every registered miner by incentive weight, highest first, at block `number`.
pub async fn standings(client: &Client, number: u64) -> Result<Vec<Standing>, ChainError> {
	let names = dev_names();
	let mut out = Vec::new();
	for peer in network::registered_peers(client, number).await? {
		if peer.role != "miner" {
			continue;
		}
		let ss58 = address::ss58(&peer.account);
		out.push(Standing {
			name: names.get(&ss58).cloned(),
			incentive: perbill(peer.incentive_weight),
			active: !peer.leaving,
			account: ss58,
		});
	}
	out.sort_by(|a, b| b.incentive.total_cmp(&a.incentive).then(a.account.cmp(&b.account)));
	Ok(out)
}
