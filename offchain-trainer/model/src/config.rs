//! Model sizes: a TOML file per configuration (`configs/*.toml`), validated when loaded. The
//! built-in presets (`tiny`, `small`, `medium`) are those files, compiled in.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The shape and initialisation of a model.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
	/// A short name, shown in logs and checkpoints.
	pub name: String,
	/// Vocabulary size (must equal the tokenizer's).
	pub vocab_size: usize,
	/// Width of the residual stream.
	pub d_model: usize,
	/// Decoder blocks.
	pub n_layers: usize,
	/// Attention heads (divides `d_model`; head size even, for RoPE).
	pub n_heads: usize,
	/// Hidden width of the SwiGLU feed-forward block.
	pub d_ff: usize,
	/// Tokens per training sequence.
	pub seq_len: usize,
	/// RoPE base frequency.
	#[serde(default = "default_rope_theta")]
	pub rope_theta: f32,
	/// RMSNorm epsilon.
	#[serde(default = "default_norm_eps")]
	pub norm_eps: f32,
	/// Standard deviation of the initial weights.
	#[serde(default = "default_init_std")]
	pub init_std: f32,
	/// Seed of θ_0: every peer starts from the same parameters.
	#[serde(default)]
	pub init_seed: u64,
	/// The output projection is the embedding's transpose (default); `false` gives the model
	/// a separate `lm_head` parameter (vocab × d_model), drawn like the embedding.
	#[serde(default = "default_tie_embeddings")]
	pub tie_embeddings: bool,
}

fn default_tie_embeddings() -> bool {
	true
}

fn default_rope_theta() -> f32 {
	10_000.0
}
fn default_norm_eps() -> f32 {
	1e-5
}
fn default_init_std() -> f32 {
	0.02
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
	/// The file could not be read.
	#[error("cannot read model config {path}: {source}")]
	Read {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// The TOML is malformed or has unknown fields.
	#[error("malformed model config {origin}: {message}")]
	Parse {
		/// File or preset name.
		origin: String,
		/// The parser's message.
		message: String,
	},
	/// A field is out of range.
	#[error("model config {name}: {message}")]
	Invalid {
		/// The config's name.
		name: String,
		/// What is wrong.
		message: String,
	},
	/// No preset of that name.
	#[error(
		"no model preset named {0:?} (presets: tiny, small, medium; or a path to a .toml file)"
	)]
	UnknownPreset(String),
}

const PRESETS: [(&str, &str); 3] = [
	("tiny", include_str!("../../configs/tiny.toml")),
	("small", include_str!("../../configs/small.toml")),
	("medium", include_str!("../../configs/medium.toml")),
];

impl ModelConfig {
	/// A preset by name, or a TOML file when `name_or_path` names one.
	pub fn load(name_or_path: &str) -> Result<Self, ConfigError> {
		if let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
			return Self::parse(text, name_or_path);
		}
		let path = Path::new(name_or_path);
		if path.extension().is_some_and(|e| e == "toml") {
			let text = std::fs::read_to_string(path)
				.map_err(|source| ConfigError::Read { path: name_or_path.into(), source })?;
			return Self::parse(&text, name_or_path);
		}
		Err(ConfigError::UnknownPreset(name_or_path.into()))
	}

	/// Parses and validates TOML text; `origin` names it in errors.
	pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
		let config: Self = toml::from_str(text)
			.map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
		config.validate()?;
		Ok(config)
	}

	/// Checks every field's range.
	pub fn validate(&self) -> Result<(), ConfigError> {
		let invalid = |message: String| ConfigError::Invalid { name: self.name.clone(), message };
		for (field, value) in [
			("vocab_size", self.vocab_size),
			("d_model", self.d_model),
			("n_layers", self.n_layers),
			("n_heads", self.n_heads),
			("d_ff", self.d_ff),
			("seq_len", self.seq_len),
		] {
			if value == 0 {
				return Err(invalid(format!("{field} must be positive")));
			}
		}
		if self.vocab_size > usize::from(u16::MAX) + 1 {
			return Err(invalid(
				"vocab_size must be at most 65536 (tokens are stored as u16)".into(),
			));
		}
		if !self.d_model.is_multiple_of(self.n_heads) {
			return Err(invalid(format!(
				"d_model {} is not divisible by n_heads {}",
				self.d_model, self.n_heads
			)));
		}
		if !self.head_dim().is_multiple_of(2) {
			return Err(invalid(format!("head size {} must be even for RoPE", self.head_dim())));
		}
		for (field, value) in [
			("rope_theta", self.rope_theta),
			("norm_eps", self.norm_eps),
			("init_std", self.init_std),
		] {
			if !(value.is_finite() && value > 0.0) {
				return Err(invalid(format!("{field} must be finite and positive")));
			}
		}
		Ok(())
	}

	/// Size of one attention head.
	pub fn head_dim(&self) -> usize {
		self.d_model / self.n_heads
	}

	/// Parameters of the model.
	pub fn parameter_count(&self) -> usize {
		let per_layer =
			2 * self.d_model + 4 * self.d_model * self.d_model + 3 * self.d_model * self.d_ff;
		let head = if self.tie_embeddings { 0 } else { self.vocab_size * self.d_model };
		self.vocab_size * self.d_model + self.n_layers * per_layer + self.d_model + head
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn presets_load_and_have_the_documented_sizes() {
		let tiny = ModelConfig::load("tiny").unwrap();
		let small = ModelConfig::load("small").unwrap();
		let medium = ModelConfig::load("medium").unwrap();
		assert!(
			(0.7e6..1.5e6).contains(&(tiny.parameter_count() as f64)),
			"{}",
			tiny.parameter_count()
		);
		assert!(
			(15e6..25e6).contains(&(small.parameter_count() as f64)),
			"{}",
			small.parameter_count()
		);
		assert!(medium.parameter_count() > 100_000_000);
	}

	#[test]
	fn bad_configs_are_refused_with_the_field_named() {
		let base = include_str!("../../configs/tiny.toml");
		let cases = [
			("n_heads = 4", "n_heads = 3", "not divisible"),
			("n_heads = 4", "n_heads = 0", "n_heads must be positive"),
			("vocab_size = 4096", "vocab_size = 70000", "at most 65536"),
		];
		for (from, to, expected) in cases {
			assert!(base.contains(from), "{from}");
			let err = ModelConfig::parse(&base.replace(from, to), "test").unwrap_err();
			assert!(err.to_string().contains(expected), "{err}");
		}
		let err = ModelConfig::parse(&format!("{base}\nbogus = 1\n"), "test").unwrap_err();
		assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
		assert!(matches!(ModelConfig::load("huge"), Err(ConfigError::UnknownPreset(_))));
	}
}
