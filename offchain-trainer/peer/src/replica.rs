//! A peer's replica of the network's training state: θ_w (the synchronised parameters, as the
//! codec's flat buffers — the source of truth) and the model that evaluates it; a miner's
//! replica also holds its private training state (AdamW moments, error-feedback buffers), a
//! validator's holds none. Training never changes θ_w; only the window's outer step does. The
//! codec runs where the model is (`tessera_model::codec_device`): with the model on a GPU, the
//! error feedback lives there and compression and the outer step use the codec's GPU kernels.

use candle_core::{Device, Tensor};
use indicatif::ProgressBar;
use std::time::Instant;
use tessera_codec::{CodecError, CompressConfig, Header, IndexCoding, OuterStep, Payload};
use tessera_data::{DataError, SliceSpec, TokenShard, assigned_slice};
use tessera_model::checkpoint::{Checkpoint, CheckpointError, ModelLayout, OptimizerState};
use tessera_model::train::{
	AdamW, AdamWConfig, InnerConfig, InnerReport, StopWhen, UpdateBuilder, UpdateError,
	train_window, update::BuiltUpdate,
};
use tessera_model::{DeviceCodec, DeviceCodecError, Llama, ModelConfig, ModelError};

/// Errors of the replica.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
	/// Model or tensor failure.
	#[error(transparent)]
	Model(#[from] ModelError),
	/// Data failure.
	#[error(transparent)]
	Data(#[from] DataError),
	/// Building the update failed.
	#[error(transparent)]
	Update(#[from] UpdateError),
	/// The outer step failed.
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// The codec's device (a GPU) failed.
	#[error(transparent)]
	Device(DeviceCodecError),
	/// A checkpoint could not be used.
	#[error(transparent)]
	Checkpoint(#[from] CheckpointError),
	/// A tensor operation failed.
	#[error("tensor operation failed: {0}")]
	Tensor(#[from] candle_core::Error),
	/// Training was asked of a replica that holds no training state (a validator's).
	#[error("this replica holds no training state (a validator's): it cannot train")]
	NotAMiner,
}

impl From<DeviceCodecError> for ReplicaError {
	fn from(e: DeviceCodecError) -> Self {
		match e {
			DeviceCodecError::Codec(e) => Self::Codec(e),
			DeviceCodecError::Model(e) => Self::Model(e),
			other => Self::Device(other),
		}
	}
}

/// What a window's training produced.
pub struct Trained {
	/// The payload and its hash.
	pub update: BuiltUpdate,
	/// The inner loop's report.
	pub report: InnerReport,
	/// Time spent building the payload after the inner loop.
	pub build_time: std::time::Duration,
}

/// A miner's private training state.
struct MinerState {
	optimizer: AdamW,
	builder: UpdateBuilder,
	inner: InnerConfig,
}

/// θ, the model, and (a miner's) private training state.
pub struct Replica {
	model: Llama,
	/// The codec on the model's device.
	codec: DeviceCodec,
	names: Vec<String>,
	shapes: Vec<Vec<usize>>,
	theta: Vec<Vec<f32>>,
	/// θ's hash when it was last set (an outer step, a re-sync, a restore): θ must still hash
	/// to it before anything trains on it ([`Replica::is_intact`]).
	held_hash: [u8; 32],
	/// A miner's optimizer and error feedback; `None` for a validator.
	training: Option<MinerState>,
	/// The last window whose outer step θ includes (`None`: θ_0).
	applied: Option<u64>,
}

impl Replica {
	/// A replica at θ_0 without training state: a validator's, or any peer's that only follows.
	pub fn follower(config: &ModelConfig, device: &Device) -> Result<Self, ReplicaError> {
		let model = Llama::new(config, device)?;
		let codec = DeviceCodec::for_device(device)?;
		let names = model.params().iter().map(|p| p.name.clone()).collect();
		let shapes = model.params().shapes();
		let theta = model.params().to_vecs()?;
		let held_hash = tessera_codec::hash::theta_hash(&theta);
		Ok(Self { model, codec, names, shapes, theta, held_hash, training: None, applied: None })
	}

	/// A miner's replica at θ_0, with fresh AdamW moments and error feedback.
	pub fn new(
		config: &ModelConfig,
		device: &Device,
		adamw: AdamWConfig,
		inner: InnerConfig,
		compress: CompressConfig,
		threads: usize,
	) -> Result<Self, ReplicaError> {
		let mut replica = Self::follower(config, device)?;
		let optimizer = AdamW::new(replica.model.params().vars(), adamw)?;
		let builder = UpdateBuilder::on(
			&replica.codec,
			&replica.shapes,
			compress,
			IndexCoding::Rice,
			threads,
		)?;
		replica.training = Some(MinerState { optimizer, builder, inner });
		Ok(replica)
	}

	/// The model.
	pub fn model(&self) -> &Llama {
		&self.model
	}

	/// Whether compression and the outer step run on a GPU.
	pub fn codec_on_gpu(&self) -> bool {
		self.codec.on_gpu()
	}

	/// Parameter shapes in model order.
	pub fn shapes(&self) -> &[Vec<usize>] {
		&self.shapes
	}

	/// The synchronised parameters θ.
	pub fn theta(&self) -> &[Vec<f32>] {
		&self.theta
	}

	/// BLAKE2b-256 of θ.
	pub fn theta_hash(&self) -> [u8; 32] {
		tessera_codec::hash::theta_hash(&self.theta)
	}

	/// The hash θ had when it was last applied, restored or set (no hashing: what
	/// [`Self::is_intact`] checks θ against).
	pub fn held_hash(&self) -> [u8; 32] {
		self.held_hash
	}

	/// Whether θ still hashes to what was last applied, restored or set: memory or a disk it
	/// was mapped from has not changed it since. One hash of θ.
	pub fn is_intact(&self) -> bool {
		self.theta_hash() == self.held_hash
	}

	/// Changes one value of θ behind the replica's back, as a bit flip in memory would: the
	/// fault `--behaviour corrupt-theta:W` stages for the tests (never called otherwise).
	pub fn inject_fault(&mut self) {
		if let Some(v) = self.theta.first_mut().and_then(|t| t.first_mut()) {
			*v = -*v + 1.0;
		}
	}

	/// The last window whose outer step θ includes.
	pub fn applied(&self) -> Option<u64> {
		self.applied
	}

	/// The inner-loop settings (a miner's replica only).
	pub fn inner(&self) -> Option<&InnerConfig> {
		self.training.as_ref().map(|t| &t.inner)
	}

	fn layout(&self) -> ModelLayout<'_> {
		ModelLayout { model: &self.model.config().name, names: &self.names, shapes: &self.shapes }
	}

	/// Trains window `window` (seed `seed`) as `miner` from θ and builds its payload, starting
	/// no inner step once `stop` says so. θ itself is unchanged.
	pub fn train(
		&mut self,
		window: u64,
		seed: &[u8; 32],
		miner: &[u8; 32],
		shard: &TokenShard,
		stop: StopWhen<'_>,
		progress: &ProgressBar,
	) -> Result<Trained, ReplicaError> {
		let theta_hash = self.theta_hash();
		let Some(training) = self.training.as_mut() else {
			return Err(ReplicaError::NotAMiner);
		};
		let spec = SliceSpec {
			sequences: training.inner.steps * training.inner.batch_size,
			seq_len: self.model.config().seq_len,
		};
		let dataset = shard.manifest().dataset_digest_bytes()?;
		let slice = assigned_slice(seed, miner, &dataset, shard.train_tokens(), spec)?;
		let rows = slice.rows(shard)?;
		self.model.params().set_from_vecs(&self.theta)?;
		let first_step = window.saturating_mul(training.inner.steps as u64);
		let report = train_window(
			&self.model,
			&mut training.optimizer,
			&rows,
			&training.inner,
			first_step,
			stop,
			progress,
		)?;
		let built_at = Instant::now();
		let header = Header { window, miner: *miner, theta_hash, data_digest: slice.digest };
		let update =
			training.builder.build_from_params(&self.theta, self.model.params(), header)?;
		self.model.params().set_from_vecs(&self.theta)?;
		Ok(Trained { update, report, build_time: built_at.elapsed() })
	}

	/// Applies window `window`'s outer step with `payloads` (the included updates, in
	/// aggregation-set order).
	pub fn apply_outer_step(
		&mut self,
		window: u64,
		payloads: &[&Payload],
		step: &OuterStep,
	) -> Result<(), ReplicaError> {
		let peers: Vec<&[tessera_codec::CompressedTensor]> =
			payloads.iter().map(|p| p.tensors.as_slice()).collect();
		self.codec.apply_outer_step(&mut self.theta, &peers, step)?;
		self.held_hash = self.theta_hash();
		self.applied = Some(window);
		self.model.params().set_from_vecs(&self.theta)?;
		Ok(())
	}

	/// Replaces θ with `theta`, the parameters after window `window` (`None`: θ_0) — a
	/// recomputed outer step or a re-sync. The miner's private state is kept.
	pub fn set_theta(
		&mut self,
		window: Option<u64>,
		theta: Vec<Vec<f32>>,
	) -> Result<(), ReplicaError> {
		if theta.len() != self.shapes.len()
			|| theta.iter().zip(&self.shapes).any(|(t, s)| t.len() != s.iter().product::<usize>())
		{
			return Err(ReplicaError::Codec(CodecError::LengthMismatch {
				tensor: 0,
				what: "parameters",
				got: theta.len(),
				expected: self.shapes.len(),
			}));
		}
		self.model.params().set_from_vecs(&theta)?;
		self.theta = theta;
		self.held_hash = self.theta_hash();
		self.applied = window;
		Ok(())
	}

	/// Puts θ back into the model (after something else used its parameters).
	pub fn sync_model(&self) -> Result<(), ReplicaError> {
		Ok(self.model.params().set_from_vecs(&self.theta)?)
	}

	/// θ_0, the network's initial parameters.
	pub fn initial_theta(&self) -> Result<Vec<Vec<f32>>, ReplicaError> {
		Ok(Llama::theta_zero(self.model.config())?)
	}

	/// Mean loss of θ on `rows`, in batches of `batch` (no gradients).
	pub fn evaluate(&self, rows: &[Vec<u16>], batch: usize) -> Result<f32, ReplicaError> {
		Ok(self.model.mean_loss(rows, batch)? as f32)
	}

	/// The replica's state as a checkpoint (a copy: θ and, for a miner, its AdamW moments and
	/// error feedback), for the background writer; `None` before any outer step.
	pub fn checkpoint(&self) -> Result<Option<Checkpoint>, ReplicaError> {
		let Some(window) = self.applied else { return Ok(None) };
		let to_vecs = |t: &Tensor| -> Result<Vec<f32>, ReplicaError> {
			Ok(t.flatten_all()?.to_vec1::<f32>()?)
		};
		let (optimizer, error_feedback) = match &self.training {
			Some(t) => {
				let moments = t.optimizer.moments();
				let state = OptimizerState {
					steps: t.optimizer.steps(),
					m: moments
						.iter()
						.map(|m| to_vecs(m.m.as_tensor()))
						.collect::<Result<_, _>>()?,
					v: moments
						.iter()
						.map(|m| to_vecs(m.v.as_tensor()))
						.collect::<Result<_, _>>()?,
				};
				(Some(state), Some(t.builder.errors()?))
			},
			None => (None, None),
		};
		Ok(Some(Checkpoint { window, theta: self.theta.clone(), optimizer, error_feedback }))
	}

	/// Restores θ (and a miner's private state, when the checkpoint has it) from `checkpoint`.
	pub fn restore(&mut self, checkpoint: Checkpoint) -> Result<(), ReplicaError> {
		self.model.params().set_from_vecs(&checkpoint.theta)?;
		if let (Some(training), Some(opt)) = (self.training.as_mut(), checkpoint.optimizer) {
			let device = self.model.device().clone();
			let tensors = opt
				.m
				.into_iter()
				.zip(opt.v)
				.zip(&self.shapes)
				.map(|((m, v), shape)| {
					Ok((
						Tensor::from_vec(m, shape.as_slice(), &device)?,
						Tensor::from_vec(v, shape.as_slice(), &device)?,
					))
				})
				.collect::<Result<Vec<_>, candle_core::Error>>()?;
			training.optimizer.restore(opt.steps, &tensors)?;
		}
		if let (Some(training), Some(errors)) = (self.training.as_mut(), checkpoint.error_feedback)
		{
			training.builder.restore_errors(errors)?;
		}
		self.theta = checkpoint.theta;
		self.held_hash = self.theta_hash();
		self.applied = Some(checkpoint.window);
		Ok(())
	}

	/// The layout checkpoints of this model use.
	pub fn checkpoint_layout(&self) -> ModelLayout<'_> {
		self.layout()
	}
}
