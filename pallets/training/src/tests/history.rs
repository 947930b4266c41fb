//! Auditors' queries: a window's report, a peer's score history over a range, and a window's
//! aggregation set with its recorded θ hash — including windows without a verdict and ranges
//! reaching past retention.

use crate::{mock::*, *};
use frame_support::assert_ok;
use sp_core::H256;
use sp_runtime::Perbill;

/// Charlie scores Alice `percent` for window `w` (call inside w's scoring period), and the
/// scoring period is run to its close.
fn score_window(w: u64, percent: u32) {
	run_to_window(w + 1);
	assert_ok!(Training::submit_gauntlet_results(
		RuntimeOrigin::signed(CHARLIE),
		w,
		vec![peer_result(ALICE, percent)],
		vec![ALICE],
		H256::repeat_byte(w as u8),
	));
	run_to_block((w + 1) * WINDOW + DEADLINE);
}

#[test]
fn window_report_and_aggregation() {
	run_test(|| {
		run_to_window(1);
		assert_eq!(Training::aggregation(1), (vec![ALICE, BOB], None));
		assert_eq!(Training::window_report(1), None);
		score_window(1, 70);
		let report = Training::window_report(1).expect("published");
		assert_eq!(report.window, 1);
		assert_eq!(report.scores, vec![(ALICE, Perbill::from_percent(70))]);
		assert_eq!(report.aggregation_set, vec![ALICE, BOB]);
		assert_eq!(report.inclusion, vec![ALICE]);
		assert_eq!(report.theta_hash, H256::repeat_byte(1));
		assert_eq!(report.validators, 1);
		assert_eq!(Training::aggregation(1), (vec![ALICE, BOB], Some(H256::repeat_byte(1))));
		assert_eq!(Training::verdict(1), Training::window_report(1));
	});
}

#[test]
fn peer_scores_over_a_range_skip_unscored_windows_and_stop_at_retention() {
	run_test(|| {
		score_window(1, 10);
		score_window(2, 20);
		// Block 35: window 3 is open, windows 1 and 2 have verdicts.
		let p = Perbill::from_percent;
		assert_eq!(Training::peer_scores(&ALICE, 1, 10), vec![(1, p(10)), (2, p(20))]);
		assert_eq!(Training::peer_scores(&ALICE, 2, 2), vec![(2, p(20))]);
		assert_eq!(Training::peer_scores(&BOB, 1, 10), vec![]);
		assert_eq!(
			Training::score_history(ALICE, 0, u64::MAX),
			Training::peer_scores(&ALICE, 0, u64::MAX)
		);
		// Window 3: nobody scores Alice. RetainWindows = 3: by window 5 only windows 3..=5 are kept.
		run_to_block(5 * WINDOW + DEADLINE);
		assert_eq!(CurrentWindow::<Test>::get(), 5);
		assert_eq!(Training::peer_scores(&ALICE, 1, 5), vec![]);
	});
}
