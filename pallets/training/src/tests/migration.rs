//! The storage migration from version 1 to 2: old verdicts translated, hash owners removed, the
//! version set, and a second run changing nothing.

use crate::{
	migrations::v2::{HashOwner, MigrateV1ToV2},
	mock::*,
	*,
};
use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
use sp_core::H256;
use sp_runtime::Perbill;

/// Version 1's verdict, written out field by field as 88b14f7 declared it (independent of the
/// migration's own `VerdictV1`, so a layout mismatch there would show).
#[derive(codec::Encode)]
struct StoredV1 {
	scores: Vec<(u64, Perbill)>,
	inclusion: Vec<u64>,
	theta_hash: H256,
	validators: u32,
}

fn old_verdict(validators: u32) -> StoredV1 {
	StoredV1 {
		scores: vec![(ALICE, Perbill::from_percent(30))],
		inclusion: vec![ALICE],
		theta_hash: H256::repeat_byte(4),
		validators,
	}
}

#[test]
fn v1_verdicts_are_translated_and_hash_owners_removed() {
	run_test(|| {
		run_to_window(3);
		StorageVersion::new(1).put::<Pallet<Test>>();
		// Version 1's encoding, written under the same keys.
		let key = |w: u64| Verdicts::<Test>::hashed_key_for(w);
		frame_support::storage::unhashed::put(&key(1), &old_verdict(2));
		frame_support::storage::unhashed::put(&key(2), &old_verdict(0));
		HashOwner::<Test>::insert(1, H256::repeat_byte(1), ALICE);
		HashOwner::<Test>::insert(2, H256::repeat_byte(2), BOB);

		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);

		let bound = Verdicts::<Test>::get(1).expect("translated");
		assert!(bound.binding && bound.backing == Perbill::one());
		assert_eq!(bound.inclusion.into_inner(), vec![ALICE]);
		assert_eq!(bound.theta_hash, H256::repeat_byte(4));
		assert_eq!(bound.scores.into_inner(), vec![(ALICE, Perbill::from_percent(30))]);
		let unscored = Verdicts::<Test>::get(2).expect("translated");
		assert!(!unscored.binding && unscored.inclusion.is_empty());
		assert_eq!(unscored.theta_hash, H256::zero());
		assert_eq!(HashOwner::<Test>::iter().count(), 0);

		// Version 2 already: nothing more happens.
		HashOwner::<Test>::insert(1, H256::repeat_byte(1), ALICE);
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(HashOwner::<Test>::iter().count(), 1);
		HashOwner::<Test>::remove(1, H256::repeat_byte(1));
	});
}

/// Version 2's commitment, field by field as it was stored before the location moved into it.
#[derive(codec::Encode)]
struct CommitmentV2 {
	payload_hash: H256,
	payload_len: u32,
	committed_at: u64,
}

/// Stores the example run as version 2 encoded it (today's without its history); the example.
fn put_v2_run() -> RunManifest {
	let m = crate::run::example();
	let v2 = (
		m.model.clone(),
		m.tokenizer,
		m.dataset,
		m.inner.clone(),
		m.outer.clone(),
		m.codec.clone(),
	);
	frame_support::storage::unhashed::put(&Run::<Test>::hashed_key(), &v2);
	m
}

#[test]
fn v2_commitments_gain_their_location_and_the_run_its_history() {
	use crate::migrations::v3::MigrateV2ToV3;
	run_test(|| {
		run_to_window(1);
		StorageVersion::new(2).put::<Pallet<Test>>();
		let old =
			CommitmentV2 { payload_hash: H256::repeat_byte(3), payload_len: 7, committed_at: 11 };
		let key = |who: u64| Commitments::<Test>::hashed_key_for(1, who);
		frame_support::storage::unhashed::put(&key(ALICE), &old);
		// Eve was never a peer: her location is unknown.
		frame_support::storage::unhashed::put(&key(EVE), &old);
		let m = put_v2_run();

		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 3);
		let alice = Commitments::<Test>::get(1, ALICE).expect("translated");
		assert_eq!((alice.payload_len, alice.committed_at), (7, 11));
		assert_eq!(alice.location, location("peer-1"));
		let eve = Commitments::<Test>::get(1, EVE).expect("translated");
		assert!(eve.location.bucket.is_empty());
		let run = Run::<Test>::get().expect("translated");
		assert_eq!(run.model, m.model);
		assert_eq!(run.history.retain_windows, 3);
		assert!(run.problem(Pallet::<Test>::manifest_limits()).is_none(), "{:?}", run.history);
		// Eve's commitment has no peer behind it; the invariants hold without her record.
		Commitments::<Test>::remove(1, EVE);
	});
}

/// With the production runtime's 256 windows, a run from before version 3 keeps all of them
/// and checkpoints every 10 windows, 2 kept.
#[test]
fn a_v2_run_on_the_production_retention_gets_the_default_checkpoints() {
	use crate::migrations::v3::MigrateV2ToV3;
	RetainWindows::set(256);
	run_test(|| {
		StorageVersion::new(2).put::<Pallet<Test>>();
		put_v2_run();
		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		let run = Run::<Test>::get().expect("translated");
		assert_eq!(
			run.history,
			HistoryManifest { retain_windows: 256, checkpoint_interval: 10, checkpoints_kept: 2 }
		);
		assert!(run.problem(Pallet::<Test>::manifest_limits()).is_none());
	});
}

/// Version 3's window record, written out field by field.
#[derive(codec::Encode)]
struct WindowV3 {
	seed: H256,
	start_block: u64,
}

#[test]
fn v3_windows_gain_their_timing_and_the_schedule_goes_on() {
	use crate::migrations::v4::MigrateV3ToV4;
	run_test(|| {
		run_to_block(3 * WINDOW + 1);
		StorageVersion::new(3).put::<Pallet<Test>>();
		for w in 1..=3u64 {
			let key = Windows::<Test>::hashed_key_for(w);
			let old = WindowV3 { seed: H256::repeat_byte(w as u8), start_block: w * WINDOW };
			frame_support::storage::unhashed::put(&key, &old);
		}
		Parameters::<Test>::kill();
		WindowSchedule::<Test>::kill();
		assert_eq!(
			Training::params(),
			Training::config_parameters(),
			"the Config values meanwhile"
		);

		MigrateV3ToV4::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 4);
		assert_eq!(Parameters::<Test>::get(), Some(Training::config_parameters()));
		let third = Windows::<Test>::get(3).expect("translated");
		assert_eq!(
			(
				third.seed,
				third.start_block,
				third.length,
				third.reveal_blocks,
				third.score_deadline_blocks
			),
			(H256::repeat_byte(3), 3 * WINDOW, WINDOW, 3, DEADLINE)
		);
		assert_eq!(
			WindowSchedule::<Test>::get(),
			Schedule { next_open: 4 * WINDOW, closing: Some((2, 3 * WINDOW + DEADLINE)) }
		);
		// Window 2's verdict is still published on time, and window 4 opens on time.
		run_to_block(3 * WINDOW + DEADLINE);
		assert!(Verdicts::<Test>::contains_key(2));
		run_to_block(4 * WINDOW);
		assert_eq!(CurrentWindow::<Test>::get(), 4);
	});
}
