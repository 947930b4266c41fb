//! θ after three windows of the tiny preset, pinned: two miners train on their assigned slices
//! of a seeded token shard, build their payloads (error feedback, top-k, 2-bit values), and
//! every peer applies the same outer step, three windows in a row. A change anywhere on that
//! path — the model's forward and backward, AdamW, the data slices, the codec, the outer step —
//! that changes a single bit of θ fails here, so a refactor that claims to change nothing is
//! held to it. Both miners' replicas end on the same θ (the outer step's determinism).

mod common;

use common::{replica, seeded_corpus};
use indicatif::ProgressBar;
use tessera_codec::{OuterStep, format::Expected};
use tessera_data::TokenShard;
use tessera_model::ModelConfig;

/// BLAKE2b-256 of θ after windows 1, 2 and 3, hex, as computed before the window protocol
/// moved into `tessera-protocol` and the model was split into its parts (commit 4f7cc95's code
/// gives the same: nothing on this path changed).
const PINNED: &str = "2832cb7c15a654dfa5b6eed02cf435cf91670cc43a87a8f761223e4c86a2a145 \
                      7a65f9646a4ec9efe8dd9827deeca111f753e3cdfe020357c3b9fbe43ecd1f0b \
                      ec3629fcda995957f22b86f42ed358de9193873daa209c518d0f2fb4000e1f1c";

#[test]
fn theta_of_the_tiny_preset_after_three_windows_is_pinned() -> anyhow::Result<()> {
	let config = ModelConfig::load("tiny")?;
	let dir = tempfile::tempdir()?;
	seeded_corpus(dir.path(), config.vocab_size, 200_000)?;
	let shard = TokenShard::open(dir.path())?;
	let miners = [[1u8; 32], [2u8; 32]];
	let mut replicas = vec![replica(&config)?, replica(&config)?];
	let outer = OuterStep { lr: 0.7, threads: 1 };
	let progress = ProgressBar::hidden();
	let mut hashes = Vec::new();
	for window in 1..=3u64 {
		let seed = [window as u8; 32];
		let mut payloads = Vec::new();
		for (replica, miner) in replicas.iter_mut().zip(&miners) {
			let trained = replica.train(window, &seed, miner, &shard, None, &progress)?;
			let shapes = replica.shapes().to_vec();
			let rules = tessera_codec::Rules { k: 64, quantised: true, max_value: 1.0 };
			let expected = Expected { window, miner, shapes: &shapes, rules };
			payloads.push(tessera_codec::format::decode(&trained.update.bytes, &expected)?);
		}
		let list: Vec<_> = payloads.iter().collect();
		for replica in &mut replicas {
			replica.apply_outer_step(window, &list, &outer)?;
		}
		let [a, b] = [replicas[0].theta_hash(), replicas[1].theta_hash()];
		assert_eq!(a, b, "both replicas' θ after window {window}");
		hashes.push(hex::encode(a));
	}
	assert_eq!(hashes.join(" "), PINNED, "θ after windows 1, 2, 3");
	Ok(())
}
