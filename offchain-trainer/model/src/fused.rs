//! CPU kernels with their own backward pass for where a training step spent its element-wise
//! time: RMSNorm, rotary position embedding, the attention's scaled causal softmax, SwiGLU's
//! gated product and cross-entropy. Each is one pass over its rows (split across rayon's threads)
//! and one for its gradient, where the composed forms in [`super::ops`] run a chain of candle ops
//! that each allocates a tensor and records a node for backprop (with them the inner step of the
//! `small` model ran at 0.62× PyTorch eager on the 2-core VM with MKL, and at 0.97× with these:
//! docs/PERFORMANCE.md). Cross-entropy never materialises the log-probabilities; the softmax
//! applies the causal mask itself.
//!
//! Off the CPU the composed forms run. They are also what the tests hold these to: the same
//! values and gradients within rounding (the sums run in another order), and every reduction
//! here is in a fixed order whatever the thread count, so a step is repeatable on one machine.

use candle_core::{
	CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor, bail,
};
use rayon::prelude::*;

/// Rows per rayon task.
const ROWS_PER_TASK: usize = 16;

/// The contiguous f32 values of `s` under `l`; `what` names the operand in an error (also the
/// fused AdamW's reader, `train::adamw_cpu`).
pub(crate) fn contiguous_f32s<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
	let (CpuStorage::F32(v), Some((start, end))) = (s, l.contiguous_offsets()) else {
		bail!("{what} is not a contiguous f32 tensor");
	};
	v.get(start..end).ok_or_else(|| candle_core::Error::Msg(format!("{what} out of range")))
}

/// An input of the kernel `op`, contiguous f32.
fn f32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
	contiguous_f32s(s, l, &format!("{op}: an input"))
}

/// The contiguous u32 values of `s` under `l`.
fn u32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [u32]> {
	let (CpuStorage::U32(v), Some((start, end))) = (s, l.contiguous_offsets()) else {
		bail!("{op}: expects a contiguous u32 tensor");
	};
	v.get(start..end).ok_or_else(|| candle_core::Error::Msg(format!("{op}: storage out of range")))
}

/// The length of `l`'s last dimension, which must divide its element count.
fn row_len(l: &Layout, op: &str) -> Result<usize> {
	match l.dims().last() {
		Some(&n) if n > 0 => Ok(n),
		_ => bail!("{op}: expects a tensor with a non-empty last dimension"),
	}
}

/// `tensors` made contiguous (the kernels read rows in memory order).
fn contiguous<const N: usize>(tensors: [&Tensor; N]) -> Result<[Tensor; N]> {
	let mut out = Vec::with_capacity(N);
	for t in tensors {
		out.push(t.contiguous()?);
	}
	out.try_into().map_err(|_| candle_core::Error::Msg("contiguous: arity".into()))
}

// ---- RMSNorm -------------------------------------------------------------------------------

/// `x / sqrt(mean(x²) + eps) · weight` over the last dimension of `x`; `weight` has that length.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
	let [x, weight] = contiguous([x, weight])?;
	weight.dims1()?;
	x.apply_op2(&weight, RmsNorm { eps })
}

struct RmsNorm {
	eps: f32,
}

/// `1 / sqrt(mean(row²) + eps)`.
fn inv_rms(row: &[f32], eps: f32) -> f32 {
	let sum: f32 = row.iter().map(|v| v * v).sum();
	1.0 / (sum / row.len() as f32 + eps).sqrt()
}

impl CustomOp2 for RmsNorm {
	fn name(&self) -> &'static str {
		"fused-rms-norm"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let (x, w) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
		let d = row_len(l1, self.name())?;
		if w.len() != d {
			bail!("{}: weight of {} for rows of {d}", self.name(), w.len());
		}
		let mut y = vec![0f32; x.len()];
		y.par_chunks_mut(d).zip(x.par_chunks(d)).with_min_len(ROWS_PER_TASK).for_each(|(y, x)| {
			let r = inv_rms(x, self.eps);
			for ((y, x), w) in y.iter_mut().zip(x).zip(w) {
				*y = x * r * w;
			}
		});
		Ok((CpuStorage::F32(y), l1.shape().clone()))
	}

	fn bwd(
		&self,
		x: &Tensor,
		w: &Tensor,
		_res: &Tensor,
		grad: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>)> {
		let [x, w, grad] = contiguous([x, w, grad])?;
		let rows = x.elem_count() / w.elem_count();
		// One tensor: the rows' gradients, then the weight's.
		let both = x.apply_op3_no_bwd(&w, &grad, &RmsNormGrad { eps: self.eps })?;
		let dx = both.narrow(0, 0, rows)?.reshape(x.shape())?;
		let dw = both.get(rows)?;
		Ok((Some(dx), Some(dw)))
	}
}

/// RMSNorm's gradients for `x`, `weight` and the output's gradient: a (rows + 1, d) tensor, the
/// gradient of each row of `x`, then the weight's.
struct RmsNormGrad {
	eps: f32,
}

impl CustomOp3 for RmsNormGrad {
	fn name(&self) -> &'static str {
		"fused-rms-norm-grad"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
		s3: &CpuStorage,
		l3: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let name = self.name();
		let (x, w, dy) = (f32s(s1, l1, name)?, f32s(s2, l2, name)?, f32s(s3, l3, name)?);
		let d = w.len();
		if d == 0 || x.len() % d != 0 || dy.len() != x.len() {
			bail!("{name}: {} values, a weight of {d}, {} gradients", x.len(), dy.len());
		}
		let rows = x.len() / d;
		let mut out = vec![0f32; x.len() + d];
		let (dx, dw) = out.split_at_mut(x.len());
		// dx_k = r·w_k·dy_k − x_k·r³·(Σ_j dy_j·w_j·x_j)/d, with r = 1/rms(x).
		dx.par_chunks_mut(d)
			.zip(x.par_chunks(d).zip(dy.par_chunks(d)))
			.with_min_len(ROWS_PER_TASK)
			.for_each(|(dx, (x, dy))| {
				let r = inv_rms(x, self.eps);
				let dot: f32 = dy.iter().zip(w).zip(x).map(|((g, w), x)| g * w * x).sum();
				let c = r * r * r * dot / d as f32;
				for (((dx, x), g), w) in dx.iter_mut().zip(x).zip(dy).zip(w) {
					*dx = r * w * g - x * c;
				}
			});
		// dw_j = Σ_rows dy_j·x_j·r: partial sums over fixed blocks of rows, added in order.
		let partials: Vec<Vec<f32>> = x
			.par_chunks(d * ROWS_PER_TASK)
			.zip(dy.par_chunks(d * ROWS_PER_TASK))
			.map(|(x, dy)| {
				let mut acc = vec![0f32; d];
				for (x, dy) in x.chunks(d).zip(dy.chunks(d)) {
					let r = inv_rms(x, self.eps);
					for ((a, x), g) in acc.iter_mut().zip(x).zip(dy) {
						*a += g * x * r;
					}
				}
				acc
			})
			.collect();
		for p in partials {
			for (a, v) in dw.iter_mut().zip(p) {
				*a += v;
			}
		}
		Ok((CpuStorage::F32(out), Shape::from((rows + 1, d))))
	}
}

// ---- the attention's softmax ---------------------------------------------------------------

/// `softmax(scale · scores + causal mask)` over the last dimension of `scores` (…, T, T): row i
/// of each (T, T) block sees columns 0..=i; the rest are 0.
pub fn causal_softmax(scores: &Tensor, scale: f32) -> Result<Tensor> {
	let [scores] = contiguous([scores])?;
	let (t_q, t_k) = (scores.dim(D::Minus2)?, scores.dim(D::Minus1)?);
	if t_q != t_k {
		bail!("causal softmax: scores of {t_q} × {t_k}");
	}
	scores.apply_op1(CausalSoftmax { scale })
}

struct CausalSoftmax {
	scale: f32,
}

impl CustomOp1 for CausalSoftmax {
	fn name(&self) -> &'static str {
		"fused-causal-softmax"
	}

	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		let x = f32s(s, l, self.name())?;
		let t = row_len(l, self.name())?;
		let mut y = vec![0f32; x.len()];
		y.par_chunks_mut(t).zip(x.par_chunks(t)).enumerate().with_min_len(ROWS_PER_TASK).for_each(
			|(row, (y, x))| {
				let seen = row % t + 1;
				let (y, x) = (&mut y[..seen], &x[..seen]);
				let max = x.iter().fold(f32::NEG_INFINITY, |m, v| m.max(v * self.scale));
				let mut sum = 0f32;
				for (y, x) in y.iter_mut().zip(x) {
					*y = (x * self.scale - max).exp();
					sum += *y;
				}
				let inv = 1.0 / sum;
				y.iter_mut().for_each(|y| *y *= inv);
			},
		);
		Ok((CpuStorage::F32(y), l.shape().clone()))
	}

	fn bwd(&self, _scores: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
		let [res, grad] = contiguous([res, grad])?;
		Ok(Some(res.apply_op2_no_bwd(&grad, &SoftmaxGrad { scale: self.scale })?))
	}
}

/// The softmax's gradient from its output `y` and the output's gradient `g`:
/// `scale · y · (g − Σ y·g)` per row.
struct SoftmaxGrad {
	scale: f32,
}

impl CustomOp2 for SoftmaxGrad {
	fn name(&self) -> &'static str {
		"fused-softmax-grad"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let (y, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
		let t = row_len(l1, self.name())?;
		if g.len() != y.len() {
			bail!("{}: {} outputs, {} gradients", self.name(), y.len(), g.len());
		}
		let mut dx = vec![0f32; y.len()];
		dx.par_chunks_mut(t)
			.zip(y.par_chunks(t).zip(g.par_chunks(t)))
			.with_min_len(ROWS_PER_TASK)
			.for_each(|(dx, (y, g))| {
				let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
				for ((dx, y), g) in dx.iter_mut().zip(y).zip(g) {
					*dx = self.scale * y * (g - dot);
				}
			});
		Ok((CpuStorage::F32(dx), l1.shape().clone()))
	}
}

// ---- SwiGLU's gate -------------------------------------------------------------------------

/// `silu(gate) · up`, element-wise, with `silu(g) = g / (1 + e^{−g})`.
pub fn silu_mul(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
	let [gate, up] = contiguous([gate, up])?;
	if gate.shape() != up.shape() {
		bail!("silu_mul: gate {:?}, up {:?}", gate.shape(), up.shape());
	}
	gate.apply_op2(&up, SiluMul)
}

struct SiluMul;

/// Elements per rayon task in the element-wise kernels.
const ELEMS_PER_TASK: usize = 1 << 13;

impl CustomOp2 for SiluMul {
	fn name(&self) -> &'static str {
		"fused-silu-mul"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let (g, u) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
		if g.len() != u.len() {
			bail!("{}: {} gates, {} ups", self.name(), g.len(), u.len());
		}
		let mut y = vec![0f32; g.len()];
		y.par_chunks_mut(ELEMS_PER_TASK)
			.zip(g.par_chunks(ELEMS_PER_TASK).zip(u.par_chunks(ELEMS_PER_TASK)))
			.for_each(|(y, (g, u))| {
				for ((y, g), u) in y.iter_mut().zip(g).zip(u) {
					*y = g / (1.0 + (-g).exp()) * u;
				}
			});
		Ok((CpuStorage::F32(y), l1.shape().clone()))
	}

	fn bwd(
		&self,
		gate: &Tensor,
		up: &Tensor,
		_res: &Tensor,
		grad: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>)> {
		let [gate, up, grad] = contiguous([gate, up, grad])?;
		// One tensor: the gate's gradients, then the up projection's.
		let both = gate.apply_op3_no_bwd(&up, &grad, &SiluMulGrad)?;
		let d_gate = both.get(0)?.reshape(gate.shape())?;
		let d_up = both.get(1)?.reshape(up.shape())?;
		Ok((Some(d_gate), Some(d_up)))
	}
}

/// `silu(gate) · up`'s gradients from gate, up and the output's gradient: a (2, n) tensor.
/// With σ = 1/(1 + e^{−g}): d_up = dy·g·σ; d_gate = dy·u·σ·(1 + g·(1 − σ)).
struct SiluMulGrad;

impl CustomOp3 for SiluMulGrad {
	fn name(&self) -> &'static str {
		"fused-silu-mul-grad"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
		s3: &CpuStorage,
		l3: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let name = self.name();
		let (g, u, dy) = (f32s(s1, l1, name)?, f32s(s2, l2, name)?, f32s(s3, l3, name)?);
		let n = g.len();
		if u.len() != n || dy.len() != n {
			bail!("{name}: {n} gates, {} ups, {} gradients", u.len(), dy.len());
		}
		let mut out = vec![0f32; 2 * n];
		let (d_gate, d_up) = out.split_at_mut(n);
		d_gate
			.par_chunks_mut(ELEMS_PER_TASK)
			.zip(d_up.par_chunks_mut(ELEMS_PER_TASK))
			.zip(g.par_chunks(ELEMS_PER_TASK).zip(u.par_chunks(ELEMS_PER_TASK)))
			.zip(dy.par_chunks(ELEMS_PER_TASK))
			.for_each(|(((d_gate, d_up), (g, u)), dy)| {
				for i in 0..g.len() {
					let sigma = 1.0 / (1.0 + (-g[i]).exp());
					d_up[i] = dy[i] * g[i] * sigma;
					d_gate[i] = dy[i] * u[i] * sigma * (1.0 + g[i] * (1.0 - sigma));
				}
			});
		Ok((CpuStorage::F32(out), Shape::from((2, n))))
	}
}

// ---- rotary position embedding ------------------------------------------------------------

/// Rotates `x` (B, H, T, head_dim) by position like [`super::ops::rope`] (rotate-half
/// convention); `cos` and `sin` are (T, head_dim / 2).
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	let [x, cos, sin] = contiguous([x, cos, sin])?;
	let (_, _, t, d) = x.dims4()?;
	if d % 2 != 0 || cos.dims() != [t, d / 2] || sin.dims() != [t, d / 2] {
		bail!("rope: rows of {d} at {t} positions, tables {:?} and {:?}", cos.dims(), sin.dims());
	}
	x.apply_op3(&cos, &sin, Rope { t, inverse: false })
}

/// The rotation by each row's angle (or, `inverse`, by minus it: RoPE's gradient).
struct Rope {
	/// Positions per sequence: row r is at position r mod t.
	t: usize,
	inverse: bool,
}

impl CustomOp3 for Rope {
	fn name(&self) -> &'static str {
		"fused-rope"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
		s3: &CpuStorage,
		l3: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let name = self.name();
		let (x, cos, sin) = (f32s(s1, l1, name)?, f32s(s2, l2, name)?, f32s(s3, l3, name)?);
		let d = row_len(l1, name)?;
		let half = d / 2;
		if d % 2 != 0 || cos.len() != self.t * half || sin.len() != cos.len() {
			bail!(
				"{name}: rows of {d}, tables of {} and {} for {} positions",
				cos.len(),
				sin.len(),
				self.t
			);
		}
		let sign = if self.inverse { -1.0f32 } else { 1.0 };
		let mut y = vec![0f32; x.len()];
		y.par_chunks_mut(d).zip(x.par_chunks(d)).enumerate().with_min_len(ROWS_PER_TASK).for_each(
			|(row, (y, x))| {
				let pos = row % self.t;
				let (c, s) =
					(&cos[pos * half..(pos + 1) * half], &sin[pos * half..(pos + 1) * half]);
				let (x1, x2) = x.split_at(half);
				let (y1, y2) = y.split_at_mut(half);
				for i in 0..half {
					let si = sign * s[i];
					y1[i] = x1[i] * c[i] - x2[i] * si;
					y2[i] = x1[i] * si + x2[i] * c[i];
				}
			},
		);
		Ok((CpuStorage::F32(y), l1.shape().clone()))
	}

	fn bwd(
		&self,
		_x: &Tensor,
		cos: &Tensor,
		sin: &Tensor,
		_res: &Tensor,
		grad: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
		let [grad, cos, sin] = contiguous([grad, cos, sin])?;
		let dx = grad.apply_op3_no_bwd(&cos, &sin, &Rope { t: self.t, inverse: !self.inverse })?;
		Ok((Some(dx), None, None))
	}
}

// ---- cross-entropy -------------------------------------------------------------------------

/// Mean cross-entropy of `logits` (N, V) against `targets` (N,) of u32 ids, a scalar.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
	let [logits, targets] = contiguous([logits, targets])?;
	let (n, _) = logits.dims2()?;
	if targets.dims1()? != n {
		bail!("cross-entropy: {n} rows of logits, {} targets", targets.elem_count());
	}
	if n == 0 {
		bail!("cross-entropy: no rows (the mean of nothing)");
	}
	logits.apply_op2(&targets, CrossEntropy)
}

struct CrossEntropy;

/// `(max, ln Σ e^{x − max})` of a row.
fn log_sum_exp(row: &[f32]) -> (f32, f32) {
	let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
	let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
	(max, sum.ln())
}

/// Each target as an index into a row of `v`, or an error naming the first that is not one.
fn target_indices(targets: &[u32], v: usize, op: &str) -> Result<()> {
	match targets.iter().find(|&&t| t as usize >= v) {
		Some(t) => bail!("{op}: target {t} outside a vocabulary of {v}"),
		None => Ok(()),
	}
}

impl CustomOp2 for CrossEntropy {
	fn name(&self) -> &'static str {
		"fused-cross-entropy"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let (x, targets) = (f32s(s1, l1, self.name())?, u32s(s2, l2, self.name())?);
		let v = row_len(l1, self.name())?;
		target_indices(targets, v, self.name())?;
		let losses: Vec<f32> = x
			.par_chunks(v)
			.zip(targets.par_iter())
			.with_min_len(ROWS_PER_TASK)
			.map(|(row, &t)| {
				let (max, lse) = log_sum_exp(row);
				max + lse - row[t as usize]
			})
			.collect();
		// Added in row order: the same sum whatever the thread count.
		let mean = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
		Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
	}

	fn bwd(
		&self,
		logits: &Tensor,
		targets: &Tensor,
		_res: &Tensor,
		grad: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>)> {
		let [logits, targets] = contiguous([logits, targets])?;
		let n = logits.dim(0)?.max(1);
		let scale = grad.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()? / n as f32;
		let d = logits.apply_op2_no_bwd(&targets, &CrossEntropyGrad { scale })?;
		Ok((Some(d), None))
	}
}

/// Cross-entropy's gradient: `scale · (softmax(row) − onehot(target))` per row.
struct CrossEntropyGrad {
	scale: f32,
}

impl CustomOp2 for CrossEntropyGrad {
	fn name(&self) -> &'static str {
		"fused-cross-entropy-grad"
	}

	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		let (x, targets) = (f32s(s1, l1, self.name())?, u32s(s2, l2, self.name())?);
		let v = row_len(l1, self.name())?;
		target_indices(targets, v, self.name())?;
		let mut d = vec![0f32; x.len()];
		d.par_chunks_mut(v)
			.zip(x.par_chunks(v).zip(targets.par_iter()))
			.with_min_len(ROWS_PER_TASK)
			.for_each(|(d, (row, &t))| {
				let (max, lse) = log_sum_exp(row);
				let shift = max + lse;
				for (d, x) in d.iter_mut().zip(row) {
					*d = self.scale * (x - shift).exp();
				}
				d[t as usize] -= self.scale;
			});
		Ok((CpuStorage::F32(d), l1.shape().clone()))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::ops;
	use candle_core::{Device, Var};
	use rand::{Rng, SeedableRng};

	fn random(seed: u64, shape: &[usize], std: f32) -> Tensor {
		let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
		let n = shape.iter().product();
		let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0) * std).collect();
		Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
	}

	fn values(t: &Tensor) -> Vec<f32> {
		t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
	}

	/// `a` and `b` agree within `tol` of the larger magnitude, or within `tol` outright below 1.
	fn close(what: &str, a: &Tensor, b: &Tensor, tol: f32) {
		assert_eq!(a.shape(), b.shape(), "{what}");
		for (i, (x, y)) in values(a).iter().zip(values(b)).enumerate() {
			assert!(x.is_finite() && y.is_finite(), "{what}[{i}]: {x} vs {y}");
			assert!(
				(x - y).abs() <= tol * x.abs().max(y.abs()).max(1.0),
				"{what}[{i}]: {x} vs {y}"
			);
		}
	}

	/// The value of `f` at `inputs` and the gradient of `Σ f · probe` for each input, where the
	/// probe is a fixed random tensor (so every output element's gradient counts).
	fn value_and_grads(
		inputs: &[Tensor],
		f: impl Fn(&[Tensor]) -> Tensor,
		probe_seed: u64,
	) -> (Tensor, Vec<Tensor>) {
		let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
		let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
		let out = f(&tensors);
		let probe = random(probe_seed, out.dims(), 1.0);
		let grads = (&out * &probe).unwrap().sum_all().unwrap().backward().unwrap();
		let grads = vars.iter().map(|v| grads.get(v).unwrap().clone()).collect();
		(out, grads)
	}

	fn same_as_composed(
		inputs: &[Tensor],
		fused: impl Fn(&[Tensor]) -> Tensor,
		composed: impl Fn(&[Tensor]) -> Tensor,
		tol: f32,
	) {
		let (a, ga) = value_and_grads(inputs, fused, 99);
		let (b, gb) = value_and_grads(inputs, composed, 99);
		close("value", &a, &b, tol);
		for (i, (x, y)) in ga.iter().zip(&gb).enumerate() {
			close(&format!("gradient {i}"), x, y, tol);
		}
	}

	#[test]
	fn rms_norm_matches_the_composed_form_and_its_gradients() {
		let x = random(1, &[37, 64], 3.0);
		let w = random(2, &[64], 1.5);
		same_as_composed(
			&[x, w],
			|t| rms_norm(&t[0], &t[1], 1e-5).unwrap(),
			|t| ops::rms_norm(&t[0], &t[1], 1e-5).unwrap(),
			1e-5,
		);
	}

	#[test]
	fn causal_softmax_matches_scale_mask_and_softmax_and_their_gradients() {
		let (b, h, t) = (2, 3, 17);
		let scores = random(3, &[b, h, t, t], 4.0);
		let mask: Vec<f32> =
			(0..t * t).map(|i| if i % t > i / t { f32::NEG_INFINITY } else { 0.0 }).collect();
		let mask = Tensor::from_vec(mask, (t, t), &Device::Cpu).unwrap();
		let scale = 0.125f32;
		same_as_composed(
			&[scores],
			|x| causal_softmax(&x[0], scale).unwrap(),
			|x| {
				let s = (&x[0] * f64::from(scale)).unwrap().broadcast_add(&mask).unwrap();
				ops::softmax_last_dim(&s).unwrap()
			},
			1e-5,
		);
	}

	#[test]
	fn silu_mul_matches_silu_times_up_and_its_gradients() {
		// More elements than one rayon task takes.
		let g = random(4, &[9, 1000], 6.0);
		let u = random(5, &[9, 1000], 2.0);
		same_as_composed(
			&[g, u],
			|t| silu_mul(&t[0], &t[1]).unwrap(),
			|t| (ops::silu(&t[0]).unwrap() * &t[1]).unwrap(),
			1e-5,
		);
	}

	#[test]
	fn rope_matches_the_composed_rotation_and_its_gradient() {
		let (t, d) = (11, 16);
		let x = random(13, &[2, 3, t, d], 2.0);
		let (cos, sin) = ops::rope_tables(t, d, 10_000.0, &Device::Cpu).unwrap();
		same_as_composed(
			&[x],
			|x| rope(&x[0], &cos, &sin).unwrap(),
			|x| ops::rope(&x[0], &cos, &sin).unwrap(),
			1e-6,
		);
		assert!(
			rope(&random(14, &[2, 3, t, d], 1.0), &sin.narrow(0, 0, 5).unwrap(), &sin).is_err()
		);
	}

	#[test]
	fn cross_entropy_matches_log_softmax_and_gather_and_its_gradient() {
		let logits = random(6, &[23, 300], 8.0);
		let targets: Vec<u32> = (0..23u32).map(|i| (i * 37) % 300).collect();
		let targets = Tensor::new(targets.as_slice(), &Device::Cpu).unwrap();
		same_as_composed(
			&[logits],
			|t| cross_entropy(&t[0], &targets).unwrap(),
			|t| ops::cross_entropy(&t[0], &targets).unwrap(),
			1e-5,
		);
	}

	#[test]
	fn bad_shapes_and_targets_are_refused() {
		let x = random(7, &[4, 8], 1.0);
		assert!(rms_norm(&x, &random(8, &[7], 1.0), 1e-5).is_err());
		assert!(rms_norm(&x, &random(8, &[1, 8], 1.0), 1e-5).is_err());
		let none = Tensor::zeros((0, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
		let no_targets = Tensor::zeros(0, candle_core::DType::U32, &Device::Cpu).unwrap();
		assert!(cross_entropy(&none, &no_targets).is_err());
		assert!(silu_mul(&x, &random(9, &[8, 4], 1.0)).is_err());
		assert!(causal_softmax(&random(10, &[2, 3, 4], 1.0), 1.0).is_err());
		let outside = Tensor::new(&[0u32, 1, 8, 2], &Device::Cpu).unwrap();
		assert!(cross_entropy(&x, &outside).is_err());
		let short = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
		assert!(cross_entropy(&x, &short).is_err());
	}

	#[test]
	fn the_kernels_give_the_same_bits_on_any_number_of_threads() {
		let x = random(11, &[300, 64], 2.0);
		let w = random(12, &[64], 1.0);
		let scores = random(15, &[2, 2, 40, 40], 3.0);
		let logits = random(16, &[300, 64], 5.0);
		let targets: Vec<u32> = (0..300u32).map(|i| (i * 7) % 64).collect();
		let targets = Tensor::new(targets.as_slice(), &Device::Cpu).unwrap();
		let run = |threads: usize| {
			let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
			pool.install(|| {
				let runs = [
					value_and_grads(
						&[x.clone(), w.clone()],
						|t| rms_norm(&t[0], &t[1], 1e-5).unwrap(),
						3,
					),
					value_and_grads(
						std::slice::from_ref(&scores),
						|t| causal_softmax(&t[0], 0.3).unwrap(),
						4,
					),
					value_and_grads(
						std::slice::from_ref(&logits),
						|t| cross_entropy(&t[0], &targets).unwrap(),
						5,
					),
				];
				let mut bits = Vec::new();
				for (y, grads) in runs {
					bits.extend(values(&y).iter().map(|v| v.to_bits()));
					for g in grads {
						bits.extend(values(&g).iter().map(|v| v.to_bits()));
					}
				}
				bits
			})
		};
		assert_eq!(run(1), run(3));
	}
}
