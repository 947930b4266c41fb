//! Window opening in `on_initialize`: timing, seed, event, and pruning after `RetainWindows`.

use crate::{mock::*, *};
use frame_support::{assert_ok, traits::Hooks};
use sp_core::H256;

#[test]
fn no_window_before_first_boundary() {
	run_test(|| {
		run_to_block(WINDOW - 1);
		assert_eq!(CurrentWindow::<Test>::get(), 0);
		assert!(Windows::<Test>::iter().next().is_none());
		assert!(training_events().is_empty());
	});
}

#[test]
fn window_opens_with_parent_hash_seed_and_event() {
	run_test(|| {
		run_to_block(WINDOW - 1);
		let seed: H256 = System::finalize().hash();
		// `run_to_block` finalizes block WINDOW-1 again and initialises WINDOW with its hash.
		run_to_block(WINDOW);
		assert_eq!(System::parent_hash(), seed);
		assert_eq!(CurrentWindow::<Test>::get(), 1);
		let info = Windows::<Test>::get(1).expect("window 1 recorded");
		assert_eq!(
			info,
			WindowInfo {
				seed,
				start_block: WINDOW,
				length: WINDOW,
				reveal_blocks: 3,
				score_deadline_blocks: DEADLINE
			}
		);
		assert_eq!(
			training_events(),
			vec![
				Event::WindowOpened { window: 1, seed, start_block: WINDOW, length: WINDOW },
				Event::ValidatorsPermitted {
					window: 1,
					validators: vec![CHARLIE].try_into().expect("one permit")
				},
				Event::AggregationSetFixed {
					window: 1,
					members: vec![ALICE, BOB].try_into().expect("two miners")
				},
			]
		);
	});
}

#[test]
fn windows_advance_every_window_length_blocks_with_distinct_seeds() {
	run_test(|| {
		run_to_window(4);
		assert_eq!(CurrentWindow::<Test>::get(), 4);
		let seeds: Vec<H256> =
			(2..=4).map(|w| Windows::<Test>::get(w).expect("retained").seed).collect();
		assert_ne!(seeds[0], seeds[1]);
		assert_ne!(seeds[1], seeds[2]);
		run_to_block(4 * WINDOW + 1);
		assert_eq!(CurrentWindow::<Test>::get(), 4);
		assert!(training_events().is_empty());
	});
}

#[test]
fn on_initialize_weight_accounts_for_opening_and_pruning() {
	run_test(|| {
		let idle = Training::on_initialize(3);
		assert_eq!(idle, <() as WeightInfo>::on_initialize_idle());
		let open = Training::on_initialize(WINDOW);
		assert!(open.ref_time() > idle.ref_time());
	});
}

#[test]
fn old_windows_are_pruned_after_retention() {
	run_test(|| {
		run_to_window(1);
		assert_ok!(Training::commit_gradient(
			RuntimeOrigin::signed(ALICE),
			1,
			H256::repeat_byte(1),
			100
		));
		assert_ok!(Training::commit_gradient(
			RuntimeOrigin::signed(BOB),
			1,
			H256::repeat_byte(2),
			100
		));
		// RetainWindows = 3: window 1 survives windows 2 and 3, and goes when window 4 opens.
		run_to_window(3);
		assert!(Windows::<Test>::contains_key(1));
		assert!(Commitments::<Test>::contains_key(1, ALICE));
		run_to_window(4);
		assert!(!Windows::<Test>::contains_key(1));
		assert!(!Commitments::<Test>::contains_key(1, ALICE));
		assert!(!Commitments::<Test>::contains_key(1, BOB));
		assert_eq!(PermitStakes::<Test>::iter_prefix(1).count(), 0);
		assert!(!WindowValidators::<Test>::contains_key(1));
		assert!(Windows::<Test>::contains_key(2));
		assert!(training_events().contains(&Event::WindowPruned { window: 1 }));
	});
}
