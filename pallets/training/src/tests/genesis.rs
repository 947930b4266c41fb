//! Genesis registration and the pallet's integrity checks.

use crate::{mock::*, *};
use frame_support::traits::Hooks;

#[test]
fn genesis_registers_peers_in_order() {
	run_test(|| {
		assert_eq!(PeerCount::<Test>::get(), 3);
		assert_eq!(NextPeerIndex::<Test>::get(), 3);
		let peers = [
			(ALICE, Role::Miner, 0),
			(BOB, Role::Miner, 0),
			(CHARLIE, Role::Validator, CHARLIE_STAKE),
		];
		for (i, (who, role, stake)) in peers.into_iter().enumerate() {
			let info = Peers::<Test>::get(who).expect("registered at genesis");
			assert_eq!(info.index, i as u32);
			assert_eq!(info.role, role);
			assert_eq!(info.registered_at, 0);
			assert_eq!(info.deposit, DEPOSIT);
			assert_eq!(Balances::free_balance(who), BALANCE - DEPOSIT - stake);
			assert_eq!(HeldStake::<Test>::stake_of(&who), stake);
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
	let mut g = genesis();
	g.training.peers.push(genesis_peer(ALICE, Role::Miner));
	let _ = g.build_storage();
}

#[test]
#[should_panic(expected = "cannot be registered")]
fn genesis_with_secret_in_location_panics() {
	use sp_runtime::BuildStorage;
	let mut g = genesis();
	g.training.peers[0].endpoint = "https://key:secret@s3.example.org".into();
	let _ = g.build_storage();
}

#[test]
#[should_panic(expected = "prefix too long")]
fn genesis_with_an_over_long_location_field_panics() {
	use sp_runtime::BuildStorage;
	let mut g = genesis();
	g.training.peers[0].prefix = "p".repeat(crate::location::MAX_PREFIX_LEN as usize + 1);
	let _ = g.build_storage();
}

#[test]
fn a_genesis_run_is_recorded() {
	use sp_runtime::BuildStorage;
	let mut g = genesis();
	g.training.run = Some(crate::run::example());
	let mut ext: sp_io::TestExternalities =
		g.build_storage().expect("a valid genesis builds").into();
	ext.execute_with(|| assert_eq!(Run::<Test>::get(), Some(crate::run::example())));
}

#[test]
#[should_panic(expected = "genesis run manifest")]
fn an_unusable_genesis_run_panics() {
	use sp_runtime::BuildStorage;
	let mut g = genesis();
	let mut run = crate::run::example();
	run.codec.top_k = 0;
	g.training.run = Some(run);
	let _ = g.build_storage();
}
