//! `register`: permissionless, once per account, bounded by `MaxPeers`.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::DispatchError;

#[test]
fn register_adds_peer_with_next_index() {
	run_test(|| {
		run_to_block(5);
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE)));
		let info = Peers::<Test>::get(DAVE).expect("registered");
		assert_eq!(info, PeerInfo { index: 3, registered_at: 5 });
		assert_eq!(PeerCount::<Test>::get(), 4);
		assert_eq!(training_events(), vec![Event::PeerRegistered { who: DAVE, index: 3 }]);
	});
}

#[test]
fn register_twice_fails() {
	run_test(|| {
		assert_noop!(
			Training::register(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn register_beyond_max_peers_fails() {
	run_test(|| {
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE)));
		assert_noop!(Training::register(RuntimeOrigin::signed(EVE)), Error::<Test>::TooManyPeers);
	});
}

#[test]
fn register_requires_signed_origin() {
	run_test(|| {
		assert_noop!(Training::register(RuntimeOrigin::root()), DispatchError::BadOrigin);
		assert_noop!(Training::register(RuntimeOrigin::none()), DispatchError::BadOrigin);
	});
}
