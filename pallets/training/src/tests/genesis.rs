//! Genesis registration and the pallet's integrity checks.

use crate::{mock::*, *};
use frame_support::traits::Hooks;

#[test]
fn genesis_registers_peers_in_order() {
	run_test(|| {
		assert_eq!(PeerCount::<Test>::get(), 3);
		assert_eq!(NextPeerIndex::<Test>::get(), 3);
		for (i, who) in [ALICE, BOB, CHARLIE].into_iter().enumerate() {
			let info = Peers::<Test>::get(who).expect("registered at genesis");
			assert_eq!(info.index, i as u32);
			assert_eq!(info.registered_at, 0);
		}
		assert_eq!(CurrentWindow::<Test>::get(), 0);
	});
}

#[test]
fn integrity_test_passes() {
	run_test(Training::integrity_test);
}

#[test]
#[should_panic(expected = "cannot be registered")]
fn genesis_with_duplicate_peer_panics() {
	use sp_runtime::BuildStorage;
	let _ = RuntimeGenesisConfig {
		system: Default::default(),
		training: crate::GenesisConfig { peers: vec![ALICE, ALICE] },
	}
	.build_storage();
}
