//! `submit_gauntlet_results` and the verdict: who may submit, when, what, and how the chain
//! combines disagreeing validators (stake-weighted median, stake-backed inclusion list, EMA).
//! Window w's scoring period is blocks [10(w+1), 10(w+1) + 5); the verdict is published at its end.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;
use sp_runtime::Perbill;

fn submit(
	who: u64,
	window: u64,
	results: Vec<PeerResult<u64>>,
	inclusion: Vec<u64>,
) -> sp_runtime::DispatchResult {
	Training::submit_gauntlet_results(
		RuntimeOrigin::signed(who),
		window,
		results,
		inclusion,
		H256::repeat_byte(9),
	)
}

/// Dave becomes a second permitted validator with 300 stake (Charlie has 100).
fn add_dave_validator() {
	assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
	assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 300));
}

#[test]
fn aggregation_set_bootstraps_in_registration_order() {
	run_test(|| {
		run_to_window(1);
		assert_eq!(AggregationSets::<Test>::get(1).into_inner(), vec![ALICE, BOB]);
	});
}

#[test]
fn permit_holder_submits_during_the_scoring_period() {
	run_test(|| {
		run_to_window(2); // block 20: window 1's scoring period starts
		assert_ok!(submit(
			CHARLIE,
			1,
			vec![peer_result(ALICE, 70), peer_result(BOB, 40)],
			vec![ALICE, BOB]
		));
		let stored = Submissions::<Test>::get(1, CHARLIE).expect("stored");
		assert_eq!(stored.results.len(), 2);
		assert_eq!(stored.inclusion.into_inner(), vec![ALICE, BOB]);
		assert_eq!(stored.submitted_at, 20);
		assert_eq!(
			training_events().last(),
			Some(&Event::GauntletSubmitted { window: 1, validator: CHARLIE, peers: 2 })
		);
	});
}

#[test]
fn results_from_a_non_validator_are_rejected() {
	run_test(|| {
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
		run_to_window(2);
		let r = || vec![peer_result(ALICE, 50)];
		assert_noop!(submit(EVE, 1, r(), vec![]), Error::<Test>::NotRegistered);
		assert_noop!(submit(ALICE, 1, r(), vec![]), Error::<Test>::NotAValidator);
		// Dave registered before window 1 opened but has no stake: no permit.
		assert_noop!(submit(DAVE, 1, r(), vec![]), Error::<Test>::NoPermit);
	});
}

#[test]
fn a_validator_losing_its_permit_mid_window_cannot_submit() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(Training::unbond(RuntimeOrigin::signed(CHARLIE), CHARLIE_STAKE - MIN_STAKE + 1));
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![]),
			Error::<Test>::PermitLost
		);
	});
}

#[test]
fn a_leaving_validator_cannot_submit() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(Training::deregister(RuntimeOrigin::signed(CHARLIE)));
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![]),
			Error::<Test>::PermitLost
		);
	});
}

#[test]
fn results_only_inside_the_scoring_period() {
	run_test(|| {
		run_to_block(15); // window 1 still open
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![]),
			Error::<Test>::ScoringNotStarted
		);
		assert_noop!(
			submit(CHARLIE, 0, vec![peer_result(ALICE, 50)], vec![]),
			Error::<Test>::ScoringNotStarted
		);
		run_to_block(20 + DEADLINE);
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![]),
			Error::<Test>::ScoringClosed
		);
	});
}

#[test]
fn one_submission_per_validator_per_window() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![]));
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 60)], vec![]),
			Error::<Test>::AlreadySubmitted
		);
	});
}

#[test]
fn malformed_results_are_rejected() {
	run_test(|| {
		run_to_window(2);
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(EVE, 50)], vec![]),
			Error::<Test>::UnknownPeer
		);
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 50), peer_result(ALICE, 60)], vec![]),
			Error::<Test>::DuplicatePeer
		);
		let mut flagged = peer_result(ALICE, 50);
		flagged.flags = Flags(1 << 7);
		assert_noop!(submit(CHARLIE, 1, vec![flagged], vec![]), Error::<Test>::InvalidFlags);
		assert_noop!(
			submit(CHARLIE, 1, vec![peer_result(ALICE, 1); 9], vec![]),
			Error::<Test>::TooManyResults
		);
		assert_noop!(submit(CHARLIE, 1, vec![], vec![ALICE; 4]), Error::<Test>::InclusionTooLarge);
		assert_noop!(submit(CHARLIE, 1, vec![], vec![CHARLIE]), Error::<Test>::NotInAggregationSet);
		assert_noop!(
			submit(CHARLIE, 1, vec![], vec![BOB, ALICE]),
			Error::<Test>::NotInAggregationSet
		);
		assert_noop!(
			submit(CHARLIE, 1, vec![], vec![ALICE, ALICE]),
			Error::<Test>::NotInAggregationSet
		);
	});
}

#[test]
fn verdict_is_the_stake_weighted_median_of_disagreeing_validators() {
	run_test(|| {
		add_dave_validator();
		run_to_window(2);
		assert_eq!(WindowValidators::<Test>::get(1).into_inner(), vec![DAVE, CHARLIE]);
		// Charlie (100) and Dave (300) disagree on both miners and on the inclusion list.
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 80), peer_result(BOB, 10)],
			vec![ALICE, BOB],
			H256::repeat_byte(1),
		));
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(DAVE),
			1,
			vec![peer_result(ALICE, 20), peer_result(BOB, 60)],
			vec![ALICE],
			H256::repeat_byte(2),
		));
		run_to_block(20 + DEADLINE - 1);
		assert!(Verdicts::<Test>::get(1).is_none(), "published when the scoring period ends");
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published");
		assert_eq!(
			verdict.scores.into_inner(),
			vec![(ALICE, Perbill::from_percent(20)), (BOB, Perbill::from_percent(60))]
		);
		assert_eq!(verdict.inclusion.into_inner(), vec![ALICE]);
		assert_eq!(verdict.theta_hash, H256::repeat_byte(2));
		assert_eq!(verdict.validators, 2);
		assert!(training_events().contains(&Event::GauntletPublished {
			window: 1,
			validators: 2,
			peers: 2,
			theta_hash: H256::repeat_byte(2),
			binding: true,
		}));
		// EMA with α = ½ from 0.
		assert_eq!(IncentiveWeights::<Test>::get(ALICE), Perbill::from_percent(10));
		assert_eq!(IncentiveWeights::<Test>::get(BOB), Perbill::from_percent(30));
	});
}

#[test]
fn incentive_weights_order_the_next_aggregation_set() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(submit(
			CHARLIE,
			1,
			vec![peer_result(ALICE, 40), peer_result(BOB, 90)],
			vec![ALICE, BOB]
		));
		run_to_block(20 + DEADLINE);
		assert!(IncentiveWeights::<Test>::get(BOB) > IncentiveWeights::<Test>::get(ALICE));
		run_to_window(3);
		assert_eq!(AggregationSets::<Test>::get(3).into_inner(), vec![BOB, ALICE]);
	});
}

#[test]
fn miners_far_below_the_best_weight_leave_the_set() {
	run_test(|| {
		run_to_window(2);
		// Alice scores 10 %, Bob 90 %: weights 5 % and 45 %, and 5 % is under a quarter of 45 %.
		assert_ok!(submit(
			CHARLIE,
			1,
			vec![peer_result(ALICE, 10), peer_result(BOB, 90)],
			vec![ALICE, BOB]
		));
		run_to_window(3);
		assert_eq!(AggregationSets::<Test>::get(3).into_inner(), vec![BOB]);
	});
}

#[test]
fn miners_without_weight_leave_the_set_once_anyone_has_weight() {
	run_test(|| {
		run_to_window(2);
		// Alice's updates score nothing, Bob's score: only Bob stays in the set.
		assert_ok!(submit(
			CHARLIE,
			1,
			vec![peer_result(ALICE, 0), peer_result(BOB, 60)],
			vec![BOB]
		));
		run_to_block(20 + DEADLINE);
		assert!(IncentiveWeights::<Test>::get(ALICE).is_zero());
		run_to_window(3);
		assert_eq!(AggregationSets::<Test>::get(3).into_inner(), vec![BOB]);
		// Without any weight (every verdict empty), the set falls back to registration order.
		IncentiveWeights::<Test>::remove(BOB);
		run_to_window(4);
		assert_eq!(AggregationSets::<Test>::get(4).into_inner(), vec![ALICE, BOB]);
	});
}

#[test]
fn unscored_miners_decay_and_no_submissions_mean_an_empty_verdict() {
	run_test(|| {
		IncentiveWeights::<Test>::insert(ALICE, Perbill::from_percent(80));
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published even without submissions");
		assert!(verdict.scores.is_empty() && verdict.validators == 0);
		assert_eq!(IncentiveWeights::<Test>::get(ALICE), Perbill::from_percent(40));
	});
}

#[test]
fn gauntlet_records_are_pruned_with_their_window() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(submit(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![ALICE]));
		run_to_window(4);
		assert!(!Verdicts::<Test>::contains_key(1));
		assert!(!Submissions::<Test>::contains_key(1, CHARLIE));
		assert!(!AggregationSets::<Test>::contains_key(1));
		assert!(Verdicts::<Test>::contains_key(2));
	});
}
