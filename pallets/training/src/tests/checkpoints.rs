//! Checkpoints of θ on chain (`record_checkpoint`), the run's history (retention shorter than
//! the runtime's), and commitments that keep their location after the miner left.
//! Window w's verdict is published at block 10(w+1) + 5.

use crate::{mock::*, run::example, *};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;

const THETA: H256 = H256::repeat_byte(9);

/// Charlie (the only validator) binds window `w` with θ hash [`THETA`].
fn bind(w: u64) {
	assert_ok!(Training::submit_gauntlet_results(
		RuntimeOrigin::signed(CHARLIE),
		w,
		vec![peer_result(ALICE, 60)],
		vec![ALICE],
		THETA,
	));
}

fn start(interval: u32, kept: u32, retain: u32) {
	let mut m = example();
	m.history = HistoryManifest {
		retain_windows: retain,
		checkpoint_interval: interval,
		checkpoints_kept: kept,
	};
	assert_ok!(Training::start_run(RuntimeOrigin::root(), m));
}

fn record(who: u64, w: u64, hash: H256) -> sp_runtime::DispatchResult {
	Training::record_checkpoint(RuntimeOrigin::signed(who), w, hash)
}

#[test]
fn a_validator_records_a_checkpoint_of_a_bound_window() {
	run_test(|| {
		start(1, 1, 3);
		run_to_window(2);
		bind(1);
		run_to_block(2 * WINDOW + DEADLINE);
		assert_ok!(record(CHARLIE, 1, THETA));
		let stored = Checkpoints::<Test>::get(1).expect("recorded");
		assert_eq!(stored.theta_hash, THETA);
		assert_eq!(stored.copies.len(), 1);
		assert_eq!(stored.copies[0].validator, CHARLIE);
		assert_eq!(stored.copies[0].location, location("peer-3"));
		assert_eq!(CheckpointWindows::<Test>::get().into_inner(), vec![1]);
		assert_eq!(Training::checkpoints().len(), 1);
		assert_eq!(
			training_events().last(),
			Some(&Event::CheckpointRecorded { window: 1, validator: CHARLIE, theta_hash: THETA })
		);
		assert_noop!(record(CHARLIE, 1, THETA), Error::<Test>::CheckpointAlreadyRecorded);
	});
}

#[test]
fn checkpoints_are_refused_unless_a_validator_holds_the_verdicts_theta() {
	RetainWindows::set(6);
	run_test(|| {
		run_to_window(2);
		bind(1);
		run_to_block(2 * WINDOW + DEADLINE);
		assert_noop!(record(CHARLIE, 1, THETA), Error::<Test>::RunNotStarted);
		start(2, 1, 4);
		assert_noop!(record(ALICE, 1, THETA), Error::<Test>::NotAValidator);
		assert_noop!(record(DAVE, 2, THETA), Error::<Test>::NotRegistered);
		// Interval 2: window 1 is not a checkpoint window.
		assert_noop!(record(CHARLIE, 1, THETA), Error::<Test>::NotACheckpointWindow);
		// Window 2's verdict is not published yet.
		assert_noop!(record(CHARLIE, 2, THETA), Error::<Test>::NoBindingVerdict);
		run_to_window(3);
		bind(2);
		run_to_block(3 * WINDOW + DEADLINE);
		assert_noop!(
			record(CHARLIE, 2, H256::repeat_byte(1)),
			Error::<Test>::CheckpointHashMismatch
		);
		assert_ok!(record(CHARLIE, 2, THETA));
	});
}

#[test]
fn a_window_without_a_binding_verdict_has_no_checkpoint() {
	run_test(|| {
		start(1, 1, 3);
		// Nobody scores window 1: its verdict does not bind.
		run_to_block(2 * WINDOW + DEADLINE);
		assert!(Verdicts::<Test>::get(1).is_some_and(|v| !v.binding));
		assert_noop!(record(CHARLIE, 1, H256::zero()), Error::<Test>::NoBindingVerdict);
	});
}

#[test]
fn a_newer_checkpoint_drops_the_oldest_beyond_the_runs_kept() {
	run_test(|| {
		start(1, 1, 3);
		run_to_window(2);
		bind(1);
		run_to_window(3);
		bind(2);
		run_to_block(3 * WINDOW + DEADLINE);
		assert_ok!(record(CHARLIE, 2, THETA));
		// Window 1 is older than every kept checkpoint (one kept).
		assert_noop!(record(CHARLIE, 1, THETA), Error::<Test>::CheckpointTooOld);
		run_to_window(4);
		bind(3);
		run_to_block(4 * WINDOW + DEADLINE);
		assert_ok!(record(CHARLIE, 3, THETA));
		assert!(!Checkpoints::<Test>::contains_key(2));
		assert_eq!(CheckpointWindows::<Test>::get().into_inner(), vec![3]);
		let events = training_events();
		assert!(events.contains(&Event::CheckpointPruned { window: 2 }), "{events:?}");
		assert_eq!(
			Training::checkpoints().into_iter().map(|(w, _)| w).collect::<Vec<_>>(),
			vec![3]
		);
	});
}

#[test]
fn a_history_too_short_to_replay_from_the_oldest_checkpoint_is_refused() {
	run_test(|| {
		let cases: [HistoryManifest; 4] = [
			// kept 1 × interval 2 + 2 = 4 windows needed, 3 kept.
			HistoryManifest { retain_windows: 3, checkpoint_interval: 2, checkpoints_kept: 1 },
			// More than the runtime's RetainWindows (3).
			HistoryManifest { retain_windows: 4, checkpoint_interval: 1, checkpoints_kept: 1 },
			HistoryManifest { retain_windows: 3, checkpoint_interval: 0, checkpoints_kept: 1 },
			HistoryManifest { retain_windows: 3, checkpoint_interval: 1, checkpoints_kept: 0 },
		];
		for history in cases {
			let mut m = example();
			m.history = history.clone();
			assert_noop!(
				Training::start_run(RuntimeOrigin::root(), m),
				Error::<Test>::InvalidManifest
			);
		}
		// With room for the history, more than MaxCheckpoints (2) alone is refused.
		RetainWindows::set(10);
		let mut m = example();
		m.history =
			HistoryManifest { retain_windows: 10, checkpoint_interval: 1, checkpoints_kept: 3 };
		assert_noop!(
			Training::start_run(RuntimeOrigin::root(), m.clone()),
			Error::<Test>::InvalidManifest
		);
		m.history.checkpoints_kept = 2;
		assert_ok!(Training::start_run(RuntimeOrigin::root(), m));
	});
}

/// Two kept: windows are kept in order whatever order they are recorded in, a second permitted
/// validator adds its copy, one without a permit for the window cannot, and once full a window
/// older than every kept one is refused while a newer one drops the oldest.
#[test]
fn two_kept_checkpoints_in_order_with_a_copy_per_permitted_validator() {
	RetainWindows::set(8);
	run_test(|| {
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 300));
		start(1, 2, 4);
		run_to_window(2);
		bind(1);
		run_to_window(3);
		bind(2);
		// Eve becomes a validator after windows 1 and 2 opened: no permit for them.
		assert_ok!(Training::register(RuntimeOrigin::signed(EVE), Role::Validator, location("e")));
		assert_ok!(Training::bond(RuntimeOrigin::signed(EVE), 300));
		run_to_block(3 * WINDOW + DEADLINE);
		assert_ok!(record(CHARLIE, 2, THETA));
		assert_ok!(record(DAVE, 2, THETA));
		assert_noop!(record(EVE, 2, THETA), Error::<Test>::NoPermit);
		let copies = Checkpoints::<Test>::get(2).expect("recorded").copies;
		assert_eq!(copies.iter().map(|c| c.validator).collect::<Vec<_>>(), vec![CHARLIE, DAVE]);
		assert_eq!(copies[1].location, location("d"));
		assert_ok!(record(DAVE, 1, THETA));
		assert_eq!(CheckpointWindows::<Test>::get().into_inner(), vec![1, 2]);
		assert_eq!(
			Training::checkpoints().into_iter().map(|(w, _)| w).collect::<Vec<_>>(),
			vec![2, 1]
		);
		run_to_window(4);
		bind(3);
		run_to_block(4 * WINDOW + DEADLINE);
		assert_ok!(record(CHARLIE, 3, THETA));
		assert_eq!(CheckpointWindows::<Test>::get().into_inner(), vec![2, 3]);
		assert!(!Checkpoints::<Test>::contains_key(1));
		// Full, and window 1 is older than both kept ones.
		assert_noop!(record(CHARLIE, 1, THETA), Error::<Test>::CheckpointTooOld);
	});
}

/// A run that keeps less history than the runtime prunes by its own retention, and the windows
/// opened before it started are pruned once, by the runtime's.
#[test]
fn the_runs_retention_prunes_and_earlier_windows_are_pruned_once() {
	RetainWindows::set(6);
	run_test(|| {
		run_to_window(5);
		start(1, 1, 3);
		let mut pruned = Vec::new();
		for w in 6..=12 {
			run_to_window(w);
			pruned.extend(training_events().into_iter().filter_map(|e| match e {
				Event::WindowPruned { window } => Some(window),
				_ => None,
			}));
		}
		// Windows 3..=9 by the run's retention (w − 3), 1 and 2 by the runtime's (w − 6).
		let mut sorted = pruned.clone();
		sorted.sort();
		assert_eq!(sorted, (1..=9).collect::<Vec<_>>(), "each window pruned once: {pruned:?}");
		assert_eq!(Windows::<Test>::iter_keys().count(), 3);
		assert_eq!(Training::retain_windows(), 3);
	});
}

/// Issue 19 item 3: a commitment keeps the location its payload was uploaded to, after the
/// miner moved and after it left and was removed.
#[test]
fn a_commitment_keeps_its_location_after_the_miner_moves_and_leaves() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(BOB), 1, THETA, 10));
		assert_ok!(Training::set_storage_location(RuntimeOrigin::signed(BOB), location("moved")));
		assert_ok!(Training::deregister(RuntimeOrigin::signed(BOB)));
		run_to_block(WINDOW + COOLDOWN + 1);
		assert_ok!(Training::withdraw_deposit(RuntimeOrigin::signed(BOB)));
		assert!(!Peers::<Test>::contains_key(BOB));
		let c = Commitments::<Test>::get(1, BOB).expect("kept");
		assert_eq!(c.location, location("peer-2"));
	});
}
