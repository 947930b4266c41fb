//! The update a miner publishes for a window: pseudo-gradient Δ = θ_start − θ_end per tensor,
//! error feedback and chunk-wise top-k + 2-bit compression (the codec, on the model's device:
//! [`crate::codec_device`]), then payload v1 and its BLAKE2b-256 hash (the on-chain
//! commitment). Holds the error-feedback buffers between windows.

use crate::codec_device::{DeviceCodec, DeviceCodecError, Feedback};
use crate::params::ParamSet;
use tessera_codec::{
	ChunkGeometry, CodecError, CompressConfig, CompressedTensor, Header, IndexCoding, Scratch,
	encode, hash::payload_hash,
};

/// Why no update could be built.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
	/// The codec refused the update (non-finite values, bad shapes, …).
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// The codec's device failed (a GPU's driver or memory, a tensor operation).
	#[error(transparent)]
	Device(DeviceCodecError),
	/// θ_start and θ_end do not match the model.
	#[error("expected {expected} tensors, got {got}")]
	TensorCount {
		/// Tensors of the model.
		expected: usize,
		/// Tensors given.
		got: usize,
	},
}

/// A built update.
#[derive(Clone, Debug)]
pub struct BuiltUpdate {
	/// Payload bytes (format v1).
	pub bytes: Vec<u8>,
	/// Their BLAKE2b-256 hash.
	pub hash: [u8; 32],
}

impl From<DeviceCodecError> for UpdateError {
	fn from(e: DeviceCodecError) -> Self {
		match e {
			DeviceCodecError::Codec(e) => Self::Codec(e),
			other => Self::Device(other),
		}
	}
}

/// Compresses successive windows' pseudo-gradients with error feedback.
pub struct UpdateBuilder {
	geometries: Vec<ChunkGeometry>,
	errors: Feedback,
	config: CompressConfig,
	coding: IndexCoding,
	scratch: Vec<Scratch>,
}

impl UpdateBuilder {
	/// A builder for a model with `shapes`, with zero error-feedback buffers, compressing on
	/// the CPU with `threads` threads.
	pub fn new(
		shapes: &[Vec<usize>],
		config: CompressConfig,
		coding: IndexCoding,
		threads: usize,
	) -> Result<Self, UpdateError> {
		Self::on(&DeviceCodec::cpu(), shapes, config, coding, threads)
	}

	/// A builder whose error feedback lives, and whose compression runs, where `codec` works
	/// (a GPU's memory for a model on a GPU); `threads` serve the CPU path.
	pub fn on(
		codec: &DeviceCodec,
		shapes: &[Vec<usize>],
		config: CompressConfig,
		coding: IndexCoding,
		threads: usize,
	) -> Result<Self, UpdateError> {
		let geometries =
			shapes.iter().map(|s| ChunkGeometry::for_shape(s)).collect::<Result<Vec<_>, _>>()?;
		let errors = codec.feedback(&geometries)?;
		let scratch = (0..threads.max(1)).map(|_| Scratch::default()).collect();
		Ok(Self { geometries, errors, config, coding, scratch })
	}

	/// A host copy of the error-feedback buffers (for checkpoints).
	pub fn errors(&self) -> Result<Vec<Vec<f32>>, UpdateError> {
		Ok(self.errors.to_host()?)
	}

	/// Restores error-feedback buffers from a checkpoint.
	pub fn restore_errors(&mut self, errors: Vec<Vec<f32>>) -> Result<(), UpdateError> {
		if errors.len() != self.geometries.len() {
			return Err(UpdateError::TensorCount {
				expected: self.geometries.len(),
				got: errors.len(),
			});
		}
		for (tensor, (e, g)) in errors.iter().zip(&self.geometries).enumerate() {
			if e.len() != g.len() {
				return Err(CodecError::LengthMismatch {
					tensor,
					what: "error buffer",
					got: e.len(),
					expected: g.len(),
				}
				.into());
			}
		}
		self.errors.replace(errors)?;
		Ok(())
	}

	/// Folds tensor `t`'s pseudo-gradient `delta` into its error buffer and compresses it (the
	/// codec's `compress_tensor_threaded` on this builder's buffers and threads, or its GPU
	/// kernels).
	pub fn compress_tensor(
		&mut self,
		t: usize,
		delta: &[f32],
	) -> Result<CompressedTensor, UpdateError> {
		let n = self.geometries.len();
		if t >= n {
			return Err(UpdateError::TensorCount { expected: n, got: t + 1 });
		}
		Ok(self.errors.compress_host(
			t,
			delta,
			&self.geometries[t],
			&self.config,
			&mut self.scratch,
		)?)
	}

	/// Chunks of the whole model (the denominator of "bytes per chunk").
	pub fn chunks(&self) -> usize {
		self.geometries.iter().map(ChunkGeometry::num_chunks).sum()
	}

	/// Builds the payload for `header` from θ at the start and end of the inner loop. On a
	/// codec error, tensors already folded into their buffers keep their new state, the failing
	/// tensor keeps its old one (see the codec), and no payload is produced.
	pub fn build(
		&mut self,
		theta_start: &[Vec<f32>],
		theta_end: &[Vec<f32>],
		header: Header,
	) -> Result<BuiltUpdate, UpdateError> {
		let n = self.geometries.len();
		for got in [theta_start.len(), theta_end.len()] {
			if got != n {
				return Err(UpdateError::TensorCount { expected: n, got });
			}
		}
		let mut tensors = Vec::with_capacity(n);
		for t in 0..n {
			let delta: Vec<f32> =
				theta_start[t].iter().zip(&theta_end[t]).map(|(a, b)| a - b).collect();
			tensors.push(self.compress_tensor(t, &delta)?);
		}
		Ok(self.finish(&header, &tensors))
	}

	/// [`UpdateBuilder::build`] with θ_end the model's trained `params`, wherever they live: on
	/// a GPU, Δ is formed and compressed there and only the compressed tensors come back.
	pub fn build_from_params(
		&mut self,
		theta_start: &[Vec<f32>],
		params: &ParamSet,
		header: Header,
	) -> Result<BuiltUpdate, UpdateError> {
		let n = self.geometries.len();
		for got in [theta_start.len(), params.len()] {
			if got != n {
				return Err(UpdateError::TensorCount { expected: n, got });
			}
		}
		let tensors = self.errors.compress_params(
			theta_start,
			params,
			&self.geometries,
			&self.config,
			&mut self.scratch,
		)?;
		Ok(self.finish(&header, &tensors))
	}

	fn finish(&self, header: &Header, tensors: &[CompressedTensor]) -> BuiltUpdate {
		let bytes = encode(header, tensors, self.coding);
		let hash = payload_hash(&bytes);
		BuiltUpdate { bytes, hash }
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_codec::{Expected, decode};

	#[test]
	fn builds_a_payload_that_decodes_for_the_model_and_keeps_the_residual() {
		let shapes = vec![vec![64, 128], vec![128]];
		let mut builder =
			UpdateBuilder::new(&shapes, CompressConfig::default(), IndexCoding::Rice, 2).unwrap();
		let start: Vec<Vec<f32>> = shapes.iter().map(|s| vec![0.5; s.iter().product()]).collect();
		let end: Vec<Vec<f32>> = start
			.iter()
			.map(|t| {
				t.iter().enumerate().map(|(i, v)| v - ((i % 97) as f32 - 48.0) * 1e-3).collect()
			})
			.collect();
		let header =
			Header { window: 3, miner: [7; 32], theta_hash: [1; 32], data_digest: [2; 32] };
		let built = builder.build(&start, &end, header).unwrap();
		assert_eq!(built.hash, payload_hash(&built.bytes));
		let payload = decode(
			&built.bytes,
			&Expected {
				window: 3,
				miner: &[7; 32],
				shapes: &shapes,
				rules: tessera_codec::Rules { k: 64, quantised: true, max_value: 1.0 },
			},
		)
		.unwrap();
		assert_eq!(payload.header, header);
		assert_eq!(payload.tensors[0].indices.len(), 2 * 64);
		assert!(
			builder.errors().unwrap()[0].iter().any(|e| *e != 0.0),
			"unsent mass stays in the buffer"
		);
	}

	#[test]
	fn a_non_finite_update_is_refused() {
		let shapes = vec![vec![8, 8]];
		let mut builder =
			UpdateBuilder::new(&shapes, CompressConfig::default(), IndexCoding::Packed12, 1)
				.unwrap();
		let mut end = vec![vec![0.0f32; 64]];
		end[0][5] = f32::NAN;
		let header =
			Header { window: 1, miner: [0; 32], theta_hash: [0; 32], data_digest: [0; 32] };
		let err = builder.build(&[vec![0.0; 64]], &end, header).unwrap_err();
		assert!(matches!(err, UpdateError::Codec(CodecError::NonFiniteInput { tensor: 0 })));
	}
}
