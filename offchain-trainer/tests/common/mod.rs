//! What the trainer's integration tests share: a seeded token shard and a tiny-model replica.

use tessera_codec::CompressConfig;
use tessera_data::CorpusManifest;
use tessera_model::ModelConfig;
use tessera_model::train::{AdamWConfig, InnerConfig, LrSchedule};
use tessera_peer::replica::Replica;

/// A corpus of `tokens` seeded ids below `vocab` in `dir` (SplitMix64).
pub fn seeded_corpus(dir: &std::path::Path, vocab: usize, tokens: u64) -> anyhow::Result<()> {
	use blake2::{Blake2b, Digest, digest::consts::U32};
	let mut state = 0x7e55_e7a0_u64;
	let mut bytes = Vec::with_capacity(tokens as usize * 2);
	for _ in 0..tokens {
		state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = state;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^= z >> 31;
		// A skewed distribution, so there is something to learn.
		let id = ((z % vocab as u64) * (z % 7 + 1) / 7) as u16;
		bytes.extend_from_slice(&id.to_le_bytes());
	}
	std::fs::write(dir.join("tokens.bin"), &bytes)?;
	let manifest = CorpusManifest {
		format: tessera_data::corpus::FORMAT,
		source: "seeded".into(),
		source_sha256: String::new(),
		documents: 1,
		vocab_size: vocab,
		tokens,
		train_tokens: tokens * 9 / 10,
		tokenizer_digest: String::new(),
		dataset_digest: hex::encode(Blake2b::<U32>::digest(&bytes)),
	};
	std::fs::write(dir.join("corpus.json"), serde_json::to_string(&manifest)?)?;
	Ok(())
}

/// A tiny-model replica training 4 steps of 2 sequences, k = 64.
pub fn replica(config: &ModelConfig) -> anyhow::Result<Replica> {
	let inner = InnerConfig {
		steps: 4,
		batch_size: 2,
		schedule: LrSchedule { peak: 3e-3, warmup_steps: 2, decay_steps: 100, min_ratio: 0.1 },
	};
	let compress = CompressConfig { k: 64, ..CompressConfig::default() };
	Ok(Replica::new(config, &candle_core::Device::Cpu, AdamWConfig::default(), inner, compress, 1)?)
}
