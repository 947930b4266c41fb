//! Stake and validator permits: `bond` / `unbond` (held under their own reason), permits fixed
//! when a window opens (top `MaxValidators` = 2 by stake above `MinValidatorStake` = 50), and
//! stake released with the deposit on `withdraw_deposit`.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};

fn permits(window: WindowIndex) -> Vec<u64> {
	WindowValidators::<Test>::get(window).into_inner()
}

fn register_validator(who: u64) {
	assert_ok!(Training::register(RuntimeOrigin::signed(who), Role::Validator, location("v")));
}

#[test]
fn genesis_validator_with_stake_gets_the_first_permit() {
	run_test(|| {
		assert_eq!(HeldStake::<Test>::stake_of(&CHARLIE), CHARLIE_STAKE);
		run_to_window(1);
		assert_eq!(permits(1), vec![CHARLIE]);
	});
}

#[test]
fn the_highest_stake_takes_the_permit() {
	run_test(|| {
		register_validator(DAVE);
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 200));
		assert_eq!(training_events().last(), Some(&Event::StakeBonded { who: DAVE, amount: 200 }));
		run_to_window(1);
		assert_eq!(permits(1), vec![DAVE, CHARLIE], "highest stake first");
	});
}

#[test]
fn permits_are_capped_at_max_validators() {
	run_test(|| {
		MaxValidators::set(1);
		register_validator(DAVE);
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 200));
		run_to_window(1);
		assert_eq!(permits(1), vec![DAVE]);
		MaxValidators::set(2);
	});
}

#[test]
fn stake_below_the_minimum_gets_no_permit() {
	run_test(|| {
		register_validator(DAVE);
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), MIN_STAKE - 1));
		assert_ok!(Training::unbond(RuntimeOrigin::signed(CHARLIE), CHARLIE_STAKE - MIN_STAKE + 1));
		run_to_window(1);
		assert!(permits(1).is_empty());
	});
}

#[test]
fn miners_and_leaving_validators_get_no_permit() {
	run_test(|| {
		assert_ok!(Training::bond(RuntimeOrigin::signed(ALICE), 500));
		assert_ok!(Training::deregister(RuntimeOrigin::signed(CHARLIE)));
		run_to_window(1);
		assert!(permits(1).is_empty());
	});
}

#[test]
fn permits_follow_stake_changes_between_windows() {
	run_test(|| {
		run_to_window(1);
		assert_eq!(permits(1), vec![CHARLIE]);
		register_validator(DAVE);
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), CHARLIE_STAKE + 1));
		assert_eq!(permits(1), vec![CHARLIE], "a window's permits are fixed when it opens");
		run_to_window(2);
		assert_eq!(permits(2), vec![DAVE, CHARLIE]);
	});
}

#[test]
fn bond_errors() {
	run_test(|| {
		assert_noop!(Training::bond(RuntimeOrigin::signed(ALICE), 0), Error::<Test>::ZeroAmount);
		assert_noop!(Training::bond(RuntimeOrigin::signed(EVE), 10), Error::<Test>::NotRegistered);
		assert_noop!(
			Training::bond(RuntimeOrigin::signed(ALICE), BALANCE),
			Error::<Test>::InsufficientBalance
		);
	});
}

/// Issue 17 item 10: unbonded stake stops counting at once but stays held for the unbonding
/// period, so stake lent for a moment cannot be handed back before the verdict it bought a
/// vote in (version 1 released it on the spot).
#[test]
fn unbonding_stops_counting_now_and_releases_after_the_period() {
	run_test(|| {
		assert_noop!(
			Training::unbond(RuntimeOrigin::signed(CHARLIE), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Training::unbond(RuntimeOrigin::signed(CHARLIE), CHARLIE_STAKE + 1),
			Error::<Test>::InsufficientStake
		);
		assert_noop!(
			Training::withdraw_unbonded(RuntimeOrigin::signed(CHARLIE)),
			Error::<Test>::NothingUnbonding
		);
		let free = Balances::free_balance(CHARLIE);
		assert_ok!(Training::unbond(RuntimeOrigin::signed(CHARLIE), 30));
		assert_eq!(Balances::free_balance(CHARLIE), free, "still held");
		assert_eq!(HeldStake::<Test>::stake_of(&CHARLIE), CHARLIE_STAKE - 30, "no longer counted");
		assert_eq!(
			training_events(),
			vec![Event::UnbondingStarted { who: CHARLIE, amount: 30, unlock_at: 1 + UNBONDING }]
		);
		// What is unbonding cannot be unbonded twice.
		assert_noop!(
			Training::unbond(RuntimeOrigin::signed(CHARLIE), CHARLIE_STAKE - 29),
			Error::<Test>::InsufficientStake
		);
		run_to_block(UNBONDING);
		assert_noop!(
			Training::withdraw_unbonded(RuntimeOrigin::signed(CHARLIE)),
			Error::<Test>::UnbondingNotOver
		);
		run_to_block(1 + UNBONDING);
		assert_ok!(Training::withdraw_unbonded(RuntimeOrigin::signed(CHARLIE)));
		assert_eq!(Balances::free_balance(CHARLIE), free + 30);
		assert_eq!(HeldStake::<Test>::stake_of(&CHARLIE), CHARLIE_STAKE - 30);
		assert!(training_events().contains(&Event::StakeUnbonded { who: CHARLIE, amount: 30 }));
		assert!(UnbondingStake::<Test>::get(CHARLIE).is_none());
	});
}

#[test]
fn withdraw_releases_stake_with_the_deposit() {
	run_test(|| {
		assert_ok!(Training::deregister(RuntimeOrigin::signed(CHARLIE)));
		run_to_block(1 + COOLDOWN);
		// With stake, leaving takes the unbonding period, not only the cool-down.
		assert_noop!(
			Training::withdraw_deposit(RuntimeOrigin::signed(CHARLIE)),
			Error::<Test>::UnbondingNotOver
		);
		run_to_block(1 + UNBONDING);
		assert_ok!(Training::withdraw_deposit(RuntimeOrigin::signed(CHARLIE)));
		assert_eq!(Balances::free_balance(CHARLIE), BALANCE);
		assert_eq!(HeldStake::<Test>::stake_of(&CHARLIE), 0);
		assert!(training_events().contains(&Event::PeerDeregistered {
			who: CHARLIE,
			released: DEPOSIT + CHARLIE_STAKE
		}));
	});
}
