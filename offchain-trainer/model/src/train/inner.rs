//! The inner loop: up to `H` AdamW steps on the miner's slice, batch by batch, stopping early
//! (with what it has) when the window's deadline would pass — after a last step on fewer of its
//! sequences when a whole one no longer fits but part of one does. Shows a progress bar with
//! step, loss and tokens/s on a terminal, and logs each step at debug level.

use super::{AdamW, LrSchedule};
use crate::{Llama, ModelError};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Inner-loop settings.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerConfig {
	/// Inner steps per window (H).
	pub steps: usize,
	/// Sequences per step.
	pub batch_size: usize,
	/// The learning-rate schedule over network-wide inner steps.
	pub schedule: LrSchedule,
}

impl Default for InnerConfig {
	fn default() -> Self {
		Self { steps: 30, batch_size: 8, schedule: LrSchedule::default() }
	}
}

/// What the inner loop did.
#[derive(Clone, Debug, Default)]
pub struct InnerReport {
	/// Steps completed.
	pub steps: usize,
	/// Loss of each step (before its update).
	pub losses: Vec<f32>,
	/// Tokens processed.
	pub tokens: u64,
	/// Wall time.
	pub elapsed: Duration,
	/// The longest step (what the miner's machine plans the next window's steps with).
	pub longest_step: Duration,
	/// The longest forward and backward pass of a whole step (the part that grows with its
	/// sequences; the rest is the optimizer's update).
	pub longest_passes: Duration,
	/// The longest optimizer update (clip and AdamW), whatever the step's sequences.
	pub longest_update: Duration,
	/// Sequences of a last step shortened to fit before the deadline, if there was one.
	pub shortened: Option<usize>,
	/// Whether it stopped early for the deadline.
	pub stopped_early: bool,
	/// Steps whose loss or gradient was not finite (skipped, no update).
	pub skipped: usize,
}

impl InnerReport {
	/// Tokens per second.
	pub fn tokens_per_second(&self) -> f64 {
		self.tokens as f64 / self.elapsed.as_secs_f64().max(1e-9)
	}

	/// Mean loss over the steps.
	pub fn mean_loss(&self) -> Option<f32> {
		(!self.losses.is_empty())
			.then(|| self.losses.iter().sum::<f32>() / self.losses.len() as f32)
	}
}

/// When an inner loop stops starting steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct StopWhen<'a> {
	/// A step is only started when the longest step of this loop so far still fits before
	/// this ([`step_fits`]; the first step starts unless this has passed): on a busy machine
	/// the next step can be as slow as any before it, so the last one's duration would plan
	/// too little.
	pub deadline: Option<Instant>,
	/// No step is started once this is set (the operator stopped the peer).
	pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

/// Whether a step started at `now` and taking `longest` (the longest step of the loop so far)
/// ends before `deadline`. A sum past what an `Instant` can hold does not fit.
pub fn step_fits(now: Instant, longest: Duration, deadline: Instant) -> bool {
	now.checked_add(longest).is_some_and(|end| end < deadline)
}

/// How many of a step's `batch` sequences fit in `left` when a whole step no longer does: the
/// passes scale with the sequences (`passes` for all `batch` of them, the longest measured),
/// the optimizer's update (`update`, the longest measured) does not. Fewer sequences use the
/// machine less well (smaller matrices, a fixed cost per pass), so each is planned at
/// [`PARTIAL_SLACK_PERCENT`] over its share. 0 when not even one sequence fits, or nothing was
/// measured yet; below `batch` always.
pub fn sequences_that_fit(
	left: Duration,
	passes: Duration,
	update: Duration,
	batch: usize,
) -> usize {
	if passes.is_zero() || batch < 2 {
		return 0;
	}
	let for_passes = left.saturating_sub(update).as_nanos();
	let per_100 = passes.as_nanos().saturating_mul(100 + PARTIAL_SLACK_PERCENT);
	// Whole sequences only, and never the whole step (that was checked first).
	let n = for_passes.saturating_mul(batch as u128).saturating_mul(100) / per_100;
	n.min(batch as u128 - 1) as usize
}

/// How much longer than its share of a whole step's passes, in percent, a sequence of a
/// shortened last step is planned to take.
pub const PARTIAL_SLACK_PERCENT: u128 = 25;

/// What the inner loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
	/// A whole step on all of its sequences.
	Whole,
	/// A last step on this many of them: a whole one would end past the deadline.
	Shortened(usize),
	/// No step: not even one sequence fits, or the last step was already a shortened one.
	Stop,
}

/// The inner loop's decision at `now`, from what `report` measured so far: a whole step while
/// the longest one so far ends before `deadline` ([`step_fits`]), then one shortened to
/// [`sequences_that_fit`], then none.
pub fn next_step(
	report: &InnerReport,
	batch: usize,
	deadline: Option<Instant>,
	now: Instant,
) -> NextStep {
	if report.shortened.is_some() {
		return NextStep::Stop;
	}
	let Some(deadline) = deadline else { return NextStep::Whole };
	if step_fits(now, report.longest_step, deadline) {
		return NextStep::Whole;
	}
	let left = deadline.saturating_duration_since(now);
	match sequences_that_fit(left, report.longest_passes, report.longest_update, batch) {
		0 => NextStep::Stop,
		n => NextStep::Shortened(n),
	}
}

/// Runs the inner loop on `rows` (`steps × batch_size` rows of `seq_len + 1` tokens) starting at
/// network-wide inner step `first_step`, until `stop` says otherwise.
pub fn train_window(
	model: &Llama,
	optimizer: &mut AdamW,
	rows: &[Vec<u16>],
	config: &InnerConfig,
	first_step: u64,
	stop: StopWhen<'_>,
	progress: &ProgressBar,
) -> Result<InnerReport, ModelError> {
	let StopWhen { deadline, cancel } = stop;
	let start = Instant::now();
	let mut report = InnerReport::default();
	let batch = config.batch_size.max(1);
	let steps = config.steps.min(rows.len() / batch);
	progress.set_length(steps as u64);
	progress.set_position(0);
	progress.set_style(
		ProgressStyle::with_template("{prefix} [{bar:30}] step {pos}/{len} {msg}")
			.unwrap_or_else(|_| ProgressStyle::default_bar()),
	);
	for h in 0..steps {
		if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
			report.stopped_early = true;
			tracing::info!(done = h, planned = steps, "stop asked for: inner loop abandoned");
			break;
		}
		let take = match next_step(&report, batch, deadline, Instant::now()) {
			NextStep::Whole => batch,
			NextStep::Shortened(take) => {
				report.stopped_early = true;
				report.shortened = Some(take);
				tracing::info!(
					done = h,
					planned = steps,
					sequences = take,
					of = batch,
					"window deadline near: a last step on fewer sequences"
				);
				take
			},
			NextStep::Stop => {
				report.stopped_early = true;
				tracing::info!(
					done = h,
					planned = steps,
					"window deadline near: inner loop stops early"
				);
				break;
			},
		};
		let t0 = Instant::now();
		let tokens = model.batch(&rows[h * batch..h * batch + take])?;
		let loss = model.loss(&tokens)?;
		let loss_value = loss.to_scalar::<f32>()?;
		let lr = config.schedule.at(first_step + h as u64);
		if !loss_value.is_finite() {
			report.skipped += 1;
			tracing::warn!(step = h, "non-finite loss: step skipped");
		} else {
			let grads = loss.backward()?;
			let passes = t0.elapsed();
			let info = optimizer.step(&grads, lr)?;
			if take == batch {
				report.longest_passes = report.longest_passes.max(passes);
				report.longest_update = report.longest_update.max(t0.elapsed() - passes);
			}
			if !info.grad_norm.is_finite() {
				report.skipped += 1;
				tracing::warn!(step = h, "non-finite gradient norm");
			}
			report.losses.push(loss_value);
			tracing::debug!(
				step = h,
				loss = loss_value,
				lr,
				grad_norm = info.grad_norm,
				"inner step"
			);
		}
		report.steps += 1;
		report.tokens += (tokens.elem_count() - take) as u64;
		report.longest_step = report.longest_step.max(t0.elapsed());
		report.elapsed = start.elapsed();
		progress.set_position(report.steps as u64);
		progress
			.set_message(format!("loss {loss_value:.3} · {:.0} tok/s", report.tokens_per_second()));
	}
	report.elapsed = start.elapsed();
	Ok(report)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::ModelConfig;
	use crate::train::AdamWConfig;
	use candle_core::Device;

	fn rows(config: &ModelConfig, n: usize) -> Vec<Vec<u16>> {
		// A learnable stream: each row counts up from its start.
		(0..n).map(|r| (0..=config.seq_len).map(|i| ((r * 3 + i) % 50) as u16).collect()).collect()
	}

	#[test]
	fn the_loss_falls_over_a_window_and_the_report_adds_up() {
		let config = ModelConfig::load("tiny").unwrap();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let mut opt = AdamW::new(model.params().vars(), AdamWConfig::default()).unwrap();
		let inner = InnerConfig {
			steps: 12,
			batch_size: 2,
			schedule: LrSchedule { peak: 3e-3, warmup_steps: 2, decay_steps: 100, min_ratio: 0.1 },
		};
		let report = train_window(
			&model,
			&mut opt,
			&rows(&config, 24),
			&inner,
			0,
			StopWhen::default(),
			&ProgressBar::hidden(),
		)
		.unwrap();
		assert_eq!(report.steps, 12);
		assert_eq!(report.tokens, 12 * 2 * config.seq_len as u64);
		let first = report.losses[0];
		let last = *report.losses.last().unwrap();
		assert!(last < first - 1.0, "loss {first} → {last}");
	}

	#[test]
	fn a_passed_deadline_stops_before_any_step() {
		let config = ModelConfig::load("tiny").unwrap();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let mut opt = AdamW::new(model.params().vars(), AdamWConfig::default()).unwrap();
		let before = model.params().theta_hash().unwrap();
		let report = train_window(
			&model,
			&mut opt,
			&rows(&config, 8),
			&InnerConfig { steps: 4, batch_size: 2, ..Default::default() },
			0,
			StopWhen { deadline: Some(Instant::now()), cancel: None },
			&ProgressBar::hidden(),
		)
		.unwrap();
		assert!(report.stopped_early && report.steps == 0);
		assert_eq!(model.params().theta_hash().unwrap(), before);
	}

	#[test]
	fn a_set_cancel_flag_starts_no_step() {
		let config = ModelConfig::load("tiny").unwrap();
		let model = Llama::new(&config, &Device::Cpu).unwrap();
		let mut opt = AdamW::new(model.params().vars(), AdamWConfig::default()).unwrap();
		let inner = InnerConfig { steps: 4, batch_size: 2, ..Default::default() };
		let run = |opt: &mut AdamW, cancel: bool| {
			let flag = std::sync::atomic::AtomicBool::new(cancel);
			train_window(
				&model,
				opt,
				&rows(&config, 8),
				&inner,
				0,
				StopWhen { deadline: None, cancel: Some(&flag) },
				&ProgressBar::hidden(),
			)
			.unwrap()
		};
		let stopped = run(&mut opt, true);
		assert!(stopped.stopped_early && stopped.steps == 0);
		// The same flag, not set, lets the loop run.
		let ran = run(&mut opt, false);
		assert!(!ran.stopped_early && ran.steps == 4);
	}

	#[test]
	fn a_last_step_takes_the_sequences_whose_passes_fit_after_the_update() {
		let s = Duration::from_secs;
		let ms = Duration::from_millis;
		// 8 s of passes for 4 sequences (2 s each, planned at 2.5 s) and a 1 s update.
		assert_eq!(sequences_that_fit(ms(8_500), s(8), s(1), 4), 3);
		assert_eq!(sequences_that_fit(ms(8_499), s(8), s(1), 4), 2, "whole sequences only");
		assert_eq!(sequences_that_fit(ms(3_500), s(8), s(1), 4), 1);
		assert_eq!(sequences_that_fit(ms(3_499), s(8), s(1), 4), 0, "not even one fits");
		assert_eq!(sequences_that_fit(s(1), s(8), s(1), 4), 0, "the update alone fills it");
		assert_eq!(sequences_that_fit(s(100), s(8), s(1), 4), 3, "never the whole step");
		assert_eq!(sequences_that_fit(s(100), Duration::ZERO, s(1), 4), 0, "nothing measured");
		assert_eq!(sequences_that_fit(s(100), s(8), s(1), 1), 0, "one sequence cannot shrink");
		assert_eq!(sequences_that_fit(Duration::MAX, Duration::from_nanos(1), ms(0), 8), 7);
	}

	#[test]
	fn the_loop_takes_whole_steps_then_one_shortened_step_then_stops() {
		let now = Instant::now();
		let s = Duration::from_secs;
		// Steps of 9 s: 8 s of passes over 4 sequences, a 1 s update.
		let measured = InnerReport {
			longest_step: s(9),
			longest_passes: s(8),
			longest_update: s(1),
			..Default::default()
		};
		let at = |left: u64| Some(now + s(left));
		assert_eq!(next_step(&InnerReport::default(), 4, at(1), now), NextStep::Whole, "first");
		assert_eq!(next_step(&measured, 4, None, now), NextStep::Whole, "no deadline");
		assert_eq!(next_step(&measured, 4, at(10), now), NextStep::Whole);
		// 7 s left: the update and two sequences planned at 2.5 s each.
		assert_eq!(next_step(&measured, 4, at(7), now), NextStep::Shortened(2));
		assert_eq!(next_step(&measured, 4, at(9), now), NextStep::Shortened(3), "ending at it");
		assert_eq!(next_step(&measured, 4, at(3), now), NextStep::Stop, "not one sequence");
		assert_eq!(next_step(&measured, 4, Some(now), now + s(1)), NextStep::Stop, "passed");
		let after = InnerReport { shortened: Some(2), ..measured };
		assert_eq!(next_step(&after, 4, at(100), now), NextStep::Stop, "one shortened step");
		assert_eq!(next_step(&after, 4, None, now), NextStep::Stop);
	}

	#[test]
	fn a_step_fits_only_when_the_longest_one_ends_before_the_deadline() {
		let now = Instant::now();
		let deadline = now + Duration::from_secs(10);
		assert!(step_fits(now, Duration::ZERO, deadline), "the first step starts in time");
		assert!(step_fits(now, Duration::from_millis(9_999), deadline));
		assert!(!step_fits(now, Duration::from_secs(10), deadline), "ending at it is too late");
		assert!(!step_fits(deadline, Duration::ZERO, deadline), "a passed deadline starts nothing");
		assert!(!step_fits(now, Duration::MAX, deadline), "an overflowing sum does not fit");
	}
}
