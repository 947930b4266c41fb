//! Convergence on a small noisy problem, in about a second: 4 simulated workers run local SGD on
//! ½‖θ − θ*‖² (1024 coordinates, one 32 × 32 chunk) where half the coordinates carry large
//! zero-mean gradient noise. The full codec (top-64 of the chunk, 2-bit values, error feedback)
//! gets within a stated margin of dense averaging; top-k without error feedback stalls, because
//! the noisy coordinates always outrank the small, consistent signal on the quiet ones, which
//! then never move.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use tessera_codec::{
	ChunkGeometry, CompressConfig, CompressedTensor, OuterStep, Scratch, apply_outer_step,
	compress_tensor,
};

const SIDE: usize = 32;
const N: usize = SIDE * SIDE;
const K: usize = 64;
const WORKERS: usize = 4;
const ROUNDS: usize = 300;
const INNER_STEPS: usize = 10;
const INNER_LR: f32 = 0.01;
const NOISE: f32 = 3.0;
const OUTER_LR: f32 = 0.7;

#[derive(Clone, Copy, PartialEq)]
enum Method {
	Dense,
	TopKNoFeedback,
	Codec,
}

fn loss(theta: &[f32], target: &[f32]) -> f64 {
	theta.iter().zip(target).map(|(a, b)| 0.5 * f64::from(a - b).powi(2)).sum()
}

fn run(method: Method) -> f64 {
	let mut rng = SmallRng::seed_from_u64(42);
	let target: Vec<f32> = (0..N).map(|_| rng.r#gen::<f32>() * 2.0 - 1.0).collect();
	let g = ChunkGeometry::for_shape(&[SIDE, SIDE]).expect("valid");
	let mut theta = vec![vec![0.0f32; N]];
	let mut errors = vec![vec![0.0f32; N]; WORKERS];
	let config = match method {
		Method::Dense => {
			CompressConfig { k: 4096, quantise: false, beta: 0.0, ..Default::default() }
		},
		Method::TopKNoFeedback => {
			CompressConfig { k: K, quantise: true, beta: 0.0, ..Default::default() }
		},
		Method::Codec => CompressConfig { k: K, quantise: true, beta: 0.95, ..Default::default() },
	};
	let mut scratch = Scratch::default();
	for _ in 0..ROUNDS {
		let mut peers: Vec<Vec<CompressedTensor>> = Vec::new();
		for e in errors.iter_mut() {
			let mut local = theta[0].clone();
			for _ in 0..INNER_STEPS {
				for (i, x) in local.iter_mut().enumerate() {
					let noise = if i < N / 2 {
						if rng.r#gen::<bool>() { NOISE } else { -NOISE }
					} else {
						0.0
					};
					*x -= INNER_LR * ((*x - target[i]) + noise);
				}
			}
			let delta: Vec<f32> = theta[0].iter().zip(&local).map(|(a, b)| a - b).collect();
			if method == Method::TopKNoFeedback {
				e.fill(0.0); // no memory of what was not sent
			}
			let c = compress_tensor(0, e, &delta, &g, &config, &mut scratch).expect("compresses");
			peers.push(vec![c]);
		}
		apply_outer_step(&mut theta, &peers, &OuterStep { lr: OUTER_LR, threads: 2 })
			.expect("applies");
	}
	loss(&theta[0], &target)
}

#[test]
fn codec_tracks_dense_averaging_and_beats_topk_without_feedback() {
	let start: f64 = {
		let mut rng = SmallRng::seed_from_u64(42);
		(0..N).map(|_| 0.5 * f64::from(rng.r#gen::<f32>() * 2.0 - 1.0).powi(2)).sum()
	};
	let dense = run(Method::Dense);
	let codec = run(Method::Codec);
	let no_feedback = run(Method::TopKNoFeedback);
	eprintln!(
		"start {start:.2} dense {dense:.3} codec {codec:.3} top-k without EF {no_feedback:.3}"
	);
	// Stated margins (measured: start ≈ 170, dense ≈ 1.8, codec ≈ 9.1, no-EF ≈ 97): dense removes
	// ≥ 97% of the starting loss; the codec ends within 8% of the starting loss of dense; top-k
	// without error feedback ends at least 5 × above the codec.
	assert!(dense < 0.03 * start, "dense averaging converges");
	assert!(codec <= dense + 0.08 * start, "codec {codec} vs dense {dense}");
	assert!(no_feedback >= 5.0 * codec, "no-EF {no_feedback} vs codec {codec}");
}
