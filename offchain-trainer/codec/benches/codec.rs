//! `cargo bench -p tessera-codec`: prints the codec's figures as a table — compress + error
//! feedback throughput (one core and all cores), payload bytes per 64 × 64 chunk at k = 64, and
//! decode + aggregate + apply for 20 peers. Each figure is the median of several timed runs after
//! a warm-up. `TESSERA_BENCH_QUICK=1` shrinks the sizes for a quick look.

mod common;

use common::{decode_all, header, peer_payloads, random};
use std::time::{Duration, Instant};
use tessera_codec::{
	ChunkGeometry, CompressConfig, IndexCoding, OuterStep, Scratch, apply_outer_step,
	compress_tensor, compress_tensor_threaded, encode, format::HEADER_LEN,
};

/// Median wall time of `runs` calls of `f` after one warm-up call.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
	f();
	let mut times: Vec<Duration> = (0..runs)
		.map(|_| {
			let t = Instant::now();
			f();
			t.elapsed()
		})
		.collect();
	times.sort();
	times[times.len() / 2]
}

fn main() {
	let quick = std::env::var_os("TESSERA_BENCH_QUICK").is_some();
	let side = if quick { 512 } else { 4096 };
	let runs = if quick { 3 } else { 7 };
	let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
	let g = ChunkGeometry::for_shape(&[side, side]).expect("valid shape");
	let bytes = (g.len() * 4) as f64;
	let delta = random(g.len(), 1);
	let config = CompressConfig::default();

	println!(
		"tessera-codec benchmarks ({side}×{side} f32 tensor, k = 64, β = 0.95, {threads} cores)"
	);
	println!("{:<48} {:>14}", "figure", "value");

	let mut e = vec![0.0f32; g.len()];
	let mut scratch = Scratch::default();
	let one = time(runs, || {
		compress_tensor(0, &mut e, &delta, &g, &config, &mut scratch).expect("compresses");
	});
	println!(
		"{:<48} {:>10.2} GB/s",
		"compress + EF, 1 core (f32 input)",
		bytes / one.as_secs_f64() / 1e9
	);

	let mut scratches: Vec<Scratch> = (0..threads).map(|_| Scratch::default()).collect();
	let all = time(runs, || {
		compress_tensor_threaded(0, &mut e, &delta, &g, &config, &mut scratches)
			.expect("compresses");
	});
	println!(
		"{:<48} {:>10.2} GB/s",
		format!("compress + EF, {threads} cores (f32 input)"),
		bytes / all.as_secs_f64() / 1e9
	);

	let t =
		compress_tensor(0, &mut vec![0.0; g.len()], &delta, &g, &config, &mut Scratch::default())
			.expect("compresses");
	for (name, coding) in
		[("packed 12-bit", IndexCoding::Packed12), ("Rice-coded", IndexCoding::Rice)]
	{
		let payload = encode(&header(0), std::slice::from_ref(&t), coding);
		let per_chunk = (payload.len() - HEADER_LEN) as f64 / g.num_chunks() as f64;
		println!(
			"{:<48} {:>12.1} B",
			format!("payload per 64×64 chunk, {name} indices"),
			per_chunk
		);
	}

	// 20 peers' payloads for the same tensor: decode every one, then aggregate and apply.
	let peers = 20;
	let shapes = vec![vec![side, side]];
	let payloads = peer_payloads(&g, peers, &config);
	let mut theta = vec![random(g.len(), 7)];
	let step = OuterStep { lr: 0.7, threads };
	let agg = time(runs, || {
		let decoded = decode_all(&payloads, &shapes);
		apply_outer_step(&mut theta, &decoded, &step).expect("applies");
	});
	println!(
		"{:<48} {:>11.1} ms",
		format!("decode + aggregate + apply, {peers} peers ({:.0}M params)", g.len() as f64 / 1e6),
		agg.as_secs_f64() * 1e3
	);
}
