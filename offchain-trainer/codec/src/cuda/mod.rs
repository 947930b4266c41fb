//! The codec's hot path on an NVIDIA GPU (feature `cuda`): error feedback + chunk-wise top-k +
//! 2-bit quantisation of a tensor that lives in device memory, and the outer step (median-norm
//! clip, scatter-mean, SGD) applied to θ in device memory. Our own kernels (`kernels.cu`),
//! compiled at run time with NVRTC and launched through `cudarc`; the CUDA libraries are loaded
//! when first used, so a build with this feature needs no CUDA toolkit and runs on a machine
//! without a GPU (where [`Gpu::new`] says why it cannot start).
//!
//! What matches the CPU path, bit for bit:
//! - the outer step: the same f64 sums per position with the peers in the same order, the same
//!   f32 roundings (explicit `_rn` intrinsics, no fused multiply-add) — every honest peer gets
//!   the same θ whether it aggregates on a GPU or a CPU;
//! - error feedback and the top-k selection (same positions, same kept values).
//!
//! What may differ in the last bits: the quantiser's mean and variance are reduced on the device
//! in a fixed tree order (deterministic from run to run) rather than sequentially, so a value
//! lying exactly on a bin edge can take the neighbouring code. The payload is still valid and
//! decodes the same on every peer; nothing downstream depends on it matching a CPU miner's.

// Kernel launches are `unsafe` in cudarc: the argument list must match the kernel's signature.
// Each launch below is written against `kernels.cu` and says so.
#![allow(unsafe_code)]

use crate::{
	CompressConfig, CompressedTensor, Values,
	aggregate::{check_peers, clip_factors},
	error::CodecError,
	geometry::ChunkGeometry,
	quant::{LEVELS, Quantiser},
};
use cudarc::{
	driver::{CudaContext, CudaFunction, CudaStream, DriverError, LaunchConfig, PushKernelArg},
	nvrtc::{CompileOptions, Ptx, compile_ptx_with_opts},
};
use std::sync::Arc;

/// Device buffers as the GPU path takes them (cudarc's), for crates that hold their own.
pub use cudarc::driver::CudaSlice;

/// The kernels' source.
pub const KERNELS: &str = include_str!("kernels.cu");

/// Threads per block (the kernels' `THREADS`).
const THREADS: u32 = 256;
/// Most blocks in a grid-stride launch.
const MAX_BLOCKS: u32 = 65_535;
/// Blocks of a partial-sum reduction.
const REDUCE_BLOCKS: u32 = 1_024;

/// Why the GPU path cannot run or failed.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
	/// `libcuda` could not be loaded: no NVIDIA driver on this machine.
	#[error("no CUDA driver: libcuda could not be loaded (is there an NVIDIA GPU and driver?)")]
	NoDriver,
	/// `libnvrtc` could not be loaded.
	#[error(
		"NVRTC (libnvrtc.so) could not be loaded: install the CUDA toolkit or the PyPI wheel nvidia-cuda-nvrtc-cu12 and put its lib directory on LD_LIBRARY_PATH (docs/gpu.md)"
	)]
	NoNvrtc,
	/// NVRTC refused the kernels.
	#[error("NVRTC could not compile the kernels: {0}")]
	Compile(String),
	/// A CUDA driver call failed.
	#[error("CUDA driver: {0}")]
	Driver(#[from] DriverError),
	/// The codec refused the input.
	#[error(transparent)]
	Codec(#[from] CodecError),
}

/// Whether NVRTC can be loaded (dynamic loading: checked at run time).
#[cfg(not(feature = "cuda-linked"))]
fn nvrtc_present() -> bool {
	// SAFETY: only loads the shared library (if present) and looks up its symbols.
	unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Whether the driver can be loaded (dynamic loading: checked at run time).
#[cfg(not(feature = "cuda-linked"))]
fn driver_present() -> bool {
	// SAFETY: only loads the shared library (if present) and looks up its symbols.
	unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Linked at build time (`cuda-linked`, as candle's CUDA backend links them): a binary that
/// started has them.
#[cfg(feature = "cuda-linked")]
fn nvrtc_present() -> bool {
	true
}

/// Linked at build time (`cuda-linked`): a binary that started has it.
#[cfg(feature = "cuda-linked")]
fn driver_present() -> bool {
	true
}

/// Compiles the kernels to PTX with NVRTC (no GPU needed). Fused multiply-add contraction is
/// off and division and square root are IEEE-exact, on top of the kernels' explicit intrinsics.
pub fn compile_kernels() -> Result<Ptx, GpuError> {
	if !nvrtc_present() {
		return Err(GpuError::NoNvrtc);
	}
	let options = CompileOptions {
		fmad: Some(false),
		ftz: Some(false),
		prec_div: Some(true),
		prec_sqrt: Some(true),
		name: Some("tessera_codec_kernels.cu".into()),
		..Default::default()
	};
	compile_ptx_with_opts(KERNELS, options).map_err(|e| GpuError::Compile(format!("{e:?}")))
}

/// Environment variable naming a PTX file of the kernels, compiled ahead of time (`offchain-trainer
/// cuda-ptx`): then NVRTC is not needed where they run.
pub const PTX_ENV: &str = "TESSERA_CUDA_PTX";

/// The kernels' PTX: from the file named by [`PTX_ENV`] if set, else compiled with NVRTC.
fn kernels_ptx() -> Result<Ptx, GpuError> {
	ptx_from(std::env::var_os(PTX_ENV).map(std::path::PathBuf::from))
}

/// The kernels' PTX from `file` (checked to be ours), or compiled with NVRTC without one.
fn ptx_from(file: Option<std::path::PathBuf>) -> Result<Ptx, GpuError> {
	let Some(path) = file else { return compile_kernels() };
	let text = std::fs::read_to_string(&path)
		.map_err(|e| GpuError::Compile(format!("cannot read {PTX_ENV}={}: {e}", path.display())))?;
	if !text.contains(".entry aggregate_chunks") {
		return Err(GpuError::Compile(format!(
			"{PTX_ENV}={} is not the codec's kernels (no aggregate_chunks entry)",
			path.display()
		)));
	}
	Ok(Ptx::from_src(text))
}

/// The kernels, loaded into a context.
struct Kernels {
	check_finite: CudaFunction,
	ef_update_gather: CudaFunction,
	topk_chunks: CudaFunction,
	partial_sums: CudaFunction,
	sum_partials: CudaFunction,
	quantise_codes: CudaFunction,
	subtract_sent: CudaFunction,
	subtract_raw: CudaFunction,
	aggregate_chunks: CudaFunction,
}

/// One GPU with the codec's kernels loaded.
pub struct Gpu {
	stream: Arc<CudaStream>,
	kernels: Kernels,
}

/// A grid-stride launch over `n` items.
fn grid(n: usize) -> LaunchConfig {
	blocks(n.div_ceil(THREADS as usize), 0)
}

/// `count` blocks (at least 1, at most [`MAX_BLOCKS`]) of [`THREADS`] threads.
fn blocks(count: usize, shared_mem_bytes: u32) -> LaunchConfig {
	let count = count.clamp(1, MAX_BLOCKS as usize) as u32;
	LaunchConfig { grid_dim: (count, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes }
}

/// What a reduction sums (the kernel's `mode`).
#[derive(Clone, Copy)]
enum Sum {
	Values,
	SquaredDeviations(f64),
	ValuesWithCode(u8),
	CountOfCode(u8),
}

impl Gpu {
	/// Opens GPU `ordinal`, compiles the kernels and loads them.
	pub fn new(ordinal: usize) -> Result<Self, GpuError> {
		if !driver_present() {
			return Err(GpuError::NoDriver);
		}
		let context = CudaContext::new(ordinal)?;
		let module = context.load_module(kernels_ptx()?)?;
		let f = |name: &str| module.load_function(name);
		let kernels = Kernels {
			check_finite: f("check_finite")?,
			ef_update_gather: f("ef_update_gather")?,
			topk_chunks: f("topk_chunks")?,
			partial_sums: f("partial_sums")?,
			sum_partials: f("sum_partials")?,
			quantise_codes: f("quantise_codes")?,
			subtract_sent: f("subtract_sent")?,
			subtract_raw: f("subtract_raw")?,
			aggregate_chunks: f("aggregate_chunks")?,
		};
		Ok(Self { stream: context.default_stream(), kernels })
	}

	/// The stream every operation is queued on.
	pub fn stream(&self) -> &Arc<CudaStream> {
		&self.stream
	}

	/// Copies `host` to a new device buffer.
	pub fn upload(&self, host: &[f32]) -> Result<CudaSlice<f32>, GpuError> {
		Ok(self.stream.clone_htod(host)?)
	}

	/// A new device buffer of `n` zeros.
	pub fn zeros(&self, n: usize) -> Result<CudaSlice<f32>, GpuError> {
		Ok(self.stream.alloc_zeros::<f32>(n)?)
	}

	/// Copies a device buffer back.
	pub fn download(&self, device: &CudaSlice<f32>) -> Result<Vec<f32>, GpuError> {
		Ok(self.stream.clone_dtoh(device)?)
	}

	/// Waits for everything queued.
	pub fn synchronize(&self) -> Result<(), GpuError> {
		Ok(self.stream.synchronize()?)
	}

	/// Whether the flag a kernel may have set is set.
	fn flag_set(&self, flag: &CudaSlice<i32>) -> Result<bool, GpuError> {
		Ok(self.stream.clone_dtoh(flag)?.first().is_some_and(|&v| v != 0))
	}

	/// The sum `what` over `x` (and `codes`), reduced in a fixed order.
	fn sum(&self, x: &CudaSlice<f32>, codes: &CudaSlice<u8>, what: Sum) -> Result<f64, GpuError> {
		let n = x.len() as i64;
		let (mode, shift, code) = match what {
			Sum::Values => (0i32, 0.0f64, 0i32),
			Sum::SquaredDeviations(shift) => (1, shift, 0),
			Sum::ValuesWithCode(c) => (2, 0.0, i32::from(c)),
			Sum::CountOfCode(c) => (3, 0.0, i32::from(c)),
		};
		let n_blocks = (x.len().div_ceil(THREADS as usize) as u32).clamp(1, REDUCE_BLOCKS);
		let mut partial = self.stream.alloc_zeros::<f64>(n_blocks as usize)?;
		let mut total = self.stream.alloc_zeros::<f64>(1)?;
		let config = blocks(n_blocks as usize, 0);
		// SAFETY: partial_sums(const float* x, const u8* codes, i64 n, double shift, int mode,
		// int code, double* out) with out of `n_blocks` entries, launched on `n_blocks` blocks.
		unsafe {
			self.stream
				.launch_builder(&self.kernels.partial_sums)
				.arg(x)
				.arg(codes)
				.arg(&n)
				.arg(&shift)
				.arg(&mode)
				.arg(&code)
				.arg(&mut partial)
				.launch(config)?;
		}
		let single =
			LaunchConfig { grid_dim: (1, 1, 1), block_dim: (1, 1, 1), shared_mem_bytes: 0 };
		// SAFETY: sum_partials(const double* partial, u32 n, double* out), n = partial's length.
		unsafe {
			self.stream
				.launch_builder(&self.kernels.sum_partials)
				.arg(&partial)
				.arg(&n_blocks)
				.arg(&mut total)
				.launch(single)?;
		}
		Ok(self.stream.clone_dtoh(&total)?.first().copied().unwrap_or(0.0))
	}

	/// [`crate::compress_tensor`] on the GPU: `error` and `delta` are device buffers of the
	/// tensor's length; `error` is updated in place. The same errors as the CPU path: on
	/// `NonFiniteInput` nothing changes, on `ErrorFeedbackOverflow` the buffer is reset to 0.
	pub fn compress_tensor(
		&self,
		tensor: usize,
		error: &mut CudaSlice<f32>,
		delta: &CudaSlice<f32>,
		geometry: &ChunkGeometry,
		config: &CompressConfig,
	) -> Result<CompressedTensor, GpuError> {
		config.validate()?;
		let n = geometry.len();
		for (what, got) in [("error buffer", error.len()), ("update", delta.len())] {
			if got != n {
				return Err(CodecError::LengthMismatch { tensor, what, got, expected: n }.into());
			}
		}
		let s = &self.stream;
		let (n64, cols) = (n as i64, geometry.cols as i64);
		let (cr, cc) = (geometry.chunk_rows as u32, geometry.chunk_cols as u32);

		let mut bad = s.alloc_zeros::<i32>(1)?;
		// SAFETY: check_finite(const float* x, i64 n, int* bad), x of n values.
		unsafe {
			s.launch_builder(&self.kernels.check_finite)
				.arg(delta)
				.arg(&n64)
				.arg(&mut bad)
				.launch(grid(n))?;
		}
		if self.flag_set(&bad)? {
			return Err(CodecError::NonFiniteInput { tensor }.into());
		}

		let mut chunked = s.alloc_zeros::<f32>(n)?;
		let beta = config.beta;
		// SAFETY: ef_update_gather(float* e, const float* delta, float beta, float* chunked,
		// i64 n, i64 cols, u32 cr, u32 cc, int* bad), e, delta and chunked of n values.
		unsafe {
			s.launch_builder(&self.kernels.ef_update_gather)
				.arg(&mut *error)
				.arg(delta)
				.arg(&beta)
				.arg(&mut chunked)
				.arg(&n64)
				.arg(&cols)
				.arg(&cr)
				.arg(&cc)
				.arg(&mut bad)
				.launch(grid(n))?;
		}
		if self.flag_set(&bad)? {
			s.memset_zeros(error)?;
			return Err(CodecError::ErrorFeedbackOverflow { tensor }.into());
		}

		let chunk_len = geometry.chunk_len() as u32;
		let k = config.k.min(geometry.chunk_len());
		let chunks = geometry.num_chunks();
		let kept = chunks * k;
		let mut indices = s.alloc_zeros::<u16>(kept)?;
		let mut values = s.alloc_zeros::<f32>(kept)?;
		let (k32, chunks64, kept64) = (k as u32, chunks as i64, kept as i64);
		let per_chunk = blocks(chunks, 0);
		// SAFETY: topk_chunks(const float* chunked, u32 chunk_len, u32 k, i64 chunks, u16* idx,
		// float* val), chunked of chunks × chunk_len values, idx and val of chunks × k; launched
		// with THREADS threads per block, as its shared arrays assume.
		unsafe {
			s.launch_builder(&self.kernels.topk_chunks)
				.arg(&chunked)
				.arg(&chunk_len)
				.arg(&k32)
				.arg(&chunks64)
				.arg(&mut indices)
				.arg(&mut values)
				.launch(per_chunk)?;
		}
		drop(chunked);

		if !config.quantise {
			// SAFETY: subtract_raw(float* e, const u16* idx, const float* vals, i64 kept, u32 k,
			// i64 cols, u32 cr, u32 cc), idx and vals of `kept` entries.
			unsafe {
				s.launch_builder(&self.kernels.subtract_raw)
					.arg(&mut *error)
					.arg(&indices)
					.arg(&values)
					.arg(&kept64)
					.arg(&k32)
					.arg(&cols)
					.arg(&cr)
					.arg(&cc)
					.launch(grid(kept))?;
			}
			return Ok(CompressedTensor {
				geometry: *geometry,
				k,
				indices: s.clone_dtoh(&indices)?,
				values: Values::Raw(s.clone_dtoh(&values)?),
			});
		}

		let mut codes = s.alloc_zeros::<u8>(kept)?;
		let m = kept.max(1) as f64;
		let shift = self.sum(&values, &codes, Sum::Values)? / m;
		let var = self.sum(&values, &codes, Sum::SquaredDeviations(shift))? / m;
		let quantiser = Quantiser::with_moments(shift, var);
		let scale = quantiser.scale;
		// SAFETY: quantise_codes(const float* x, i64 n, double shift, double scale, u8* codes),
		// x and codes of `kept` entries.
		unsafe {
			s.launch_builder(&self.kernels.quantise_codes)
				.arg(&values)
				.arg(&kept64)
				.arg(&shift)
				.arg(&scale)
				.arg(&mut codes)
				.launch(grid(kept))?;
		}
		let mut sums = [0f64; LEVELS];
		let mut counts = [0f64; LEVELS];
		for c in 0..LEVELS {
			sums[c] = self.sum(&values, &codes, Sum::ValuesWithCode(c as u8))?;
			counts[c] = self.sum(&values, &codes, Sum::CountOfCode(c as u8))?;
		}
		let table = quantiser.with_bins(&sums, &counts).table;
		// SAFETY: subtract_sent(float* e, const u16* idx, const u8* codes, float t0, float t1,
		// float t2, float t3, i64 kept, u32 k, i64 cols, u32 cr, u32 cc), idx and codes of
		// `kept` entries, e of the tensor's n values.
		unsafe {
			s.launch_builder(&self.kernels.subtract_sent)
				.arg(&mut *error)
				.arg(&indices)
				.arg(&codes)
				.arg(&table[0])
				.arg(&table[1])
				.arg(&table[2])
				.arg(&table[3])
				.arg(&kept64)
				.arg(&k32)
				.arg(&cols)
				.arg(&cr)
				.arg(&cc)
				.launch(grid(kept))?;
		}
		Ok(CompressedTensor {
			geometry: *geometry,
			k,
			indices: s.clone_dtoh(&indices)?,
			values: Values::Quantised { codes: s.clone_dtoh(&codes)?, table },
		})
	}

	/// [`crate::apply_outer_step`] on the GPU, θ in device memory (one buffer per tensor):
	/// bit-identical to the CPU path. The decoded peers' positions and values are copied to the
	/// device tensor by tensor.
	pub fn apply_outer_step<P: AsRef<[CompressedTensor]>>(
		&self,
		theta: &mut [CudaSlice<f32>],
		peers: &[P],
		lr: f32,
	) -> Result<(), GpuError> {
		check_peers(&theta.iter().map(CudaSlice::len).collect::<Vec<_>>(), peers)?;
		if peers.is_empty() {
			return Ok(());
		}
		let s = &self.stream;
		for (t, th) in theta.iter_mut().enumerate() {
			let tensors: Vec<&CompressedTensor> = peers.iter().map(|p| &p.as_ref()[t]).collect();
			let factors = clip_factors(&tensors);
			let g = tensors[0].geometry;
			let total: usize = tensors.iter().map(|t| t.indices.len()).sum();
			let mut indices = Vec::with_capacity(total);
			let mut values = Vec::with_capacity(total);
			let mut offsets = Vec::with_capacity(tensors.len());
			let mut ks = Vec::with_capacity(tensors.len());
			for ct in &tensors {
				offsets.push(indices.len() as i64);
				ks.push(ct.k as u32);
				indices.extend_from_slice(&ct.indices);
				values.extend((0..ct.indices.len()).map(|i| ct.value(i)));
			}
			let (d_indices, d_values) = (s.clone_htod(&indices)?, s.clone_htod(&values)?);
			let (d_offsets, d_ks, d_factors) =
				(s.clone_htod(&offsets)?, s.clone_htod(&ks)?, s.clone_htod(&factors)?);
			let chunk_len = g.chunk_len() as u32;
			// chunk_len f64 sums + chunk_len u32 counts (48 KiB at 4096).
			let config = blocks(g.num_chunks(), chunk_len * 12);
			let (peers32, chunks64, cols) =
				(tensors.len() as u32, g.num_chunks() as i64, g.cols as i64);
			let (cr, cc) = (g.chunk_rows as u32, g.chunk_cols as u32);
			// SAFETY: aggregate_chunks(float* theta, const u16* idx, const float* vals,
			// const i64* offsets, const u32* ks, const double* factors, u32 peers, i64 chunks,
			// u32 chunk_len, i64 cols, u32 cr, u32 cc, float lr); peer p's entries are
			// offsets[p] .. offsets[p] + chunks × ks[p] of idx/vals; theta has the tensor's
			// length (checked above); shared memory sized for chunk_len.
			unsafe {
				s.launch_builder(&self.kernels.aggregate_chunks)
					.arg(&mut *th)
					.arg(&d_indices)
					.arg(&d_values)
					.arg(&d_offsets)
					.arg(&d_ks)
					.arg(&d_factors)
					.arg(&peers32)
					.arg(&chunks64)
					.arg(&chunk_len)
					.arg(&cols)
					.arg(&cr)
					.arg(&cc)
					.arg(&lr)
					.launch(config)?;
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests;
