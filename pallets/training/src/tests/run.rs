//! The run's identity (`start_run`, genesis) and null rounds: a binding verdict with fewer
//! updates than the run's `min_updates` leaves θ unchanged and says so.

use crate::{mock::*, run::example, *};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;

#[test]
fn only_root_starts_a_run_and_only_once() {
	run_test(|| {
		assert_noop!(
			Training::start_run(RuntimeOrigin::signed(ALICE), example()),
			sp_runtime::DispatchError::BadOrigin
		);
		assert_eq!(Run::<Test>::get(), None);
		assert_ok!(Training::start_run(RuntimeOrigin::root(), example()));
		assert_eq!(Run::<Test>::get(), Some(example()));
		assert_eq!(Training::run_manifest(), Some(example()));
		assert_eq!(training_events().last(), Some(&Event::RunStarted { manifest: example() }));
		let mut other = example();
		other.outer.lr_e9 = 1;
		assert_noop!(
			Training::start_run(RuntimeOrigin::root(), other),
			Error::<Test>::RunAlreadyStarted
		);
		assert_eq!(Run::<Test>::get(), Some(example()));
	});
}

#[test]
fn unusable_manifests_are_refused() {
	run_test(|| {
		let cases: [fn(&mut RunManifest); 9] = [
			|m| m.model.d_model = 0,
			|m| m.inner.steps = 0,
			|m| m.inner.beta2_e9 = 1_000_000_000,
			|m| m.model.n_heads = 3,
			|m| m.outer.lr_e9 = 0,
			|m| m.outer.max_update_value_e9 = 0,
			|m| m.outer.min_updates = 0,
			|m| m.outer.min_updates = 4, // AggregationSize is 3
			|m| m.codec.top_k = 4097,
		];
		for change in cases {
			let mut m = example();
			change(&mut m);
			assert_noop!(
				Training::start_run(RuntimeOrigin::root(), m),
				Error::<Test>::InvalidManifest
			);
		}
	});
}

fn submit(who: u64, window: u64, inclusion: Vec<u64>) -> sp_runtime::DispatchResult {
	Training::submit_gauntlet_results(
		RuntimeOrigin::signed(who),
		window,
		vec![peer_result(ALICE, 70), peer_result(BOB, 40)],
		inclusion,
		H256::repeat_byte(9),
	)
}

/// Runs block by block to `n`, collecting the `NullRound` events on the way.
fn null_rounds_until(n: u64) -> Vec<(u64, u32)> {
	let mut seen = Vec::new();
	while System::block_number() < n {
		run_to_block(System::block_number() + 1);
		seen.extend(training_events().into_iter().filter_map(|e| match e {
			Event::NullRound { window, updates } => Some((window, updates)),
			_ => None,
		}));
	}
	seen
}

#[test]
fn a_binding_list_shorter_than_min_updates_is_a_null_round() {
	run_test(|| {
		let mut m = example();
		m.outer.min_updates = 2;
		assert_ok!(Training::start_run(RuntimeOrigin::root(), m));
		run_to_window(2);
		assert_ok!(submit(CHARLIE, 1, vec![ALICE]));
		assert_eq!(null_rounds_until(3 * WINDOW), vec![(1, 1)]);
		assert!(Verdicts::<Test>::get(1).is_some_and(|v| v.binding));
		// Two updates are enough: no null round for window 2.
		assert_ok!(submit(CHARLIE, 2, vec![ALICE, BOB]));
		assert_eq!(null_rounds_until(4 * WINDOW), vec![]);
	});
}

#[test]
fn without_a_run_only_an_empty_list_is_a_null_round() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(submit(CHARLIE, 1, vec![ALICE]));
		assert_eq!(null_rounds_until(3 * WINDOW), vec![]);
		assert_ok!(submit(CHARLIE, 2, vec![]));
		assert_eq!(null_rounds_until(4 * WINDOW), vec![(2, 0)]);
	});
}
