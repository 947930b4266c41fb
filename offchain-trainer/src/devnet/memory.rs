//! Each devnet process's peak memory (issue 23 item 5): its peak resident set (`VmHWM` in
//! `/proc/PID/status`, Linux), read once a second while it runs (the last second before a peer
//! exits can be missed), and the line the summary shows beside what a miner's state must hold.
//! On a system without procfs the line says so.

use tessera_model::ModelConfig;

/// The peak resident set of process `pid` in bytes, from `/proc/PID/status`; `None` where
/// there is no such file or no `VmHWM` line in it.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
	std::fs::read_to_string(format!("/proc/{pid}/status")).ok().and_then(|s| parse_vm_hwm(&s))
}

/// The `VmHWM:  123456 kB` line of a `/proc/PID/status` text, in bytes.
fn parse_vm_hwm(status: &str) -> Option<u64> {
	let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
	let mut words = line.split_whitespace();
	let kib: u64 = words.next()?.parse().ok()?;
	(words.next()? == "kB").then(|| kib.saturating_mul(1024))
}

/// The bytes a miner's state must hold for `model` (f32): θ, the model's own parameters
/// (θ_w, trained on), AdamW's two moments, the error-feedback buffers and the gradients, six
/// copies of the parameters. Activations come on top (a few tens of MB for the `small` model
/// at the devnet's batch of 4 × 128 tokens), and so, while a checkpoint is written in the
/// background, does its snapshot (θ, the moments and the error feedback: four more copies).
pub fn miner_state_bytes(model: &ModelConfig) -> u64 {
	6 * 4 * model.parameter_count() as u64
}

/// `peak memory (resident): node 120 MB, dave 700 MB, alice 800 MB (1.58× the 506 MB a miner's
/// state holds), …`: every process, miners with their ratio to [`miner_state_bytes`].
pub fn line(peaks: &[(String, bool, Option<u64>)], state_bytes: u64) -> String {
	let mb = |b: u64| b as f64 / 1e6;
	let cells: Vec<String> = peaks
		.iter()
		.map(|(name, miner, peak)| match peak {
			Some(p) if *miner && state_bytes > 0 => format!(
				"{name} {:.0} MB ({:.2}× the {:.0} MB a miner's state holds)",
				mb(*p),
				*p as f64 / state_bytes as f64,
				mb(state_bytes)
			),
			Some(p) => format!("{name} {:.0} MB", mb(*p)),
			None => format!("{name} not measured (no /proc/PID/status)"),
		})
		.collect();
	format!("peak memory (resident, per process): {}", cells.join(", "))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_peak_is_read_from_the_status_text_and_this_process_has_one() {
		let status =
			"Name:\tofftrainer\nVmPeak:\t 2000000 kB\nVmHWM:\t  812345 kB\nVmRSS:\t 700000 kB\n";
		assert_eq!(parse_vm_hwm(status), Some(812_345 * 1024));
		assert_eq!(parse_vm_hwm("VmRSS:\t 700000 kB\n"), None);
		assert_eq!(parse_vm_hwm("VmHWM:\t lots kB\n"), None);
		assert_eq!(parse_vm_hwm("VmHWM:\t 12 MB\n"), None);
		if cfg!(target_os = "linux") {
			let own = peak_rss_bytes(std::process::id()).unwrap();
			assert!(own > 1_000_000, "{own}");
		}
		assert_eq!(peak_rss_bytes(u32::MAX), None);
	}

	#[test]
	fn miners_are_shown_against_their_state() {
		let small = ModelConfig::load("small").unwrap();
		// 21,076,480 parameters × 4 B × 6.
		assert_eq!(miner_state_bytes(&small), 505_835_520);
		let peaks = vec![
			("node".to_string(), false, Some(120_000_000)),
			("alice".to_string(), true, Some(758_753_280)),
			("dave".to_string(), false, None),
		];
		assert_eq!(
			line(&peaks, miner_state_bytes(&small)),
			"peak memory (resident, per process): node 120 MB, alice 759 MB (1.50× the 506 MB \
			 a miner's state holds), dave not measured (no /proc/PID/status)"
		);
	}
}
