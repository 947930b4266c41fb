//! The model's building blocks from differentiable candle ops only. candle's fused `rms_norm`,
//! `rope` and `softmax_last_dim` have no backward pass (their gradients are silently dropped), so
//! each is written here from primitives whose gradients candle knows. On the CPU the model runs
//! [`crate::fused`]'s kernels for RMSNorm, RoPE, the attention's softmax, SwiGLU's gate
//! and cross-entropy instead ([`on_cpu`] picks); these forms run elsewhere and are what those kernels
//! are tested against.

use candle_core::{D, Result, Tensor};

/// Whether `t`'s ops run on [`crate::fused`]'s CPU kernels.
pub fn on_cpu(t: &Tensor) -> bool {
	t.device().is_cpu()
}

/// RMSNorm on the device's best form: [`crate::fused::rms_norm`] on the CPU, else [`rms_norm`].
pub fn norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
	if on_cpu(x) { crate::fused::rms_norm(x, weight, eps) } else { rms_norm(x, weight, eps) }
}

/// Mean cross-entropy on the device's best form: [`crate::fused::cross_entropy`] on the CPU,
/// else [`cross_entropy`].
pub fn loss(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
	if on_cpu(logits) {
		crate::fused::cross_entropy(logits, targets)
	} else {
		cross_entropy(logits, targets)
	}
}

/// RMSNorm over the last dimension: `x / sqrt(mean(x²) + eps) · weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
	let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
	let inv_rms = (mean_square + f64::from(eps))?.sqrt()?.recip()?;
	x.broadcast_mul(&inv_rms)?.broadcast_mul(weight)
}

/// Softmax over the last dimension. The subtracted maximum is detached: it shifts every logit
/// of a row equally, which changes neither the softmax nor its gradient.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
	let max = x.max_keepdim(D::Minus1)?.detach();
	let e = x.broadcast_sub(&max)?.exp()?;
	let sum = e.sum_keepdim(D::Minus1)?;
	e.broadcast_div(&sum)
}

/// Log-softmax over the last dimension (same detached shift as [`softmax_last_dim`]).
pub fn log_softmax_last_dim(x: &Tensor) -> Result<Tensor> {
	let max = x.max_keepdim(D::Minus1)?.detach();
	let shifted = x.broadcast_sub(&max)?;
	let log_sum = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
	shifted.broadcast_sub(&log_sum)
}

/// SiLU, `x · σ(x)`, as `x / (1 + e^{−x})`.
pub fn silu(x: &Tensor) -> Result<Tensor> {
	let denom = (x.neg()?.exp()? + 1.0)?;
	x.div(&denom)
}

/// Mean cross-entropy of `logits` (N, V) against `targets` (N,) of u32 ids.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
	let log_p = log_softmax_last_dim(logits)?;
	log_p.gather(&targets.unsqueeze(1)?, 1)?.neg()?.mean_all()
}

/// Rotary position embedding tables for sequences up to `seq_len`: `(cos, sin)`, each
/// (seq_len, head_dim / 2).
pub fn rope_tables(
	seq_len: usize,
	head_dim: usize,
	theta: f32,
	device: &candle_core::Device,
) -> Result<(Tensor, Tensor)> {
	let half = head_dim / 2;
	let mut cos = Vec::with_capacity(seq_len * half);
	let mut sin = Vec::with_capacity(seq_len * half);
	for pos in 0..seq_len {
		for i in 0..half {
			let freq = 1.0 / f64::from(theta).powf(2.0 * i as f64 / head_dim as f64);
			let angle = pos as f64 * freq;
			cos.push(angle.cos() as f32);
			sin.push(angle.sin() as f32);
		}
	}
	Ok((
		Tensor::from_vec(cos, (seq_len, half), device)?,
		Tensor::from_vec(sin, (seq_len, half), device)?,
	))
}

/// Rotates `x` (B, H, T, head_dim) by position (rotate-half convention): with `x = [x1, x2]`,
/// `[x1·cos − x2·sin, x1·sin + x2·cos]`. `cos` and `sin` are the first T rows of the tables.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	let half = x.dim(D::Minus1)? / 2;
	let x1 = x.narrow(D::Minus1, 0, half)?;
	let x2 = x.narrow(D::Minus1, half, half)?;
	let a = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
	let b = (x1.broadcast_mul(sin)? + x2.broadcast_mul(cos)?)?;
	Tensor::cat(&[&a, &b], D::Minus1)
}

#[cfg(test)]
mod tests {
	use super::*;
	use candle_core::{Device, Var};

	fn close(a: &[f32], b: &[f32], tol: f32) {
		assert_eq!(a.len(), b.len());
		for (x, y) in a.iter().zip(b) {
			assert!((x - y).abs() <= tol, "{x} vs {y}");
		}
	}

	#[test]
	fn softmax_rows_sum_to_one_and_match_the_definition() {
		let x = Tensor::new(&[[1.0f32, 2.0, 3.0], [1000.0, 1000.0, 0.0]], &Device::Cpu).unwrap();
		let s = softmax_last_dim(&x).unwrap().to_vec2::<f32>().unwrap();
		let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
		let z: f32 = e.iter().sum();
		close(&s[0], &e.iter().map(|v| v / z).collect::<Vec<_>>(), 1e-6);
		close(&s[1], &[0.5, 0.5, 0.0], 1e-6);
	}

	#[test]
	fn rms_norm_matches_the_definition() {
		let x = Tensor::new(&[[3.0f32, 4.0]], &Device::Cpu).unwrap();
		let w = Tensor::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
		let y = rms_norm(&x, &w, 0.0).unwrap().to_vec2::<f32>().unwrap();
		let rms = (12.5f32).sqrt();
		close(&y[0], &[3.0 / rms, 8.0 / rms], 1e-6);
	}

	#[test]
	fn rope_preserves_norms_and_is_identity_at_position_zero() {
		let (cos, sin) = rope_tables(4, 8, 10_000.0, &Device::Cpu).unwrap();
		let x = Tensor::arange(0f32, 32.0, &Device::Cpu).unwrap().reshape((1, 1, 4, 8)).unwrap();
		let y = rope(&x, &cos, &sin).unwrap();
		let xv = x.squeeze(0).unwrap().to_vec3::<f32>().unwrap().remove(0);
		let yv = y.squeeze(0).unwrap().to_vec3::<f32>().unwrap().remove(0);
		for (t, (a, b)) in xv.iter().zip(&yv).enumerate() {
			let na: f32 = a.iter().map(|v| v * v).sum();
			let nb: f32 = b.iter().map(|v| v * v).sum();
			assert!((na - nb).abs() <= 1e-3 * na.max(1.0), "position {t}");
		}
		close(&xv[0], &yv[0], 1e-6);
	}

	#[test]
	fn every_op_passes_gradients_matching_finite_differences() {
		let dev = Device::Cpu;
		let x = Var::new(&[[0.3f32, -1.2, 0.7, 2.0]], &dev).unwrap();
		let w = Tensor::new(&[0.5f32, 1.5, -1.0, 2.0], &dev).unwrap();
		let targets = Tensor::new(&[2u32], &dev).unwrap();
		let f = |x: &Tensor| -> Tensor {
			let h = rms_norm(x, &w, 1e-5).unwrap();
			let h = silu(&h).unwrap();
			let s = softmax_last_dim(&h).unwrap();
			let mixed = (h + s).unwrap();
			cross_entropy(&mixed, &targets).unwrap()
		};
		let grads = f(x.as_tensor()).backward().unwrap();
		let g = grads.get(&x).unwrap().to_vec2::<f32>().unwrap().remove(0);
		let base = x.as_tensor().to_vec2::<f32>().unwrap().remove(0);
		for i in 0..4 {
			let eps = 1e-2f32;
			let mut plus = base.clone();
			plus[i] += eps;
			let mut minus = base.clone();
			minus[i] -= eps;
			let fp = f(&Tensor::from_vec(plus, (1, 4), &dev).unwrap()).to_scalar::<f32>().unwrap();
			let fm = f(&Tensor::from_vec(minus, (1, 4), &dev).unwrap()).to_scalar::<f32>().unwrap();
			let numeric = (fp - fm) / (2.0 * eps);
			assert!(
				(numeric - g[i]).abs() < 2e-3,
				"coordinate {i}: numeric {numeric}, backprop {}",
				g[i]
			);
		}
	}
}
