//! One decoder block — pre-norm causal self-attention with RoPE, then a SwiGLU feed-forward,
//! each added to the residual stream — and what a forward pass over blocks needs besides the
//! stream itself ([`Positions`]). A block runs alone, so a pipeline stage can run any range.

use super::fused;
use super::ops::{norm, on_cpu, rope, silu, softmax_last_dim};
use candle_core::{Tensor, Var};

/// Whether a forward pass records its ops for backprop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
	/// Training: every op on the weights is recorded.
	Train,
	/// Evaluation: weights are detached, nothing is recorded, intermediates are freed early.
	Eval,
}

impl Mode {
	/// `var`'s weights as this mode uses them.
	pub(super) fn weight(self, var: &Var) -> Tensor {
		match self {
			Mode::Train => var.as_tensor().clone(),
			Mode::Eval => var.as_tensor().detach(),
		}
	}
}

/// The shape and positional tables of one forward pass over `b` rows of `t` tokens.
#[derive(Clone, Debug)]
pub struct Positions {
	/// Rows.
	pub b: usize,
	/// Tokens per row.
	pub t: usize,
	/// RoPE cosines, (T, head_dim / 2).
	pub cos: Tensor,
	/// RoPE sines, (T, head_dim / 2).
	pub sin: Tensor,
	/// Causal mask (T, T): 0 on and below the diagonal, −∞ above.
	pub mask: Tensor,
	/// Width of the residual stream.
	pub d_model: usize,
	/// Attention heads.
	pub n_heads: usize,
	/// Size of one head.
	pub head_dim: usize,
	/// RMSNorm epsilon.
	pub norm_eps: f32,
}

/// One decoder block's parameters.
pub struct Block {
	pub(super) attn_norm: Var,
	pub(super) wq: Var,
	pub(super) wk: Var,
	pub(super) wv: Var,
	pub(super) wo: Var,
	pub(super) mlp_norm: Var,
	pub(super) w_gate: Var,
	pub(super) w_up: Var,
	pub(super) w_down: Var,
}

impl Block {
	/// The residual stream `x` (B·T, D) after this block.
	pub fn forward(&self, x: &Tensor, p: &Positions, mode: Mode) -> candle_core::Result<Tensor> {
		let (b, t, h, hd) = (p.b, p.t, p.n_heads, p.head_dim);
		let w = |v: &Var| mode.weight(v);
		let scale = 1.0 / (hd as f64).sqrt();
		let n = norm(x, &w(&self.attn_norm), p.norm_eps)?;
		let heads = |v: &Var| -> candle_core::Result<Tensor> {
			n.matmul(&w(v).t()?)?.reshape((b, t, h, hd))?.transpose(1, 2)?.contiguous()
		};
		let rotate = if on_cpu(x) { fused::rope } else { rope };
		let q = rotate(&heads(&self.wq)?, &p.cos, &p.sin)?;
		let k = rotate(&heads(&self.wk)?, &p.cos, &p.sin)?;
		let v = heads(&self.wv)?;
		let scores = q.matmul(&k.t()?.contiguous()?)?;
		let probs = if on_cpu(x) {
			fused::causal_softmax(&scores, scale as f32)?
		} else {
			softmax_last_dim(&(scores * scale)?.broadcast_add(&p.mask)?)?
		};
		let attn = probs.matmul(&v)?; // (B, H, T, hd)
		let attn = attn.transpose(1, 2)?.contiguous()?.reshape((b * t, p.d_model))?;
		let x = (x + attn.matmul(&w(&self.wo).t()?)?)?;
		let n = norm(&x, &w(&self.mlp_norm), p.norm_eps)?;
		let gate = n.matmul(&w(&self.w_gate).t()?)?;
		let up = n.matmul(&w(&self.w_up).t()?)?;
		let gated = if on_cpu(&x) { fused::silu_mul(&gate, &up)? } else { (silu(&gate)? * up)? };
		x + gated.matmul(&w(&self.w_down).t()?)?
	}
}
