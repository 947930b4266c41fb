//! AdamW with global-norm gradient clipping. Written here rather than taken from candle-nn
//! because a miner's checkpoint must hold the optimizer's moments, which candle-nn keeps private.
//! Weight decay applies to matrices only (not to norm gains). On the CPU the update runs fused
//! (`adamw_cpu.rs`: three in-place passes, bit-identical); elsewhere as composed candle ops.

use candle_core::{Result, Tensor, Var, backprop::GradStore};
use serde::Deserialize;

/// Optimizer settings.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
	/// β₁.
	pub beta1: f64,
	/// β₂.
	pub beta2: f64,
	/// ε.
	pub eps: f64,
	/// Decoupled weight decay.
	pub weight_decay: f64,
	/// Largest global gradient norm; larger gradients are scaled down to it.
	pub max_grad_norm: f64,
}

impl Default for AdamWConfig {
	fn default() -> Self {
		Self { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1.0 }
	}
}

/// One parameter's moments.
pub struct Moments {
	/// First moment.
	pub m: Var,
	/// Second moment.
	pub v: Var,
}

/// The optimizer and its state.
pub struct AdamW {
	config: AdamWConfig,
	params: Vec<Var>,
	moments: Vec<Moments>,
	steps: u64,
	/// Whether a CPU step takes the fused update (always, but for the test that compares it
	/// with the composed one).
	fused: bool,
}

/// What one step did.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
	/// Global gradient norm before clipping.
	pub grad_norm: f64,
	/// Whether the gradient was scaled down.
	pub clipped: bool,
}

impl AdamW {
	/// A fresh optimizer over `params` (zero moments).
	pub fn new(params: Vec<Var>, config: AdamWConfig) -> Result<Self> {
		let moments = params
			.iter()
			.map(|p| {
				Ok(Moments {
					m: Var::zeros(p.dims(), p.dtype(), p.device())?,
					v: Var::zeros(p.dims(), p.dtype(), p.device())?,
				})
			})
			.collect::<Result<_>>()?;
		Ok(Self { config, params, moments, steps: 0, fused: true })
	}

	/// Steps taken (bias correction uses it).
	pub fn steps(&self) -> u64 {
		self.steps
	}

	/// The moments, aligned with the parameters (for checkpoints).
	pub fn moments(&self) -> &[Moments] {
		&self.moments
	}

	/// Restores state saved from [`Self::moments`] and [`Self::steps`].
	pub fn restore(&mut self, steps: u64, moments: &[(Tensor, Tensor)]) -> Result<()> {
		if moments.len() != self.moments.len() {
			return Err(candle_core::Error::Msg(format!(
				"optimizer state has {} tensors, the model {}",
				moments.len(),
				self.moments.len()
			)));
		}
		for (mine, (m, v)) in self.moments.iter().zip(moments) {
			mine.m.set(m)?;
			mine.v.set(v)?;
		}
		self.steps = steps;
		Ok(())
	}

	/// One update with learning rate `lr`. A parameter without a gradient is left alone.
	pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<StepInfo> {
		let mut sq = 0.0f64;
		for p in &self.params {
			if let Some(g) = grads.get(p) {
				sq += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
			}
		}
		let grad_norm = sq.sqrt();
		let clip = if grad_norm > self.config.max_grad_norm && grad_norm.is_finite() {
			self.config.max_grad_norm / grad_norm
		} else {
			1.0
		};
		self.steps += 1;
		let t = self.steps as i32;
		let (b1, b2) = (self.config.beta1, self.config.beta2);
		let c1 = 1.0 - b1.powi(t);
		let c2 = 1.0 - b2.powi(t);
		let fused = self.fused && super::adamw_cpu::applies(&self.params, grads);
		for (p, mo) in self.params.iter().zip(&self.moments) {
			let Some(g) = grads.get(p) else { continue };
			let decay = if p.rank() >= 2 { 1.0 - lr * self.config.weight_decay } else { 1.0 };
			if fused {
				let scalars = super::adamw_cpu::StepScalars::new(
					clip,
					b1,
					b2,
					c1,
					c2,
					self.config.eps,
					lr,
					decay,
				);
				super::adamw_cpu::update(p, &mo.m, &mo.v, g, scalars)?;
				continue;
			}
			let g = (g * clip)?;
			let m = ((mo.m.as_tensor() * b1)? + (&g * (1.0 - b1))?)?;
			let v = ((mo.v.as_tensor() * b2)? + (g.sqr()? * (1.0 - b2))?)?;
			let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + self.config.eps)?)?;
			p.set(&((p.as_tensor() * decay)? - (update * lr)?)?)?;
			mo.m.set(&m)?;
			mo.v.set(&v)?;
		}
		Ok(StepInfo { grad_norm, clipped: clip < 1.0 })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use candle_core::Device;

	#[test]
	fn first_step_moves_each_coordinate_by_lr_against_the_gradient_sign() {
		let x = Var::new(&[1.0f32, -2.0, 3.0], &Device::Cpu).unwrap();
		let config = AdamWConfig { weight_decay: 0.0, max_grad_norm: 1e9, ..Default::default() };
		let mut opt = AdamW::new(vec![x.clone()], config).unwrap();
		let loss = (x.as_tensor() * &Tensor::new(&[2.0f32, -1.0, 0.5], &Device::Cpu).unwrap())
			.unwrap()
			.sum_all()
			.unwrap();
		opt.step(&loss.backward().unwrap(), 0.1).unwrap();
		let got = x.as_tensor().to_vec1::<f32>().unwrap();
		for (g, e) in got.iter().zip([0.9f32, -1.9, 2.9]) {
			assert!((g - e).abs() < 1e-5, "{got:?}");
		}
	}

	/// Parameters of a matrix (more values than one rayon task takes) and a vector, and a loss
	/// whose gradient is large enough to clip.
	fn problem(seed: u64) -> (Vec<Var>, impl Fn(&[Var]) -> GradStore) {
		use rand::{Rng, SeedableRng};
		let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
		let mut values =
			|n: usize| (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<_>>();
		let (a, b, wa, wb) = (values(160 * 128), values(128), values(160 * 128), values(128));
		let dev = Device::Cpu;
		let params =
			vec![Var::from_vec(a, (160, 128), &dev).unwrap(), Var::from_vec(b, 128, &dev).unwrap()];
		let w = [
			Tensor::from_vec(wa, (160, 128), &dev).unwrap(),
			Tensor::from_vec(wb, 128, &dev).unwrap(),
		];
		let grads = move |ps: &[Var]| {
			let mut loss = Tensor::new(0.0f32, &Device::Cpu).unwrap();
			for (p, w) in ps.iter().zip(&w) {
				let term = ((p.as_tensor() * w).unwrap().sum_all().unwrap()
					+ (p.as_tensor().sqr().unwrap().sum_all().unwrap() * 3.0).unwrap())
				.unwrap();
				loss = (loss + term).unwrap();
			}
			loss.backward().unwrap()
		};
		(params, grads)
	}

	/// How far apart the fused and the composed update may end up, as a fraction of the
	/// tensor's largest value. With candle's own CPU kernels the two are bit-identical (0). With
	/// the `mkl` feature candle runs the composed form's division and square root through MKL's
	/// vector math, which may round a result the other way in the last bit: a difference of a
	/// few units in the last place of an update, which is large only beside a parameter that
	/// happens to sit near zero.
	const TOLERANCE: f32 = if cfg!(feature = "mkl") { 1e-6 } else { 0.0 };

	/// The first coordinate where `a` and `b` differ by more than [`TOLERANCE`] (bit for bit
	/// when it is 0), if any.
	fn first_disagreement(a: &Tensor, b: &Tensor) -> Option<(usize, f32, f32)> {
		let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
		let (a, b) = (values(a), values(b));
		assert_eq!(a.len(), b.len());
		let largest = a.iter().chain(&b).fold(0f32, |m, v| m.max(v.abs()));
		let apart = |x: f32, y: f32| {
			if TOLERANCE == 0.0 {
				x.to_bits() != y.to_bits()
			} else {
				(x - y).abs() > TOLERANCE * largest
			}
		};
		a.iter()
			.zip(&b)
			.enumerate()
			.find(|(_, (x, y))| apart(**x, **y))
			.map(|(i, (x, y))| (i, *x, *y))
	}

	#[test]
	fn fused_and_composed_steps_are_bit_identical() {
		let (fused_params, grads) = problem(7);
		let composed_params: Vec<Var> = fused_params
			.iter()
			.map(|p| Var::from_tensor(&p.as_tensor().copy().unwrap()).unwrap())
			.collect();
		let config = AdamWConfig { max_grad_norm: 5.0, ..Default::default() };
		let mut fused = AdamW::new(fused_params.clone(), config).unwrap();
		let mut composed = AdamW::new(composed_params.clone(), config).unwrap();
		composed.fused = false;
		// The fused path is the one taken (a matrix larger than one rayon task's share).
		assert!(crate::train::adamw_cpu::applies(&fused_params, &grads(&fused_params)));
		let mut clipped = 0;
		for step in 0..12 {
			let lr = 1e-2 * f64::from(12 - step) / 12.0;
			let a = fused.step(&grads(&fused_params), lr).unwrap();
			let b = composed.step(&grads(&composed_params), lr).unwrap();
			assert_eq!(a.grad_norm.to_bits(), b.grad_norm.to_bits(), "step {step}");
			clipped += usize::from(a.clipped);
			let pairs = fused_params.iter().zip(&composed_params).map(|(x, y)| ("parameter", x, y));
			let m = fused.moments().iter().zip(composed.moments()).map(|(x, y)| ("m", &x.m, &y.m));
			let v = fused.moments().iter().zip(composed.moments()).map(|(x, y)| ("v", &x.v, &y.v));
			for (i, (what, x, y)) in pairs.chain(m).chain(v).enumerate() {
				let apart = first_disagreement(x.as_tensor(), y.as_tensor());
				assert_eq!(
					apart, None,
					"step {step}, {what} (tensor {i}): coordinate, fused, composed"
				);
			}
		}
		assert!(clipped > 0, "the gradient was clipped in some step");
		assert!(
			first_disagreement(fused_params[0].as_tensor(), problem(7).0[0].as_tensor()).is_some(),
			"the parameters moved"
		);
	}

	#[test]
	fn clipping_reports_the_norm_and_minimises_a_quadratic() {
		let x = Var::new(&[30.0f32, -40.0], &Device::Cpu).unwrap();
		let mut opt =
			AdamW::new(vec![x.clone()], AdamWConfig { weight_decay: 0.0, ..Default::default() })
				.unwrap();
		let info = opt
			.step(&x.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap(), 0.5)
			.unwrap();
		assert!((info.grad_norm - 100.0).abs() < 1e-3 && info.clipped);
		for i in 0..300 {
			let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
			opt.step(&loss.backward().unwrap(), 2.0 * f64::from(300 - i) / 300.0).unwrap();
		}
		let v = x.as_tensor().to_vec1::<f32>().unwrap();
		assert!(v.iter().all(|c| c.abs() < 0.5), "{v:?}");
		assert_eq!(opt.steps(), 301);
	}
}
