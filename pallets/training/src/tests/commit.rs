//! `commit_gradient`: the rules of DESIGN.md §2 step 3 and every error path, each without a
//! state change (`assert_noop` compares the storage root).

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;
use sp_runtime::DispatchError;

fn hash(b: u8) -> H256 {
	H256::repeat_byte(b)
}

#[test]
fn commit_for_open_window_is_recorded() {
	run_test(|| {
		run_to_window(1);
		run_to_block(WINDOW + 3);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(7), 4242));
		assert_eq!(
			Commitments::<Test>::get(1, ALICE),
			Some(Commitment {
				payload_hash: hash(7),
				payload_len: 4242,
				committed_at: WINDOW + 3,
				location: location("peer-1"),
			})
		);
		assert_eq!(
			training_events(),
			vec![Event::GradientCommitted {
				window: 1,
				who: ALICE,
				payload_hash: hash(7),
				payload_len: 4242
			}]
		);
	});
}

#[test]
fn commit_from_unregistered_account_fails() {
	run_test(|| {
		run_to_window(1);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(DAVE), 1, hash(1), 10),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn commit_before_any_window_fails() {
	run_test(|| {
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(1), 10),
			Error::<Test>::WindowNotOpen
		);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 0, hash(1), 10),
			Error::<Test>::WindowNotOpen
		);
	});
}

#[test]
fn commit_for_future_window_fails() {
	run_test(|| {
		run_to_window(2);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 3, hash(1), 10),
			Error::<Test>::WindowNotOpen
		);
	});
}

#[test]
fn commit_for_closed_window_fails() {
	run_test(|| {
		run_to_window(2);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(1), 10),
			Error::<Test>::WindowClosed
		);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 0, hash(1), 10),
			Error::<Test>::WindowClosed
		);
	});
}

#[test]
fn second_commit_in_a_window_fails() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(1), 10));
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(2), 10),
			Error::<Test>::AlreadyCommitted
		);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(1), 10),
			Error::<Test>::AlreadyCommitted
		);
	});
}

/// Front-running (issue 17 item 8): Bob sees Alice's commitment in the pool and sends the same
/// hash first. Under version 1 the first committer owned the hash and Alice's commit failed
/// with `HashAlreadyOwned`, losing her update; now both are recorded (Bob's payload, whose
/// header names Alice, can only be flagged invalid when revealed).
#[test]
fn a_front_run_hash_does_not_block_the_honest_commitment() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(BOB), 1, hash(9), 10));
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(9), 10));
		assert_eq!(Commitments::<Test>::get(1, ALICE).map(|c| c.payload_hash), Some(hash(9)));
		assert_eq!(Commitments::<Test>::get(1, BOB).map(|c| c.payload_hash), Some(hash(9)));
	});
}

#[test]
fn same_hash_in_a_later_window_is_a_new_commitment() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(9), 10));
		run_to_window(2);
		assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(BOB), 2, hash(9), 10));
		assert_eq!(Commitments::<Test>::get(2, BOB).map(|c| c.payload_hash), Some(hash(9)));
	});
}

#[test]
fn empty_payload_fails() {
	run_test(|| {
		run_to_window(1);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, hash(1), 0),
			Error::<Test>::EmptyPayload
		);
	});
}

#[test]
fn oversized_payload_fails() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(
			RuntimeOrigin::signed(BOB),
			1,
			hash(2),
			MaxPayloadLen::get()
		));
		assert_noop!(
			Training::commit_gradient(
				RuntimeOrigin::signed(ALICE),
				1,
				hash(1),
				MaxPayloadLen::get() + 1
			),
			Error::<Test>::PayloadTooLarge
		);
	});
}

#[test]
fn commit_requires_signed_origin() {
	run_test(|| {
		run_to_window(1);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::root(), 1, hash(1), 10),
			DispatchError::BadOrigin
		);
	});
}
