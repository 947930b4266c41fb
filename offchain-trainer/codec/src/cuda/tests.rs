//! Tests of the GPU path. `kernels_compile_with_nvrtc` needs only NVRTC (CI installs it and sets
//! `TESSERA_REQUIRE_NVRTC=1`, so there a missing library fails the test); the others need a GPU
//! and are run on one with `cargo test -p tessera-codec --features cuda -- --ignored`.

use super::*;
use crate::{Scratch, aggregate::OuterStep, apply_outer_step, compress_tensor};

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
	// SplitMix64 → uniform in [-scale, scale).
	let mut state = seed;
	(0..n)
		.map(|_| {
			state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
			let mut z = state;
			z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
			z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
			z ^= z >> 31;
			((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
		})
		.collect()
}

const SHAPES: [&[usize]; 4] = [&[256, 192], &[100], &[130, 72], &[4096]];

#[test]
fn kernels_compile_with_nvrtc() {
	match compile_kernels() {
		Ok(ptx) => {
			let text = ptx.to_src();
			for name in ["topk_chunks", "aggregate_chunks", "ef_update_gather", "subtract_sent"] {
				assert!(text.contains(name), "{name} missing from the PTX");
			}
			// No contraction: the PTX must not fuse a multiply into an add.
			assert!(!text.contains("fma.rn.f32") && !text.contains("fma.rn.f64"), "fused ops");
		},
		Err(GpuError::NoNvrtc) if std::env::var_os("TESSERA_REQUIRE_NVRTC").is_none() => {
			eprintln!(
				"NVRTC not installed: kernel compilation not checked (set TESSERA_REQUIRE_NVRTC=1 to require it)"
			);
		},
		Err(e) => panic!("{e}"),
	}
}

#[test]
fn a_ptx_file_is_loaded_only_if_it_holds_our_kernels() {
	let dir = std::env::temp_dir().join(format!("tessera-ptx-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let other = dir.join("other.ptx");
	std::fs::write(&other, ".version 8.0\n.target sm_90\n").unwrap();
	let err = ptx_from(Some(other)).unwrap_err();
	assert!(matches!(&err, GpuError::Compile(m) if m.contains("not the codec's kernels")), "{err}");
	let missing = ptx_from(Some(dir.join("missing.ptx"))).unwrap_err();
	assert!(matches!(&missing, GpuError::Compile(m) if m.contains("cannot read")), "{missing}");
	// What `offchain-trainer cuda-ptx` writes is accepted (where NVRTC is here to write it).
	if let Ok(ptx) = compile_kernels() {
		let ours = dir.join("ours.ptx");
		std::fs::write(&ours, ptx.to_src()).unwrap();
		assert!(ptx_from(Some(ours)).is_ok());
	}
	std::fs::remove_dir_all(&dir).unwrap();
}

fn gpu() -> Gpu {
	Gpu::new(0).unwrap_or_else(|e| panic!("this test needs a GPU: {e}"))
}

#[test]
#[ignore = "needs an NVIDIA GPU: cargo test -p tessera-codec --features cuda -- --ignored"]
fn gpu_outer_step_is_bit_identical_to_cpu() {
	let gpu = gpu();
	let config = CompressConfig::default();
	let peers: Vec<Vec<CompressedTensor>> = (0..20)
		.map(|p| {
			SHAPES
				.iter()
				.enumerate()
				.map(|(t, shape)| {
					let g = ChunkGeometry::for_shape(shape).unwrap();
					// Peers of different scales, so the median clip bites.
					let d = random(g.len(), 100 * p + t as u64, 1.0 + p as f32);
					compress_tensor(
						t,
						&mut vec![0.0; g.len()],
						&d,
						&g,
						&config,
						&mut Scratch::default(),
					)
					.unwrap()
				})
				.collect()
		})
		.collect();
	let theta: Vec<Vec<f32>> = SHAPES
		.iter()
		.enumerate()
		.map(|(t, s)| random(s.iter().product(), 7 + t as u64, 0.1))
		.collect();
	let mut cpu = theta.clone();
	apply_outer_step(&mut cpu, &peers, &OuterStep { lr: 0.7, threads: 2 }).unwrap();
	let mut on_gpu: Vec<CudaSlice<f32>> = theta.iter().map(|t| gpu.upload(t).unwrap()).collect();
	gpu.apply_outer_step(&mut on_gpu, &peers, 0.7).unwrap();
	for (t, (c, g)) in cpu.iter().zip(&on_gpu).enumerate() {
		let g = gpu.download(g).unwrap();
		let differ = c.iter().zip(&g).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
		assert_eq!(differ, 0, "tensor {t}: {differ} values differ from the CPU's");
	}
}

#[test]
#[ignore = "needs an NVIDIA GPU: cargo test -p tessera-codec --features cuda -- --ignored"]
fn gpu_compression_matches_the_cpu_selection_and_keeps_exact_error_feedback() {
	let gpu = gpu();
	let config = CompressConfig::default();
	for (t, shape) in SHAPES.iter().enumerate() {
		let g = ChunkGeometry::for_shape(shape).unwrap();
		let e0 = random(g.len(), 50 + t as u64, 0.5);
		let delta = random(g.len(), 60 + t as u64, 1.0);
		let mut e_cpu = e0.clone();
		let cpu =
			compress_tensor(t, &mut e_cpu, &delta, &g, &config, &mut Scratch::default()).unwrap();
		let mut e_dev = gpu.upload(&e0).unwrap();
		let d_dev = gpu.upload(&delta).unwrap();
		let out = gpu.compress_tensor(t, &mut e_dev, &d_dev, &g, &config).unwrap();
		assert_eq!(out.indices, cpu.indices, "tensor {t}: positions differ");
		let (Values::Quantised { codes: gc, .. }, Values::Quantised { codes: cc, .. }) =
			(&out.values, &cpu.values)
		else {
			panic!("not quantised");
		};
		let differ = gc.iter().zip(cc).filter(|(a, b)| a != b).count();
		assert!(differ * 1000 <= gc.len(), "tensor {t}: {differ} codes differ");
		// e after = (β·e + Δ) − decoded(sent), bit for bit.
		let e_gpu = gpu.download(&e_dev).unwrap();
		let sent = out.to_dense();
		for i in 0..g.len() {
			let before = config.beta * e0[i] + delta[i];
			assert_eq!(e_gpu[i].to_bits(), (before - sent[i]).to_bits(), "tensor {t} at {i}");
		}
	}
}

#[test]
#[ignore = "needs an NVIDIA GPU: cargo test -p tessera-codec --features cuda -- --ignored"]
fn gpu_refuses_non_finite_updates_without_touching_the_buffer() {
	let gpu = gpu();
	let g = ChunkGeometry::for_shape(&[64, 64]).unwrap();
	let e0 = vec![0.25f32; g.len()];
	let mut delta = vec![0.0f32; g.len()];
	delta[77] = f32::NAN;
	let mut e = gpu.upload(&e0).unwrap();
	let d = gpu.upload(&delta).unwrap();
	let err = gpu.compress_tensor(3, &mut e, &d, &g, &CompressConfig::default()).unwrap_err();
	assert!(matches!(err, GpuError::Codec(CodecError::NonFiniteInput { tensor: 3 })), "{err}");
	assert_eq!(gpu.download(&e).unwrap(), e0);
}
