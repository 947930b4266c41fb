//! The run's identity as this peer computes it (its model configuration and corpus), checked
//! against the manifest on chain at start (DESIGN.md §2): any difference refuses to run, naming
//! the field and both values. What only the chain decides (the outer learning rate, `k`, the
//! value coding, the largest update value, the fewest updates that make a step) comes from the
//! chain as [`Network`], and so does the inner optimizer every miner trains with.

use tessera_chain::run::{
	CodecManifest, HistoryManifest, InnerManifest, ModelManifest, OuterManifest, RunManifest,
	from_e9, from_e9_f64, model_fields, to_e9,
};
use tessera_codec::Rules;
use tessera_data::corpus::CorpusManifest;
use tessera_model::ModelConfig;
use tessera_model::train::{AdamWConfig, InnerConfig, LrSchedule};

/// What the chain decides for every peer of the run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
	/// Outer learning rate.
	pub outer_lr: f32,
	/// The codec rules every payload must obey.
	pub rules: Rules,
	/// Fewest included updates that make a step (fewer: a null round, θ unchanged).
	pub min_updates: usize,
	/// The inner loop every miner runs.
	pub inner: InnerConfig,
	/// The inner optimizer.
	pub adamw: AdamWConfig,
	/// History kept on chain and checkpoints.
	pub history: History,
}

/// How long the chain keeps history, and the network's checkpoints (the manifest's
/// `history`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct History {
	/// Windows whose records stay on chain.
	pub retain_windows: u64,
	/// Validators checkpoint θ after every window that is a multiple of this.
	pub checkpoint_interval: u64,
	/// Checkpoints kept, on chain and in the stores.
	pub checkpoints_kept: u64,
}

impl History {
	/// Windows a miner keeps its payloads readable: `checkpoints_kept × checkpoint_interval + 2`
	/// (a joiner replays from the oldest kept checkpoint, recorded up to two windows after its
	/// own window).
	pub fn payload_windows(&self) -> u64 {
		self.checkpoints_kept.saturating_mul(self.checkpoint_interval).saturating_add(2)
	}

	/// Whether validators checkpoint θ after `window`.
	pub fn is_checkpoint_window(&self, window: u64) -> bool {
		window >= 1
			&& self.checkpoint_interval > 0
			&& window.is_multiple_of(self.checkpoint_interval)
	}
}

/// Why this peer cannot run on this chain.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
	/// No run was started.
	#[error(
		"no run has been started on this chain: its operator starts one with \
		 `offchain-trainer start-run` (or a chain spec with a run)"
	)]
	NotStarted,
	/// The peer's own identity differs from the run's.
	#[error(
		"this peer's {field} is {ours}, the run's on chain is {chain}: it cannot join this run"
	)]
	Mismatch {
		/// The manifest field.
		field: &'static str,
		/// This peer's value.
		ours: String,
		/// The chain's.
		chain: String,
	},
	/// The corpus manifest's digests are not 32-byte hex.
	#[error("the corpus' {what} digest {value:?} is not 32 bytes of hex")]
	BadDigest {
		/// `tokenizer` or `dataset`.
		what: &'static str,
		/// The value.
		value: String,
	},
}

/// What the chain decides, chosen by the operator who starts a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunChoices {
	/// Outer learning rate.
	pub outer_lr: f32,
	/// Values kept per chunk.
	pub top_k: u32,
	/// 2-bit quantised values.
	pub quantised: bool,
	/// Largest magnitude of a kept value.
	pub max_update_value: f32,
	/// Fewest included updates that make a step.
	pub min_updates: u32,
	/// The inner loop every miner runs.
	pub inner: InnerConfig,
	/// The inner optimizer.
	pub adamw: AdamWConfig,
	/// History kept on chain and checkpoints.
	pub history: History,
}

fn digest(what: &'static str, hex_value: &str) -> Result<[u8; 32], RunError> {
	let bad = || RunError::BadDigest { what, value: hex_value.into() };
	hex::decode(hex_value).map_err(|_| bad())?.try_into().map_err(|_| bad())
}

/// The model part of a manifest, from a model configuration.
pub fn model_manifest(m: &ModelConfig) -> ModelManifest {
	let dim = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
	ModelManifest {
		vocab_size: dim(m.vocab_size),
		d_model: dim(m.d_model),
		n_layers: dim(m.n_layers),
		n_heads: dim(m.n_heads),
		d_ff: dim(m.d_ff),
		seq_len: dim(m.seq_len),
		rope_theta_e9: to_e9(f64::from(m.rope_theta)),
		norm_eps_e9: to_e9(f64::from(m.norm_eps)),
		init_std_e9: to_e9(f64::from(m.init_std)),
		init_seed: m.init_seed,
		tie_embeddings: m.tie_embeddings,
	}
}

/// The manifest of a run of `model` on `corpus` with `choices` (what `start-run` submits).
pub fn manifest(
	model: &ModelConfig,
	corpus: &CorpusManifest,
	choices: &RunChoices,
) -> Result<RunManifest, RunError> {
	use subxt::utils::H256;
	Ok(RunManifest {
		model: model_manifest(model),
		tokenizer: H256(digest("tokenizer", &corpus.tokenizer_digest)?),
		dataset: H256(digest("dataset", &corpus.dataset_digest)?),
		inner: InnerManifest {
			steps: u32::try_from(choices.inner.steps).unwrap_or(u32::MAX),
			batch_size: u32::try_from(choices.inner.batch_size).unwrap_or(u32::MAX),
			peak_lr_e9: to_e9(choices.inner.schedule.peak),
			warmup_steps: choices.inner.schedule.warmup_steps,
			decay_steps: choices.inner.schedule.decay_steps,
			min_ratio_e9: to_e9(choices.inner.schedule.min_ratio),
			beta1_e9: to_e9(choices.adamw.beta1),
			beta2_e9: to_e9(choices.adamw.beta2),
			eps_e9: to_e9(choices.adamw.eps),
			weight_decay_e9: to_e9(choices.adamw.weight_decay),
			max_grad_norm_e9: to_e9(choices.adamw.max_grad_norm),
		},
		outer: OuterManifest {
			lr_e9: to_e9(f64::from(choices.outer_lr)),
			max_update_value_e9: to_e9(f64::from(choices.max_update_value)),
			min_updates: choices.min_updates,
		},
		codec: CodecManifest {
			version: tessera_codec::format::VERSION,
			top_k: choices.top_k,
			quantised: choices.quantised,
		},
		history: HistoryManifest {
			retain_windows: u32::try_from(choices.history.retain_windows).unwrap_or(u32::MAX),
			checkpoint_interval: u32::try_from(choices.history.checkpoint_interval)
				.unwrap_or(u32::MAX),
			checkpoints_kept: u32::try_from(choices.history.checkpoints_kept).unwrap_or(u32::MAX),
		},
	})
}

/// Checks this peer's model and corpus against the run on chain; the network's choices if they
/// agree, else the first field that differs.
pub fn check(
	model: &ModelConfig,
	corpus: &CorpusManifest,
	chain: Option<&RunManifest>,
) -> Result<Network, RunError> {
	let chain = chain.ok_or(RunError::NotStarted)?;
	let mismatch = |field, ours: String, chain: String| RunError::Mismatch { field, ours, chain };
	let ours = model_fields(&model_manifest(model));
	for ((field, a, shown_a), (_, b, shown_b)) in ours.into_iter().zip(model_fields(&chain.model)) {
		if a != b {
			return Err(mismatch(field, shown_a, shown_b));
		}
	}
	for (what, field, ours, theirs) in [
		("tokenizer", "tokenizer digest", &corpus.tokenizer_digest, chain.tokenizer.0),
		("dataset", "dataset digest", &corpus.dataset_digest, chain.dataset.0),
	] {
		if digest(what, ours)? != theirs {
			return Err(mismatch(field, ours.clone(), hex::encode(theirs)));
		}
	}
	if chain.codec.version != tessera_codec::format::VERSION {
		return Err(mismatch(
			"payload format version",
			tessera_codec::format::VERSION.to_string(),
			chain.codec.version.to_string(),
		));
	}
	Ok(Network {
		outer_lr: from_e9(chain.outer.lr_e9),
		rules: Rules {
			k: chain.codec.top_k as usize,
			quantised: chain.codec.quantised,
			max_value: from_e9(chain.outer.max_update_value_e9),
		},
		min_updates: chain.outer.min_updates as usize,
		inner: InnerConfig {
			steps: chain.inner.steps as usize,
			batch_size: chain.inner.batch_size as usize,
			schedule: LrSchedule {
				peak: from_e9_f64(chain.inner.peak_lr_e9),
				warmup_steps: chain.inner.warmup_steps,
				decay_steps: chain.inner.decay_steps,
				min_ratio: from_e9_f64(chain.inner.min_ratio_e9),
			},
		},
		adamw: AdamWConfig {
			beta1: from_e9_f64(chain.inner.beta1_e9),
			beta2: from_e9_f64(chain.inner.beta2_e9),
			eps: from_e9_f64(chain.inner.eps_e9),
			weight_decay: from_e9_f64(chain.inner.weight_decay_e9),
			max_grad_norm: from_e9_f64(chain.inner.max_grad_norm_e9),
		},
		history: History {
			retain_windows: chain.history.retain_windows.into(),
			checkpoint_interval: chain.history.checkpoint_interval.into(),
			checkpoints_kept: chain.history.checkpoints_kept.into(),
		},
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn corpus() -> CorpusManifest {
		CorpusManifest {
			format: 1,
			source: "s".into(),
			source_sha256: "00".into(),
			documents: 1,
			vocab_size: 512,
			tokens: 10,
			train_tokens: 9,
			tokenizer_digest: hex::encode([1u8; 32]),
			dataset_digest: hex::encode([2u8; 32]),
		}
	}

	fn choices() -> RunChoices {
		RunChoices {
			outer_lr: 0.7,
			top_k: 64,
			quantised: true,
			max_update_value: 1.0,
			min_updates: 1,
			inner: InnerConfig::default(),
			adamw: AdamWConfig::default(),
			history: History { retain_windows: 6, checkpoint_interval: 2, checkpoints_kept: 2 },
		}
	}

	#[test]
	fn a_peer_with_the_runs_identity_gets_the_networks_choices() {
		let model = ModelConfig::load("tiny").unwrap();
		let run = manifest(&model, &corpus(), &choices()).unwrap();
		let network = check(&model, &corpus(), Some(&run)).unwrap();
		assert_eq!(network.outer_lr, 0.7);
		assert_eq!(network.rules, Rules { k: 64, quantised: true, max_value: 1.0 });
		assert_eq!(network.min_updates, 1);
		assert_eq!(network.inner, InnerConfig::default());
		assert_eq!(network.adamw, AdamWConfig::default());
		assert_eq!(network.history, choices().history);
		assert_eq!(network.history.payload_windows(), 6);
		assert!(
			network.history.is_checkpoint_window(4) && !network.history.is_checkpoint_window(3)
		);
	}

	#[test]
	fn each_difference_is_refused_with_the_field_and_both_values() {
		let model = ModelConfig::load("tiny").unwrap();
		let run = manifest(&model, &corpus(), &choices()).unwrap();
		let field_of =
			|model: &ModelConfig, corpus: &CorpusManifest| match check(model, corpus, Some(&run)) {
				Err(RunError::Mismatch { field, ours, chain }) => (field, ours, chain),
				other => panic!("expected a mismatch, got {other:?}"),
			};
		let mut other = model.clone();
		other.rope_theta = 500_000.0;
		assert_eq!(
			field_of(&other, &corpus()),
			("model rope_theta", "500000".into(), "10000".into())
		);
		let mut other = model.clone();
		other.n_layers += 1;
		assert_eq!(field_of(&other, &corpus()).0, "model n_layers");
		let mut c = corpus();
		c.tokenizer_digest = hex::encode([9u8; 32]);
		assert_eq!(field_of(&model, &c).0, "tokenizer digest");
		let mut c = corpus();
		c.dataset_digest = hex::encode([9u8; 32]);
		assert_eq!(field_of(&model, &c).0, "dataset digest");
		assert!(matches!(check(&model, &corpus(), None), Err(RunError::NotStarted)));
	}
}
