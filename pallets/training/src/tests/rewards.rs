//! Rewards (issue 20 items 1–3, 7): each window's emission split between miners (incentive
//! weight), validators (stake × agreement) and the owner, paid when the verdict is published,
//! the books balancing exactly.

use crate::{mock::*, *};
use frame_support::assert_ok;
use sp_core::H256;
use sp_runtime::Perbill;

/// The θ hash every validator binds for window `w`.
fn theta(w: u64) -> H256 {
	H256::from_low_u64_be(w)
}

fn result(peer: u64, percent: u32, flags: u8) -> PeerResult<u64> {
	PeerResult { flags: Flags(flags), ..peer_result(peer, percent) }
}

/// Advances block by block to `n`, collecting every `RewardsPaid` event on the way.
fn rewards_until(n: u64) -> Vec<Event<Test>> {
	let mut seen = Vec::new();
	while System::block_number() < n {
		run_to_block(System::block_number() + 1);
		seen.extend(
			training_events().into_iter().filter(|e| matches!(e, Event::RewardsPaid { .. })),
		);
	}
	seen
}

fn totals(events: &[Event<Test>]) -> (u64, u64, u64, u64, u64) {
	events.iter().fold((0, 0, 0, 0, 0), |t, e| match e {
		Event::RewardsPaid { emission, miners, validators, owner, burned, .. } => {
			(t.0 + emission, t.1 + miners, t.2 + validators, t.3 + owner, t.4 + burned)
		},
		_ => t,
	})
}

#[test]
fn a_window_pays_miners_by_weight_validators_by_agreement_and_the_owner_the_rest() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 60), peer_result(BOB, 20)],
			vec![ALICE, BOB],
			theta(1),
		));
		let before = (Balances::free_balance(ALICE), Balances::free_balance(BOB));
		let paid = rewards_until(2 * WINDOW + DEADLINE);
		// Weights after one verdict: 50 % of 60 and of 20 (IncentiveAlpha 50 %): 30 % and 10 %.
		// Miners' pool 410: 307 and 102 (rounded down). Charlie alone: the whole 410.
		assert_eq!(Balances::free_balance(ALICE) - before.0, 307);
		assert_eq!(Balances::free_balance(BOB) - before.1, 102);
		assert_eq!(Earnings::<Test>::get(1, CHARLIE), 410);
		assert_eq!(Earnings::<Test>::get(1, ALICE), 307);
		assert_eq!(
			paid,
			vec![Event::RewardsPaid {
				window: 1,
				emission: EMISSION,
				miners: 409,
				validators: 410,
				owner: 181,
				burned: 0,
				recipients: 4,
			}]
		);
		assert_eq!(Balances::free_balance(OWNER), 181);
		assert_eq!(Training::earnings(ALICE, 0, 5), vec![(1, 307)]);
		assert_eq!(Training::earnings(DAVE, 0, 5), vec![]);
		assert_eq!(Agreement::<Test>::get(CHARLIE), Perbill::from_percent(10));
	});
}

#[test]
fn without_scores_or_an_owner_nothing_is_paid_and_the_books_still_balance() {
	run_test(|| {
		RewardsOwner::set(None);
		let issuance = Balances::total_issuance();
		// Nobody scores window 1: no miner has weight, no validator counted.
		let paid = rewards_until(2 * WINDOW + DEADLINE);
		assert_eq!(totals(&paid), (EMISSION, 0, 0, 0, EMISSION));
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// Two validators: dividends go by stake × agreement. Dave (300) sets the consensus; Charlie
/// (100) is 40 points off on Alice: (60 − 20) / (60 + 20) = ½ agreement this window.
#[test]
fn dividends_go_by_stake_times_agreement() {
	run_test(|| {
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 300));
		run_to_window(2);
		for (who, score) in [(DAVE, 60), (CHARLIE, 20)] {
			assert_ok!(Training::submit_gauntlet_results(
				RuntimeOrigin::signed(who),
				1,
				vec![peer_result(ALICE, score)],
				vec![ALICE],
				theta(1),
			));
		}
		rewards_until(2 * WINDOW + DEADLINE);
		assert_eq!(Agreement::<Test>::get(DAVE), Perbill::from_percent(10));
		assert_eq!(Agreement::<Test>::get(CHARLIE), Perbill::from_percent(5));
		// Weights 10 % × 300 = 30 and 5 % × 100 = 5: 410 × 30/35 and 410 × 5/35, rounded down.
		assert_eq!(Earnings::<Test>::get(1, DAVE), 351);
		assert_eq!(Earnings::<Test>::get(1, CHARLIE), 58);
	});
}

/// A miner that asked to leave is paid no more; a window nobody scored pays no miner; what a
/// window paid is pruned with it.
#[test]
fn leaving_miners_and_unscored_windows_are_not_paid_and_earnings_are_pruned() {
	run_test(|| {
		run_to_window(2);
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 60), peer_result(BOB, 60)],
			vec![ALICE, BOB],
			theta(1),
		));
		assert_ok!(Training::deregister(RuntimeOrigin::signed(BOB)));
		rewards_until(2 * WINDOW + DEADLINE);
		assert!(Earnings::<Test>::get(1, ALICE) > 0);
		assert_eq!(Earnings::<Test>::get(1, BOB), 0, "Bob is leaving");
		// Nobody scores window 2: Alice's weight is still positive, but no verdict, no pay.
		let paid = rewards_until(3 * WINDOW + DEADLINE);
		assert_eq!(totals(&paid), (EMISSION, 0, 0, EMISSION, 0));
		assert!(IncentiveWeights::<Test>::get(ALICE) > Perbill::zero());
		// RetainWindows = 3: window 1's earnings go when window 4 opens.
		run_to_window(4);
		assert_eq!(Earnings::<Test>::iter_prefix(1).count(), 0);
		assert_eq!(Training::earnings(ALICE, 0, 4), vec![]);
	});
}

/// Without an owner the rest is not paid: the books still balance, and issuance grows only by
/// what was paid.
#[test]
fn without_an_owner_the_rest_is_burned() {
	run_test(|| {
		RewardsOwner::set(None);
		let issuance = Balances::total_issuance();
		run_to_window(2);
		assert_ok!(Training::submit_gauntlet_results(
			RuntimeOrigin::signed(CHARLIE),
			1,
			vec![peer_result(ALICE, 60)],
			vec![ALICE],
			theta(1),
		));
		let paid = rewards_until(2 * WINDOW + DEADLINE);
		let (emission, miners, validators, owner, burned) = totals(&paid);
		assert_eq!((emission, miners, validators, owner, burned), (EMISSION, 410, 410, 0, 180));
		assert_eq!(Balances::total_issuance() - issuance, miners + validators);
	});
}

/// Issue 20 item 3: a validator whose θ hash is not the one the verdict binds earns nothing
/// for the window, and its agreement takes a sample of 0.
#[test]
fn a_validator_off_the_binding_theta_earns_nothing_for_the_window() {
	run_test(|| {
		assert_ok!(Training::register(RuntimeOrigin::signed(DAVE), Role::Validator, location("d")));
		assert_ok!(Training::bond(RuntimeOrigin::signed(DAVE), 300));
		run_to_window(2);
		for (who, hash) in [(DAVE, theta(1)), (CHARLIE, theta(9))] {
			assert_ok!(Training::submit_gauntlet_results(
				RuntimeOrigin::signed(who),
				1,
				vec![peer_result(ALICE, 60)],
				vec![ALICE],
				hash,
			));
		}
		rewards_until(2 * WINDOW + DEADLINE);
		// Dave's 300 of the 400 counted stake is more than ⅔: his θ binds.
		assert!(Verdicts::<Test>::get(1).is_some_and(|v| v.binding && v.theta_hash == theta(1)));
		assert_eq!(Earnings::<Test>::get(1, CHARLIE), 0);
		assert_eq!(Earnings::<Test>::get(1, DAVE), 410);
		assert_eq!(Agreement::<Test>::get(CHARLIE), Perbill::zero());
		assert_eq!(Agreement::<Test>::get(DAVE), Perbill::from_percent(10));
	});
}

/// Issue 20 item 7: 100 windows on the mock. Miners: Alice and Bob honest; a lazy miner
/// (commits, never reveals: flagged missing), a copier (flagged copied), a noise miner (scored
/// near nothing). Validators with the same stake (100 each): Charlie and Eve score honestly,
/// Dave scores at random. Every honest miner earns more than every adversary, each honest
/// validator more than Dave, and the books balance to the unit.
#[test]
fn over_a_hundred_windows_honesty_pays_and_the_books_balance() {
	MaxValidators::set(3);
	run_test(|| {
		let [lazy, copier, noise] = FAKES;
		for who in FAKES {
			assert_ok!(Training::register(RuntimeOrigin::signed(who), Role::Miner, location("f")));
		}
		for who in [DAVE, EVE] {
			assert_ok!(Training::register(
				RuntimeOrigin::signed(who),
				Role::Validator,
				location("v")
			));
			assert_ok!(Training::bond(RuntimeOrigin::signed(who), CHARLIE_STAKE));
		}
		let everyone = [ALICE, BOB, lazy, copier, noise, CHARLIE, DAVE, EVE, OWNER];
		let start: Vec<u64> = everyone.iter().map(Balances::free_balance).collect();
		let issuance = Balances::total_issuance();

		const WINDOWS: u64 = 100;
		let mut seed = 0x2545_f491_4f6c_dd1du64;
		let mut random = move || {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			(seed % 101) as u32
		};
		let mut paid = Vec::new();
		for w in 1..=WINDOWS {
			paid.extend(rewards_until((w + 1) * WINDOW));
			let honest = vec![
				result(ALICE, 55 + (w % 10) as u32, 0),
				result(BOB, 50 + (w % 7) as u32, 0),
				result(lazy, 0, Flags::MISSING),
				result(copier, 0, Flags::COPIED),
				result(noise, 2, 0),
			];
			let random_scores: Vec<_> =
				[ALICE, BOB, lazy, copier, noise].iter().map(|&p| result(p, random(), 0)).collect();
			let set = AggregationSets::<Test>::get(w).into_inner();
			let inclusion: Vec<u64> =
				set.into_iter().filter(|m| [ALICE, BOB].contains(m)).collect();
			for (who, results) in
				[(CHARLIE, honest.clone()), (EVE, honest.clone()), (DAVE, random_scores)]
			{
				assert_ok!(Training::submit_gauntlet_results(
					RuntimeOrigin::signed(who),
					w,
					results,
					inclusion.clone(),
					theta(w),
				));
			}
		}
		paid.extend(rewards_until((WINDOWS + 1) * WINDOW + DEADLINE));

		let earned: Vec<u64> = everyone
			.iter()
			.zip(&start)
			.map(|(a, before)| Balances::free_balance(a) - before)
			.collect();
		let [alice, bob, lazy, copier, noise, charlie, dave, eve, owner] =
			<[u64; 9]>::try_from(earned).expect("nine accounts");
		for adversary in [lazy, copier, noise] {
			assert!(alice > adversary && bob > adversary, "{alice} {bob} vs {adversary}");
		}
		assert!(charlie > dave && eve > dave, "honest validators {charlie}, {eve} vs {dave}");

		// The books: every window paid out exactly its emission; what was minted is what the
		// accounts received.
		assert_eq!(paid.len() as u64, WINDOWS);
		for e in &paid {
			let Event::RewardsPaid { emission, miners, validators, owner, burned, .. } = e else {
				continue;
			};
			assert_eq!(miners + validators + owner + burned, *emission, "{e:?}");
			assert_eq!(*emission, EMISSION);
		}
		let (emission, miners, validators, owner_paid, burned) = totals(&paid);
		assert_eq!(emission, WINDOWS * EMISSION);
		assert_eq!(miners + validators + owner_paid + burned, emission);
		assert_eq!(burned, 0);
		assert_eq!(alice + bob + lazy + copier + noise, miners);
		assert_eq!(charlie + dave + eve, validators);
		assert_eq!(owner, owner_paid);
		assert_eq!(Balances::total_issuance() - issuance, emission);
	});
}
