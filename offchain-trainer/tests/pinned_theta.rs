//! θ after three windows of the tiny preset, pinned: two miners train on their assigned slices
//! of a seeded token shard, build their payloads (error feedback, top-k, 2-bit values), and
//! every peer applies the same outer step, three windows in a row. A change anywhere on that
//! path — the model's forward and backward, AdamW, the data slices, the codec, the outer step —
//! that changes a single bit of θ fails here, so a refactor that claims to change nothing is
//! held to it. Both miners' replicas end on the same θ (the outer step's determinism).
//!
//! The inner steps' matrix products run on `gemm`, which picks its microkernel from the CPU at
//! run time (AVX-512 where the CPU has it, else FMA) and its blocking from the CPU's cache
//! sizes; kernels and blockings sum in different orders: a miner's update is its own and need
//! not match another CPU's bit for bit (the outer step, which must, is `tessera-codec`'s and
//! uses no such kernel). So θ is pinned per kernel and CPU maker (an Intel Xeon VM here read
//! other bits than CI's AMD EPYC on the same AVX-512 kernel, 2026-12-05); on a CPU not pinned
//! yet, the test fails and prints the hashes to pin.

mod common;

use common::{replica, seeded_corpus};
use indicatif::ProgressBar;
use tessera_codec::{OuterStep, format::Expected};
use tessera_data::TokenShard;
use tessera_model::ModelConfig;

/// BLAKE2b-256 of θ after windows 1, 2 and 3, hex, on `gemm`'s FMA kernel (x86-64 without
/// AVX-512): not pinned since the CPU's fused kernels (`tessera_model::fused`) changed the inner
/// step's sums, for want of such a CPU to measure it on (user-mode QEMU without AVX-512 gives the
/// AVX-512 kernel's bits, not the FMA kernel's: checked on the build before the fused kernels).
/// On such a CPU the test fails and prints the hashes to pin here.
const PINNED_FMA: Option<&str> = None;

/// BLAKE2b-256 of θ after windows 1, 2 and 3, hex, on `gemm`'s AVX-512 kernel, measured on an
/// AMD EPYC with AVX-512 after the CPU's fused kernels (`tessera_model::fused`: RMSNorm, RoPE,
/// the causal softmax, SwiGLU's gate, cross-entropy) replaced the composed ops, which summed in
/// another order.
const PINNED_AVX512: &str = "07ba37403045e0e2769729e5696c6ce063913068cf3514dd5bfec8828dde9472 \
                             c9b4c33c7179bfdf0ac5d2e5db247fbbbce6a6e1cd07cc432f715f6cdb7fffd9 \
                             3551b5660f3a46689f3a058b396c406c83c5fa5d895bd450184acf2f714a830c";

/// The same on the AVX-512 kernel of an Intel Xeon (a 2-core VM, "Intel(R) Xeon(R) Processor"),
/// whose cache sizes give `gemm` another blocking than the AMD EPYC's.
const PINNED_AVX512_INTEL: &str = "1d4cae566a65a73041c0fa324798bc633e4e2f59b406f9d8f3862a7e1ba910f3 \
                                   6940e92fd67102be463babf94b8851c1264ada4615d8b0dcce89304dfbc357e9 \
                                   1171f0f553b0c988603665e8aa036cf9c616530039702395839796805ca1e26e";

/// The CPU's maker as Linux reports it (`vendor_id` in /proc/cpuinfo), if it does.
fn cpu_vendor() -> Option<String> {
	let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
	let line = info.lines().find(|l| l.starts_with("vendor_id"))?;
	Some(line.split(':').nth(1)?.trim().to_string())
}

/// The pinned hashes for the microkernel `gemm` picks on this CPU, with the kernel's name.
fn pinned_for_this_cpu() -> Option<(&'static str, &'static str)> {
	#[cfg(target_arch = "x86_64")]
	{
		if std::arch::is_x86_feature_detected!("avx512f") {
			return match cpu_vendor().as_deref() {
				Some("AuthenticAMD") => Some(("avx512f (AMD)", PINNED_AVX512)),
				Some("GenuineIntel") => Some(("avx512f (Intel)", PINNED_AVX512_INTEL)),
				_ => None,
			};
		}
		if std::arch::is_x86_feature_detected!("fma") {
			return PINNED_FMA.map(|pinned| ("fma", pinned));
		}
	}
	None
}

#[test]
fn theta_of_the_tiny_preset_after_three_windows_is_pinned() -> anyhow::Result<()> {
	let config = ModelConfig::load("tiny")?;
	let dir = tempfile::tempdir()?;
	seeded_corpus(dir.path(), config.vocab_size, 200_000)?;
	let shard = TokenShard::open(dir.path())?;
	let miners = [[1u8; 32], [2u8; 32]];
	let mut replicas = vec![replica(&config)?, replica(&config)?];
	let outer = OuterStep { lr: 0.7, threads: 1 };
	let progress = ProgressBar::hidden();
	let mut hashes = Vec::new();
	for window in 1..=3u64 {
		let seed = [window as u8; 32];
		let mut payloads = Vec::new();
		for (replica, miner) in replicas.iter_mut().zip(&miners) {
			let trained =
				replica.train(window, &seed, miner, &shard, Default::default(), &progress)?;
			let shapes = replica.shapes().to_vec();
			let rules = tessera_codec::Rules { k: 64, quantised: true, max_value: 1.0 };
			let expected = Expected { window, miner, shapes: &shapes, rules };
			payloads.push(tessera_codec::format::decode(&trained.update.bytes, &expected)?);
		}
		let list: Vec<_> = payloads.iter().collect();
		for replica in &mut replicas {
			replica.apply_outer_step(window, &list, &outer)?;
		}
		let [a, b] = [replicas[0].theta_hash(), replicas[1].theta_hash()];
		assert_eq!(a, b, "both replicas' θ after window {window}");
		hashes.push(hex::encode(a));
	}
	let measured = hashes.join(" ");
	let Some((kernel, pinned)) = pinned_for_this_cpu() else {
		anyhow::bail!(
			"no θ pinned for gemm's kernel on this CPU ({:?}); measured: {measured}",
			cpu_vendor()
		);
	};
	assert_eq!(measured, pinned, "θ after windows 1, 2, 3 on gemm's {kernel} kernel");
	Ok(())
}
