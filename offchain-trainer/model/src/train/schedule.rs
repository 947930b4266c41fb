//! The inner learning rate: linear warm-up to the peak, then cosine decay to `min_ratio × peak`
//! over `decay_steps`, then flat. The step is the network-wide inner step
//! (`window × H + h`), so every miner uses the same rate whenever it joined.

use serde::Deserialize;

/// Warm-up + cosine schedule.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
	/// Peak learning rate.
	pub peak: f64,
	/// Steps of linear warm-up.
	pub warmup_steps: u64,
	/// Steps of cosine decay after the warm-up.
	pub decay_steps: u64,
	/// Final rate as a share of the peak.
	pub min_ratio: f64,
}

impl Default for LrSchedule {
	fn default() -> Self {
		Self { peak: 1e-3, warmup_steps: 100, decay_steps: 10_000, min_ratio: 0.1 }
	}
}

impl LrSchedule {
	/// The rate at `step`.
	pub fn at(&self, step: u64) -> f64 {
		if step < self.warmup_steps {
			return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
		}
		let min = self.peak * self.min_ratio;
		let progress = if self.decay_steps == 0 {
			1.0
		} else {
			((step - self.warmup_steps) as f64 / self.decay_steps as f64).min(1.0)
		};
		min + (self.peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn warms_up_linearly_then_decays_to_the_floor() {
		let s = LrSchedule { peak: 1.0, warmup_steps: 10, decay_steps: 100, min_ratio: 0.1 };
		assert!((s.at(0) - 0.1).abs() < 1e-12);
		assert!((s.at(9) - 1.0).abs() < 1e-12);
		assert!((s.at(10) - 1.0).abs() < 1e-12);
		assert!((s.at(60) - 0.55).abs() < 1e-12, "halfway is the mean of peak and floor");
		assert!((s.at(110) - 0.1).abs() < 1e-12);
		assert!((s.at(1_000_000) - 0.1).abs() < 1e-12);
		let rates: Vec<f64> = (10..=110).map(|i| s.at(i)).collect();
		assert!(rates.windows(2).all(|w| w[1] <= w[0]));
	}
}
