//! The runtime's configuration of the pallet, checked by `integrity_test`: every constant in
//! range, and the genesis parameters within the bounds `set_parameters` enforces
//! (`parameters.rs`): the window's phases in an order that makes a protocol.

use crate::pallet::*;
use frame_support::pallet_prelude::*;
use sp_runtime::Perbill;

impl<T: Config> Pallet<T> {
	/// What this runtime allows a run manifest.
	pub fn manifest_limits() -> crate::ManifestLimits {
		crate::ManifestLimits {
			aggregation_size: T::AggregationSize::get(),
			retain_windows: T::RetainWindows::get(),
			max_checkpoints: T::MaxCheckpoints::get(),
		}
	}

	/// Panics (at runtime build and in tests) on a configuration that makes no protocol.
	pub(crate) fn check_config() {
		// The genesis parameters obey the bounds every later change is checked against.
		if let Some(problem) = Self::parameter_problem(&Self::config_parameters()) {
			panic!("the genesis parameters: {}", problem.describe());
		}
		assert!(
			T::RetainWindows::get() >= 3,
			"RetainWindows must be at least 3: a checkpoint and the two windows before it is recorded"
		);
		assert!(T::MaxCheckpoints::get() >= 1, "MaxCheckpoints must be at least 1");
		assert!(
			T::BindingThreshold::get() >= Perbill::from_percent(50),
			"BindingThreshold below one half would let two lists bind"
		);
		assert!(
			T::BindingThreshold::get() < Perbill::one(),
			"BindingThreshold of 100 % would never let a list bind"
		);
		assert!(T::MaxPeers::get() >= 1, "MaxPeers must be at least 1");
		assert!(T::MaxPayloadLen::get() >= 1, "MaxPayloadLen must be at least 1");
		assert!(T::MaxValidators::get() >= 1, "MaxValidators must be at least 1");
		assert!(T::AggregationSize::get() >= 1, "AggregationSize must be at least 1");
	}
}
