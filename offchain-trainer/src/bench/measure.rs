//! Our side of `offchain-trainer bench`: each figure measured on the real code paths for one
//! model configuration — compress + error feedback over the model's tensors (the miner's
//! compressor, one thread and all of them), payload bytes per chunk (format v1, Rice-coded
//! indices), decode + aggregate + apply of `peers` payloads (the outer step every peer runs),
//! inner-step tokens/s (forward, backward, AdamW) and the Gauntlet's work per payload (decode,
//! apply alone, loss on the assigned and the random rows), and, to say where the model's time
//! goes, the speed of its largest matrix product. Each time is the median of `runs` timed calls
//! after one warm-up call; work on a GPU is waited for inside the timed call.

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tessera_codec::{
	CodecError, CompressConfig, CompressedTensor, Expected, Header, IndexCoding, OuterStep,
	Payload, apply_outer_step, decode, encode, format::HEADER_LEN,
};
use tessera_model::train::{AdamW, AdamWConfig, UpdateBuilder, UpdateError};
use tessera_model::{DeviceError, Llama, ModelConfig, ModelError, model_device};
use tessera_peer::gauntlet::evaluate::{clip_limits, losses_after};

/// What is measured, shared with the reference (serialised into its spec file).
#[derive(Clone, Debug, Serialize)]
pub struct BenchSpec {
	/// The model.
	pub model: ModelConfig,
	/// `"cpu"` or `"cuda"`.
	pub device: String,
	/// Threads for the "all threads" figures.
	pub threads: usize,
	/// Timed runs per figure (the median is reported).
	pub runs: usize,
	/// Peers whose payloads are aggregated.
	pub peers: usize,
	/// Sequences per inner step.
	pub batch: usize,
	/// Rows per data kind the Gauntlet evaluates.
	pub eval_sequences: usize,
	/// Rows per forward pass in the Gauntlet.
	pub eval_batch: usize,
	/// Outer learning rate.
	pub lr: f32,
	/// Values kept per chunk.
	pub k: usize,
	/// Error-feedback decay.
	pub beta: f32,
	/// The model's tensor shapes, in model order.
	pub shapes: Vec<Vec<usize>>,
	/// Measure the codec's figures only (compress, bytes, the outer step), not the model's:
	/// what the regression guard compares (`bench/guard.toml`).
	#[serde(default)]
	pub codec_only: bool,
}

/// The figures of one implementation; `None` where it was not measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
	/// Compress + error feedback, one thread, GB/s of f32 input.
	pub compress_gbps_one: Option<f64>,
	/// Compress + error feedback, all threads, GB/s of f32 input.
	pub compress_gbps_all: Option<f64>,
	/// Payload bytes per chunk over the whole model.
	pub bytes_per_chunk: Option<f64>,
	/// Decode + aggregate + apply of `peers` payloads, seconds.
	pub aggregate_s: Option<f64>,
	/// Inner-step training throughput, tokens/s.
	pub tokens_per_s: Option<f64>,
	/// The model's largest matrix product (its output projection over one inner-step batch),
	/// GFLOP/s.
	#[serde(default)]
	pub matmul_gflops: Option<f64>,
	/// The Gauntlet's work per payload, seconds.
	pub gauntlet_s: Option<f64>,
	/// One optimizer update of the whole model (global-norm clip + AdamW, the gradients
	/// given), seconds.
	#[serde(default)]
	pub optimizer_s: Option<f64>,
	/// Why a figure is missing, if one is.
	#[serde(default)]
	pub notes: Vec<String>,
}

impl Figures {
	/// Every figure with its name, in table order.
	pub fn named(&self) -> [(&'static str, Option<f64>); 8] {
		[
			("compress_gbps_one", self.compress_gbps_one),
			("compress_gbps_all", self.compress_gbps_all),
			("bytes_per_chunk", self.bytes_per_chunk),
			("aggregate_s", self.aggregate_s),
			("tokens_per_s", self.tokens_per_s),
			("matmul_gflops", self.matmul_gflops),
			("optimizer_s", self.optimizer_s),
			("gauntlet_s", self.gauntlet_s),
		]
	}
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
	/// The codec refused an input.
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// The model failed.
	#[error(transparent)]
	Model(#[from] ModelError),
	/// The update builder refused an input.
	#[error(transparent)]
	Update(#[from] UpdateError),
	/// A settings value is out of range.
	#[error("bench settings: {0}")]
	Settings(&'static str),
	/// The device could not be opened.
	#[error(transparent)]
	Device(#[from] DeviceError),
	/// The GPU codec failed or is not built in.
	#[error("GPU codec: {0}")]
	Gpu(String),
}

/// Median wall time of `runs` calls of `f` after one warm-up call.
fn median_time<E>(runs: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
	f()?;
	let mut times = Vec::with_capacity(runs);
	for _ in 0..runs.max(1) {
		let start = Instant::now();
		f()?;
		times.push(start.elapsed());
	}
	times.sort();
	Ok(times[times.len() / 2])
}

/// `n` normal values of standard deviation `std`, drawn in parallel blocks, each from its own
/// ChaCha8 stream of `seed`: the same values on every run, and seconds for a billion of them.
fn normal(seed: u64, n: usize, std: f32) -> Vec<f32> {
	const BLOCK: usize = 1 << 16;
	let mut out = vec![0.0f32; n];
	out.par_chunks_mut(BLOCK).enumerate().for_each(|(block, values)| {
		let mut rng = ChaCha8Rng::seed_from_u64(seed);
		rng.set_stream(block as u64);
		for v in values {
			*v = rng.sample::<f32, _>(StandardNormal) * std;
		}
	});
	out
}

/// One tensor of values per shape, of standard deviation `std`, seeded.
fn seeded(shapes: &[Vec<usize>], seed: u64, std: f32) -> Vec<Vec<f32>> {
	shapes
		.iter()
		.enumerate()
		.map(|(t, s)| {
			normal(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ t as u64, s.iter().product(), std)
		})
		.collect()
}

/// Pseudo-gradients of the model's shape, as a miner's would be (scale 1e-3).
fn deltas(shapes: &[Vec<usize>], seed: u64) -> Vec<Vec<f32>> {
	seeded(shapes, seed, 1e-3)
}

/// Compresses every tensor of `deltas` with `builder` (a peer's compressor: error buffers,
/// scratch, threads).
fn compress_all(
	builder: &mut UpdateBuilder,
	deltas: &[Vec<f32>],
) -> Result<Vec<CompressedTensor>, UpdateError> {
	deltas.iter().enumerate().map(|(t, d)| builder.compress_tensor(t, d)).collect()
}

/// A peer's compressor for `shapes` on `threads` threads.
fn builder(
	shapes: &[Vec<usize>],
	config: CompressConfig,
	threads: usize,
) -> Result<UpdateBuilder, UpdateError> {
	UpdateBuilder::new(shapes, config, IndexCoding::Rice, threads)
}

fn header(peer: u8) -> Header {
	Header { window: 1, miner: [peer; 32], theta_hash: [0; 32], data_digest: [0; 32] }
}

/// Measures every figure of `spec` on its device (`cpu`, or `cuda`: the GPU codec and the
/// model on candle's CUDA backend).
pub fn measure(spec: &BenchSpec) -> Result<Figures, MeasureError> {
	if spec.peers == 0 || spec.batch == 0 || spec.eval_sequences == 0 || spec.eval_batch == 0 {
		return Err(MeasureError::Settings("peers, batch and eval sizes must be positive"));
	}
	let device = match model_device(&spec.device) {
		Err(e @ DeviceError::Unknown(_)) => return Err(e.into()),
		other => other,
	};
	if spec.device == "cpu" {
		let mut figures = codec_cpu(spec)?;
		if !spec.codec_only {
			model_figures(spec, &Device::Cpu, &mut figures)?;
		}
		return Ok(figures);
	}
	// On a GPU the codec's rows need only the GPU codec; the model's rows need candle's CUDA
	// backend too, and are left out (with the reason) without it.
	let mut figures = codec_gpu(spec)?;
	if spec.codec_only {
		return Ok(figures);
	}
	match device {
		Ok(device) => model_figures(spec, &device, &mut figures)?,
		Err(e) => figures.notes.push(format!("model rows not measured: {e}")),
	}
	Ok(figures)
}

/// `peers` payloads of the model's shape, as downloaded.
fn peer_payloads(spec: &BenchSpec, config: CompressConfig) -> Result<Vec<Vec<u8>>, UpdateError> {
	(0..spec.peers)
		.map(|p| {
			let mut b = builder(&spec.shapes, config, spec.threads)?;
			let tensors = compress_all(&mut b, &deltas(&spec.shapes, 100 + p as u64))?;
			Ok(encode(&header(p as u8), &tensors, IndexCoding::Rice))
		})
		.collect()
}

/// Decodes payload `p` (from peer byte `p`) for `shapes`.
fn decode_peer(
	p: usize,
	bytes: &[u8],
	shapes: &[Vec<usize>],
	k: usize,
) -> Result<Payload, CodecError> {
	let miner = [p as u8; 32];
	let rules = tessera_codec::Rules { k, quantised: true, max_value: f32::MAX };
	decode(bytes, &Expected { window: 1, miner: &miner, shapes, rules })
}

/// Every payload decoded for `shapes` on `pool`, one payload per task, in peer order: a peer
/// decodes each payload as its download completes, so the payloads are decoded side by side.
fn decode_all(
	pool: &rayon::ThreadPool,
	payloads: &[Vec<u8>],
	shapes: &[Vec<usize>],
	k: usize,
) -> Result<Vec<Vec<CompressedTensor>>, CodecError> {
	pool.install(|| {
		payloads
			.par_iter()
			.enumerate()
			.map(|(p, bytes)| decode_peer(p, bytes, shapes, k).map(|d| d.tensors))
			.collect()
	})
}

/// A pool of `threads` threads for the decoding.
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, MeasureError> {
	rayon::ThreadPoolBuilder::new()
		.num_threads(threads.max(1))
		.build()
		.map_err(|_| MeasureError::Settings("cannot start the decoding threads"))
}

/// θ of the model's shape, seeded.
fn theta(shapes: &[Vec<usize>]) -> Vec<Vec<f32>> {
	seeded(shapes, 7, 0.02)
}

/// The codec's figures on the CPU: compression, payload size, the outer step.
fn codec_cpu(spec: &BenchSpec) -> Result<Figures, MeasureError> {
	let config =
		CompressConfig { k: spec.k, beta: spec.beta, quantise: true, ..Default::default() };
	let shapes = &spec.shapes;
	let input_bytes =
		shapes.iter().map(|s| s.iter().product::<usize>()).sum::<usize>() as f64 * 4.0;
	let delta = deltas(shapes, 1);
	let mut figures = Figures::default();

	for (threads, slot) in
		[(1, &mut figures.compress_gbps_one), (spec.threads, &mut figures.compress_gbps_all)]
	{
		let mut b = builder(shapes, config, threads)?;
		let t = median_time(spec.runs, || compress_all(&mut b, &delta).map(drop))?;
		*slot = Some(input_bytes / t.as_secs_f64() / 1e9);
	}

	let mut b = builder(shapes, config, spec.threads)?;
	let payload = encode(&header(0), &compress_all(&mut b, &delta)?, IndexCoding::Rice);
	figures.bytes_per_chunk = Some((payload.len() - HEADER_LEN) as f64 / b.chunks() as f64);

	// `peers` payloads as downloaded, then decode + aggregate + apply: the outer step.
	let payloads = peer_payloads(spec, config)?;
	let mut theta = theta(shapes);
	let step = OuterStep { lr: spec.lr, threads: spec.threads };
	let pool = thread_pool(spec.threads)?;
	let t = median_time(spec.runs, || {
		let decoded = decode_all(&pool, &payloads, shapes, spec.k)?;
		apply_outer_step(&mut theta, &decoded, &step)
	})?;
	figures.aggregate_s = Some(t.as_secs_f64());
	Ok(figures)
}

/// The model's figures on `device`: the inner step and the Gauntlet's work per payload.
fn model_figures(
	spec: &BenchSpec,
	device: &Device,
	figures: &mut Figures,
) -> Result<(), MeasureError> {
	let config =
		CompressConfig { k: spec.k, beta: spec.beta, quantise: true, ..Default::default() };
	let mut rng = ChaCha8Rng::seed_from_u64(11);
	// The inner step on the model.
	let model = Llama::new(&spec.model, device)?;
	let mut optimizer =
		AdamW::new(model.params().vars(), AdamWConfig::default()).map_err(ModelError::from)?;
	let vocab = spec.model.vocab_size;
	let rows = |rng: &mut ChaCha8Rng, n: usize| -> Vec<Vec<u16>> {
		(0..n)
			.map(|_| (0..=spec.model.seq_len).map(|_| rng.random_range(0..vocab) as u16).collect())
			.collect()
	};
	let batch = model.batch(&rows(&mut rng, spec.batch))?;
	let t = median_time(spec.runs, || -> Result<(), ModelError> {
		let grads = model.loss(&batch)?.backward()?;
		optimizer.step(&grads, 1e-4)?;
		Ok(device.synchronize()?)
	})?;
	let tokens = spec.batch * spec.model.seq_len;
	figures.tokens_per_s = Some(tokens as f64 / t.as_secs_f64());

	// The optimizer's update alone, on one step's gradients.
	let grads = model.loss(&batch)?.backward().map_err(ModelError::from)?;
	let t = median_time(spec.runs, || -> Result<(), ModelError> {
		optimizer.step(&grads, 1e-4)?;
		Ok(device.synchronize()?)
	})?;
	figures.optimizer_s = Some(t.as_secs_f64());

	// The output projection alone, (tokens, d_model) · (vocab, d_model)ᵀ, as the model runs it:
	// how fast the framework's matrix products are, apart from everything else in a step.
	let (d, v) = (spec.model.d_model, spec.model.vocab_size);
	let x = Tensor::from_vec(normal(12, tokens * d, 1.0), (tokens, d), device)
		.map_err(ModelError::from)?;
	let w = Tensor::from_vec(normal(13, v * d, 0.02), (v, d), device).map_err(ModelError::from)?;
	let t = median_time(spec.runs, || -> Result<(), ModelError> {
		x.matmul(&w.t()?)?;
		Ok(device.synchronize()?)
	})?;
	figures.matmul_gflops = Some(2.0 * (tokens * d * v) as f64 / t.as_secs_f64() / 1e9);

	// The Gauntlet's work per payload: decode, apply alone, loss on assigned and random rows.
	let theta0 = model.params().to_vecs()?;
	let model_shapes = model.params().shapes();
	let mut b = builder(&model_shapes, config, spec.threads)?;
	let bytes =
		encode(&header(0), &compress_all(&mut b, &deltas(&model_shapes, 3))?, IndexCoding::Rice);
	let (assigned, random) =
		(rows(&mut rng, spec.eval_sequences), rows(&mut rng, spec.eval_sequences));
	let t = median_time(spec.runs, || -> Result<(), MeasureError> {
		let payload = decode_peer(0, &bytes, &model_shapes, spec.k)?;
		let clip = clip_limits(&[&payload]);
		losses_after(
			&model,
			&theta0,
			&payload,
			&clip,
			spec.lr,
			[&assigned, &random],
			spec.eval_batch,
		)?;
		Ok(())
	})?;
	model.params().set_from_vecs(&theta0)?;
	figures.gauntlet_s = Some(t.as_secs_f64());
	Ok(())
}

/// The codec's figures on GPU 0: compression of device-resident tensors (the kept positions and
/// codes copied back, as a miner must to upload them), payload size, and the outer step on θ in
/// device memory (payloads decoded on the CPU, positions and values copied over).
#[cfg(feature = "gpu-codec")]
fn codec_gpu(spec: &BenchSpec) -> Result<Figures, MeasureError> {
	use tessera_codec::{ChunkGeometry, cuda::Gpu};
	let gpu_error = |e: tessera_codec::cuda::GpuError| MeasureError::Gpu(e.to_string());
	let gpu = Gpu::new(0).map_err(gpu_error)?;
	let config =
		CompressConfig { k: spec.k, beta: spec.beta, quantise: true, ..Default::default() };
	let shapes = &spec.shapes;
	let geometries =
		shapes.iter().map(|s| ChunkGeometry::for_shape(s)).collect::<Result<Vec<_>, _>>()?;
	let input_bytes = geometries.iter().map(ChunkGeometry::len).sum::<usize>() as f64 * 4.0;
	let delta = deltas(shapes, 1)
		.iter()
		.map(|d| gpu.upload(d))
		.collect::<Result<Vec<_>, _>>()
		.map_err(gpu_error)?;
	let mut errors = geometries
		.iter()
		.map(|g| gpu.upload(&vec![0.0; g.len()]))
		.collect::<Result<Vec<_>, _>>()
		.map_err(gpu_error)?;
	let mut compress = || {
		let mut out = Vec::with_capacity(geometries.len());
		for (t, g) in geometries.iter().enumerate() {
			out.push(gpu.compress_tensor(t, &mut errors[t], &delta[t], g, &config)?);
		}
		gpu.synchronize()?;
		Ok::<_, tessera_codec::cuda::GpuError>(out)
	};
	let mut figures = Figures::default();
	let t = median_time(spec.runs, || compress().map(drop)).map_err(gpu_error)?;
	figures.compress_gbps_all = Some(input_bytes / t.as_secs_f64() / 1e9);
	let payload = encode(&header(0), &compress().map_err(gpu_error)?, IndexCoding::Rice);
	let chunks: usize = geometries.iter().map(ChunkGeometry::num_chunks).sum();
	figures.bytes_per_chunk = Some((payload.len() - HEADER_LEN) as f64 / chunks as f64);

	let payloads = peer_payloads(spec, config)?;
	let mut theta = theta(shapes)
		.iter()
		.map(|t| gpu.upload(t))
		.collect::<Result<Vec<_>, _>>()
		.map_err(gpu_error)?;
	let pool = thread_pool(spec.threads)?;
	let t = median_time(spec.runs, || -> Result<(), MeasureError> {
		let decoded = decode_all(&pool, &payloads, shapes, spec.k)?;
		gpu.apply_outer_step(&mut theta, &decoded, spec.lr).map_err(gpu_error)?;
		gpu.synchronize().map_err(gpu_error)
	})?;
	figures.aggregate_s = Some(t.as_secs_f64());
	Ok(figures)
}

/// Without the GPU codec built in.
#[cfg(not(feature = "gpu-codec"))]
fn codec_gpu(_spec: &BenchSpec) -> Result<Figures, MeasureError> {
	Err(MeasureError::Gpu(
		"this build has no GPU codec: build with `--features cuda` (docs/gpu.md)".into(),
	))
}

/// A minimal spec for the bench's unit tests: the tiny model's settings on a 4-value tensor.
#[cfg(test)]
pub(crate) fn test_spec() -> BenchSpec {
	BenchSpec {
		model: ModelConfig::load("tiny").unwrap(),
		device: "cpu".into(),
		threads: 1,
		runs: 1,
		peers: 1,
		batch: 1,
		eval_sequences: 1,
		eval_batch: 1,
		lr: 0.7,
		k: 64,
		beta: 0.95,
		shapes: vec![vec![4]],
		codec_only: false,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_figure_is_measured_and_plausible_for_the_tiny_model() {
		let model = ModelConfig::load("tiny").unwrap();
		let shapes = Llama::shapes(&model);
		let spec = BenchSpec {
			model,
			device: "cpu".into(),
			threads: 2,
			runs: 1,
			peers: 3,
			batch: 2,
			eval_sequences: 2,
			eval_batch: 2,
			lr: 0.7,
			k: 64,
			beta: 0.95,
			shapes,
			codec_only: false,
		};
		let f = measure(&spec).unwrap();
		for (name, v) in f.named() {
			let v = v.unwrap_or_else(|| panic!("{name} not measured"));
			assert!(v.is_finite() && v > 0.0, "{name}: {v}");
		}
		// 64 values of a 4096-value chunk: Rice-coded positions + 2-bit codes, well under the
		// 112 B of packed 12-bit positions (small tensors' chunks are smaller still).
		let bytes = f.bytes_per_chunk.unwrap();
		assert!(bytes > 10.0 && bytes < 90.0, "{bytes} B per chunk");

		// The guard's run: the codec's figures, the model's left out.
		let codec = measure(&BenchSpec { codec_only: true, ..spec }).unwrap();
		assert_eq!(codec.bytes_per_chunk, f.bytes_per_chunk);
		for (name, v) in codec.named() {
			let model_row =
				matches!(name, "tokens_per_s" | "matmul_gflops" | "optimizer_s" | "gauntlet_s");
			assert_eq!(v.is_none(), model_row, "{name}: {v:?}");
		}
	}
}
