//! Attacks on the verdict, staged with the calls a dishonest validator can send (issue 17 items 1
//! and 2; the threat model is docs/security.md). Each failed on storage version 1.
//!
//! Stakes: Charlie, the honest validator, holds 500; Dave, the attacker, 50 (9.1 %). Both hold
//! permits (`MaxValidators` = 2). Alice and Bob are honest miners that commit every window; the
//! attacker registers three miners that never commit ([`FAKES`]). `AggregationSize` = 3.

use crate::{mock::*, *};
use frame_support::assert_ok;
use sp_core::H256;
use sp_runtime::Perbill;

fn register_miner(who: u64) {
	assert_ok!(Training::register(RuntimeOrigin::signed(who), Role::Miner, location("fake")));
}

fn register_validator(who: u64, stake: u64) {
	assert_ok!(Training::register(RuntimeOrigin::signed(who), Role::Validator, location("v")));
	assert_ok!(Training::bond(RuntimeOrigin::signed(who), stake));
}

fn commit(who: u64, window: u64) {
	let hash = H256::from_low_u64_be(who * 1_000 + window);
	assert_ok!(Training::commit_gradient(RuntimeOrigin::signed(who), window, hash, 10));
}

fn results(
	who: u64,
	window: u64,
	results: Vec<PeerResult<u64>>,
	inclusion: Vec<u64>,
	theta: u8,
) -> sp_runtime::DispatchResult {
	Training::submit_gauntlet_results(
		RuntimeOrigin::signed(who),
		window,
		results,
		inclusion,
		H256::repeat_byte(theta),
	)
}

/// Item 1. The attacker's validator scores its three fakes 100 % every window; the honest one
/// scores the committed miners and gives the set members that did not commit 0, as the
/// off-chain validator does. Version 1 took each peer's median only over the validators that
/// listed it, so the fakes' verdict was the attacker's 100 %, and from window 3 they held the
/// aggregation set: no honest update was applied again. Now the honest validator's silence
/// counts as 0 with its stake.
#[test]
fn a_minority_validator_cannot_score_fake_miners_into_the_aggregation_set() {
	run_test(|| {
		assert_ok!(Training::bond(RuntimeOrigin::signed(CHARLIE), 400));
		register_validator(DAVE, 50);
		for fake in FAKES {
			register_miner(fake);
		}
		for w in 1..=6u64 {
			run_to_window(w);
			if w >= 3 {
				assert_eq!(
					AggregationSets::<Test>::get(w).into_inner(),
					vec![ALICE, BOB],
					"window {w}'s aggregation set"
				);
			}
			commit(ALICE, w);
			commit(BOB, w);
			let Some(scored) = w.checked_sub(1).filter(|s| *s >= 1) else { continue };
			let set = AggregationSets::<Test>::get(scored).into_inner();
			let honest: Vec<_> = set
				.iter()
				.map(|&m| peer_result(m, if m == ALICE || m == BOB { 60 } else { 0 }))
				.chain(
					[ALICE, BOB]
						.into_iter()
						.filter(|m| !set.contains(m))
						.map(|m| peer_result(m, 60)),
				)
				.collect();
			let inclusion: Vec<_> =
				set.iter().copied().filter(|m| *m == ALICE || *m == BOB).collect();
			assert_ok!(results(CHARLIE, scored, honest, inclusion, 1));
			let fakes = FAKES.iter().map(|&f| peer_result(f, 100)).collect();
			assert_ok!(results(DAVE, scored, fakes, vec![], 2));
			run_to_block(w * WINDOW + DEADLINE);
			let verdict = Verdicts::<Test>::get(scored).expect("published");
			for fake in FAKES {
				let score = verdict.scores.iter().find(|(p, _)| *p == fake).map(|(_, s)| *s);
				assert_eq!(score, Some(Perbill::zero()), "window {scored}: fake {fake} scored");
			}
			assert!(verdict.binding, "window {scored}: the honest list binds (91 % of the stake)");
		}
		for fake in FAKES {
			assert_eq!(IncentiveWeights::<Test>::get(fake), Perbill::zero(), "fake {fake}");
		}
	});
}

/// Item 2. Two validators disagree and neither list has more than ⅔ of the stake: the verdict
/// records no list (version 1 bound the plurality's). Peers keep their own outer step.
#[test]
fn a_list_without_two_thirds_of_the_stake_does_not_bind() {
	run_test(|| {
		register_validator(DAVE, 150);
		run_to_window(1);
		commit(ALICE, 1);
		commit(BOB, 1);
		run_to_window(2);
		let r = || vec![peer_result(ALICE, 50), peer_result(BOB, 50)];
		assert_ok!(results(CHARLIE, 1, r(), vec![ALICE, BOB], 1));
		assert_ok!(results(DAVE, 1, r(), vec![ALICE], 2));
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published");
		assert!(!verdict.binding);
		assert_eq!(verdict.backing, Perbill::from_percent(60));
		assert!(verdict.inclusion.is_empty());
		assert_eq!(verdict.theta_hash, H256::zero());
		assert_eq!(verdict.validators, 2);
		assert!(training_events().contains(&Event::GauntletPublished {
			window: 1,
			validators: 2,
			peers: 2,
			theta_hash: H256::zero(),
			binding: false,
		}));
		// Scores still count: the miners' weights move.
		assert_eq!(IncentiveWeights::<Test>::get(ALICE), Perbill::from_percent(25));
	});
}

/// Item 2: with equal stakes behind two lists, version 1 broke the tie towards the smallest
/// key, so an empty inclusion list won. Now neither binds.
#[test]
fn a_tie_binds_no_list_not_the_smallest_one() {
	run_test(|| {
		register_validator(DAVE, CHARLIE_STAKE);
		run_to_window(2);
		assert_ok!(results(CHARLIE, 1, vec![peer_result(ALICE, 50)], vec![ALICE, BOB], 1));
		assert_ok!(results(DAVE, 1, vec![peer_result(ALICE, 50)], vec![], 0));
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published");
		assert!(!verdict.binding && verdict.inclusion.is_empty());
		assert_eq!(verdict.backing, Perbill::from_percent(50));
	});
}

/// Item 2: a submitter that unbonds after submitting counts for nothing. Version 1 still bound
/// its list when it was the only one (a fold over lists took the first even at zero stake).
#[test]
fn a_submitter_that_unbonded_counts_for_nothing() {
	run_test(|| {
		register_validator(DAVE, 300);
		run_to_window(2);
		assert_ok!(results(DAVE, 1, vec![peer_result(ALICE, 90)], vec![ALICE], 2));
		assert_ok!(Training::unbond(RuntimeOrigin::signed(DAVE), 300));
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published");
		assert!(!verdict.binding);
		assert_eq!(verdict.validators, 0);
		assert!(verdict.inclusion.is_empty() && verdict.scores.is_empty());
		assert_eq!(verdict.theta_hash, H256::zero());
	});
}

/// Item 10 (the part that needs no unbonding period): stake bonded after a window opened does
/// not count for that window's verdict; the smaller of the stake at the permit and at the
/// verdict does.
#[test]
fn stake_bonded_after_the_permit_buys_nothing() {
	run_test(|| {
		assert_ok!(Training::bond(RuntimeOrigin::signed(CHARLIE), 100));
		register_validator(DAVE, MIN_STAKE);
		run_to_window(1);
		assert_eq!(PermitStakes::<Test>::get(1, DAVE), Some(MIN_STAKE));
		// After window 1 opened, Dave borrows 800 more: 850 against Charlie's 200 would bind.
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 800));
		run_to_window(2);
		assert_ok!(results(CHARLIE, 1, vec![peer_result(ALICE, 40)], vec![ALICE, BOB], 1));
		assert_ok!(results(DAVE, 1, vec![peer_result(ALICE, 90)], vec![ALICE], 2));
		run_to_block(20 + DEADLINE);
		let verdict = Verdicts::<Test>::get(1).expect("published");
		// Charlie 200 of 250 = 80 % binds Charlie's list; Alice's median is Charlie's 40 %.
		assert!(verdict.binding);
		assert_eq!(verdict.backing, Perbill::from_percent(80));
		assert_eq!(verdict.inclusion.into_inner(), vec![ALICE, BOB]);
		assert_eq!(verdict.scores.into_inner(), vec![(ALICE, Perbill::from_percent(40))]);
	});
}
