//! The codec where the model is. On the CPU this is the codec's CPU path. On a CUDA device (a
//! build with the feature `cuda`) the miner's error-feedback buffers live in GPU memory, the
//! pseudo-gradient Δ = θ_start − θ_end is formed there from the trained parameters, and the
//! codec's GPU kernels compress it; the outer step runs on the GPU too. What comes back to the
//! host is only what leaves the peer anyway: the compressed tensors (the payload) and θ_{w+1},
//! which stays the host-side source of truth that is hashed and checkpointed.
//!
//! The outer step is bit-identical on either path (the codec's GPU tests and
//! `gpu_outer_step_matches_the_cpu_on_the_model`); so are Δ (one f32 subtraction either way), the
//! error feedback and the top-k positions. Only a quantised value lying exactly on a bin edge may
//! take the neighbouring code on the GPU (`tessera_codec::cuda`), which no peer depends on.

use crate::params::ParamSet;
use candle_core::Device;
use tessera_codec::{
	ChunkGeometry, CodecError, CompressConfig, CompressedTensor, OuterStep, Scratch,
	compress_tensor_threaded,
};

/// Why the codec could not run on the model's device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceCodecError {
	/// The codec refused the input (non-finite values, lengths that do not match, …).
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// A tensor operation failed.
	#[error("tensor operation failed: {0}")]
	Tensor(#[from] candle_core::Error),
	/// The model's parameters could not be read.
	#[error(transparent)]
	Model(#[from] crate::ModelError),
	/// The GPU path failed (driver, kernels, memory).
	#[cfg(feature = "cuda")]
	#[error(transparent)]
	Gpu(#[from] tessera_codec::cuda::GpuError),
	/// A parameter tensor on the GPU is not one contiguous buffer of its length.
	#[error("parameter {index} is not a contiguous device buffer of {expected} values")]
	NotContiguous {
		/// Position of the parameter in model order.
		index: usize,
		/// Values it should hold.
		expected: usize,
	},
}

/// The codec's engine for one device: the CPU, or (feature `cuda`) the GPU the model is on.
#[derive(Clone)]
pub struct DeviceCodec {
	#[cfg(feature = "cuda")]
	gpu: Option<std::sync::Arc<tessera_codec::cuda::Gpu>>,
}

impl std::fmt::Debug for DeviceCodec {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(if self.on_gpu() { "DeviceCodec(gpu)" } else { "DeviceCodec(cpu)" })
	}
}

impl DeviceCodec {
	/// The CPU codec.
	pub fn cpu() -> Self {
		Self {
			#[cfg(feature = "cuda")]
			gpu: None,
		}
	}

	/// The codec for a model on `device`: the GPU's kernels (loaded once here) when it is a
	/// CUDA device, else the CPU's.
	pub fn for_device(device: &Device) -> Result<Self, DeviceCodecError> {
		#[cfg(feature = "cuda")]
		if let candle_core::DeviceLocation::Cuda { gpu_id } = device.location() {
			let gpu = tessera_codec::cuda::Gpu::new(gpu_id)?;
			return Ok(Self { gpu: Some(std::sync::Arc::new(gpu)) });
		}
		let _ = device;
		Ok(Self::cpu())
	}

	/// Whether compression and the outer step run on a GPU.
	pub fn on_gpu(&self) -> bool {
		#[cfg(feature = "cuda")]
		return self.gpu.is_some();
		#[cfg(not(feature = "cuda"))]
		false
	}

	/// The outer step on θ (host buffers, one per tensor): on the GPU, θ is copied there,
	/// aggregated and copied back; bit-identical to [`tessera_codec::apply_outer_step`].
	pub fn apply_outer_step<P: AsRef<[CompressedTensor]>>(
		&self,
		theta: &mut [Vec<f32>],
		peers: &[P],
		step: &OuterStep,
	) -> Result<(), DeviceCodecError> {
		#[cfg(feature = "cuda")]
		if let Some(gpu) = &self.gpu {
			return gpu::apply_outer_step(gpu, theta, peers, step);
		}
		Ok(tessera_codec::apply_outer_step(theta, peers, step)?)
	}

	/// Error-feedback buffers of `geometries` (zero) held where this codec works.
	pub fn feedback(&self, geometries: &[ChunkGeometry]) -> Result<Feedback, DeviceCodecError> {
		#[cfg(feature = "cuda")]
		if let Some(gpu) = &self.gpu {
			return Ok(Feedback::Gpu(gpu::Buffers::zeros(gpu.clone(), geometries)?));
		}
		Ok(Feedback::Host(geometries.iter().map(|g| vec![0.0; g.len()]).collect()))
	}
}

/// A miner's error-feedback buffers, one per tensor, where its codec works.
pub enum Feedback {
	/// In host memory (the CPU codec).
	Host(Vec<Vec<f32>>),
	/// In GPU memory (the GPU codec).
	#[cfg(feature = "cuda")]
	Gpu(gpu::Buffers),
}

impl Feedback {
	/// A copy of the buffers in host memory (for checkpoints).
	pub fn to_host(&self) -> Result<Vec<Vec<f32>>, DeviceCodecError> {
		match self {
			Self::Host(errors) => Ok(errors.clone()),
			#[cfg(feature = "cuda")]
			Self::Gpu(buffers) => buffers.download(),
		}
	}

	/// Replaces the buffers with `errors` (lengths already checked against the model).
	pub fn replace(&mut self, errors: Vec<Vec<f32>>) -> Result<(), DeviceCodecError> {
		match self {
			Self::Host(held) => *held = errors,
			#[cfg(feature = "cuda")]
			Self::Gpu(buffers) => buffers.upload(&errors)?,
		}
		Ok(())
	}

	/// Folds tensor `t`'s pseudo-gradient `delta` (host values) into its buffer and compresses
	/// it; the CPU path uses `scratch`'s threads.
	pub fn compress_host(
		&mut self,
		t: usize,
		delta: &[f32],
		geometry: &ChunkGeometry,
		config: &CompressConfig,
		scratch: &mut [Scratch],
	) -> Result<CompressedTensor, DeviceCodecError> {
		match self {
			Self::Host(errors) => {
				let held = errors.len();
				let error = errors.get_mut(t).ok_or_else(|| no_buffer(t, held))?;
				Ok(compress_tensor_threaded(t, error, delta, geometry, config, scratch)?)
			},
			#[cfg(feature = "cuda")]
			Self::Gpu(buffers) => buffers.compress_host(t, delta, geometry, config),
		}
	}

	/// Compresses every tensor's Δ = `theta_start` − `params` (the trained parameters): on the
	/// GPU, Δ is formed and compressed there; on the host, the parameters are copied out first.
	pub fn compress_params(
		&mut self,
		theta_start: &[Vec<f32>],
		params: &ParamSet,
		geometries: &[ChunkGeometry],
		config: &CompressConfig,
		scratch: &mut [Scratch],
	) -> Result<Vec<CompressedTensor>, DeviceCodecError> {
		#[cfg(feature = "cuda")]
		if let Self::Gpu(buffers) = self {
			return buffers.compress_params(theta_start, params, geometries, config);
		}
		let theta_end = params.to_vecs()?;
		let mut tensors = Vec::with_capacity(geometries.len());
		for (t, ((start, end), geometry)) in
			theta_start.iter().zip(&theta_end).zip(geometries).enumerate()
		{
			let delta: Vec<f32> = start.iter().zip(end).map(|(a, b)| a - b).collect();
			tensors.push(self.compress_host(t, &delta, geometry, config, scratch)?);
		}
		Ok(tensors)
	}
}

/// No error buffer for tensor `t` among the `held` ones.
fn no_buffer(t: usize, held: usize) -> CodecError {
	CodecError::LengthMismatch { tensor: t, what: "error buffer list", got: held, expected: t + 1 }
}

/// The GPU side (feature `cuda`).
#[cfg(feature = "cuda")]
mod gpu {
	use super::DeviceCodecError;
	use crate::params::ParamSet;
	use candle_core::{Storage, Tensor};
	use std::sync::Arc;
	use tessera_codec::{
		ChunkGeometry, CompressConfig, CompressedTensor, OuterStep,
		cuda::{CudaSlice, Gpu},
	};

	/// Error-feedback buffers in GPU memory.
	pub struct Buffers {
		gpu: Arc<Gpu>,
		buffers: Vec<CudaSlice<f32>>,
	}

	impl Buffers {
		/// Zero buffers for `geometries`.
		pub fn zeros(
			gpu: Arc<Gpu>,
			geometries: &[ChunkGeometry],
		) -> Result<Self, DeviceCodecError> {
			let buffers =
				geometries.iter().map(|g| gpu.zeros(g.len())).collect::<Result<Vec<_>, _>>()?;
			Ok(Self { gpu, buffers })
		}

		/// A host copy.
		pub fn download(&self) -> Result<Vec<Vec<f32>>, DeviceCodecError> {
			Ok(self.buffers.iter().map(|b| self.gpu.download(b)).collect::<Result<_, _>>()?)
		}

		/// Replaces the buffers with host values.
		pub fn upload(&mut self, errors: &[Vec<f32>]) -> Result<(), DeviceCodecError> {
			self.buffers = errors.iter().map(|e| self.gpu.upload(e)).collect::<Result<_, _>>()?;
			Ok(())
		}

		fn buffer(&mut self, t: usize) -> Result<&mut CudaSlice<f32>, DeviceCodecError> {
			let held = self.buffers.len();
			Ok(self.buffers.get_mut(t).ok_or_else(|| super::no_buffer(t, held))?)
		}

		/// Compresses a Δ given in host memory (copied to the GPU first).
		pub fn compress_host(
			&mut self,
			t: usize,
			delta: &[f32],
			geometry: &ChunkGeometry,
			config: &CompressConfig,
		) -> Result<CompressedTensor, DeviceCodecError> {
			let gpu = self.gpu.clone();
			let delta = gpu.upload(delta)?;
			Ok(gpu.compress_tensor(t, self.buffer(t)?, &delta, geometry, config)?)
		}

		/// Forms each Δ = θ_start − param on the GPU and compresses it there.
		pub fn compress_params(
			&mut self,
			theta_start: &[Vec<f32>],
			params: &ParamSet,
			geometries: &[ChunkGeometry],
			config: &CompressConfig,
		) -> Result<Vec<CompressedTensor>, DeviceCodecError> {
			let gpu = self.gpu.clone();
			let mut tensors = Vec::with_capacity(geometries.len());
			for (t, ((param, start), geometry)) in
				params.iter().zip(theta_start).zip(geometries).enumerate()
			{
				let var = param.var.as_tensor();
				let start = Tensor::from_slice(start, var.dims(), var.device())?;
				// One f32 subtraction per value, as the CPU path's `a - b`.
				let delta = start.sub(var)?.flatten_all()?;
				// candle's work is queued on its own stream: finish it before ours reads Δ.
				var.device().synchronize()?;
				let (storage, layout) = delta.storage_and_layout();
				let Storage::Cuda(storage) = &*storage else {
					return Err(DeviceCodecError::NotContiguous {
						index: t,
						expected: geometry.len(),
					});
				};
				let slice = storage.as_cuda_slice::<f32>()?;
				if layout.contiguous_offsets() != Some((0, geometry.len()))
					|| slice.len() != geometry.len()
				{
					return Err(DeviceCodecError::NotContiguous {
						index: t,
						expected: geometry.len(),
					});
				}
				tensors.push(gpu.compress_tensor(t, self.buffer(t)?, slice, geometry, config)?);
			}
			Ok(tensors)
		}
	}

	/// θ to the GPU, the outer step there, θ back.
	pub fn apply_outer_step<P: AsRef<[CompressedTensor]>>(
		gpu: &Gpu,
		theta: &mut [Vec<f32>],
		peers: &[P],
		step: &OuterStep,
	) -> Result<(), DeviceCodecError> {
		if peers.is_empty() {
			return Ok(tessera_codec::apply_outer_step(theta, peers, step)?);
		}
		// The kernels check every peer against θ's lengths before changing anything; θ on the
		// host is replaced only once the whole step succeeded.
		let mut device = theta.iter().map(|t| gpu.upload(t)).collect::<Result<Vec<_>, _>>()?;
		gpu.apply_outer_step(&mut device, peers, step.lr)?;
		let stepped = device.iter().map(|d| gpu.download(d)).collect::<Result<Vec<_>, _>>()?;
		for (host, stepped) in theta.iter_mut().zip(stepped) {
			*host = stepped;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{Llama, ModelConfig, train::UpdateBuilder};
	use tessera_codec::{Expected, Header, IndexCoding, Payload, Rules, decode};

	/// SplitMix64 → uniform in [-scale, scale).
	fn noise(n: usize, seed: u64, scale: f32) -> Vec<f32> {
		let mut state = seed;
		(0..n)
			.map(|_| {
				state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
				let mut z = state;
				z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
				z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
				z ^= z >> 31;
				((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
			})
			.collect()
	}

	/// θ moved by a different random step per tensor (`seed`), as a window's training would.
	fn trained(theta: &[Vec<f32>], seed: u64) -> Vec<Vec<f32>> {
		theta
			.iter()
			.enumerate()
			.map(|(t, th)| {
				let step = noise(th.len(), seed + t as u64, 1e-2 * (1.0 + t as f32 / 7.0));
				th.iter().zip(step).map(|(a, d)| a - d).collect()
			})
			.collect()
	}

	fn header(window: u64) -> Header {
		Header { window, miner: [9; 32], theta_hash: [1; 32], data_digest: [2; 32] }
	}

	fn decoded(bytes: &[u8], window: u64, shapes: &[Vec<usize>]) -> Payload {
		let rules = Rules { k: CompressConfig::default().k, quantised: true, max_value: 1.0 };
		decode(bytes, &Expected { window, miner: &[9; 32], shapes, rules }).unwrap()
	}

	#[test]
	fn the_cpu_codec_builds_from_the_trained_parameters_what_it_builds_from_vectors() {
		let config = ModelConfig::load("tiny").unwrap();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let codec = DeviceCodec::for_device(&Device::Cpu).unwrap();
		assert!(!codec.on_gpu());
		let shapes = model.params().shapes();
		let start = model.params().to_vecs().unwrap();
		let new = |c: &DeviceCodec| {
			UpdateBuilder::on(c, &shapes, CompressConfig::default(), IndexCoding::Rice, 2).unwrap()
		};
		let (mut from_params, mut from_vecs) = (new(&codec), new(&DeviceCodec::cpu()));
		for window in 0..2 {
			let end = trained(&start, 100 * window);
			model.params().set_from_vecs(&end).unwrap();
			let a = from_params.build_from_params(&start, model.params(), header(window)).unwrap();
			let b = from_vecs.build(&start, &end, header(window)).unwrap();
			assert_eq!(a.hash, b.hash, "window {window}");
			decoded(&a.bytes, window, &shapes);
		}
		assert_eq!(from_params.errors().unwrap(), from_vecs.errors().unwrap());
	}

	#[test]
	fn the_cpu_codec_steps_theta_and_refuses_peers_that_do_not_match_it() {
		let shapes = [vec![64usize, 128], vec![128]];
		let theta: Vec<Vec<f32>> = shapes
			.iter()
			.enumerate()
			.map(|(t, s)| noise(s.iter().product(), t as u64, 1.0))
			.collect();
		let mut builder =
			UpdateBuilder::new(&shapes, CompressConfig::default(), IndexCoding::Rice, 1).unwrap();
		let payloads: Vec<Payload> = (0..3)
			.map(|p| {
				let built = builder.build(&theta, &trained(&theta, 7 + p), header(0)).unwrap();
				decoded(&built.bytes, 0, &shapes)
			})
			.collect();
		let peers: Vec<&[CompressedTensor]> =
			payloads.iter().map(|p| p.tensors.as_slice()).collect();
		let step = OuterStep { lr: 0.7, threads: 2 };
		let codec = DeviceCodec::for_device(&Device::Cpu).unwrap();
		// A θ of other shapes than the peers' updates: refused, and left as it was.
		let mut other = vec![vec![0.5f32; 64 * 64], vec![0.5; 128]];
		let err = codec.apply_outer_step(&mut other, &peers, &step).unwrap_err();
		assert!(matches!(err, DeviceCodecError::Codec(CodecError::LengthMismatch { .. })), "{err}");
		assert_eq!(other, vec![vec![0.5f32; 64 * 64], vec![0.5; 128]]);
		// The step moves every tensor, and only at the positions the peers sent (at most 3 × 64
		// of the matrix's two 4096-value chunks each).
		let mut stepped = theta.clone();
		codec.apply_outer_step(&mut stepped, &peers, &step).unwrap();
		let moved: Vec<usize> = stepped
			.iter()
			.zip(&theta)
			.map(|(after, before)| after.iter().zip(before).filter(|(a, b)| a != b).count())
			.collect();
		assert!(moved.iter().all(|&m| m > 0), "{moved:?}");
		assert!(moved[0] <= 2 * 3 * 64, "{moved:?}");
	}

	/// On an NVIDIA GPU (feature `cuda`; `scripts/gpu-check.sh` runs these there).
	#[cfg(feature = "cuda")]
	mod gpu {
		use super::*;
		use tessera_codec::Values;

		fn cuda() -> Device {
			Device::new_cuda(0).expect("an NVIDIA GPU")
		}

		#[test]
		#[ignore = "needs an NVIDIA GPU: cargo test -p tessera-model --features cuda -- --ignored"]
		fn gpu_outer_step_matches_the_cpu_on_the_model() {
			let config = ModelConfig::load("tiny").unwrap();
			let shapes = Llama::shapes(&config);
			let theta = Llama::theta_zero(&config).unwrap();
			let mut builder =
				UpdateBuilder::new(&shapes, CompressConfig::default(), IndexCoding::Rice, 2)
					.unwrap();
			// Peers of different scales, so the median clip bites.
			let payloads: Vec<Payload> = (0..9u64)
				.map(|p| {
					let mut end = trained(&theta, 31 * p);
					for (e, s) in end.iter_mut().zip(&theta) {
						for (v, a) in e.iter_mut().zip(s) {
							*v = a - (*a - *v) * (1 + p % 4) as f32;
						}
					}
					decoded(&builder.build(&theta, &end, header(0)).unwrap().bytes, 0, &shapes)
				})
				.collect();
			let peers: Vec<&[CompressedTensor]> =
				payloads.iter().map(|p| p.tensors.as_slice()).collect();
			let step = OuterStep { lr: 0.7, threads: 2 };
			let codec = DeviceCodec::for_device(&cuda()).unwrap();
			assert!(codec.on_gpu());
			let (mut gpu, mut cpu) = (theta.clone(), theta);
			codec.apply_outer_step(&mut gpu, &peers, &step).unwrap();
			DeviceCodec::cpu().apply_outer_step(&mut cpu, &peers, &step).unwrap();
			assert!(gpu != Llama::theta_zero(&config).unwrap(), "the step moved θ");
			assert_eq!(
				tessera_codec::hash::theta_hash(&gpu),
				tessera_codec::hash::theta_hash(&cpu),
				"θ after the GPU's outer step differs from the CPU's"
			);
		}

		#[test]
		#[ignore = "needs an NVIDIA GPU: cargo test -p tessera-model --features cuda -- --ignored"]
		fn a_gpu_miners_update_from_its_trained_parameters_matches_the_cpus() {
			let config = ModelConfig::load("tiny").unwrap();
			let device = cuda();
			let model = Llama::new(&config, &device).unwrap();
			let codec = DeviceCodec::for_device(&device).unwrap();
			let shapes = model.params().shapes();
			let start = model.params().to_vecs().unwrap();
			let mut on_gpu =
				UpdateBuilder::on(&codec, &shapes, CompressConfig::default(), IndexCoding::Rice, 1)
					.unwrap();
			let mut on_cpu =
				UpdateBuilder::new(&shapes, CompressConfig::default(), IndexCoding::Rice, 2)
					.unwrap();
			let beta = CompressConfig::default().beta;
			let (mut codes, mut differing) = (0usize, 0usize);
			for window in 0..3 {
				let end = trained(&start, 1000 * window);
				model.params().set_from_vecs(&end).unwrap();
				let before = on_gpu.errors().unwrap();
				let gpu = on_gpu.build_from_params(&start, model.params(), header(window)).unwrap();
				let cpu = on_cpu.build(&start, &end, header(window)).unwrap();
				let (gpu, cpu) =
					(decoded(&gpu.bytes, window, &shapes), decoded(&cpu.bytes, window, &shapes));
				let after = on_gpu.errors().unwrap();
				for (t, (g, c)) in gpu.tensors.iter().zip(&cpu.tensors).enumerate() {
					assert_eq!(g.indices, c.indices, "window {window} tensor {t}: positions");
					let (Values::Quantised { codes: gc, .. }, Values::Quantised { codes: cc, .. }) =
						(&g.values, &c.values)
					else {
						panic!("not quantised");
					};
					codes += gc.len();
					differing += gc.iter().zip(cc).filter(|(a, b)| a != b).count();
					// e after = (β·e + Δ) − decoded(sent), bit for bit, Δ formed on the GPU.
					let sent = g.to_dense();
					for i in 0..sent.len() {
						let delta = start[t][i] - end[t][i];
						let expected = (beta * before[t][i] + delta) - sent[i];
						assert_eq!(after[t][i].to_bits(), expected.to_bits(), "tensor {t} at {i}");
					}
				}
			}
			assert!(
				differing * 1000 <= codes,
				"{differing} of {codes} codes differ (bin edges only: at most 1 in 1000)"
			);
			// The error feedback survives a checkpoint: copied out, put back, copied out again.
			let held = on_gpu.errors().unwrap();
			on_gpu.restore_errors(held.clone()).unwrap();
			assert_eq!(on_gpu.errors().unwrap(), held);
		}
	}
}
