//! Criterion benchmarks of the codec's hot paths, for regression tracking with statistics
//! (`cargo bench -p tessera-codec --bench criterion`; the table of figures is `--bench codec`
//! and, for a whole model beside the PyTorch reference, `offchain-trainer bench`):
//!
//! - `compress_ef`: error feedback + top-k + quantisation of one tensor, 1 thread (throughput
//!   in bytes of f32 input);
//! - `decode_aggregate_apply`: decode 20 peers' payloads and apply the outer step;
//! - `encode`: payload v1 with Rice-coded positions.

mod common;

use common::{decode_all, header, peer_payloads, random};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_codec::{
	ChunkGeometry, CompressConfig, IndexCoding, OuterStep, Scratch, apply_outer_step,
	compress_tensor, encode,
};

const SIDES: [usize; 2] = [1024, 4096];

fn compress_ef(c: &mut Criterion) {
	let mut group = c.benchmark_group("compress_ef");
	group.sample_size(10);
	for side in SIDES {
		let g = ChunkGeometry::for_shape(&[side, side]).expect("valid shape");
		let delta = random(g.len(), 1);
		let mut e = vec![0.0f32; g.len()];
		let mut scratch = Scratch::default();
		let config = CompressConfig::default();
		group.throughput(Throughput::Bytes((g.len() * 4) as u64));
		group.bench_function(BenchmarkId::from_parameter(format!("{side}x{side}")), |b| {
			b.iter(|| {
				compress_tensor(0, &mut e, black_box(&delta), &g, &config, &mut scratch)
					.expect("compresses")
			})
		});
	}
	group.finish();
}

fn decode_aggregate_apply(c: &mut Criterion) {
	let mut group = c.benchmark_group("decode_aggregate_apply");
	group.sample_size(10);
	let peers = 20;
	for side in SIDES {
		let g = ChunkGeometry::for_shape(&[side, side]).expect("valid shape");
		let shapes = vec![vec![side, side]];
		let config = CompressConfig::default();
		let payloads = peer_payloads(&g, peers, &config);
		let mut theta = vec![random(g.len(), 7)];
		let step = OuterStep { lr: 0.7, threads: 1 };
		group.throughput(Throughput::Elements(g.len() as u64));
		group.bench_function(BenchmarkId::from_parameter(format!("{side}x{side}")), |b| {
			b.iter(|| {
				let decoded = decode_all(black_box(&payloads), &shapes);
				apply_outer_step(&mut theta, &decoded, &step).expect("applies");
			})
		});
	}
	group.finish();
}

fn encode_payload(c: &mut Criterion) {
	let mut group = c.benchmark_group("encode");
	let side = 1024;
	let g = ChunkGeometry::for_shape(&[side, side]).expect("valid shape");
	let t = compress_tensor(
		0,
		&mut vec![0.0; g.len()],
		&random(g.len(), 3),
		&g,
		&CompressConfig::default(),
		&mut Scratch::default(),
	)
	.expect("compresses");
	for (name, coding) in [("packed12", IndexCoding::Packed12), ("rice", IndexCoding::Rice)] {
		group.bench_function(name, |b| {
			b.iter(|| encode(&header(0), std::slice::from_ref(black_box(&t)), coding))
		});
	}
	group.finish();
}

criterion_group!(benches, compress_ef, decode_aggregate_apply, encode_payload);
criterion_main!(benches);
