//! The outer step: single-peer reconstruction, reduction to dense DiLoCo, median clipping, and
//! bit-identical results whatever the thread count or arrival order.

mod common;

use common::*;
use tessera_codec::{
	ChunkGeometry, CompressConfig, CompressedTensor, OuterStep, Scratch,
	aggregate::{median, norm},
	apply_outer_step, compress_tensor,
	hash::theta_hash,
};

fn theta() -> Vec<Vec<f32>> {
	shapes().iter().enumerate().map(|(t, s)| random(s.iter().product(), 900 + t as u64)).collect()
}

fn step(threads: usize) -> OuterStep {
	OuterStep { lr: 0.7, threads }
}

#[test]
fn single_peer_aggregate_reconstructs_its_update() {
	let peer = compressed(1, CompressConfig::default());
	let mut th = theta();
	let before = th.clone();
	apply_outer_step(&mut th, std::slice::from_ref(&peer), &step(2)).expect("applies");
	for (t, ct) in peer.iter().enumerate() {
		let dense = ct.to_dense();
		for i in 0..dense.len() {
			let want = if dense[i] == 0.0 { before[t][i] } else { before[t][i] - 0.7 * dense[i] };
			assert_eq!(th[t][i].to_bits(), want.to_bits(), "tensor {t} value {i}");
		}
	}
}

#[test]
fn full_k_without_quantisation_is_dense_diloco() {
	let config = CompressConfig { k: 4096, quantise: false, ..Default::default() };
	let deltas: Vec<Vec<Vec<f32>>> = (0..3)
		.map(|p| {
			shapes()
				.iter()
				.enumerate()
				.map(|(t, s)| random(s.iter().product(), 10 * p + t as u64))
				.collect()
		})
		.collect();
	let peers: Vec<Vec<CompressedTensor>> = deltas
		.iter()
		.map(|peer| {
			shapes()
				.iter()
				.zip(peer)
				.enumerate()
				.map(|(t, (s, d))| {
					let g = ChunkGeometry::for_shape(s).expect("valid");
					let mut e = vec![0.0; g.len()];
					let c = compress_tensor(t, &mut e, d, &g, &config, &mut Scratch::default())
						.expect("ok");
					assert!(e.iter().all(|&v| v == 0.0), "everything sent, nothing left behind");
					c
				})
				.collect()
		})
		.collect();
	let mut th = theta();
	let before = th.clone();
	apply_outer_step(&mut th, &peers, &step(3)).expect("applies");
	for t in 0..th.len() {
		// DiLoCo: θ − lr · mean over peers of the (median-clipped) pseudo-gradients.
		let norms: Vec<f64> = peers.iter().map(|p| norm(&p[t])).collect();
		let med = median(&norms);
		for i in 0..th[t].len() {
			let mean = deltas
				.iter()
				.zip(&norms)
				.map(|(d, &n)| if n > med { med / n } else { 1.0 } * f64::from(d[t][i]))
				.sum::<f64>()
				/ 3.0;
			let want = before[t][i] - 0.7 * mean as f32;
			assert_eq!(th[t][i].to_bits(), want.to_bits());
		}
	}
}

#[test]
fn peers_above_the_median_norm_are_clipped_to_it() {
	let g = ChunkGeometry::for_shape(&[64]).expect("valid");
	let raw = |v: f32| CompressedTensor {
		geometry: g,
		k: 1,
		indices: vec![0],
		values: tessera_codec::Values::Raw(vec![v]),
	};
	// Norms 1, 2, 200: median 2, so the 200 is scaled to 2; mean (1 + 2 + 2) / 3.
	let peers = vec![vec![raw(1.0)], vec![raw(2.0)], vec![raw(200.0)]];
	let mut th = vec![vec![0.0f32; 64]];
	apply_outer_step(&mut th, &peers, &OuterStep { lr: 1.0, threads: 1 }).expect("applies");
	assert_eq!(th[0][0], -(5.0f64 / 3.0) as f32);
	assert!(th[0][1..].iter().all(|&v| v == 0.0));
}

#[test]
fn bit_identical_for_any_thread_count_and_arrival_order() {
	let peers: Vec<(u32, Vec<CompressedTensor>)> =
		(0..5).map(|p| (p, compressed(100 + u64::from(p), CompressConfig::default()))).collect();
	let run = |threads: usize, order: &[usize]| {
		// Payloads arrive in any order; aggregation always takes them in on-chain order.
		let mut arrived: Vec<&(u32, Vec<CompressedTensor>)> =
			order.iter().map(|&i| &peers[i]).collect();
		arrived.sort_by_key(|(position, _)| *position);
		let set: Vec<Vec<CompressedTensor>> = arrived.into_iter().map(|(_, t)| t.clone()).collect();
		let mut th = theta();
		apply_outer_step(&mut th, &set, &step(threads)).expect("applies");
		theta_hash(&th)
	};
	let reference = run(1, &[0, 1, 2, 3, 4]);
	for threads in [2, 3, 4, 8, 64] {
		assert_eq!(run(threads, &[4, 2, 0, 3, 1]), reference, "{threads} threads");
	}
	assert_eq!(run(5, &[1, 0, 4, 3, 2]), reference);
}

#[test]
fn mismatched_peer_is_rejected_and_theta_untouched() {
	let mut peer = compressed(1, CompressConfig::default());
	peer.pop();
	let mut th = theta();
	let before = theta_hash(&th);
	assert!(apply_outer_step(&mut th, &[peer], &step(1)).is_err());
	assert_eq!(theta_hash(&th), before);
}
