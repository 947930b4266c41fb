//! The LLaMA-style decoder: token embedding (tied to the output projection), `n_layers` blocks of
//! pre-norm causal self-attention with RoPE and a SwiGLU feed-forward, a final RMSNorm.

use super::{
	ModelConfig, ModelError, ParamSet, init,
	ops::{cross_entropy, rms_norm, rope, rope_tables, silu, softmax_last_dim},
};
use candle_core::{D, Device, Tensor, Var};

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
	/// The model at θ_0 (deterministic in the config's `init_seed`).
	pub fn new(config: &ModelConfig, device: &Device) -> Result<Self, ModelError> {
		config.validate()?;
		let (v, d, f) = (config.vocab_size, config.d_model, config.d_ff);
		let std = config.init_std;
		// Projections into the residual stream start smaller, so its variance stays put.
		let out_std = std / (2.0 * config.n_layers as f32).sqrt();
		let seed = config.init_seed;
		let mut params = ParamSet::default();
		let normal = |params: &mut ParamSet, name: String, shape: &[usize], std: f32| {
			let n = shape.iter().product();
			params.add(name.clone(), init::normal(seed, &name, n, std), shape, device)
		};
		let embed = normal(&mut params, "embed".into(), &[v, d], std)?;
		let mut blocks = Vec::with_capacity(config.n_layers);
		for l in 0..config.n_layers {
			let p = format!("layers.{l}");
			let attn_norm = params.add(format!("{p}.attn_norm"), vec![1.0; d], &[d], device)?;
			let wq = normal(&mut params, format!("{p}.wq"), &[d, d], std)?;
			let wk = normal(&mut params, format!("{p}.wk"), &[d, d], std)?;
			let wv = normal(&mut params, format!("{p}.wv"), &[d, d], std)?;
			let wo = normal(&mut params, format!("{p}.wo"), &[d, d], out_std)?;
			let mlp_norm = params.add(format!("{p}.mlp_norm"), vec![1.0; d], &[d], device)?;
			let w_gate = normal(&mut params, format!("{p}.w_gate"), &[f, d], std)?;
			let w_up = normal(&mut params, format!("{p}.w_up"), &[f, d], std)?;
			let w_down = normal(&mut params, format!("{p}.w_down"), &[d, f], out_std)?;
			blocks.push(Block { attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down });
		}
		let final_norm = params.add("final_norm", vec![1.0; d], &[d], device)?;
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

	/// Logits (B·T, V) for `tokens` (B, T) of u32 ids, T ≤ `seq_len`.
	pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let (b, t) = tokens.dims2()?;
		let (d, h, hd) = (self.config.d_model, self.config.n_heads, self.config.head_dim());
		let eps = self.config.norm_eps;
		let mut x = self.embed.as_tensor().index_select(&tokens.flatten_all()?, 0)?; // (B·T, D)
		let cos = self.cos.narrow(0, 0, t)?;
		let sin = self.sin.narrow(0, 0, t)?;
		let mask = self.mask.narrow(0, 0, t)?.narrow(1, 0, t)?;
		let scale = 1.0 / (hd as f64).sqrt();
		for block in &self.blocks {
			let n = rms_norm(&x, &block.attn_norm, eps)?;
			let heads = |w: &Var| -> candle_core::Result<Tensor> {
				n.matmul(&w.t()?)?.reshape((b, t, h, hd))?.transpose(1, 2)?.contiguous()
			};
			let q = rope(&heads(&block.wq)?, &cos, &sin)?;
			let k = rope(&heads(&block.wk)?, &cos, &sin)?;
			let v = heads(&block.wv)?;
			let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&mask)?;
			let attn = softmax_last_dim(&scores)?.matmul(&v)?; // (B, H, T, hd)
			let attn = attn.transpose(1, 2)?.contiguous()?.reshape((b * t, d))?;
			x = (x + attn.matmul(&block.wo.t()?)?)?;
			let n = rms_norm(&x, &block.mlp_norm, eps)?;
			let gate = silu(&n.matmul(&block.w_gate.t()?)?)?;
			let up = n.matmul(&block.w_up.t()?)?;
			x = (x + (gate * up)?.matmul(&block.w_down.t()?)?)?;
		}
		let x = rms_norm(&x, &self.final_norm, eps)?;
		Ok(x.matmul(&self.embed.t()?)?)
	}

	/// Mean next-token cross-entropy of `tokens` (B, T+1): inputs are the first T of each row,
	/// targets the last T.
	pub fn loss(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
		let t = tokens.dim(D::Minus1)? - 1;
		let inputs = tokens.narrow(1, 0, t)?.contiguous()?;
		let targets = tokens.narrow(1, 1, t)?.flatten_all()?;
		let logits = self.forward(&inputs)?;
		Ok(cross_entropy(&logits, &targets)?)
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
	}

	#[test]
	fn theta_zero_is_the_same_on_every_construction() {
		let config = tiny();
		let a = Llama::new(&config, &Device::Cpu).unwrap().params().theta_hash().unwrap();
		let b = Llama::new(&config, &Device::Cpu).unwrap().params().theta_hash().unwrap();
		assert_eq!(a, b);
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
