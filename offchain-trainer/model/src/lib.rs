//! # tessera-model
//!
//! Owns θ and what is done to it locally, on candle: the model, a LLaMA-style decoder (RMSNorm,
//! RoPE, SwiGLU, tied or untied output projection) built only from differentiable candle ops and
//! exposed in parts (embedding, one [`Block`] at a time, head) for pipeline stages, with its size
//! configuration and its parameters in a fixed order (the order the codec, the payload and θ
//! hashes use); the miner's inner training ([`train`]: AdamW, the learning-rate schedule, the
//! compressed update); the codec on the model's device ([`codec_device`]: the GPU's kernels when
//! the model is on one); and checkpoints of θ ([`checkpoint`]). No chain, network or storage here.

pub mod block;
pub mod checkpoint;
pub mod codec_device;
pub mod config;
pub mod device;
pub mod fused;
pub mod init;
pub mod llama;
pub mod ops;
pub mod params;
pub mod train;

pub use block::{Block, Mode, Positions};
pub use codec_device::{DeviceCodec, DeviceCodecError};
pub use config::{ConfigError, ModelConfig};
pub use device::{DeviceError, model_device};
pub use llama::Llama;
pub use params::ParamSet;

/// What runs candle's matrix products on the CPU in this build: Intel's oneMKL with the `mkl`
/// feature, else the `gemm` crate (candle's default). `offchain-trainer bench` names it.
pub const CPU_MATMUL: &str = if cfg!(feature = "mkl") { "oneMKL" } else { "gemm crate" };

/// Errors of model construction and evaluation.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
	/// The configuration is invalid.
	#[error(transparent)]
	Config(#[from] ConfigError),
	/// A tensor operation failed.
	#[error("tensor operation failed: {0}")]
	Tensor(#[from] candle_core::Error),
	/// Parameters given to the model do not match its shapes.
	#[error("parameter {index} ({name}): expected {expected} values, got {got}")]
	ParamLength {
		/// Position of the parameter in model order.
		index: usize,
		/// Its name.
		name: String,
		/// Values the model expects.
		expected: usize,
		/// Values given.
		got: usize,
	},
	/// A range of blocks the model does not have.
	#[error("blocks {start}..{end} asked of a model with {blocks} blocks")]
	BlockRange {
		/// First block asked for.
		start: usize,
		/// One past the last.
		end: usize,
		/// Blocks the model has.
		blocks: usize,
	},
	/// A different number of parameter tensors than the model has.
	#[error("expected {expected} parameter tensors, got {got}")]
	ParamCount {
		/// Tensors the model has.
		expected: usize,
		/// Tensors given.
		got: usize,
	},
	/// A token id is outside the vocabulary.
	#[error("token id {token} is outside the vocabulary of {vocab}")]
	TokenOutOfRange {
		/// The offending id.
		token: u32,
		/// Vocabulary size.
		vocab: usize,
	},
}

#[cfg(test)]
mod tests {
	#[test]
	fn the_named_cpu_matmul_backend_is_the_one_candle_was_built_with() {
		assert_eq!(candle_core::utils::has_mkl(), cfg!(feature = "mkl"));
		assert_eq!(super::CPU_MATMUL == "oneMKL", candle_core::utils::has_mkl());
	}
}
