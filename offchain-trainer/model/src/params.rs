//! The model's parameters in model order: names, shapes and candle `Var`s. This order is the
//! contract with the codec (one compressed tensor per parameter), the payload and the θ hash.

use super::ModelError;
use candle_core::{Device, Tensor, Var};

/// One named parameter.
#[derive(Clone, Debug)]
pub struct Param {
	/// Dotted name, e.g. `layers.0.attn.wq`.
	pub name: String,
	/// The trainable variable.
	pub var: Var,
}

/// Every parameter, in model order.
#[derive(Clone, Debug, Default)]
pub struct ParamSet {
	params: Vec<Param>,
}

impl ParamSet {
	/// Adds a parameter initialised with `values` (length = product of `shape`) and returns its
	/// variable.
	pub fn add(
		&mut self,
		name: impl Into<String>,
		values: Vec<f32>,
		shape: &[usize],
		device: &Device,
	) -> Result<Var, ModelError> {
		let var = Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?;
		self.params.push(Param { name: name.into(), var: var.clone() });
		Ok(var)
	}

	/// The parameters in order.
	pub fn iter(&self) -> impl Iterator<Item = &Param> {
		self.params.iter()
	}

	/// Number of parameter tensors.
	pub fn len(&self) -> usize {
		self.params.len()
	}

	/// Whether there are none.
	pub fn is_empty(&self) -> bool {
		self.params.is_empty()
	}

	/// The variables, for an optimizer.
	pub fn vars(&self) -> Vec<Var> {
		self.params.iter().map(|p| p.var.clone()).collect()
	}

	/// Each parameter's shape.
	pub fn shapes(&self) -> Vec<Vec<usize>> {
		self.params.iter().map(|p| p.var.dims().to_vec()).collect()
	}

	/// Total number of values.
	pub fn numel(&self) -> usize {
		self.params.iter().map(|p| p.var.elem_count()).sum()
	}

	/// A copy of every parameter's values, flattened (the form the codec works on).
	pub fn to_vecs(&self) -> Result<Vec<Vec<f32>>, ModelError> {
		self.params.iter().map(|p| Ok(p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?)).collect()
	}

	/// Overwrites every parameter with `values` (one flattened buffer per parameter, in order).
	pub fn set_from_vecs(&self, values: &[Vec<f32>]) -> Result<(), ModelError> {
		if values.len() != self.params.len() {
			return Err(ModelError::ParamCount { expected: self.params.len(), got: values.len() });
		}
		for (index, (p, v)) in self.params.iter().zip(values).enumerate() {
			if v.len() != p.var.elem_count() {
				return Err(ModelError::ParamLength {
					index,
					name: p.name.clone(),
					expected: p.var.elem_count(),
					got: v.len(),
				});
			}
		}
		for (p, v) in self.params.iter().zip(values) {
			p.var.set(&Tensor::from_slice(v, p.var.dims(), p.var.device())?)?;
		}
		Ok(())
	}

	/// BLAKE2b-256 of the parameters (the θ hash recorded on chain).
	pub fn theta_hash(&self) -> Result<[u8; 32], ModelError> {
		Ok(tessera_codec::hash::theta_hash(&self.to_vecs()?))
	}
}
