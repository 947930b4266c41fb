//! What the trainer sets in its own process before it starts a thread: how long the allocator
//! keeps freed memory before handing it back to the kernel, and, in a build with the `mkl`
//! feature, how MKL's OpenMP threads and candle's CPU thread pool wait between operations. Each
//! is a default: a value the operator set in the environment wins.
//!
//! Why (measured with `perf` on the inner step, docs/PERFORMANCE.md): candle allocates every
//! op's result afresh, and a training step frees and reallocates hundreds of megabytes of
//! activations and gradients each ~1.5 s. mimalloc (v3) purges freed memory after 1 s by
//! default, so the next step faults it in again and the kernel zeroes every page
//! (`clear_page_erms`: 18–23 % of a step's time). With MKL, its OpenMP threads spin 200 ms after
//! every matrix product and candle's pool spins 25 000 rounds after every element-wise op, each
//! taking the cores the other needs on a small machine.

/// How long freed memory stays with the process before mimalloc purges it (ms): longer than a
/// training step, so a step reuses the previous step's pages (mimalloc's default, 1 s, left 18 % of
/// a step to zeroing pages; 5 s left 0.5 %).
pub const PURGE_DELAY_MS: i64 = 5_000;

/// mimalloc's index of `mi_option_purge_delay` (the same in its v2 and v3 headers vendored by
/// libmimalloc-sys 0.1.49, whose Rust bindings do not name it). The tests check it against the
/// environment variable mimalloc reads for that option.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The environment variable through which the operator sets the purge delay themselves.
const PURGE_DELAY_VAR: &str = "MIMALLOC_PURGE_DELAY";

/// The environment defaults this build sets where the operator has not: `(name, value)`.
pub fn env_defaults(mkl: bool, is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
	let wanted: &[(&str, &str)] = if mkl {
		&[
			// OpenMP's threads sleep 2 ms after a matrix product (Intel's default: 200 ms of
			// spinning, which with candle's pool spinning too cost a sixth of the step). With the
			// fused kernels 0 ms gave 810 tokens/s (every product wakes its threads anew), 1–5 ms
			// 890–940 (docs/PERFORMANCE.md).
			("KMP_BLOCKTIME", "2"),
			// candle's pool parks after 100 spins instead of 25 000.
			("CANDLE_BARRIER_POOL_SPIN_LIMIT", "100"),
		]
	} else {
		&[]
	};
	wanted.iter().copied().filter(|(name, _)| !is_set(name)).collect()
}

/// The purge delay mimalloc uses now (ms).
pub fn purge_delay_ms() -> i64 {
	// SAFETY: reads one option (mimalloc initialises it from the environment on first use).
	#[allow(unsafe_code)]
	let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
	// `c_long`: i64 on Linux, i32 on some other targets.
	#[allow(clippy::useless_conversion)]
	i64::from(value)
}

/// The environment variables [`tune`] set (not the operator): a child process that is not the
/// trainer (the bench's PyTorch reference) is started without them.
static SET_HERE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();

/// The environment variables this process set for itself ([`tune`]), none before it ran.
pub fn set_here() -> &'static [&'static str] {
	SET_HERE.get().map_or(&[], Vec::as_slice)
}

/// Applies the defaults: [`PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` is set, and
/// [`env_defaults`] for this build.
///
/// # Safety
///
/// Call it before the process starts a second thread: it writes the environment
/// (`std::env::set_var`) and a mimalloc option, neither of which is safe beside other threads.
#[allow(unsafe_code)]
pub unsafe fn tune() {
	let is_set = |name: &str| std::env::var_os(name).is_some();
	if !is_set(PURGE_DELAY_VAR) {
		// SAFETY: single-threaded, by this function's contract.
		unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _) };
	}
	let defaults = env_defaults(cfg!(feature = "mkl"), is_set);
	for &(name, value) in &defaults {
		// SAFETY: single-threaded, by this function's contract; MKL, OpenMP and candle read these
		// when they first run, which is later.
		unsafe { std::env::set_var(name, value) };
	}
	let _ = SET_HERE.set(defaults.iter().map(|(name, _)| *name).collect());
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::process::Command;

	/// Set in a child: what the child's test is to check, and the purge delay it expects.
	const CHILD: &str = "TESSERA_TEST_PURGE_DELAY_CHILD";

	/// Runs `test` of this binary alone in a fresh process with `env`, and checks it passed.
	fn run_child(test: &str, env: &[(&str, &str)]) {
		let mut command = Command::new(std::env::current_exe().unwrap());
		command.args([&format!("process::tests::{test}"), "--exact", "--nocapture"]);
		command.env_remove(PURGE_DELAY_VAR).envs(env.iter().copied());
		let out = command.output().unwrap();
		let stdout = String::from_utf8_lossy(&out.stdout);
		assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
		assert!(stdout.contains("1 passed"), "the child ran its check: {stdout}");
	}

	/// The child's side: `read:N` checks the delay mimalloc read at start-up; `tune:N` calls
	/// [`tune`] first. `None` in the parent.
	fn child_check() -> Option<()> {
		let task = std::env::var(CHILD).ok()?;
		let (what, expected) = task.split_once(':').unwrap();
		if what == "tune" {
			// SAFETY: the child runs this one test; libtest's main thread only waits for it.
			#[allow(unsafe_code)]
			unsafe {
				tune()
			};
		}
		assert_eq!(purge_delay_ms().to_string(), expected, "{task}");
		Some(())
	}

	#[test]
	fn the_purge_delay_index_is_the_option_mimalloc_reads_from_its_environment() {
		if child_check().is_some() {
			return;
		}
		let test = "the_purge_delay_index_is_the_option_mimalloc_reads_from_its_environment";
		run_child(test, &[(PURGE_DELAY_VAR, "4321"), (CHILD, "read:4321")]);
		run_child(test, &[(PURGE_DELAY_VAR, "-1"), (CHILD, "read:-1")]);
	}

	#[test]
	fn tuning_sets_the_purge_delay_unless_the_operator_did() {
		if child_check().is_some() {
			return;
		}
		let test = "tuning_sets_the_purge_delay_unless_the_operator_did";
		run_child(test, &[(CHILD, &format!("tune:{PURGE_DELAY_MS}"))]);
		run_child(test, &[(PURGE_DELAY_VAR, "77"), (CHILD, "tune:77")]);
		// mimalloc's own default (v3: 1 s), untouched without tuning.
		run_child(test, &[(CHILD, "read:1000")]);
	}

	#[test]
	fn mkl_builds_quiet_their_spinning_threads_and_the_operator_overrides() {
		assert_eq!(env_defaults(false, |_| false), vec![]);
		assert_eq!(
			env_defaults(true, |_| false),
			vec![("KMP_BLOCKTIME", "2"), ("CANDLE_BARRIER_POOL_SPIN_LIMIT", "100")]
		);
		assert_eq!(
			env_defaults(true, |name| name == "KMP_BLOCKTIME"),
			vec![("CANDLE_BARRIER_POOL_SPIN_LIMIT", "100")]
		);
	}
}
