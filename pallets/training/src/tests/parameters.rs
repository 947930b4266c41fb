//! Governed parameters (issue 20 item 4): only the admin origin sets them, every bound is
//! refused with its own error, a new set takes effect when the next window opens, and a change
//! of window length keeps window numbering and each window's timing continuous.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::{DispatchError, Perbill};

fn params() -> ParametersOf<Test> {
	Training::params()
}

/// Block by block until window `w` opens (whatever the lengths on the way).
fn run_until_window(w: u64) {
	while CurrentWindow::<Test>::get() < w {
		run_to_block(System::block_number() + 1);
	}
}

#[test]
fn genesis_parameters_are_the_config_values() {
	run_test(|| {
		let p = params();
		assert_eq!(p, Training::config_parameters());
		assert_eq!(Parameters::<Test>::get(), Some(p));
		assert_eq!(
			(p.window_length, p.score_deadline_blocks, p.reveal_blocks),
			(WINDOW, DEADLINE, 3)
		);
		assert_eq!(Training::parameters(), (p, None));
		assert_eq!(WindowSchedule::<Test>::get(), Schedule { next_open: WINDOW, closing: None });
	});
}

#[test]
fn only_the_admin_origin_sets_parameters() {
	run_test(|| {
		assert_noop!(
			Training::set_parameters(RuntimeOrigin::signed(ALICE), params()),
			DispatchError::BadOrigin
		);
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), params()));
	});
}

#[test]
fn every_bound_is_refused_with_its_own_error() {
	run_test(|| {
		let base = params();
		let cases: Vec<(&str, ParametersOf<Test>, Error<Test>)> = vec![
			(
				"a 1-block window",
				RunParameters { window_length: 1, ..base },
				Error::InvalidWindowLength,
			),
			(
				"a window over the maximum",
				RunParameters {
					window_length: u64::from(parameters::MAX_WINDOW_LENGTH) + 1,
					deregister_cooldown: u64::MAX,
					unbonding_period: u64::MAX,
					..base
				},
				Error::InvalidWindowLength,
			),
			("no reveal period", RunParameters { reveal_blocks: 0, ..base }, Error::InvalidPeriods),
			(
				"reveal as long as scoring",
				RunParameters { reveal_blocks: DEADLINE, ..base },
				Error::InvalidPeriods,
			),
			(
				"scoring longer than the window",
				RunParameters { score_deadline_blocks: WINDOW + 1, ..base },
				Error::InvalidPeriods,
			),
			(
				"a window shorter than the scoring period it follows",
				RunParameters {
					window_length: DEADLINE - 1,
					score_deadline_blocks: 2,
					reveal_blocks: 1,
					..base
				},
				Error::WindowShorterThanScoring,
			),
			(
				"a cool-down shorter than a window and its scoring",
				RunParameters { deregister_cooldown: WINDOW + DEADLINE - 1, ..base },
				Error::ReleaseTooEarly,
			),
			(
				"an unbonding period shorter than a window and its scoring",
				RunParameters { unbonding_period: WINDOW + DEADLINE - 1, ..base },
				Error::ReleaseTooEarly,
			),
			("a zero deposit", RunParameters { peer_deposit: 0, ..base }, Error::ZeroDeposit),
			(
				"an emission over the maximum",
				RunParameters { emission_per_window: 1_000_001, ..base },
				Error::EmissionTooLarge,
			),
			(
				"shares over 100 %",
				RunParameters {
					miners_share: Perbill::from_percent(60),
					validators_share: Perbill::from_percent(41),
					..base
				},
				Error::SharesOverOne,
			),
			(
				"a frozen incentive EMA",
				RunParameters { incentive_alpha: Perbill::zero(), ..base },
				Error::ZeroAlpha,
			),
			(
				"a frozen agreement EMA",
				RunParameters { agreement_alpha: Perbill::zero(), ..base },
				Error::ZeroAlpha,
			),
		];
		for (what, p, error) in cases {
			assert_eq!(
				Training::set_parameters(RuntimeOrigin::root(), p),
				Err(error.into()),
				"{what}"
			);
		}
		assert_eq!(PendingParameters::<Test>::get(), None);
	});
}

#[test]
fn a_new_window_length_takes_effect_at_the_next_window_and_numbering_goes_on() {
	run_test(|| {
		run_to_block(WINDOW + 3); // window 1 runs [10, 20)
		let longer = RunParameters {
			window_length: 20,
			deregister_cooldown: 25,
			unbonding_period: 30,
			..params()
		};
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), longer));
		assert!(training_events().contains(&Event::ParametersScheduled {
			window: 2,
			at_block: 20,
			parameters: longer
		}));
		// Nothing changes before the boundary.
		assert_eq!(params().window_length, WINDOW);
		assert_eq!(Training::parameters(), (Training::config_parameters(), Some(longer)));

		run_to_block(20);
		assert_eq!(CurrentWindow::<Test>::get(), 2);
		assert_eq!(params(), longer);
		assert_eq!(PendingParameters::<Test>::get(), None);
		let events = training_events();
		assert!(events.contains(&Event::ParametersChanged { window: 2, parameters: longer }));
		assert!(events.contains(&Event::WindowOpened {
			window: 2,
			seed: Windows::<Test>::get(2).map(|i| i.seed).unwrap_or_default(),
			start_block: 20,
			length: 20
		}));
		// Window 1 keeps the timing it opened with: scored until 20 + DEADLINE.
		let first = Windows::<Test>::get(1).expect("window 1");
		assert_eq!((first.start_block, first.length, first.score_deadline()), (10, 10, 25));
		assert_eq!(
			WindowSchedule::<Test>::get(),
			Schedule { next_open: 40, closing: Some((1, 25)) }
		);

		// The old boundary opens nothing; window 3 opens 20 blocks after window 2.
		run_to_block(30);
		assert_eq!(CurrentWindow::<Test>::get(), 2);
		run_to_block(39);
		assert_eq!(CurrentWindow::<Test>::get(), 2);
		run_to_block(40);
		assert_eq!(CurrentWindow::<Test>::get(), 3);
		run_to_block(60);
		assert_eq!(CurrentWindow::<Test>::get(), 4);
		let starts: Vec<_> =
			(2..=4).map(|w| Windows::<Test>::get(w).map(|i| i.start_block)).collect();
		assert_eq!(starts, vec![Some(20), Some(40), Some(60)]);
	});
}

#[test]
fn scoring_periods_follow_each_windows_own_timing() {
	run_test(|| {
		run_to_block(WINDOW + 1);
		// Window 2 and after: 6 blocks, results accepted for 4 blocks after a window's end.
		let shorter = RunParameters {
			window_length: 6,
			reveal_blocks: 2,
			score_deadline_blocks: 4,
			..params()
		};
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), shorter));
		run_until_window(2); // block 20: window 1 ended, scored until 25 (its own 5 blocks)
		let submit = |w| {
			Training::submit_gauntlet_results(
				RuntimeOrigin::signed(CHARLIE),
				w,
				vec![peer_result(ALICE, 50)],
				vec![],
				sp_core::H256::repeat_byte(1),
			)
		};
		assert_eq!(submit(2), Err(Error::<Test>::ScoringNotStarted.into()));
		run_to_block(24);
		assert_ok!(submit(1));
		run_to_block(25);
		assert!(Verdicts::<Test>::contains_key(1), "window 1's verdict at 20 + its 5 blocks");
		// Window 2 runs [20, 26); its scoring period [26, 30) under the new timing.
		run_to_block(26);
		assert_eq!(CurrentWindow::<Test>::get(), 3);
		assert_ok!(submit(2));
		run_to_block(29);
		assert!(!Verdicts::<Test>::contains_key(2));
		run_to_block(30);
		assert!(Verdicts::<Test>::contains_key(2), "window 2's verdict at 26 + 4");
		assert_eq!(Windows::<Test>::get(3).map(|i| i.start_block), Some(26));
		assert_eq!(CurrentWindow::<Test>::get(), 3);
		run_to_block(32);
		assert_eq!(CurrentWindow::<Test>::get(), 4);
	});
}

#[test]
fn a_later_set_replaces_the_pending_one() {
	run_test(|| {
		let longer = |window_length| RunParameters {
			window_length,
			deregister_cooldown: 30,
			unbonding_period: 30,
			..params()
		};
		let (first, second) = (longer(12), longer(14));
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), first));
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), second));
		run_until_window(1);
		assert_eq!(params(), second);
		assert_eq!(Windows::<Test>::get(1).map(|i| (i.start_block, i.length)), Some((WINDOW, 14)));
	});
}

#[test]
fn a_new_deposit_holds_from_newcomers_and_registered_peers_keep_theirs() {
	run_test(|| {
		let dearer = RunParameters { peer_deposit: DEPOSIT * 2, ..params() };
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), dearer));
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Miner, location("d")));
		assert_eq!(Peers::<Test>::get(DAVE).map(|p| p.deposit), Some(DEPOSIT), "not in force yet");
		run_until_window(1);
		assert_ok!(Training::register(RuntimeOrigin::signed(EVE), Role::Miner, location("e")));
		assert_eq!(Peers::<Test>::get(EVE).map(|p| p.deposit), Some(DEPOSIT * 2));
		assert_eq!(Peers::<Test>::get(DAVE).map(|p| p.deposit), Some(DEPOSIT));
	});
}

#[test]
fn a_new_emission_and_split_pay_from_the_first_verdict_after_the_change() {
	run_test(|| {
		// 50 / 50 / 0 of three times the emission, in force from window 2 on.
		let richer = RunParameters {
			emission_per_window: EMISSION * 3,
			miners_share: Perbill::from_percent(50),
			validators_share: Perbill::from_percent(50),
			..params()
		};
		run_to_block(WINDOW + 1);
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), richer));
		run_until_window(2);
		// Window 1's verdict comes after the change: Alice (the only miner scored) takes the
		// miners' half, Charlie (the only validator) the validators' half, the owner nothing.
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 60)],
			vec![],
			sp_core::H256::repeat_byte(1),
		));
		let (alice, charlie) = (Balances::free_balance(ALICE), Balances::free_balance(CHARLIE));
		run_to_block(2 * WINDOW + DEADLINE);
		let paid = training_events().into_iter().find_map(|e| match e {
			Event::RewardsPaid {
				window: 1, emission, miners, validators, owner, burned, ..
			} => Some((emission, miners, validators, owner, burned)),
			_ => None,
		});
		let half = EMISSION * 3 / 2;
		assert_eq!(paid, Some((EMISSION * 3, half, half, 0, 0)));
		assert_eq!(Balances::free_balance(ALICE) - alice, half);
		assert_eq!(Balances::free_balance(CHARLIE) - charlie, half);
	});
}

#[test]
fn a_shortened_cool_down_must_still_outlast_the_open_window_and_its_scoring() {
	run_test(|| {
		// On its own this set is fine (6-block windows scored for 4 need 10 blocks), but a peer
		// that leaves now, in a 10-block window scored for 5, needs 15.
		let shorter = RunParameters {
			window_length: 6,
			reveal_blocks: 2,
			score_deadline_blocks: 4,
			deregister_cooldown: 10,
			unbonding_period: 10,
			..params()
		};
		assert_eq!(Training::parameter_problem(&shorter), None);
		assert_noop!(
			Training::set_parameters(RuntimeOrigin::root(), shorter),
			Error::<Test>::ReleaseTooEarly
		);
		let ok = RunParameters { deregister_cooldown: 15, unbonding_period: 15, ..shorter };
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), ok));
	});
}

#[test]
fn raising_the_minimum_stake_keeps_the_permits_of_the_window_being_scored() {
	run_test(|| {
		// Charlie holds 100 (the minimum is 50) and a permit for window 1.
		run_until_window(1);
		assert!(WindowValidators::<Test>::get(1).contains(&CHARLIE));
		let dearer = RunParameters { min_validator_stake: CHARLIE_STAKE * 2, ..params() };
		assert_ok!(Training::set_parameters(RuntimeOrigin::root(), dearer));
		run_until_window(2);
		// Window 1 was permitted under the old minimum: Charlie still scores it.
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 60)],
			vec![],
			sp_core::H256::repeat_byte(1),
		));
		// Window 2 opened under the new one: no permit for 100.
		assert!(!WindowValidators::<Test>::get(2).contains(&CHARLIE));
		assert_eq!(PermitThresholds::<Test>::get(2), Some(CHARLIE_STAKE * 2));
		run_until_window(3);
		assert_noop!(
			Training::submit_gauntlet_results(
				RuntimeOrigin::signed(CHARLIE),
				2,
				vec![peer_result(ALICE, 60)],
				vec![],
				sp_core::H256::repeat_byte(1),
			),
			Error::<Test>::NoPermit
		);
	});
}
