//! AdamW's update on the CPU in three passes over memory: each moment is updated in place from
//! the gradient, then the parameter from both moments, each pass split across rayon's threads.
//! candle's composed form (`adamw.rs`) makes a new tensor for each of its sixteen operations
//! per parameter and copies three back (element-wise work and its allocations were about 40%
//! of a small model's step on a 2-core machine, docs/PERFORMANCE.md), and candle has no fused
//! optimizer to take instead.
//!
//! Bit-identical to the composed form: the same f32 operations in the same order, scalars
//! rounded to f32 as candle's `affine` rounds them, and candle's `x·a + 0` kept as written (it
//! turns −0 into +0). `fused_and_composed_steps_are_bit_identical` holds them together.

use candle_core::{CpuStorage, Layout, Result, backprop::GradStore, bail};
use rayon::prelude::*;

/// Elements per rayon task.
const GRAIN: usize = 1 << 14;

/// The scalars of one step, as f32 the way candle's `affine` rounds them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepScalars {
	/// The global-norm clip factor.
	pub clip: f32,
	/// β₁ and 1 − β₁.
	pub b1: f32,
	pub one_minus_b1: f32,
	/// β₂ and 1 − β₂.
	pub b2: f32,
	pub one_minus_b2: f32,
	/// 1 / (1 − β₁ᵗ) and 1 / (1 − β₂ᵗ).
	pub inv_c1: f32,
	pub inv_c2: f32,
	/// ε.
	pub eps: f32,
	/// The learning rate.
	pub lr: f32,
	/// 1 − lr·weight decay (1 for vectors).
	pub decay: f32,
}

impl StepScalars {
	/// The scalars of a step from the f64 settings, rounded where candle rounds them.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn new(
		clip: f64,
		b1: f64,
		b2: f64,
		c1: f64,
		c2: f64,
		eps: f64,
		lr: f64,
		decay: f64,
	) -> Self {
		Self {
			clip: clip as f32,
			b1: b1 as f32,
			one_minus_b1: (1.0 - b1) as f32,
			b2: b2 as f32,
			one_minus_b2: (1.0 - b2) as f32,
			inv_c1: (1.0 / c1) as f32,
			inv_c2: (1.0 / c2) as f32,
			eps: eps as f32,
			lr: lr as f32,
			decay: decay as f32,
		}
	}
}

/// The contiguous f32 values of a CPU storage under `layout`.
fn values<'a>(s: &'a CpuStorage, layout: &Layout, what: &str) -> Result<&'a [f32]> {
	crate::fused::contiguous_f32s(s, layout, &format!("fused AdamW: the {what}"))
}

/// The contiguous f32 values of a CPU storage under `layout`, to write.
fn values_mut<'a>(s: &'a mut CpuStorage, layout: &Layout, what: &str) -> Result<&'a mut [f32]> {
	let (CpuStorage::F32(v), Some((start, end))) = (s, layout.contiguous_offsets()) else {
		bail!("fused AdamW: the {what} is not a contiguous f32 tensor");
	};
	v.get_mut(start..end)
		.ok_or_else(|| candle_core::Error::Msg(format!("fused AdamW: {what} out of range")))
}

/// Checks that two operands have the same length.
fn same_len(a: usize, b: usize) -> Result<()> {
	if a != b {
		bail!("fused AdamW: operands of {a} and {b} values");
	}
	Ok(())
}

/// A moment, in place: m ← m·β₁ + (g·clip)·(1 − β₁) (`SECOND` false), or
/// v ← v·β₂ + (g·clip)²·(1 − β₂) (`SECOND` true).
struct Moment<const SECOND: bool>(StepScalars);

impl<const SECOND: bool> candle_core::InplaceOp2 for Moment<SECOND> {
	fn name(&self) -> &'static str {
		if SECOND { "adamw-second-moment" } else { "adamw-first-moment" }
	}

	fn cpu_fwd(
		&self,
		s1: &mut CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<()> {
		let s = self.0;
		let (beta, one_minus) =
			if SECOND { (s.b2, s.one_minus_b2) } else { (s.b1, s.one_minus_b1) };
		let (moment, g) = (values_mut(s1, l1, "moment")?, values(s2, l2, "gradient")?);
		same_len(moment.len(), g.len())?;
		moment.par_chunks_mut(GRAIN).zip(g.par_chunks(GRAIN)).for_each(|(moment, g)| {
			for (x, &g) in moment.iter_mut().zip(g) {
				let g = g * s.clip + 0.0;
				// candle's `g.sqr()` for the second moment: one product.
				let term = if SECOND { g * g } else { g };
				*x = (*x * beta + 0.0) + (term * one_minus + 0.0);
			}
		});
		Ok(())
	}
}

/// p ← p·decay − lr · (m / c₁) / (√(v / c₂) + ε), in place on p.
struct Parameter(StepScalars);

impl candle_core::InplaceOp3 for Parameter {
	fn name(&self) -> &'static str {
		"adamw-parameter"
	}

	fn cpu_fwd(
		&self,
		s1: &mut CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
		s3: &CpuStorage,
		l3: &Layout,
	) -> Result<()> {
		let s = self.0;
		let p = values_mut(s1, l1, "parameter")?;
		let (m, v) = (values(s2, l2, "first moment")?, values(s3, l3, "second moment")?);
		same_len(p.len(), m.len())?;
		same_len(p.len(), v.len())?;
		p.par_chunks_mut(GRAIN).zip(m.par_chunks(GRAIN)).zip(v.par_chunks(GRAIN)).for_each(
			|((p, m), v)| {
				for ((p, &m), &v) in p.iter_mut().zip(m).zip(v) {
					let m_hat = m * s.inv_c1 + 0.0;
					let v_hat = v * s.inv_c2 + 0.0;
					let update = m_hat / (v_hat.sqrt() * 1.0 + s.eps);
					*p = (*p * s.decay + 0.0) - (update * s.lr + 0.0);
				}
			},
		);
		Ok(())
	}
}

/// One parameter's AdamW update in three in-place passes (CPU, contiguous f32).
pub(crate) fn update(
	p: &candle_core::Var,
	m: &candle_core::Var,
	v: &candle_core::Var,
	g: &candle_core::Tensor,
	scalars: StepScalars,
) -> Result<()> {
	let g = g.contiguous()?;
	m.as_tensor().inplace_op2(&g, &Moment::<false>(scalars))?;
	v.as_tensor().inplace_op2(&g, &Moment::<true>(scalars))?;
	p.as_tensor().inplace_op3(m.as_tensor(), v.as_tensor(), &Parameter(scalars))
}

/// Whether every parameter with a gradient can take the fused update: f32 on the CPU.
pub(crate) fn applies(params: &[candle_core::Var], grads: &GradStore) -> bool {
	params.iter().all(|p| {
		p.device().is_cpu()
			&& p.dtype() == candle_core::DType::F32
			&& grads.get(p).is_none_or(|g| g.dtype() == candle_core::DType::F32)
	})
}
