//! The validator machine's unit tests: when it evaluates, when it submits, and what it gives up.

use super::*;

const DEV: Timing = Timing::uniform(10, 3, 10);
const T0: Millis = 1_700_000_000_000;
fn ts(n: Block) -> Millis {
	T0 + n * 2_000
}

fn validator_at(upto: Block) -> Validator {
	let mut v = Validator::new(DEV, Margins::default(), None);
	for n in 1..=upto {
		assert!(v.on_finalized_block(n, ts(n), ts(n) + 100).is_empty());
	}
	v
}

#[test]
fn evaluates_a_provisional_step_and_submits_after_the_late_watch() {
	let mut v = validator_at(23);
	assert_eq!(v.on_stepped(1, true, ts(23) + 200), vec![ValidatorAction::Evaluate { window: 1 }]);
	assert!(v.on_evaluated(1, 1_500, ts(24)).is_empty(), "late uploads still watched");
	assert!(v.on_finalized_block(24, ts(24), ts(24)).is_empty());
	assert!(v.on_finalized_block(25, ts(25), ts(25)).is_empty());
	assert!(v.on_finalized_block(26, ts(26), ts(26)).is_empty());
	// reveal_end(1) = 23, four blocks of late watch: ready at block 27.
	assert_eq!(
		v.on_finalized_block(27, ts(27), ts(27)),
		vec![ValidatorAction::Submit { window: 1 }]
	);
	assert!(v.on_submit_result(1, true, 1_800).is_empty());
	assert_eq!(v.last_scored(), Some(1));
	assert!(v.on_finalized_block(28, ts(28), ts(28)).is_empty(), "submitted once");
}

#[test]
fn a_slow_results_transaction_moves_the_submission_earlier() {
	let mut v = Validator::new(DEV, Margins { late_watch_blocks: 6, ..Margins::default() }, None);
	for n in 1..=23 {
		v.on_finalized_block(n, ts(n), ts(n));
	}
	// Results transactions have taken 7 s: the last block that can include them is 29
	// (authored at ts(29)), so they must be sent by ts(29) − 7 s − the 0.5 s margin:
	// it submits at block 25 although the late watch runs to block 29.
	v.durations.submit.observe(7_000);
	v.on_stepped(1, true, ts(23));
	assert!(v.on_evaluated(1, 1_000, ts(23) + 500).is_empty());
	assert!(v.on_finalized_block(24, ts(24), ts(24)).is_empty());
	assert_eq!(
		v.on_finalized_block(25, ts(25), ts(25)),
		vec![ValidatorAction::Submit { window: 1 }]
	);
}

#[test]
fn an_evaluation_that_ends_past_the_deadline_is_not_submitted() {
	let mut v = validator_at(23);
	v.on_stepped(1, true, ts(23));
	// The evaluation held the loop until block 29 was authored.
	let a = v.on_evaluated(1, 12_000, ts(29) + 10);
	assert!(
		matches!(a[..], [ValidatorAction::Skip { window: 1, reason: Skip::DeadlinePassed { .. } }]),
		"{a:?}"
	);
	assert_eq!(v.last_scored(), Some(1));
}

#[test]
fn an_evaluation_that_ends_late_but_in_time_submits_at_once() {
	let mut v = validator_at(23);
	v.on_stepped(1, true, ts(23));
	// Ends at block 27's time; the loop has not seen blocks 24..27 yet.
	assert_eq!(v.on_evaluated(1, 8_000, ts(27)), vec![ValidatorAction::Submit { window: 1 }]);
}

#[test]
fn a_replayed_window_is_not_scored() {
	let mut v = validator_at(40);
	assert_eq!(
		v.on_stepped(1, false, ts(40)),
		vec![ValidatorAction::Skip { window: 1, reason: Skip::AlreadySettled }]
	);
}

#[test]
fn a_step_seen_after_the_deadline_is_not_evaluated() {
	let mut v = validator_at(29);
	let a = v.on_stepped(1, true, ts(29) + 1_900);
	assert!(matches!(a[..], [ValidatorAction::Skip { window: 1, .. }]), "{a:?}");
}

#[test]
fn a_restart_does_not_score_a_window_twice() {
	let mut v = Validator::new(DEV, Margins::default(), Some(3));
	for n in 41..44 {
		v.on_finalized_block(n, ts(n), ts(n));
	}
	assert!(v.on_stepped(3, true, ts(43)).is_empty());
	assert_eq!(v.on_stepped(4, true, ts(53)), vec![ValidatorAction::Evaluate { window: 4 }]);
}

#[test]
fn a_step_while_another_window_is_scored_is_skipped_with_its_reason() {
	let mut v = validator_at(23);
	v.on_stepped(1, true, ts(23));
	assert_eq!(
		v.on_stepped(2, true, ts(23)),
		vec![ValidatorAction::Skip { window: 2, reason: Skip::Busy { scoring: 1 } }]
	);
}

#[test]
fn results_are_given_up_once_their_last_block_is_finalized_whatever_the_clock_says() {
	// This machine's wall clock runs 10 s behind the block timestamps, and the late watch
	// outlasts the window: by the clock, the deadline never seems near.
	let skew = 10_000;
	let mut v = Validator::new(DEV, Margins { late_watch_blocks: 20, ..Margins::default() }, None);
	for n in 1..=23 {
		v.on_finalized_block(n, ts(n), ts(n) - skew);
	}
	v.on_stepped(1, true, ts(23) - skew);
	assert!(v.on_evaluated(1, 500, ts(23) - skew).is_empty());
	for n in 24..29 {
		assert!(v.on_finalized_block(n, ts(n), ts(n) - skew).is_empty(), "block {n}");
	}
	// Block 29, the last that could include the results, is finalized: given up, and the next
	// window is free to be scored.
	let a = v.on_finalized_block(29, ts(29), ts(29) - skew);
	assert!(
		matches!(a[..], [ValidatorAction::Skip { window: 1, reason: Skip::DeadlinePassed { .. } }]),
		"{a:?}"
	);
	assert_eq!(v.on_stepped(2, true, ts(33)), vec![ValidatorAction::Evaluate { window: 2 }]);
}

#[test]
fn refused_results_are_reported() {
	let mut v = validator_at(23);
	v.on_stepped(1, true, ts(23));
	assert_eq!(v.on_evaluated(1, 500, ts(27)), vec![ValidatorAction::Submit { window: 1 }]);
	let a = v.on_submit_result(1, false, 2_000);
	assert_eq!(a, vec![ValidatorAction::Skip { window: 1, reason: Skip::Refused }]);
}

#[test]
fn a_stalled_chain_holds_the_submission_until_the_late_watch_ends() {
	let mut v = validator_at(23);
	v.on_stepped(1, true, ts(23));
	// No new block for 3 s (the chain stalled): still before the planned moment.
	assert!(v.on_evaluated(1, 500, ts(23) + 3_000).is_empty());
	// Blocks resume: the late watch ends at block 27 as usual.
	for n in 24..27 {
		assert!(v.on_finalized_block(n, ts(n) + 3_000, ts(n) + 3_000).is_empty(), "block {n}");
	}
	assert_eq!(
		v.on_finalized_block(27, ts(27) + 3_000, ts(27) + 3_000),
		vec![ValidatorAction::Submit { window: 1 }]
	);
}

/// Issue 19 item 5: a window stepped on a θ that is not the network's is skipped, with why,
/// and never evaluated later.
#[test]
fn a_window_stepped_out_of_sync_is_not_scored() {
	let mut v = Validator::new(DEV, Margins::default(), None);
	assert_eq!(
		v.on_stepped_out_of_sync(1),
		vec![ValidatorAction::Skip { window: 1, reason: Skip::Diverged }]
	);
	assert!(v.on_stepped(1, true, ts(23)).is_empty());
	assert_eq!(v.last_scored(), Some(1));
}
