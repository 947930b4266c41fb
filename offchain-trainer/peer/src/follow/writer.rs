//! Writing the peer's own checkpoints off the window's critical path (issue 23 item 4): a
//! checkpoint of the confirmed θ is due when a verdict confirms it, which is when the next
//! window's payloads are revealed — the moment the outer step and the next window's training
//! wait for. Streaming a miner's 337 MB `small` checkpoint to disk and flushing it took 5–17 s
//! there on the 2-core VM (three miners and a validator flushing at once). The follower now
//! hands a snapshot to one background thread and goes on; one write at a time (a write still
//! running when the next is due is waited for), and every write is finished before the peer
//! stops or anything else touches the directory.

use std::{
	path::PathBuf,
	thread::JoinHandle,
	time::{Duration, Instant},
};
use tessera_model::checkpoint::{self, Checkpoint, ModelLayout};

/// The owned layout a writer thread saves with.
#[derive(Clone, Debug)]
pub struct OwnedLayout {
	/// The model's name.
	pub model: String,
	/// Parameter names in order.
	pub names: Vec<String>,
	/// Parameter shapes in order.
	pub shapes: Vec<Vec<usize>>,
}

impl OwnedLayout {
	/// A copy of `layout`.
	pub fn of(layout: ModelLayout<'_>) -> Self {
		Self {
			model: layout.model.to_string(),
			names: layout.names.to_vec(),
			shapes: layout.shapes.to_vec(),
		}
	}

	fn borrowed(&self) -> ModelLayout<'_> {
		ModelLayout { model: &self.model, names: &self.names, shapes: &self.shapes }
	}
}

/// The background writer of one directory's checkpoints.
pub struct CheckpointWriter {
	dir: PathBuf,
	keep: usize,
	layout: OwnedLayout,
	running: Option<JoinHandle<()>>,
}

impl CheckpointWriter {
	/// A writer into `dir` keeping the newest `keep` checkpoints of `layout`.
	pub fn new(dir: PathBuf, keep: usize, layout: OwnedLayout) -> Self {
		Self { dir, keep, layout, running: None }
	}

	/// Starts writing `checkpoint` in the background, after the write before it (if one is
	/// still running) has finished. The outcome is logged in the caller's span: a failure (a
	/// full disk) leaves the previous checkpoint the newest and never stops the peer.
	pub fn write(&mut self, checkpoint: Checkpoint) {
		self.finish();
		let (dir, keep, layout) = (self.dir.clone(), self.keep, self.layout.clone());
		let span = tracing::Span::current();
		let spawned =
			std::thread::Builder::new().name("checkpoint-writer".into()).spawn(move || {
				let _entered = span.enter();
				let started = Instant::now();
				let window = checkpoint.window;
				match checkpoint::save(&dir, checkpoint.borrowed(), layout.borrowed(), keep) {
					Ok(path) => tracing::debug!(
						window,
						path = %path.display(),
						seconds = started.elapsed().as_secs_f64(),
						"checkpoint written"
					),
					Err(e) => tracing::error!(
						window,
						error = %e,
						"checkpoint not written; the previous one stays the newest"
					),
				}
			});
		match spawned {
			Ok(handle) => self.running = Some(handle),
			Err(e) => {
				tracing::error!(error = %e, "cannot start the checkpoint writer: checkpoint not written")
			},
		}
	}

	/// Waits for the write in progress, if any. On tokio's multi-threaded runtime (the peers')
	/// the wait tells the runtime this worker blocks, so its other tasks move elsewhere.
	pub fn finish(&mut self) {
		if let Some(handle) = self.running.take() {
			let started = Instant::now();
			let join = move || handle.join();
			let joined = match tokio::runtime::Handle::try_current() {
				Ok(rt) if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
					tokio::task::block_in_place(join)
				},
				_ => join(),
			};
			if joined.is_err() {
				tracing::error!("the checkpoint writer panicked: checkpoint not written");
			}
			let waited = started.elapsed();
			if waited > Duration::from_millis(100) {
				tracing::debug!(seconds = waited.as_secs_f64(), "waited for a checkpoint write");
			}
		}
	}
}

impl Drop for CheckpointWriter {
	/// A stopping peer finishes its checkpoint rather than leaving half a file.
	fn drop(&mut self) {
		self.finish();
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_model::checkpoint::OptimizerState;

	fn layout() -> OwnedLayout {
		OwnedLayout {
			model: "tiny".into(),
			names: vec!["embed".into(), "norm".into()],
			shapes: vec![vec![2, 3], vec![3]],
		}
	}

	fn checkpoint(window: u64) -> Checkpoint {
		let theta = vec![vec![window as f32; 6], vec![1.0; 3]];
		Checkpoint {
			window,
			optimizer: Some(OptimizerState {
				steps: window,
				m: theta.iter().map(|t| vec![0.1; t.len()]).collect(),
				v: theta.iter().map(|t| vec![0.2; t.len()]).collect(),
			}),
			error_feedback: Some(theta.iter().map(|t| vec![0.3; t.len()]).collect()),
			theta,
		}
	}

	#[test]
	fn writes_follow_one_another_and_a_dropped_writer_finishes_its_write() {
		let dir = tempfile::tempdir().unwrap();
		let mut writer = CheckpointWriter::new(dir.path().to_path_buf(), 2, layout());
		for window in 1..=3 {
			writer.write(checkpoint(window));
		}
		drop(writer);
		let layout = layout();
		let newest = checkpoint::load_latest(dir.path(), layout.borrowed()).unwrap().unwrap();
		assert_eq!(newest, checkpoint(3));
		let windows: Vec<u64> =
			checkpoint::list(dir.path()).unwrap().into_iter().map(|(w, _)| w).collect();
		assert_eq!(windows, vec![2, 3]);
		// Nothing half-written is left beside them.
		assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
	}

	#[test]
	fn a_failed_write_leaves_the_writer_able_to_write_the_next() {
		let dir = tempfile::tempdir().unwrap();
		let target = dir.path().join("checkpoints");
		// A file where the directory should be: the save fails.
		std::fs::write(&target, b"").unwrap();
		let mut writer = CheckpointWriter::new(target.clone(), 2, layout());
		writer.write(checkpoint(1));
		writer.finish();
		assert!(target.is_file(), "the failed save changed nothing");
		// The same writer, once the directory can be made, writes the next.
		std::fs::remove_file(&target).unwrap();
		writer.write(checkpoint(2));
		writer.finish();
		let layout = layout();
		let newest = checkpoint::load_latest(&target, layout.borrowed()).unwrap().unwrap();
		assert_eq!(newest.window, 2);
	}

	/// Inside the peers' multi-threaded runtime the wait hands the worker's tasks on; inside a
	/// current-thread one (tests) it simply waits.
	#[test]
	fn the_wait_works_inside_either_runtime() {
		for multi in [true, false] {
			let rt = if multi {
				tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap()
			} else {
				tokio::runtime::Builder::new_current_thread().build().unwrap()
			};
			let dir = tempfile::tempdir().unwrap();
			rt.block_on(async {
				let mut writer = CheckpointWriter::new(dir.path().to_path_buf(), 2, layout());
				writer.write(checkpoint(4));
				writer.finish();
			});
			assert_eq!(checkpoint::list(dir.path()).unwrap().len(), 1, "multi-thread: {multi}");
		}
	}
}
