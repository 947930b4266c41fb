//! The LLaMA-style decoder: token embedding (tied to the output projection), `n_layers` blocks of
//! pre-norm causal self-attention with RoPE and a SwiGLU feed-forward, a final RMSNorm.

use super::{
	ModelConfig, ModelError, ParamSet, init,
	ops::{cross_entropy, rms_norm, rope, rope_tables, silu, softmax_last_dim},
};
use candle_core::{D, Device, Tensor, Var};
use rayon::prelude::*;

struct Block {
	attn_norm: Var,
	wq: Var,
	wk: Var,
	wv: Var,
	wo: Var,
	mlp_norm: Var,
	w_gate: Var,
	w_up: Var,
	w_down: Var,
}

/// How a parameter starts.
enum Init {
	/// Drawn from N(0, std²).
	Normal(f32),
	/// All ones (the norms' gains).
	Ones,
}

/// One parameter: its name, shape and initialisation.
struct Layout {
	name: String,
	shape: Vec<usize>,
	init: Init,
}

/// Every parameter in model order: the embedding, each block's attention norm, wq, wk, wv, wo,
/// feed-forward norm, gate, up and down projections, then the final norm. The one place that
/// order is written down ([`Llama::new`] takes its variables in it).
fn layout(config: &ModelConfig) -> Vec<Layout> {
	let (v, d, f) = (config.vocab_size, config.d_model, config.d_ff);
	let std = config.init_std;
	// Projections into the residual stream start smaller, so its variance stays put.
	let out_std = std / (2.0 * config.n_layers as f32).sqrt();
	let param = |name: String, shape: &[usize], init| Layout { name, shape: shape.to_vec(), init };
	let mut out = vec![param("embed".into(), &[v, d], Init::Normal(std))];
	for l in 0..config.n_layers {
		let p = format!("layers.{l}");
		out.extend([
			param(format!("{p}.attn_norm"), &[d], Init::Ones),
			param(format!("{p}.wq"), &[d, d], Init::Normal(std)),
			param(format!("{p}.wk"), &[d, d], Init::Normal(std)),
			param(format!("{p}.wv"), &[d, d], Init::Normal(std)),
			param(format!("{p}.wo"), &[d, d], Init::Normal(out_std)),
			param(format!("{p}.mlp_norm"), &[d], Init::Ones),
			param(format!("{p}.w_gate"), &[f, d], Init::Normal(std)),
			param(format!("{p}.w_up"), &[f, d], Init::Normal(std)),
			param(format!("{p}.w_down"), &[d, f], Init::Normal(out_std)),
		]);
	}
	out.push(param("final_norm".into(), &[d], Init::Ones));
	out
}

/// Every parameter's initial values, drawn in parallel; each depends only on the seed and its
/// name, so the bits do not depend on the order or the threads.
fn draw(config: &ModelConfig, layout: &[Layout]) -> Vec<Vec<f32>> {
	layout
		.par_iter()
		.map(|p| {
			let n = p.shape.iter().product();
			match p.init {
				Init::Normal(std) => init::normal(config.init_seed, &p.name, n, std),
				Init::Ones => vec![1.0; n],
			}
		})
		.collect()
}

/// The model and its parameters.
pub struct Llama {
	config: ModelConfig,
	params: ParamSet,
	embed: Var,
	blocks: Vec<Block>,
	final_norm: Var,
	cos: Tensor,
	sin: Tensor,
	mask: Tensor,
	device: Device,
}

impl Llama {
	/// The model at θ_0 (deterministic in the config's `init_seed`). The tensors are drawn in
	/// parallel; each depends only on the seed and its name, so the bits do not.
	pub fn new(config: &ModelConfig, device: &Device) -> Result<Self, ModelError> {
		config.validate()?;
		let layout = layout(config);
		let values = draw(config, &layout);
		let mut params = ParamSet::default();
		let mut vars = Vec::with_capacity(layout.len());
		for (p, v) in layout.into_iter().zip(values) {
			vars.push(params.add(p.name, v, &p.shape, device)?);
		}
		// The layout and the order taken here are both this file's; a mismatch is a bug here.
		let (expected, got) = (2 + 9 * config.n_layers, vars.len());
		let mut vars = vars.into_iter();
		let mut next = || vars.next().ok_or(ModelError::ParamCount { expected, got });
		let embed = next()?;
		let mut blocks = Vec::with_capacity(config.n_layers);
		for _ in 0..config.n_layers {
			blocks.push(Block {
				attn_norm: next()?,
				wq: next()?,
				wk: next()?,
				wv: next()?,
				wo: next()?,
				mlp_norm: next()?,
				w_gate: next()?,
				w_up: next()?,
				w_down: next()?,
			});
		}
		let final_norm = next()?;
		let (cos, sin) = rope_tables(config.seq_len, config.head_dim(), config.rope_theta, device)?;
		let t = config.seq_len;
		let mask: Vec<f32> =
			(0..t * t).map(|i| if i % t > i / t { f32::NEG_INFINITY } else { 0.0 }).collect();
		let mask = Tensor::from_vec(mask, (t, t), device)?;
		Ok(Self {
			config: config.clone(),
			params,
			embed,
			blocks,
			final_norm,
			cos,
			sin,
			mask,
			device: device.clone(),
		})
	}

	/// θ_0 as flat values in model order (what `Llama::new(config, …).params().to_vecs()` holds),
	/// without building a model on any device.
	pub fn theta_zero(config: &ModelConfig) -> Result<Vec<Vec<f32>>, ModelError> {
		config.validate()?;
		Ok(draw(config, &layout(config)))
	}

	/// The parameters' shapes in model order, without drawing θ_0.
	pub fn shapes(config: &ModelConfig) -> Vec<Vec<usize>> {
		layout(config).into_iter().map(|p| p.shape).collect()
	}

	/// The configuration.
	pub fn config(&self) -> &ModelConfig {
		&self.config
	}

	/// The parameters, in model order.
	pub fn params(&self) -> &ParamSet {
		&self.params
	}

	/// The device the parameters live on.
	pub fn device(&self) -> &Device {
		&self.device
	}

	/// Logits (B·T, V) for `tokens` (B, T) of u32 ids, T ≤ `seq_len`, recorded for backprop.
	pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		self.forward_on(tokens, |v| v.as_tensor().clone())
	}

	/// The logits of [`Llama::forward`] on detached weights: no op is recorded for backprop, so
	/// each intermediate is freed as soon as the next op has read it. For evaluation.
	pub fn forward_eval(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		self.forward_on(tokens, |v| v.as_tensor().detach())
	}

	/// The forward pass with each weight taken through `weight`.
	fn forward_on(
		&self,
		tokens: &Tensor,
		weight: impl Fn(&Var) -> Tensor,
	) -> Result<Tensor, ModelError> {
		let (b, t) = tokens.dims2()?;
		let (d, h, hd) = (self.config.d_model, self.config.n_heads, self.config.head_dim());
		let eps = self.config.norm_eps;
		let embed = weight(&self.embed);
		let mut x = embed.index_select(&tokens.flatten_all()?, 0)?; // (B·T, D)
		let cos = self.cos.narrow(0, 0, t)?;
		let sin = self.sin.narrow(0, 0, t)?;
		let mask = self.mask.narrow(0, 0, t)?.narrow(1, 0, t)?;
		let scale = 1.0 / (hd as f64).sqrt();
		for block in &self.blocks {
			let n = rms_norm(&x, &weight(&block.attn_norm), eps)?;
			let heads = |w: &Var| -> candle_core::Result<Tensor> {
				n.matmul(&weight(w).t()?)?.reshape((b, t, h, hd))?.transpose(1, 2)?.contiguous()
			};
			let q = rope(&heads(&block.wq)?, &cos, &sin)?;
			let k = rope(&heads(&block.wk)?, &cos, &sin)?;
			let v = heads(&block.wv)?;
			let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&mask)?;
			let attn = softmax_last_dim(&scores)?.matmul(&v)?; // (B, H, T, hd)
			let attn = attn.transpose(1, 2)?.contiguous()?.reshape((b * t, d))?;
			x = (x + attn.matmul(&weight(&block.wo).t()?)?)?;
			let n = rms_norm(&x, &weight(&block.mlp_norm), eps)?;
			let gate = silu(&n.matmul(&weight(&block.w_gate).t()?)?)?;
			let up = n.matmul(&weight(&block.w_up).t()?)?;
			x = (x + (gate * up)?.matmul(&weight(&block.w_down).t()?)?)?;
		}
		let x = rms_norm(&x, &weight(&self.final_norm), eps)?;
		Ok(x.matmul(&embed.t()?)?)
	}

	/// Mean next-token cross-entropy of `tokens` (B, T+1): inputs are the first T of each row,
	/// targets the last T.
	pub fn loss(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let (inputs, targets) = Self::split(tokens)?;
		Ok(cross_entropy(&self.forward(&inputs)?, &targets)?)
	}

	/// [`Llama::loss`] without recording for backprop ([`Llama::forward_eval`]): the same value,
	/// for evaluation.
	pub fn loss_eval(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let (inputs, targets) = Self::split(tokens)?;
		Ok(cross_entropy(&self.forward_eval(&inputs)?, &targets)?)
	}

	/// Mean evaluation loss ([`Llama::loss_eval`]) over `rows` (each `seq_len + 1` tokens), in
	/// forward passes of `batch` rows, each pass weighted by its rows; NaN for no rows.
	pub fn mean_loss(&self, rows: &[Vec<u16>], batch: usize) -> Result<f64, ModelError> {
		let mut total = 0.0f64;
		for chunk in rows.chunks(batch.max(1)) {
			let tokens = self.batch(chunk)?;
			total += f64::from(self.loss_eval(&tokens)?.to_scalar::<f32>()?) * chunk.len() as f64;
		}
		Ok(if rows.is_empty() { f64::NAN } else { total / rows.len() as f64 })
	}

	/// Inputs (the first T of each row) and flattened targets (the last T).
	fn split(tokens: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
		let t = tokens.dim(D::Minus1)? - 1;
		Ok((tokens.narrow(1, 0, t)?.contiguous()?, tokens.narrow(1, 1, t)?.flatten_all()?))
	}

	/// `rows` (each `seq_len + 1` tokens) as a (B, T+1) u32 tensor, every id checked against
	/// the vocabulary.
	pub fn batch(&self, rows: &[Vec<u16>]) -> Result<Tensor, ModelError> {
		let width = rows.first().map_or(0, Vec::len);
		let mut ids = Vec::with_capacity(rows.len() * width);
		for row in rows {
			for &token in row {
				if usize::from(token) >= self.config.vocab_size {
					return Err(ModelError::TokenOutOfRange {
						token: token.into(),
						vocab: self.config.vocab_size,
					});
				}
				ids.push(u32::from(token));
			}
		}
		Ok(Tensor::from_vec(ids, (rows.len(), width), &self.device)?)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tiny() -> ModelConfig {
		ModelConfig::load("tiny").unwrap()
	}

	fn some_rows(config: &ModelConfig, n: usize) -> Vec<Vec<u16>> {
		(0..n)
			.map(|r| {
				(0..=config.seq_len)
					.map(|i| ((r * 7919 + i * 104_729) % config.vocab_size) as u16)
					.collect()
			})
			.collect()
	}

	#[test]
	fn parameter_count_and_order_follow_the_config() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		assert_eq!(model.params().numel(), config.parameter_count());
		let names: Vec<_> = model.params().iter().map(|p| p.name.clone()).collect();
		assert_eq!(names.first().map(String::as_str), Some("embed"));
		assert_eq!(names.last().map(String::as_str), Some("final_norm"));
		assert_eq!(names.len(), 2 + 9 * config.n_layers);
		assert_eq!(Llama::shapes(&config), model.params().shapes());
	}

	#[test]
	fn theta_zero_is_the_same_on_every_construction() {
		let config = tiny();
		let a = Llama::new(&config, &Device::Cpu).unwrap().params().theta_hash().unwrap();
		let b = Llama::new(&config, &Device::Cpu).unwrap().params().theta_hash().unwrap();
		assert_eq!(a, b);
	}

	#[test]
	fn theta_zero_of_the_presets_is_pinned() {
		// Peers of one network must draw the same θ_0 whatever version or build they run: a
		// change to the layout, the names, the stds or the generator fails here first.
		for (name, hash) in [
			("tiny", "8b7069a8f7aca70ae27a8427466c71d913bf01c8e6c5309d833e1b3f84eab599"),
			("small", "208a4fc21d565477403cd90be65ba9562e366fcb24dad42053ed02736e497a25"),
		] {
			let config = ModelConfig::load(name).unwrap();
			let model = Llama::new(&config, &Device::Cpu).unwrap();
			assert_eq!(hex::encode(model.params().theta_hash().unwrap()), hash, "θ_0 of {name}");
			assert_eq!(Llama::theta_zero(&config).unwrap(), model.params().to_vecs().unwrap());
		}
	}

	#[test]
	fn initial_loss_is_near_uniform() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let batch = model.batch(&some_rows(&config, 2)).unwrap();
		let loss = model.loss(&batch).unwrap().to_scalar::<f32>().unwrap();
		let uniform = (config.vocab_size as f32).ln();
		assert!((loss - uniform).abs() < 0.3, "loss {loss}, ln V {uniform}");
	}

	#[test]
	fn every_parameter_receives_a_finite_nonzero_gradient() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let batch = model.batch(&some_rows(&config, 2)).unwrap();
		let grads = model.loss(&batch).unwrap().backward().unwrap();
		for p in model.params().iter() {
			let g = grads.get(&p.var).unwrap_or_else(|| panic!("{} has no gradient", p.name));
			let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
			assert!(g.iter().all(|v| v.is_finite()), "{} has a non-finite gradient", p.name);
			let norm: f32 = g.iter().map(|v| v * v).sum::<f32>().sqrt();
			assert!(norm > 0.0, "{} has a zero gradient", p.name);
		}
	}

	#[test]
	fn the_evaluation_loss_equals_the_training_loss_and_records_nothing() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let batch = model.batch(&some_rows(&config, 2)).unwrap();
		let tracked = model.loss(&batch).unwrap();
		let eval = model.loss_eval(&batch).unwrap();
		assert_eq!(
			tracked.to_scalar::<f32>().unwrap().to_bits(),
			eval.to_scalar::<f32>().unwrap().to_bits()
		);
		let grads = eval.backward().unwrap();
		assert!(model.params().iter().all(|p| grads.get(&p.var).is_none()));
	}

	#[test]
	fn attention_is_causal() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let mut rows = some_rows(&config, 1);
		let a = model.forward(&model.batch(&rows).unwrap().narrow(1, 0, 10).unwrap()).unwrap();
		rows[0][9] = (rows[0][9] + 1) % config.vocab_size as u16;
		let b = model.forward(&model.batch(&rows).unwrap().narrow(1, 0, 10).unwrap()).unwrap();
		let (a, b) = (a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
		assert_eq!(a[..9], b[..9], "positions before the change must not move");
		assert_ne!(a[9], b[9]);
	}

	#[test]
	fn out_of_vocabulary_tokens_are_refused() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let err = model.batch(&[vec![0, u16::MAX]]).unwrap_err();
		assert!(matches!(err, ModelError::TokenOutOfRange { token: 65535, .. }));
	}
}
