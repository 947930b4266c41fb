//! The LLaMA-style decoder: token embedding, `n_layers` blocks ([`Block`]) of pre-norm causal
//! self-attention with RoPE and a SwiGLU feed-forward, a final RMSNorm and the output
//! projection (tied to the embedding, or a separate `lm_head` when the configuration unties
//! it). Each part runs on its own — [`Llama::embed`], [`Llama::forward_blocks`] over any range
//! of blocks, [`Llama::head`] — so a pipeline stage can hold and run a slice of the model;
//! [`Llama::forward`] is the three in a row.

use super::{
	ModelConfig, ModelError, ParamSet,
	block::{Block, Mode, Positions},
	init,
	ops::{loss, norm, rope_tables},
};
use candle_core::{D, Device, Tensor, Var};
use rayon::prelude::*;
use std::ops::Range;

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
/// feed-forward norm, gate, up and down projections, the final norm, then (untied only) the
/// output projection. The one place that order is written down ([`Llama::new`] takes its
/// variables in it).
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
	if !config.tie_embeddings {
		out.push(param("lm_head".into(), &[v, d], Init::Normal(std)));
	}
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
	/// The output projection when untied (`None`: the embedding's transpose).
	lm_head: Option<Var>,
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
		let untied = usize::from(!config.tie_embeddings);
		let (expected, got) = (2 + 9 * config.n_layers + untied, vars.len());
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
		let lm_head = if config.tie_embeddings { None } else { Some(next()?) };
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
			lm_head,
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

	/// The decoder blocks, in order.
	pub fn blocks(&self) -> &[Block] {
		&self.blocks
	}

	/// The positions of a forward pass over `b` rows of `t` tokens (t ≤ `seq_len`): the RoPE
	/// tables and the causal mask cut to `t`.
	pub fn positions(&self, b: usize, t: usize) -> Result<Positions, ModelError> {
		Ok(Positions {
			b,
			t,
			cos: self.cos.narrow(0, 0, t)?,
			sin: self.sin.narrow(0, 0, t)?,
			mask: self.mask.narrow(0, 0, t)?.narrow(1, 0, t)?,
			d_model: self.config.d_model,
			n_heads: self.config.n_heads,
			head_dim: self.config.head_dim(),
			norm_eps: self.config.norm_eps,
		})
	}

	/// The first stage: the embeddings (B·T, D) of `tokens` (B, T) of u32 ids, T ≤ `seq_len`,
	/// and the positions the blocks need.
	pub fn embed(&self, tokens: &Tensor, mode: Mode) -> Result<(Tensor, Positions), ModelError> {
		let (b, t) = tokens.dims2()?;
		let x = mode.weight(&self.embed).index_select(&tokens.flatten_all()?, 0)?;
		Ok((x, self.positions(b, t)?))
	}

	/// The residual stream `x` (B·T, D) through blocks `range` alone.
	pub fn forward_blocks(
		&self,
		x: &Tensor,
		range: Range<usize>,
		positions: &Positions,
		mode: Mode,
	) -> Result<Tensor, ModelError> {
		let blocks = self.blocks.get(range.clone()).ok_or(ModelError::BlockRange {
			start: range.start,
			end: range.end,
			blocks: self.blocks.len(),
		})?;
		let mut x = x.clone();
		for block in blocks {
			x = block.forward(&x, positions, mode)?;
		}
		Ok(x)
	}

	/// The last stage: the final norm and the output projection of `x` (B·T, D): logits
	/// (B·T, V).
	pub fn head(&self, x: &Tensor, mode: Mode) -> Result<Tensor, ModelError> {
		let x = norm(x, &mode.weight(&self.final_norm), self.config.norm_eps)?;
		let out = mode.weight(self.lm_head.as_ref().unwrap_or(&self.embed));
		Ok(x.matmul(&out.t()?)?)
	}

	/// Logits (B·T, V) for `tokens` (B, T) of u32 ids, T ≤ `seq_len`, recorded for backprop.
	pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		self.forward_in(tokens, Mode::Train)
	}

	/// The logits of [`Llama::forward`] on detached weights: no op is recorded for backprop, so
	/// each intermediate is freed as soon as the next op has read it. For evaluation.
	pub fn forward_eval(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		self.forward_in(tokens, Mode::Eval)
	}

	/// Embedding, every block, head.
	fn forward_in(&self, tokens: &Tensor, mode: Mode) -> Result<Tensor, ModelError> {
		let (x, positions) = self.embed(tokens, mode)?;
		let x = self.forward_blocks(&x, 0..self.blocks.len(), &positions, mode)?;
		self.head(&x, mode)
	}

	/// Mean next-token cross-entropy of `tokens` (B, T+1): inputs are the first T of each row,
	/// targets the last T.
	pub fn loss(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let (inputs, targets) = Self::split(tokens)?;
		Ok(loss(&self.forward(&inputs)?, &targets)?)
	}

	/// [`Llama::loss`] without recording for backprop ([`Llama::forward_eval`]): the same value,
	/// for evaluation.
	pub fn loss_eval(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let (inputs, targets) = Self::split(tokens)?;
		Ok(loss(&self.forward_eval(&inputs)?, &targets)?)
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

	/// The CPU's fused kernels and the model's wiring of them together: for each parameter, the
	/// loss changes along its gradient as the gradient says (a central difference, stepped so
	/// the loss moves by about 10⁻²).
	#[test]
	fn each_parameter_gradient_is_the_loss_derivative_along_it() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let batch = model.batch(&some_rows(&config, 2)).unwrap();
		let grads = model.loss(&batch).unwrap().backward().unwrap();
		let theta = model.params().to_vecs().unwrap();
		let loss_at = |values: &[Vec<f32>]| -> f64 {
			model.params().set_from_vecs(values).unwrap();
			f64::from(model.loss_eval(&batch).unwrap().to_scalar::<f32>().unwrap())
		};
		for (i, p) in model.params().iter().enumerate() {
			let g = grads.get(&p.var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
			let g2: f64 = g.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
			let h = 1e-2 / g2;
			let moved = |sign: f64| {
				let mut values = theta.clone();
				for (v, g) in values[i].iter_mut().zip(&g) {
					*v += (sign * h * f64::from(*g)) as f32;
				}
				loss_at(&values)
			};
			let ratio = (moved(1.0) - moved(-1.0)) / (2.0 * h * g2);
			assert!(
				(ratio - 1.0).abs() < 0.05,
				"{}: the loss moved {ratio} times the gradient's say",
				p.name
			);
		}
		model.params().set_from_vecs(&theta).unwrap();
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

	#[test]
	fn the_parts_in_a_row_are_the_forward_pass_bit_for_bit() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let tokens = model.batch(&some_rows(&config, 2)).unwrap().narrow(1, 0, 16).unwrap();
		let whole =
			model.forward(&tokens).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
		let n = model.blocks().len();
		assert!(n >= 2, "tiny has {n} blocks");
		let (x, positions) = model.embed(&tokens, Mode::Train).unwrap();
		// Two stages: blocks 0..1, then 1..n.
		let x = model.forward_blocks(&x, 0..1, &positions, Mode::Train).unwrap();
		let x = model.forward_blocks(&x, 1..n, &positions, Mode::Train).unwrap();
		let staged =
			model.head(&x, Mode::Train).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
		assert_eq!(whole.len(), 2 * 16 * config.vocab_size);
		assert_eq!(whole.len(), staged.len());
		assert!(whole.iter().zip(&staged).all(|(a, b)| a.to_bits() == b.to_bits()));
	}

	#[test]
	fn a_range_of_blocks_runs_forward_and_backward_alone() {
		let config = tiny();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let tokens = model.batch(&some_rows(&config, 2)).unwrap().narrow(1, 0, 16).unwrap();
		let (x, positions) = model.embed(&tokens, Mode::Eval).unwrap();
		// A stage holding block 1 only: its input comes from elsewhere (detached).
		let out = model.forward_blocks(&x.detach(), 1..2, &positions, Mode::Train).unwrap();
		let grads = out.sqr().unwrap().mean_all().unwrap().backward().unwrap();
		for p in model.params().iter() {
			let in_stage = p.name.starts_with("layers.1.");
			assert_eq!(grads.get(&p.var).is_some(), in_stage, "{}", p.name);
		}
		let err = model.forward_blocks(&x, 1..99, &positions, Mode::Eval).unwrap_err();
		assert!(matches!(err, ModelError::BlockRange { start: 1, end: 99, .. }), "{err}");
	}

	#[test]
	fn an_untied_head_is_a_parameter_of_its_own() {
		let tied = tiny();
		let config = ModelConfig { tie_embeddings: false, ..tied.clone() };
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		assert_eq!(model.params().numel(), config.parameter_count());
		assert_eq!(
			config.parameter_count(),
			tied.parameter_count() + config.vocab_size * config.d_model
		);
		let names: Vec<_> = model.params().iter().map(|p| p.name.clone()).collect();
		assert_eq!(names.last().map(String::as_str), Some("lm_head"));
		// Every other tensor of θ_0 is the tied model's (each is drawn from its name).
		let theta = model.params().to_vecs().unwrap();
		let tied_theta = Llama::theta_zero(&tied).unwrap();
		assert_eq!(theta[..theta.len() - 1], tied_theta[..]);
		assert_eq!(Llama::theta_zero(&config).unwrap(), theta);
		assert_eq!(Llama::shapes(&config), model.params().shapes());
		// The head learns apart from the embedding.
		let batch = model.batch(&some_rows(&config, 2)).unwrap();
		let grads = model.loss(&batch).unwrap().backward().unwrap();
		let head = model.params().iter().find(|p| p.name == "lm_head").unwrap();
		assert!(grads.get(&head.var).is_some());
		// A config file says so in one line.
		let text = "name = \"u\"\nvocab_size = 64\nd_model = 16\nn_layers = 1\nn_heads = 2\n\
		            d_ff = 32\nseq_len = 8\ntie_embeddings = false\n";
		assert!(!ModelConfig::parse(text, "inline").unwrap().tie_embeddings);
	}
}
