//! The peer lifecycle: storage location updates, `deregister` with its cool-down, and
//! `withdraw_deposit` releasing the deposit; leaving peers and validators cannot commit.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;

#[test]
fn set_storage_location_replaces_it() {
	run_test(|| {
		assert_ok!(Training::set_storage_location(RuntimeOrigin::signed(ALICE), location("new")));
		assert_eq!(Peers::<Test>::get(ALICE).expect("peer").location, location("new"));
		assert_eq!(training_events(), vec![Event::StorageLocationSet { who: ALICE }]);
	});
}

#[test]
fn set_storage_location_checks_it_and_the_caller() {
	run_test(|| {
		let secret =
			crate::location::location("https://s3.example.org/?X-Amz-Signature=x", "tessera", "");
		assert_noop!(
			Training::set_storage_location(RuntimeOrigin::signed(ALICE), secret),
			Error::<Test>::EndpointHasCredentials
		);
		assert_noop!(
			Training::set_storage_location(RuntimeOrigin::signed(DAVE), location("d")),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn deregister_then_withdraw_after_the_cooldown() {
	run_test(|| {
		run_to_block(3);
		assert_ok!(Training::deregister(RuntimeOrigin::signed(BOB)));
		assert_eq!(
			training_events(),
			vec![Event::PeerLeaving { who: BOB, withdraw_from: 3 + COOLDOWN }]
		);
		assert_eq!(Peers::<Test>::get(BOB).expect("still a peer").leaving_at, Some(3));
		run_to_block(3 + COOLDOWN - 1);
		assert_noop!(
			Training::withdraw_deposit(RuntimeOrigin::signed(BOB)),
			Error::<Test>::CooldownNotOver
		);
		run_to_block(3 + COOLDOWN);
		assert_ok!(Training::withdraw_deposit(RuntimeOrigin::signed(BOB)));
		assert!(!Peers::<Test>::contains_key(BOB));
		assert_eq!(PeerCount::<Test>::get(), 2);
		assert_eq!(Balances::free_balance(BOB), BALANCE);
		assert!(
			training_events().contains(&Event::PeerDeregistered { who: BOB, released: DEPOSIT })
		);
		// The index is not reused.
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Miner, location("d")));
		assert_eq!(Peers::<Test>::get(DAVE).expect("peer").index, 3);
	});
}

#[test]
fn deregister_twice_fails() {
	run_test(|| {
		assert_ok!(Training::deregister(RuntimeOrigin::signed(BOB)));
		assert_noop!(
			Training::deregister(RuntimeOrigin::signed(BOB)),
			Error::<Test>::AlreadyLeaving
		);
	});
}

#[test]
fn deregister_or_withdraw_as_non_peer_fails() {
	run_test(|| {
		assert_noop!(
			Training::deregister(RuntimeOrigin::signed(DAVE)),
			Error::<Test>::NotRegistered
		);
		assert_noop!(
			Training::withdraw_deposit(RuntimeOrigin::signed(DAVE)),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn withdraw_without_deregister_fails() {
	run_test(|| {
		assert_noop!(
			Training::withdraw_deposit(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NotLeaving
		);
	});
}

#[test]
fn leaving_peer_cannot_commit() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::deregister(RuntimeOrigin::signed(ALICE)));
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(ALICE), 1, H256::repeat_byte(1), 10),
			Error::<Test>::PeerLeaving
		);
	});
}

#[test]
fn validator_cannot_commit() {
	run_test(|| {
		run_to_window(1);
		assert_noop!(
			Training::commit_gradient(RuntimeOrigin::signed(CHARLIE), 1, H256::repeat_byte(1), 10),
			Error::<Test>::NotAMiner
		);
	});
}
