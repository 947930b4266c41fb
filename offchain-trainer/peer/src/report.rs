//! A peer's machine-readable record: one JSON object per line (`{"applied": {…}}`) for each
//! window it trained, each outer step it applied or re-synced, each held-out evaluation made
//! after its step (a miner's), each checkpoint it restored and (validators) each window it
//! scored, appended to a file (`--report`). Tests and the devnet read it.

use serde::{Deserialize, Serialize};
use std::{io::Write, path::PathBuf};

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
// Externally tagged (`{"applied": {...}}`): an internally tagged enum buffers its fields, and
// then fails on numbers wherever serde_json's `arbitrary_precision` feature is on (as it is in
// any binary that also links the runtime).
#[serde(rename_all = "snake_case")]
pub enum Record {
	/// The miner trained a window and committed its update.
	Trained {
		/// The window.
		window: u64,
		/// Inner steps done.
		steps: usize,
		/// Mean inner loss.
		loss: Option<f32>,
		/// Tokens per second.
		tokens_per_second: f64,
		/// Seconds spent training: the inner loop with its setup (θ into the model, the data
		/// slice), not the payload's build. Its share of the window is the miner's utilisation
		/// (0 in reports written before it was recorded).
		#[serde(default)]
		train_seconds: f64,
		/// Payload bytes.
		payload_bytes: usize,
		/// Payload hash (hex).
		payload_hash: String,
	},
	/// The miner uploaded its payload for a window.
	Uploaded {
		/// The window.
		window: u64,
	},
	/// The outer step of a window was applied.
	Applied {
		/// The window.
		window: u64,
		/// θ hash after it (hex).
		theta_hash: String,
		/// Accounts whose updates were included (SS58 addresses).
		included: Vec<String>,
		/// Loss of θ on the held-out split; absent when it is measured later and reported in
		/// the window's `Evaluated` record (a miner's, so its training does not wait for it).
		#[serde(default, skip_serializing_if = "Option::is_none")]
		held_out_loss: Option<f32>,
	},
	/// The outer step of a window was recomputed to match the validators' verdict (replaces the
	/// window's `Applied` record).
	Resynced {
		/// The window.
		window: u64,
		/// θ hash after it (hex).
		theta_hash: String,
		/// Accounts whose updates were included (SS58 addresses).
		included: Vec<String>,
		/// Loss of θ on the held-out split; absent when it is reported in an `Evaluated`
		/// record.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		held_out_loss: Option<f32>,
	},
	/// The held-out loss of the θ a window's outer step gave, measured after the step (a
	/// miner measures it once its next commitment is sent).
	Evaluated {
		/// The window whose outer step gave θ.
		window: u64,
		/// θ hash (hex), as in the window's `Applied` or `Resynced` record.
		theta_hash: String,
		/// Loss of θ on the held-out split.
		held_out_loss: f32,
	},
	/// A validator scored a window.
	Scored {
		/// The window.
		window: u64,
		/// Whether the chain accepted the submission.
		submitted: bool,
		/// The aggregation set members it applied, in set order (SS58 addresses).
		inclusion: Vec<String>,
		/// θ hash after the window's outer step (hex).
		theta_hash: String,
		/// Each scored peer.
		peers: Vec<PeerScore>,
	},
	/// Nothing reproduced a window's verdict (recomputing with its list, re-syncing from a
	/// checkpoint, then from θ_0): the peer follows on its own θ, and a miner sits out, until a
	/// verdict its own step agrees with brings it back.
	Diverged {
		/// The window whose verdict was not reproduced.
		window: u64,
		/// θ hash the peer holds (hex).
		theta_hash: String,
	},
	/// The peer restored a checkpoint.
	Restored {
		/// The window whose outer step the checkpoint's θ includes.
		window: u64,
		/// Its θ hash (hex).
		theta_hash: String,
		/// Where it came from: `local` (the peer's own directory) or `network` (a validator's
		/// store, its hash on chain).
		#[serde(default)]
		source: String,
		/// Why it was loaded (start, join, re-sync cause).
		#[serde(default)]
		cause: String,
	},
	/// The peer did not train, commit or score in a window, and why.
	SatOut {
		/// The window.
		window: u64,
		/// Why.
		reason: String,
	},
	/// A validator uploaded a checkpoint of θ and recorded it on chain.
	Published {
		/// θ is the result of this window's outer step.
		window: u64,
		/// Its θ hash (hex).
		theta_hash: String,
		/// Whether the chain accepted the record.
		recorded: bool,
	},
}

/// One peer's result in a [`Record::Scored`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerScore {
	/// The miner (SS58 address).
	pub peer: String,
	/// Final score in `[0, 1]`.
	pub final_score: f64,
	/// Relative improvement on random data.
	pub gradient_score: f64,
	/// Loss improvement on the assigned data.
	pub assigned_gain: Option<f64>,
	/// Loss improvement on random data.
	pub random_gain: Option<f64>,
	/// Rating mean after the window.
	pub mu: f64,
	/// Rating deviation after the window.
	pub sigma: f64,
	/// Honest-indicator EMA.
	pub indicator: f64,
	/// Why the update was set aside (flag names).
	pub flags: Vec<String>,
}

/// Appends records to a file, if one was given.
#[derive(Clone, Debug)]
pub struct Report {
	path: Option<PathBuf>,
}

impl Report {
	/// A report written to `path` (nothing when `None`).
	pub fn new(path: Option<PathBuf>) -> Self {
		Self { path }
	}

	/// Appends `record`; a failure to write is logged, never fatal.
	pub fn write(&self, record: &Record) {
		let Some(path) = &self.path else { return };
		let line = match serde_json::to_string(record) {
			Ok(line) => line,
			Err(e) => {
				tracing::warn!(error = %e, "cannot serialise a report record");
				return;
			},
		};
		let result = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(path)
			.and_then(|mut f| writeln!(f, "{line}"));
		if let Err(e) = result {
			tracing::warn!(path = %path.display(), error = %e, "cannot append to the report");
		}
	}

	/// Reads every record of a report file (for tests and the devnet).
	pub fn read(path: &std::path::Path) -> std::io::Result<Vec<Record>> {
		let text = std::fs::read_to_string(path)?;
		Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn records_round_trip_through_the_file() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("report.jsonl");
		let report = Report::new(Some(path.clone()));
		let records = vec![
			Record::Applied {
				window: 0,
				theta_hash: "ab".into(),
				included: vec![],
				held_out_loss: Some(8.280579),
			},
			Record::Applied {
				window: 1,
				theta_hash: "cd".into(),
				included: vec!["aa".into()],
				held_out_loss: None,
			},
			Record::Evaluated { window: 1, theta_hash: "cd".into(), held_out_loss: 7.25 },
			Record::Trained {
				window: 1,
				steps: 8,
				loss: Some(7.5),
				tokens_per_second: 2995.1,
				train_seconds: 2.5,
				payload_bytes: 20085,
				payload_hash: "cd".into(),
			},
			Record::Uploaded { window: 1 },
			Record::Scored {
				window: 2,
				submitted: true,
				inclusion: vec!["aa".into()],
				theta_hash: "bb".into(),
				peers: vec![PeerScore {
					peer: "aa".into(),
					final_score: 0.5,
					gradient_score: 0.01,
					assigned_gain: Some(0.2),
					random_gain: Some(0.05),
					mu: 27.5,
					sigma: 8.1,
					indicator: 0.3,
					flags: vec!["early".into()],
				}],
			},
			Record::Restored {
				window: 3,
				theta_hash: "ef".into(),
				source: "network".into(),
				cause: "join".into(),
			},
			Record::SatOut { window: 4, reason: "diverged".into() },
			Record::Published { window: 4, theta_hash: "aa".into(), recorded: true },
			Record::Diverged { window: 5, theta_hash: "12".into() },
			Record::Resynced {
				window: 4,
				theta_hash: "01".into(),
				included: vec!["aa".into()],
				held_out_loss: Some(6.5),
			},
		];
		for r in &records {
			report.write(r);
		}
		assert_eq!(Report::read(&path).unwrap(), records);
		let text = std::fs::read_to_string(&path).unwrap();
		let line = text.lines().nth(1).unwrap();
		assert!(!line.contains("held_out_loss"), "a loss measured later is left out: {line}");
	}

	#[test]
	fn a_report_written_before_losses_were_measured_later_still_reads() {
		let old = r#"{"applied":{"window":2,"theta_hash":"ab","included":[],"held_out_loss":7.5}}"#;
		let record: Record = serde_json::from_str(old).unwrap();
		assert_eq!(
			record,
			Record::Applied {
				window: 2,
				theta_hash: "ab".into(),
				included: vec![],
				held_out_loss: Some(7.5)
			}
		);
	}
}
