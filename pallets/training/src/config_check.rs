//! The runtime's configuration of the pallet, checked by `integrity_test`: every constant in
//! range and the window's phases in an order that makes a protocol.

use crate::pallet::*;
use frame_support::pallet_prelude::*;
use sp_runtime::{Perbill, traits::Saturating};

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
		assert!(T::WindowLength::get() >= 2u32.into(), "WindowLength must be at least 2 blocks");
		assert!(
			T::RetainWindows::get() >= 3,
			"RetainWindows must be at least 3: a checkpoint and the two windows before it is recorded"
		);
		assert!(T::MaxCheckpoints::get() >= 1, "MaxCheckpoints must be at least 1");
		assert!(
			u64::from(T::MinersShare::get().deconstruct())
				+ u64::from(T::ValidatorsShare::get().deconstruct())
				<= 1_000_000_000,
			"MinersShare + ValidatorsShare must be at most 100%"
		);
		assert!(
			T::UnbondingPeriod::get()
				>= T::WindowLength::get().saturating_add(T::ScoreDeadlineBlocks::get()),
			"UnbondingPeriod must cover a window and its scoring period"
		);
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
		assert!(
			T::ScoreDeadlineBlocks::get() >= 1u32.into(),
			"ScoreDeadlineBlocks must be at least 1"
		);
		assert!(T::RevealBlocks::get() >= 1u32.into(), "RevealBlocks must be at least 1");
		assert!(
			T::RevealBlocks::get() < T::ScoreDeadlineBlocks::get(),
			"the reveal period must end before the scoring deadline"
		);
		assert!(
			T::RevealBlocks::get() < T::WindowLength::get(),
			"the reveal period must be shorter than a window"
		);
		assert!(
			T::ScoreDeadlineBlocks::get() <= T::WindowLength::get(),
			"a window's verdict must be published before the next window's reveal period"
		);
	}
}
