//! The Gauntlet's evaluation on the real tiny model and corpus (DESIGN.md §5): with the
//! evaluation sizes the network uses (8 rows in the end-to-end tests, 16 by default), an honest
//! miner's update improves random data and its own assigned data more, while random noise of
//! the same kind makes things worse — by a margin well above the evaluation's noise. Measured
//! over three window seeds and two miners each.

use indicatif::ProgressBar;
use tessera_codec::{CompressConfig, Expected, Header, decode};
use tessera_data::TokenShard;
use tessera_e2e::corpus;
use tessera_model::ModelConfig;
use tessera_model::train::{AdamWConfig, InnerConfig, LrSchedule};
use tessera_peer::gauntlet::{Losses, evaluate::EvalInput, evaluate_window};
use tessera_peer::miner::behaviour::noise_payload;
use tessera_peer::replica::Replica;

#[test]
fn honest_updates_separate_from_noise_at_the_networks_evaluation_sizes() -> anyhow::Result<()> {
	let shard = TokenShard::open(&corpus()?)?;
	let config = ModelConfig::load("tiny")?;
	let inner = InnerConfig {
		steps: 8,
		batch_size: 4,
		schedule: LrSchedule { peak: 3e-3, warmup_steps: 4, decay_steps: 10_000, min_ratio: 0.1 },
	};
	let compress = CompressConfig { k: 256, ..Default::default() };
	let shapes = Replica::new(
		&config,
		&candle_core::Device::Cpu,
		AdamWConfig::default(),
		inner,
		compress,
		2,
	)?
	.shapes()
	.to_vec();
	// The tests' run (harness::RUN_ARGS): k 256, 2-bit values, values up to 1 (start-run's
	// default): honest updates must fit it.
	let rules = tessera_codec::Rules { k: 256, quantised: true, max_value: 1.0 };
	let mut margins = Vec::new();
	for seed in [[11u8; 32], [22; 32], [33; 32]] {
		for miner in [[1u8; 32], [2; 32]] {
			// A fresh miner at θ_0 trains one window.
			let mut replica = Replica::new(
				&config,
				&candle_core::Device::Cpu,
				AdamWConfig::default(),
				inner,
				compress,
				2,
			)?;
			let trained = replica.train(
				3,
				&seed,
				&miner,
				&shard,
				Default::default(),
				&ProgressBar::hidden(),
			)?;
			let honest = decode(
				&trained.update.bytes,
				&Expected { window: 3, miner: &miner, shapes: &shapes, rules },
			)?;
			let noise_miner = [9u8; 32];
			let header =
				Header { window: 3, miner: noise_miner, theta_hash: [0; 32], data_digest: [0; 32] };
			let noise = decode(
				&noise_payload(&shapes, &header, &rules, 0.02)?,
				&Expected { window: 3, miner: &noise_miner, shapes: &shapes, rules },
			)?;
			for sequences in [8, 16] {
				let theta = replica.theta().to_vec();
				let input = EvalInput {
					model: replica.model(),
					theta: &theta,
					shard: &shard,
					seed: &seed,
					random_seed: &[seed[0].wrapping_add(1); 32],
					sequences,
					batch: 8,
					lr: 0.7,
				};
				let losses: Vec<Losses> = evaluate_window(
					&input,
					&[(miner, &honest), (noise_miner, &noise)],
					&Default::default(),
				)?;
				let (h, n) = (losses[0], losses[1]);
				assert!(h.gradient_score() > 0.0, "honest update helps random data: {h:?}");
				assert!(n.gradient_score() < h.gradient_score(), "noise {n:?} vs honest {h:?}");
				assert!(
					h.assigned_gain() > h.random_gain(),
					"honest update helps its assigned data most: {h:?}"
				);
				margins.push(h.gradient_score() - n.gradient_score());
			}
		}
	}
	let smallest = margins.iter().copied().fold(f64::INFINITY, f64::min);
	println!("gradient-score margin honest − noise: smallest {smallest:.4} over {margins:?}");
	assert!(smallest > 0.005, "honest updates stand clear of noise: {margins:?}");
	Ok(())
}
