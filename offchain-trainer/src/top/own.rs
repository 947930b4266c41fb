//! A local peer's own progress, from its report file (`--report`, JSON lines written by the
//! miner or validator, `tessera_peer::report`): the last window it trained (inner steps, loss,
//! throughput, payload, whether it was uploaded), the last outer step it applied (θ hash and
//! held-out loss), the last window it scored, and whether it diverged. Only the file's tail
//! is read, so a long run's report costs no more than a short one's.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use tessera_peer::report::Record;

/// Bytes read from the end of a report file at each refresh.
const TAIL: u64 = 1 << 20;

/// The last window a miner trained.
#[derive(Clone, Debug, PartialEq)]
pub struct Trained {
	/// The window.
	pub window: u64,
	/// Inner steps.
	pub steps: usize,
	/// Mean inner loss.
	pub loss: Option<f32>,
	/// Tokens per second.
	pub tokens_per_second: f64,
	/// Payload bytes.
	pub payload_bytes: usize,
	/// Its payload was uploaded.
	pub uploaded: bool,
}

/// A peer's own progress.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Own {
	/// The last window trained (miners).
	pub trained: Option<Trained>,
	/// The last outer step applied: window, θ hash (hex), held-out loss (`None` until a miner
	/// measures it, after its next commitment).
	pub applied: Option<(u64, String, Option<f32>)>,
	/// The last window scored (validators): window, submitted, peers scored.
	pub scored: Option<(u64, bool, usize)>,
	/// The last window whose verdict it could not reproduce.
	pub diverged: Option<u64>,
}

impl Own {
	/// Progress from `records`, oldest first.
	pub fn from_records(records: &[Record]) -> Self {
		let mut own = Self::default();
		for r in records {
			match r {
				Record::Trained {
					window, steps, loss, tokens_per_second, payload_bytes, ..
				} => {
					own.trained = Some(Trained {
						window: *window,
						steps: *steps,
						loss: *loss,
						tokens_per_second: *tokens_per_second,
						payload_bytes: *payload_bytes,
						uploaded: false,
					});
				},
				Record::Uploaded { window } => {
					if let Some(t) = own.trained.as_mut().filter(|t| t.window == *window) {
						t.uploaded = true;
					}
				},
				Record::Applied { window, theta_hash, held_out_loss, .. }
				| Record::Resynced { window, theta_hash, held_out_loss, .. } => {
					own.applied = Some((*window, theta_hash.clone(), *held_out_loss));
				},
				Record::Evaluated { window, theta_hash, held_out_loss } => {
					if let Some(applied) =
						own.applied.as_mut().filter(|(w, h, _)| w == window && h == theta_hash)
					{
						applied.2 = Some(*held_out_loss);
					}
				},
				Record::Scored { window, submitted, peers, .. } => {
					own.scored = Some((*window, *submitted, peers.len()));
				},
				Record::Diverged { window, .. } => own.diverged = Some(*window),
				_ => {},
			}
		}
		own
	}

	/// Progress from the tail of the report file at `path`.
	pub fn read(path: &Path) -> std::io::Result<Self> {
		let mut file = std::fs::File::open(path)?;
		let len = file.metadata()?.len();
		let start = len.saturating_sub(TAIL);
		file.seek(SeekFrom::Start(start))?;
		let mut bytes = Vec::new();
		file.take(TAIL).read_to_end(&mut bytes)?;
		let text = String::from_utf8_lossy(&bytes);
		// A cut first line is skipped, as is any line that is not a record.
		let records: Vec<Record> = text
			.lines()
			.skip(usize::from(start > 0))
			.filter_map(|l| serde_json::from_str(l).ok())
			.collect();
		Ok(Self::from_records(&records))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn progress_is_the_newest_of_each_kind() {
		let trained = |window| Record::Trained {
			window,
			steps: 8,
			loss: Some(6.5),
			tokens_per_second: 1000.0,
			train_seconds: 1.0,
			payload_bytes: 4096,
			payload_hash: "00".into(),
		};
		let records = vec![
			trained(3),
			Record::Uploaded { window: 3 },
			Record::Applied {
				window: 3,
				theta_hash: "aa".into(),
				included: vec![],
				held_out_loss: None,
			},
			trained(4),
		];
		let own = Own::from_records(&records);
		let t = own.trained.clone().unwrap();
		assert_eq!((t.window, t.uploaded), (4, false), "window 4 is not uploaded yet");
		assert_eq!(own.applied, Some((3, "aa".into(), None)), "not measured yet");
		let mut later = records.clone();
		later.push(Record::Evaluated { window: 2, theta_hash: "99".into(), held_out_loss: 8.0 });
		assert_eq!(Own::from_records(&later).applied, Some((3, "aa".into(), None)), "another θ");
		later.push(Record::Evaluated { window: 3, theta_hash: "aa".into(), held_out_loss: 7.0 });
		assert_eq!(Own::from_records(&later).applied, Some((3, "aa".into(), Some(7.0))));

		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("report.jsonl");
		let mut text: String = (0..60_000).map(|_| "{\"not\":\"a record\"}\n").collect::<String>();
		for r in &records {
			text.push_str(&serde_json::to_string(r).unwrap());
			text.push('\n');
		}
		std::fs::write(&path, text).unwrap();
		assert_eq!(Own::read(&path).unwrap(), own, "the tail of a long file");
	}
}
