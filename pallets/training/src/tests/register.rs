//! `register`: permissionless, once per account, bounded by `MaxPeers`, with a valid storage
//! location and the deposit held from the caller.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::DispatchError;

fn register(who: u64) -> sp_runtime::DispatchResult {
	Training::register(RuntimeOrigin::signed(who), Role::Miner, location("dave"))
}

#[test]
fn register_adds_peer_with_next_index_and_holds_the_deposit() {
	run_test(|| {
		run_to_block(5);
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
		let info = Peers::<Test>::get(DAVE).expect("registered");
		assert_eq!(
			info,
			PeerInfo {
				index: 3,
				role: Role::Validator,
				location: location("d"),
				deposit: DEPOSIT,
				registered_at: 5,
				leaving_at: None
			}
		);
		assert_eq!(PeerCount::<Test>::get(), 4);
		assert_eq!(Balances::free_balance(DAVE), BALANCE - DEPOSIT);
		assert_eq!(
			training_events(),
			vec![Event::PeerRegistered {
				who: DAVE,
				index: 3,
				role: Role::Validator,
				deposit: DEPOSIT
			}]
		);
	});
}

#[test]
fn register_twice_fails() {
	run_test(|| {
		assert_noop!(register(ALICE), Error::<Test>::AlreadyRegistered);
	});
}

#[test]
fn register_beyond_max_peers_fails() {
	run_test(|| {
		// Alice, Bob and Charlie at genesis; five more fill MaxPeers = 8.
		for who in [DAVE, EVE, FAKES[0], FAKES[1], FAKES[2]] {
			assert_ok!(register(who));
		}
		assert_noop!(register(10), Error::<Test>::TooManyPeers);
	});
}

#[test]
fn register_without_the_deposit_fails() {
	run_test(|| {
		assert_noop!(register(FERDIE), Error::<Test>::InsufficientBalance);
	});
}

#[test]
fn register_with_a_bad_location_fails() {
	run_test(|| {
		let cases = [
			(crate::location::location("ftp://h", "tessera", ""), Error::<Test>::InvalidEndpoint),
			(
				crate::location::location("https://k:s@h", "tessera", ""),
				Error::<Test>::EndpointHasCredentials,
			),
			(crate::location::location("https://h", "No_Bucket", ""), Error::<Test>::InvalidBucket),
			(
				crate::location::location("https://h", "tessera", "../x"),
				Error::<Test>::InvalidPrefix,
			),
		];
		for (loc, err) in cases {
			assert_noop!(Training::register(RuntimeOrigin::signed(DAVE), Role::Miner, loc), err);
		}
	});
}

#[test]
fn register_requires_signed_origin() {
	run_test(|| {
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				Training::register(origin, Role::Miner, location("x")),
				DispatchError::BadOrigin
			);
		}
	});
}
