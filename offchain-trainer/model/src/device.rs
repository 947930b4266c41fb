//! The device a model lives on, from its name on the command line: `cpu`, or `cuda` / `cuda:N`
//! for NVIDIA GPU N through candle's CUDA backend (a build with `--features cuda`).

use candle_core::Device;

/// A device name that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
	/// Not `cpu`, `cuda` or `cuda:N`.
	#[error("unknown --device {0:?} (cpu, cuda or cuda:N)")]
	Unknown(String),
	/// The GPU could not be opened (no GPU, no driver, or a build without CUDA).
	#[error(
		"cannot open CUDA device {ordinal} (GPU support needs a build with `--features cuda`, see docs/gpu.md)"
	)]
	Cuda {
		/// The GPU's number.
		ordinal: usize,
		/// candle's error.
		source: candle_core::Error,
	},
}

/// The device named `name`.
pub fn model_device(name: &str) -> Result<Device, DeviceError> {
	let ordinal = match name {
		"cpu" => return Ok(Device::Cpu),
		"cuda" => 0,
		other => other
			.strip_prefix("cuda:")
			.and_then(|n| n.parse().ok())
			.ok_or_else(|| DeviceError::Unknown(other.into()))?,
	};
	Device::new_cuda(ordinal).map_err(|source| DeviceError::Cuda { ordinal, source })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn names_are_parsed_and_bad_ones_refused() {
		assert!(matches!(model_device("cpu"), Ok(Device::Cpu)));
		assert!(matches!(model_device("tpu"), Err(DeviceError::Unknown(_))));
		assert!(matches!(model_device("cuda:x"), Err(DeviceError::Unknown(_))));
		// Without a GPU (or without the cuda feature) opening one is a clear error.
		if let Err(e) = model_device("cuda:0") {
			assert!(matches!(e, DeviceError::Cuda { ordinal: 0, .. }), "{e}");
		}
	}
}
