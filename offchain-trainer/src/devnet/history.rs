//! What a local network did, window by window, read back from its peers' JSON reports: the
//! held-out loss after each outer step, each miner's training loss and update, the validator's
//! scores and flags, and whether every peer's θ hash agreed. The devnet's live display, its
//! summary table and its plot are all drawn from this.

use std::{collections::BTreeMap, path::Path};
use tessera_peer::report::{Record, Report};

/// A peer of the network, as the devnet started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
	/// Display name (`alice`).
	pub name: String,
	/// Account (SS58 address).
	pub account: String,
	/// Miner or validator.
	pub validator: bool,
}

/// One window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowSummary {
	/// The window.
	pub window: u64,
	/// Held-out loss after its outer step (first miner that reported it).
	pub held_out_loss: Option<f32>,
	/// θ hash after its outer step, per peer name.
	pub theta: BTreeMap<String, String>,
	/// Updates aggregated.
	pub included: Option<usize>,
	/// Mean inner loss per miner name.
	pub train_loss: BTreeMap<String, f32>,
	/// Seconds each miner's inner loop ran, per miner name.
	pub train_seconds: BTreeMap<String, f64>,
	/// Final score per miner name (the validator's).
	pub score: BTreeMap<String, f64>,
	/// Flags per miner name (the validator's).
	pub flags: BTreeMap<String, Vec<String>>,
}

impl WindowSummary {
	/// Whether every peer that applied the window holds the same θ.
	pub fn agreed(&self) -> bool {
		let mut hashes = self.theta.values();
		let first = hashes.next();
		hashes.all(|h| Some(h) == first)
	}
}

/// Reads every peer's report in `dir` (`{name}.jsonl`) and summarises the windows in order.
pub fn read(dir: &Path, peers: &[PeerInfo]) -> Vec<WindowSummary> {
	let reports: Vec<(PeerInfo, Vec<Record>)> = peers
		.iter()
		.map(|p| {
			let records = Report::read(&dir.join(format!("{}.jsonl", p.name))).unwrap_or_default();
			(p.clone(), records)
		})
		.collect();
	summarize(&reports)
}

/// Summarises the windows of `reports` in order.
pub fn summarize(reports: &[(PeerInfo, Vec<Record>)]) -> Vec<WindowSummary> {
	let names: BTreeMap<&str, &str> =
		reports.iter().map(|(p, _)| (p.account.as_str(), p.name.as_str())).collect();
	let mut windows: BTreeMap<u64, WindowSummary> = BTreeMap::new();
	for (peer, records) in reports {
		for r in records {
			match r {
				Record::Applied { window, theta_hash, included, held_out_loss }
				| Record::Resynced { window, theta_hash, included, held_out_loss } => {
					let w = windows
						.entry(*window)
						.or_insert_with(|| WindowSummary { window: *window, ..Default::default() });
					w.theta.insert(peer.name.clone(), theta_hash.clone());
					if !peer.validator
						&& let Some(loss) = held_out_loss
					{
						w.held_out_loss.get_or_insert(*loss);
					}
					w.included = Some(included.len());
				},
				// A miner measures its θ's loss after its next commitment.
				Record::Evaluated { window, held_out_loss, .. } if !peer.validator => {
					windows
						.entry(*window)
						.or_insert_with(|| WindowSummary { window: *window, ..Default::default() })
						.held_out_loss
						.get_or_insert(*held_out_loss);
				},
				Record::Trained { window, loss, train_seconds, .. } => {
					let w = windows
						.entry(*window)
						.or_insert_with(|| WindowSummary { window: *window, ..Default::default() });
					if let Some(loss) = loss {
						w.train_loss.insert(peer.name.clone(), *loss);
					}
					w.train_seconds.insert(peer.name.clone(), *train_seconds);
				},
				Record::Scored { window, peers, .. } => {
					let w = windows
						.entry(*window)
						.or_insert_with(|| WindowSummary { window: *window, ..Default::default() });
					for p in peers {
						let name = names.get(p.peer.as_str()).map_or(p.peer.as_str(), |n| n);
						w.score.insert(name.to_string(), p.final_score);
						w.flags.insert(name.to_string(), p.flags.clone());
					}
				},
				_ => {},
			}
		}
	}
	windows.into_values().collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_peer::report::PeerScore;

	fn peer(name: &str, account: &str, validator: bool) -> PeerInfo {
		PeerInfo { name: name.into(), account: account.into(), validator }
	}

	fn applied(window: u64, hash: &str, loss: f32) -> Record {
		Record::Applied {
			window,
			theta_hash: hash.into(),
			included: vec!["aa".into()],
			held_out_loss: Some(loss),
		}
	}

	#[test]
	fn windows_gather_losses_scores_and_agreement_from_every_report() {
		let reports = vec![
			(
				peer("alice", "aa", false),
				vec![
					applied(1, "h1", 7.0),
					Record::Trained {
						window: 2,
						steps: 4,
						loss: Some(6.5),
						tokens_per_second: 100.0,
						train_seconds: 30.0,
						payload_bytes: 10,
						payload_hash: "p".into(),
					},
					applied(2, "h2", 6.0),
				],
			),
			(peer("bob", "bb", false), vec![applied(1, "h1", 7.0), applied(2, "other", 6.1)]),
			(
				peer("dave", "dd", true),
				vec![Record::Scored {
					window: 2,
					submitted: true,
					inclusion: vec!["aa".into()],
					theta_hash: "h2".into(),
					peers: vec![PeerScore {
						peer: "aa".into(),
						final_score: 0.4,
						gradient_score: 0.01,
						assigned_gain: None,
						random_gain: None,
						mu: 25.0,
						sigma: 8.0,
						indicator: 0.3,
						flags: vec![],
					}],
				}],
			),
		];
		let windows = summarize(&reports);
		assert_eq!(windows.len(), 2);
		assert!(windows[0].agreed());
		assert!(!windows[1].agreed());
		assert_eq!(windows[1].held_out_loss, Some(6.0));
		assert_eq!(windows[1].train_loss["alice"], 6.5);
		assert_eq!(windows[1].train_seconds["alice"], 30.0);
		assert_eq!(windows[1].score["alice"], 0.4);
	}

	/// A miner reports its θ's loss after its next commitment (`Evaluated`); a validator's
	/// losses never enter the table.
	#[test]
	fn a_loss_measured_after_the_step_fills_the_window() {
		let later = Record::Applied {
			window: 3,
			theta_hash: "h3".into(),
			included: vec![],
			held_out_loss: None,
		};
		let evaluated =
			|loss| Record::Evaluated { window: 3, theta_hash: "h3".into(), held_out_loss: loss };
		let reports = vec![
			(peer("dave", "dd", true), vec![applied(3, "h3", 9.0), evaluated(9.5)]),
			(peer("alice", "aa", false), vec![later.clone(), evaluated(5.5)]),
			(peer("bob", "bb", false), vec![later]),
		];
		let windows = summarize(&reports);
		assert_eq!(windows.len(), 1);
		assert_eq!(windows[0].held_out_loss, Some(5.5));
		assert!(windows[0].agreed());
		let none = summarize(&reports[2..]);
		assert_eq!(none[0].held_out_loss, None, "no loss measured yet");
	}
}
