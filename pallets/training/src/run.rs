//! The run's identity (DESIGN.md §2): the model, tokenizer, dataset, inner optimizer, outer step
//! and codec every peer must share to train the same θ. Set once, at genesis or by
//! [`crate::Pallet::start_run`]; a peer computes its own at start and refuses to run on any
//! difference. Numbers are fixed-point integers (`_e9`: units of 10⁻⁹), never floats.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// The model's configuration: its shape and how θ_0 is made.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct ModelManifest {
	/// Vocabulary size.
	pub vocab_size: u32,
	/// Width of the residual stream.
	pub d_model: u32,
	/// Decoder blocks.
	pub n_layers: u32,
	/// Attention heads.
	pub n_heads: u32,
	/// Hidden width of the feed-forward block.
	pub d_ff: u32,
	/// Tokens per training sequence.
	pub seq_len: u32,
	/// RoPE base frequency, in 10⁻⁹.
	pub rope_theta_e9: u64,
	/// RMSNorm epsilon, in 10⁻⁹.
	pub norm_eps_e9: u64,
	/// Standard deviation of θ_0's weights, in 10⁻⁹.
	pub init_std_e9: u64,
	/// Seed of θ_0.
	pub init_seed: u64,
	/// Whether the output projection is the embedding's transpose.
	pub tie_embeddings: bool,
}

/// The outer step every peer applies.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct OuterManifest {
	/// Outer learning rate, in 10⁻⁹.
	pub lr_e9: u64,
	/// Largest magnitude of any value an update keeps, in 10⁻⁹: a payload with a larger one
	/// (a quantisation table entry or a raw value) is invalid. It bounds every update's norm
	/// absolutely (`≤ max · √kept`) and what one window can move a parameter (`≤ lr · max`).
	pub max_update_value_e9: u64,
	/// Fewest included updates that make a step; a window with fewer is a null round (θ
	/// unchanged, [`crate::Event::NullRound`]).
	pub min_updates: u32,
}

/// The inner optimizer every miner trains with: AdamW over `steps` steps of `batch_size`
/// sequences a window, the learning rate on a warm-up + cosine schedule over network-wide steps.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct InnerManifest {
	/// Inner steps per window (H).
	pub steps: u32,
	/// Sequences per inner step.
	pub batch_size: u32,
	/// Peak learning rate, in 10⁻⁹.
	pub peak_lr_e9: u64,
	/// Steps of linear warm-up.
	pub warmup_steps: u64,
	/// Steps of cosine decay after the warm-up.
	pub decay_steps: u64,
	/// Final learning rate as a share of the peak, in 10⁻⁹.
	pub min_ratio_e9: u64,
	/// AdamW β₁, in 10⁻⁹.
	pub beta1_e9: u64,
	/// AdamW β₂, in 10⁻⁹.
	pub beta2_e9: u64,
	/// AdamW ε, in 10⁻⁹.
	pub eps_e9: u64,
	/// Decoupled weight decay, in 10⁻⁹.
	pub weight_decay_e9: u64,
	/// Largest global gradient norm, in 10⁻⁹.
	pub max_grad_norm_e9: u64,
}

/// How updates are compressed (payload format, `docs/payload-format.md`).
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct CodecManifest {
	/// Payload format version.
	pub version: u16,
	/// Values kept per chunk (capped at a chunk's size); every payload must use exactly this.
	pub top_k: u32,
	/// Values are 2-bit quantised (`true`) or raw f32 (`false`); every payload must use this.
	pub quantised: bool,
}

/// How long the chain keeps history, and how often θ is checkpointed into validators' stores
/// (DESIGN.md §2.6): a peer with an empty disk loads the newest checkpoint and replays the
/// windows since, so every window after the oldest kept checkpoint must still be on chain.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct HistoryManifest {
	/// Windows whose records (commitments, aggregation sets, verdicts) stay on chain; older ones
	/// are pruned. At most the runtime's `RetainWindows`.
	pub retain_windows: u32,
	/// Validators checkpoint θ after every window that is a multiple of this.
	pub checkpoint_interval: u32,
	/// Checkpoints kept (on chain and in the stores); recording a newer one drops the oldest.
	pub checkpoints_kept: u32,
}

impl HistoryManifest {
	/// Windows a miner keeps its payloads readable: a joiner replays from the oldest kept
	/// checkpoint, up to `checkpoints_kept × checkpoint_interval` windows back, and that
	/// checkpoint is recorded up to two windows after its own window (its verdict first).
	pub fn payload_windows(&self) -> u64 {
		u64::from(self.checkpoints_kept) * u64::from(self.checkpoint_interval) + 2
	}
}

/// The run's identity.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct RunManifest {
	/// The model.
	pub model: ModelManifest,
	/// BLAKE2b-256 of the tokenizer file.
	pub tokenizer: H256,
	/// BLAKE2b-256 of the dataset's tokens.
	pub dataset: H256,
	/// The inner optimizer.
	pub inner: InnerManifest,
	/// The outer step.
	pub outer: OuterManifest,
	/// The codec.
	pub codec: CodecManifest,
	/// History kept on chain and checkpoints.
	pub history: HistoryManifest,
}

/// What the runtime allows a manifest.
#[derive(Clone, Copy, Debug)]
pub struct ManifestLimits {
	/// The aggregation set's size: more updates than that can never be included.
	pub aggregation_size: u32,
	/// The runtime's `RetainWindows`.
	pub retain_windows: u32,
	/// The runtime's `MaxCheckpoints`.
	pub max_checkpoints: u32,
}

/// Largest `top_k`: a chunk holds 4096 values.
pub const MAX_TOP_K: u32 = 4096;

impl RunManifest {
	/// What makes the manifest unusable under `limits`, if anything.
	pub fn problem(&self, limits: ManifestLimits) -> Option<&'static str> {
		let max_min_updates = limits.aggregation_size;
		let m = &self.model;
		if [m.vocab_size, m.d_model, m.n_layers, m.n_heads, m.d_ff, m.seq_len].contains(&0) {
			return Some("a model dimension is 0");
		}
		if !m.d_model.is_multiple_of(m.n_heads) || !(m.d_model / m.n_heads).is_multiple_of(2) {
			return Some("n_heads must divide d_model into heads of even size");
		}
		if m.rope_theta_e9 == 0 || m.norm_eps_e9 == 0 || m.init_std_e9 == 0 {
			return Some("rope_theta, norm_eps and init_std must be positive");
		}
		let i = &self.inner;
		if i.steps == 0 || i.batch_size == 0 || i.peak_lr_e9 == 0 {
			return Some("inner steps, batch size and learning rate must be positive");
		}
		if i.beta1_e9 >= 1_000_000_000
			|| i.beta2_e9 >= 1_000_000_000
			|| i.min_ratio_e9 > 1_000_000_000
		{
			return Some("AdamW betas must be below 1 and the final learning-rate share at most 1");
		}
		if self.outer.lr_e9 == 0 || self.outer.max_update_value_e9 == 0 {
			return Some("the outer learning rate and the update cap must be positive");
		}
		if self.outer.min_updates == 0 || self.outer.min_updates > max_min_updates {
			return Some("min_updates must be between 1 and AggregationSize");
		}
		if self.codec.version == 0 || self.codec.top_k == 0 || self.codec.top_k > MAX_TOP_K {
			return Some("the codec version must be positive and top_k in 1..=4096");
		}
		let h = &self.history;
		if h.retain_windows == 0 || h.retain_windows > limits.retain_windows {
			return Some("retain_windows must be between 1 and the runtime's RetainWindows");
		}
		if h.checkpoint_interval == 0
			|| h.checkpoints_kept == 0
			|| h.checkpoints_kept > limits.max_checkpoints
		{
			return Some(
				"checkpoint_interval must be positive and checkpoints_kept in 1..=MaxCheckpoints",
			);
		}
		if h.payload_windows() > u64::from(h.retain_windows) {
			return Some(
				"retain_windows must be at least checkpoints_kept × checkpoint_interval + 2, so \
				 that a joiner can replay from the oldest kept checkpoint",
			);
		}
		None
	}
}

/// A small run, for tests and benchmarks.
#[cfg(any(test, feature = "runtime-benchmarks"))]
pub fn example() -> RunManifest {
	RunManifest {
		model: ModelManifest {
			vocab_size: 512,
			d_model: 64,
			n_layers: 2,
			n_heads: 4,
			d_ff: 128,
			seq_len: 64,
			rope_theta_e9: 10_000_000_000_000,
			norm_eps_e9: 10_000,
			init_std_e9: 20_000_000,
			init_seed: 0,
			tie_embeddings: true,
		},
		tokenizer: H256::repeat_byte(1),
		dataset: H256::repeat_byte(2),
		inner: InnerManifest {
			steps: 30,
			batch_size: 8,
			peak_lr_e9: 1_000_000,
			warmup_steps: 100,
			decay_steps: 10_000,
			min_ratio_e9: 100_000_000,
			beta1_e9: 900_000_000,
			beta2_e9: 950_000_000,
			eps_e9: 10,
			weight_decay_e9: 100_000_000,
			max_grad_norm_e9: 1_000_000_000,
		},
		outer: OuterManifest { lr_e9: 700_000_000, max_update_value_e9: 1_000_000, min_updates: 1 },
		codec: CodecManifest { version: 1, top_k: 64, quantised: true },
		history: HistoryManifest { retain_windows: 3, checkpoint_interval: 1, checkpoints_kept: 1 },
	}
}
