//! The simulator behind `offchain-trainer simulate`, in two parts.
//!
//! **The protocol as it runs** ([`protocol_network`], [`protocol_table`]): the window protocol's
//! own machines (`tessera_protocol::sim`: the miners', followers' and validator's state
//! machines the real drivers run) on a simulated chain, with the scenario's compute and link
//! speeds as simulated durations. Its figures are those of the code: steps per window,
//! commitments and results in time, the miners' utilisation.
//!
//! **What overlapping would buy** (a model of schedules, not of the code): a deterministic
//! simulator of one window's communication (issue 8, DESIGN.md §8): `peers`
//! miners finish their inner steps (staggered by a seeded jitter), each uploads its payload to
//! its own bucket over its uplink, and each downloads every other payload over its downlink as
//! soon as it is uploaded, the downlink shared equally among the transfers in flight (processor
//! sharing, event by event). Then the outer step is applied.
//!
//! It reports, per schedule, how long a peer's accelerators wait per window and the compute
//! utilisation `T / (T + idle)`:
//!
//! - **sequential**: upload, then download, then apply, then train the next window;
//! - **duplex**: upload and downloads overlap (different directions of the link), payloads are
//!   decoded as they arrive; only the final apply follows the last download;
//! - **overlapped**: the next window's inner steps start at once, from θ_w, while the window's
//!   payloads move; the outer step is applied when they are in. The accelerators wait only when
//!   the exchange takes longer than a window of training, plus the apply.

use std::fmt::Write;
use tessera_protocol::{
	Timing,
	sim::{Network, Outcome as ProtocolOutcome},
};

/// The protocol simulation's settings beyond the scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProtocolSettings {
	/// The chain's window timing (blocks).
	pub timing: Timing,
	/// Windows simulated.
	pub windows: u64,
	/// Inner steps per window at most (H); the scenario's compute per window is H steps.
	pub inner_steps: usize,
	/// Building a payload, seconds.
	pub build_seconds: f64,
	/// A transaction's way into the pool, seconds.
	pub transaction_seconds: f64,
	/// The validator's evaluation of one update, seconds.
	pub evaluate_seconds: f64,
}

/// The network the protocol simulation runs for scenario `s`: a window of the chain spans the
/// scenario's compute per window; one payload crosses a miner's uplink; every other payload
/// crosses each peer's downlink.
pub fn protocol_network(s: &Scenario, p: &ProtocolSettings, seed: u64) -> Network {
	let ms = |seconds: f64| (seconds * 1e3).round().max(0.0) as u64;
	let bits = s.payload_bytes() * 8.0;
	Network {
		timing: p.timing,
		block_ms: ms(s.window_seconds / p.timing.window_length(0).max(1) as f64),
		windows: p.windows,
		miners: s.peers,
		inner_steps: p.inner_steps,
		step_ms: ms(s.window_seconds / p.inner_steps.max(1) as f64),
		step_spread: s.jitter,
		build_ms: ms(p.build_seconds),
		transaction_ms: ms(p.transaction_seconds),
		upload_ms: ms(bits / s.up_bps),
		download_ms: ms(bits * (s.peers.saturating_sub(1)) as f64 / s.down_bps),
		apply_ms: ms(s.apply_seconds),
		evaluate_ms: ms(p.evaluate_seconds),
		seed,
	}
}

/// The protocol simulation's table.
pub fn protocol_table(net: &Network, out: &ProtocolOutcome) -> String {
	let mut text = String::new();
	let _ = writeln!(
		text,
		"the protocol machines as they run: {} windows of {} × {:.1} s blocks (reveal {}, \
		 scoring {} blocks), {} miners, {} inner steps of {:.1} s at most",
		net.windows,
		net.timing.window_length(0),
		net.block_ms as f64 / 1e3,
		net.timing.reveal_blocks(0),
		net.timing.score_deadline_blocks(0),
		net.miners,
		net.inner_steps,
		net.step_ms as f64 / 1e3
	);
	let _ = writeln!(
		text,
		"{:<8} {:>14} {:>10} {:>8} {:>7}",
		"window", "steps min/max", "committed", "applied", "scored"
	);
	for w in &out.windows {
		let min = w.steps.iter().min().copied().unwrap_or(0);
		let max = w.steps.iter().max().copied().unwrap_or(0);
		let _ = writeln!(
			text,
			"{:<8} {:>14} {:>10} {:>8} {:>7}",
			w.window,
			format!("{min}/{max}"),
			format!("{}/{}", w.committed, net.miners),
			w.applied,
			if w.scored { "yes" } else { "no" }
		);
	}
	let _ = writeln!(
		text,
		"miner utilisation (time in inner steps): {:.1}%",
		out.utilisation() * 100.0
	);
	text
}

/// What is simulated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scenario {
	/// Model parameters.
	pub params: f64,
	/// Miners exchanging payloads.
	pub peers: usize,
	/// Downlink, bits per second.
	pub down_bps: f64,
	/// Uplink, bits per second.
	pub up_bps: f64,
	/// Inner-loop compute per window, seconds.
	pub window_seconds: f64,
	/// Payload bytes per 64 × 64 chunk (ours: 76 Rice-coded at k = 64; Templar's: 160).
	pub bytes_per_chunk: f64,
	/// Seconds to apply the outer step after the last payload arrived.
	pub apply_seconds: f64,
	/// Spread of the miners' training end, as a fraction of the window (seeded, uniform).
	pub jitter: f64,
}

impl Scenario {
	/// Bytes of one payload.
	pub fn payload_bytes(&self) -> f64 {
		self.params / 4096.0 * self.bytes_per_chunk
	}
}

/// One schedule's outcome for the average peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
	/// Schedule name.
	pub schedule: &'static str,
	/// Mean seconds from the end of a peer's training to its last payload in.
	pub exchange_seconds: f64,
	/// Mean seconds the accelerators wait per window.
	pub idle_seconds: f64,
	/// `T / (T + idle)`.
	pub utilisation: f64,
}

/// SplitMix64: a seeded, portable sequence for the jitter.
fn splitmix(state: &mut u64) -> f64 {
	*state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
	let mut z = *state;
	z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
	z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
	((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// When each peer's downloads finish, given when each payload becomes available
/// (processor sharing on each peer's downlink).
fn downloads_done(available: &[f64], size_bits: f64, down_bps: f64) -> Vec<f64> {
	let n = available.len();
	(0..n)
		.map(|me| {
			// Transfers of the other peers' payloads, by availability.
			let mut pending: Vec<f64> = (0..n).filter(|&i| i != me).map(|i| available[i]).collect();
			pending.sort_by(f64::total_cmp);
			let mut active: Vec<f64> = Vec::new(); // remaining bits
			let mut t = pending.first().copied().unwrap_or(0.0);
			let mut next = 0;
			loop {
				while next < pending.len() && pending[next] <= t + 1e-12 {
					active.push(size_bits);
					next += 1;
				}
				if active.is_empty() {
					if next >= pending.len() {
						return t;
					}
					t = pending[next];
					continue;
				}
				let share = down_bps / active.len() as f64;
				let finish = active.iter().copied().fold(f64::INFINITY, f64::min) / share;
				let arrival = pending.get(next).map_or(f64::INFINITY, |a| a - t);
				let dt = finish.min(arrival);
				for r in &mut active {
					*r -= share * dt;
				}
				active.retain(|r| *r > 1e-6);
				t += dt;
			}
		})
		.collect()
}

/// Simulates one window of `s` with the jitter seeded by `seed`.
pub fn simulate(s: &Scenario, seed: u64) -> Vec<Outcome> {
	let mut state = seed;
	let bits = s.payload_bytes() * 8.0;
	let up = bits / s.up_bps;
	let train_end: Vec<f64> =
		(0..s.peers).map(|_| s.window_seconds * (1.0 + s.jitter * splitmix(&mut state))).collect();
	let uploaded: Vec<f64> = train_end.iter().map(|t| t + up).collect();
	let done = downloads_done(&uploaded, bits, s.down_bps);
	let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
	let t = s.window_seconds;
	let exchange: Vec<f64> = done.iter().zip(&train_end).map(|(d, e)| (d - e).max(up)).collect();
	// Sequential: the upload first, then downloads one after another at full rate.
	let sequential: Vec<f64> = exchange
		.iter()
		.map(|_| up + (s.peers.saturating_sub(1)) as f64 * bits / s.down_bps + s.apply_seconds)
		.collect();
	let duplex: Vec<f64> = exchange.iter().map(|x| x + s.apply_seconds).collect();
	let overlapped: Vec<f64> =
		exchange.iter().map(|x| (x - t).max(0.0) + s.apply_seconds).collect();
	[("sequential", sequential), ("duplex", duplex), ("overlapped", overlapped)]
		.into_iter()
		.map(|(schedule, idle)| {
			let idle = mean(idle);
			Outcome {
				schedule,
				exchange_seconds: mean(exchange.clone()),
				idle_seconds: idle,
				utilisation: t / (t + idle),
			}
		})
		.collect()
}

/// The simulator's table.
pub fn table(s: &Scenario, outcomes: &[Outcome]) -> String {
	let mut out = format!(
		"{:.0}B parameters, {} peers, {:.0}/{:.0} Mb/s down/up, {:.0}-minute window, payload {:.2} GB ({:.0} B per chunk), apply {:.1} s\n",
		s.params / 1e9,
		s.peers,
		s.down_bps / 1e6,
		s.up_bps / 1e6,
		s.window_seconds / 60.0,
		s.payload_bytes() / 1e9,
		s.bytes_per_chunk,
		s.apply_seconds
	);
	let _ = writeln!(
		out,
		"{:<12} {:>12} {:>10} {:>12}",
		"schedule", "exchange s", "idle s", "utilisation"
	);
	for o in outcomes {
		let _ = writeln!(
			out,
			"{:<12} {:>12.1} {:>10.1} {:>11.1}%",
			o.schedule,
			o.exchange_seconds,
			o.idle_seconds,
			o.utilisation * 100.0
		);
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	fn covenant(bytes_per_chunk: f64) -> Scenario {
		Scenario {
			params: 72e9,
			peers: 20,
			down_bps: 500e6,
			up_bps: 110e6,
			window_seconds: 1200.0,
			bytes_per_chunk,
			apply_seconds: 2.0,
			jitter: 0.02,
		}
	}

	#[test]
	fn one_peer_downloads_at_the_full_link_rate() {
		// Two peers, payloads available at 0: each downloads the other's 8 Mbit at 8 Mb/s.
		let done = downloads_done(&[0.0, 0.0], 8e6, 8e6);
		assert!((done[0] - 1.0).abs() < 1e-9 && (done[1] - 1.0).abs() < 1e-9);
		// Three peers: two transfers share the link.
		let done = downloads_done(&[0.0, 0.0, 0.0], 8e6, 8e6);
		assert!((done[0] - 2.0).abs() < 1e-9);
		// A late payload: the link is free until it arrives.
		let done = downloads_done(&[0.0, 5.0], 8e6, 8e6);
		assert!((done[0] - 6.0).abs() < 1e-9 && (done[1] - 1.0).abs() < 1e-9);
	}

	#[test]
	fn overlapping_the_exchange_with_training_reaches_97_percent_for_72b() {
		let ours = simulate(&covenant(76.0), 7);
		let by = |name: &str| ours.iter().find(|o| o.schedule == name).unwrap().utilisation;
		assert!(by("overlapped") >= 0.97, "{}", table(&covenant(76.0), &ours));
		assert!(by("sequential") < by("duplex") && by("duplex") < by("overlapped"));
		// Deterministic: the same seed gives the same numbers.
		assert_eq!(ours, simulate(&covenant(76.0), 7));
		// Templar's 160 B per chunk moves twice the bytes.
		let templar = simulate(&covenant(160.0), 7);
		assert!(templar[1].exchange_seconds > 1.9 * ours[1].exchange_seconds);
	}
}
