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
