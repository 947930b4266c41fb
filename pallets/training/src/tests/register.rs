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
		// Nobody is past the immunity period yet: nobody can be evicted.
		assert_ok!(<Balances as frame_support::traits::fungible::Mutate<u64>>::mint_into(
			&10, BALANCE
		));
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

/// Issue 17 item 13: squatters that fill the peer set and never train no longer lock newcomers
/// out. When the set is full, a registration evicts the lowest-weighted idle peer past its
/// immunity period (version 1 refused with `TooManyPeers` for good).
#[test]
fn a_full_peer_set_evicts_the_lowest_weighted_idle_peer() {
	run_test(|| {
		use frame_support::traits::fungible::Mutate;
		for who in [DAVE, EVE, FAKES[0], FAKES[1], FAKES[2]] {
			assert_ok!(register(who));
		}
		for newcomer in [10, 11, 12] {
			assert_ok!(<Balances as Mutate<u64>>::mint_into(&newcomer, BALANCE));
		}
		// The fakes never commit; everyone else trains (or holds a permit).
		for w in 1..=2u64 {
			run_to_window(w);
			for miner in [ALICE, BOB, DAVE, EVE] {
				let hash = sp_core::H256::from_low_u64_be(miner * 100 + w);
				assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(miner), w, hash, 1));
			}
		}
		IncentiveWeights::<Test>::insert(FAKES[0], sp_runtime::Perbill::from_percent(1));
		assert_ok!(register(10));
		// FAKES[1]: the lowest weight (0) and the earliest registration among the idle.
		assert!(!Peers::<Test>::contains_key(FAKES[1]));
		assert_eq!(Balances::free_balance(FAKES[1]), BALANCE, "its deposit is back");
		assert!(training_events().contains(&Event::PeerEvicted {
			who: FAKES[1],
			released: DEPOSIT,
			by: 10
		}));
		assert_ok!(register(11));
		assert!(!Peers::<Test>::contains_key(FAKES[2]));
		// Then FAKES[0] (weight 1 %); the newcomers are immune, the others train.
		assert_ok!(register(12));
		assert!(!Peers::<Test>::contains_key(FAKES[0]));
		assert_ok!(<Balances as Mutate<u64>>::mint_into(&13, BALANCE));
		assert_noop!(register(13), Error::<Test>::TooManyPeers);
		assert_eq!(PeerCount::<Test>::get(), 8);
	});
}

/// A squatter that deregisters and never withdraws does not keep its slot: once it could
/// withdraw, it is evicted first. A member of the current or previous aggregation set is never
/// evicted, committed or not (the validators score it in that window).
#[test]
fn a_peer_that_left_goes_first_and_set_members_stay() {
	run_test(|| {
		use frame_support::traits::fungible::Mutate;
		for who in [DAVE, EVE, FAKES[0], FAKES[1], FAKES[2]] {
			assert_ok!(register(who));
		}
		assert_ok!(<Balances as Mutate<u64>>::mint_into(&10, BALANCE));
		assert_ok!(<Balances as Mutate<u64>>::mint_into(&11, BALANCE));
		assert_ok!(Training::deregister(RuntimeOrigin::signed(FAKES[2])));
		// Nobody commits: Alice, Bob and Dave (the set, registration order) are kept anyway.
		run_to_window(2);
		assert_eq!(AggregationSets::<Test>::get(2).into_inner(), vec![ALICE, BOB, DAVE]);
		assert_ok!(register(10));
		assert!(!Peers::<Test>::contains_key(FAKES[2]), "the one that left goes first");
		assert_ok!(register(11));
		// Then the earliest idle miner outside the set: Eve.
		assert!(!Peers::<Test>::contains_key(EVE));
		for kept in [ALICE, BOB, DAVE] {
			assert!(Peers::<Test>::contains_key(kept));
		}
	});
}
