//! The follower machine's unit tests: when windows are applied and settled, and what a verdict
//! that disagrees with the local outer step leads to.

use super::*;

const DEV: Timing = Timing::uniform(10, 3, 10);

/// Every action the follower asks for at block `n` (each reported done as a plain step).
fn drain(f: &mut Follower, n: Block) -> Vec<FollowerAction> {
	let mut out = Vec::new();
	while let Some(a) = f.next(n) {
		if let FollowerAction::Step { window } = a {
			f.on_stepped(window);
		}
		out.push(a);
		if out.len() > 100 {
			break;
		}
	}
	out
}

#[test]
fn a_window_is_stepped_when_its_reveal_period_ends() {
	let mut f = Follower::new(DEV, None);
	// Window 0's reveal period ends at block 13.
	assert!(drain(&mut f, 12).is_empty());
	assert_eq!(drain(&mut f, 13), vec![FollowerAction::Step { window: 0 }]);
	assert_eq!(f.applied(), Some(0));
	assert_eq!(f.provisional(), Some(0));
	// Window 1 waits for window 0's verdict (block 20) before it builds on it.
	assert_eq!(drain(&mut f, 20), vec![FollowerAction::Settle { window: 0 }]);
}

#[test]
fn a_window_whose_payloads_were_all_read_is_stepped_before_its_reveal_period_ends() {
	let mut f = Follower::new(DEV, None);
	// Reported while window 0 is still open: nothing before its reveal period (block 10).
	f.on_reveal_complete(0);
	assert!(drain(&mut f, 9).is_empty());
	assert_eq!(drain(&mut f, 10), vec![FollowerAction::Step { window: 0 }]);
	assert_eq!(f.next(20), Some(FollowerAction::Settle { window: 0 }));
	assert_eq!(
		f.on_verdict(0, VerdictCheck::Agrees),
		vec![FollowerAction::Confirmed { window: 0 }]
	);
	// Window 1, not reported complete: its reveal period's end (block 23).
	assert!(drain(&mut f, 22).is_empty());
	// Completion of another window does not step this one early.
	f.on_reveal_complete(2);
	assert!(drain(&mut f, 22).is_empty());
	f.on_reveal_complete(1);
	assert_eq!(drain(&mut f, 22), vec![FollowerAction::Step { window: 1 }]);
	assert_eq!((f.applied(), f.provisional()), (Some(1), Some(1)));
	// Window 2's completion reported before its reveal period (block 30) changes nothing
	// before it; settling window 1 comes first there.
	f.on_reveal_complete(2);
	assert!(drain(&mut f, 29).is_empty());
	assert_eq!(f.next(30), Some(FollowerAction::Settle { window: 1 }));
	assert_eq!(
		f.on_verdict(1, VerdictCheck::Agrees),
		vec![FollowerAction::Confirmed { window: 1 }]
	);
	assert_eq!(drain(&mut f, 30), vec![FollowerAction::Step { window: 2 }]);
}

#[test]
fn an_agreeing_verdict_confirms_the_step() {
	let mut f = Follower::new(DEV, None);
	drain(&mut f, 13);
	assert_eq!(f.next(20), Some(FollowerAction::Settle { window: 0 }));
	assert_eq!(
		f.on_verdict(0, VerdictCheck::Agrees),
		vec![FollowerAction::Confirmed { window: 0 }]
	);
	assert!(f.is_confirmed(0));
	// Block 23 ends window 1's reveal period.
	assert_eq!(drain(&mut f, 23), vec![FollowerAction::Step { window: 1 }]);
}

#[test]
fn a_verdict_that_disagrees_is_recomputed_then_resynced_then_declared_diverged() {
	let mut f = Follower::new(DEV, Some(4));
	assert_eq!(drain(&mut f, 63), vec![FollowerAction::Step { window: 5 }]);
	assert_eq!(f.next(70), Some(FollowerAction::Settle { window: 5 }));
	assert_eq!(
		f.on_verdict(5, VerdictCheck::Differs),
		vec![FollowerAction::Recompute { window: 5 }]
	);
	assert!(f.next(70).is_none(), "busy recomputing");
	// The recomputation reproduces the verdict: confirmed.
	assert_eq!(f.on_recomputed(5, true), vec![FollowerAction::Confirmed { window: 5 }]);
	assert!(f.in_sync());

	// Next window: the recomputation does not reproduce it either: checkpoint.
	drain(&mut f, 73);
	f.next(80);
	f.on_verdict(6, VerdictCheck::Differs);
	assert_eq!(
		f.on_recomputed(6, false),
		vec![FollowerAction::Resync {
			window: 6,
			below: Some(6),
			at_least: None,
			network_only: false,
			cause: LoadCause::Mismatch
		}]
	);
	f.on_restored(6, Some(3));
	assert_eq!(f.applied(), Some(3));
	// The verdicts from window 4 on are replayed (their scoring periods are over).
	assert_eq!(f.next(80), Some(FollowerAction::Replay { window: 4 }));
	// Replaying still gives another θ: the own checkpoints are skipped next (the network's,
	// then θ_0).
	assert_eq!(
		f.on_replayed(4, Replayed::Mismatch),
		vec![FollowerAction::Resync {
			window: 4,
			below: Some(4),
			at_least: None,
			network_only: true,
			cause: LoadCause::Mismatch
		}]
	);
	f.on_restored(4, None);
	assert_eq!(f.next(80), Some(FollowerAction::Replay { window: 0 }));
	// And again: no more re-syncs, θ is diverged and a miner must not train on it.
	assert_eq!(f.on_replayed(0, Replayed::Mismatch), vec![FollowerAction::Diverged { window: 0 }]);
	assert!(!f.in_sync());
	assert_eq!(f.next(80), Some(FollowerAction::Replay { window: 1 }));
	assert_eq!(
		f.on_replayed(1, Replayed::Reproduced),
		vec![FollowerAction::Confirmed { window: 1 }]
	);
	assert!(!f.in_sync(), "a replay alone proves nothing after a failed re-sync");
	// Later, a step of its own that the verdict agrees with brings it back in sync.
	while let Some(a) = f.next(83) {
		match a {
			FollowerAction::Replay { window } => {
				f.on_replayed(window, Replayed::Reproduced);
			},
			FollowerAction::Step { window } => f.on_stepped(window),
			other => panic!("{other:?}"),
		}
	}
	assert_eq!(f.provisional(), Some(7));
	assert_eq!(f.next(90), Some(FollowerAction::Settle { window: 7 }));
	f.on_verdict(7, VerdictCheck::Agrees);
	assert!(f.in_sync());
}

#[test]
fn a_window_that_never_reproduces_ends_in_divergence_not_a_loop() {
	let mut f = Follower::new(DEV, Some(5));
	let mut resyncs = 0;
	let mut guard = 0;
	// Every replay reproduces except window 6's, whatever θ it starts from.
	while let Some(a) = f.next(100) {
		guard += 1;
		assert!(guard < 100, "re-syncs forever");
		match a {
			FollowerAction::Replay { window } => {
				let r = if window == 6 { Replayed::Mismatch } else { Replayed::Reproduced };
				for follow_up in f.on_replayed(window, r) {
					if let FollowerAction::Resync { window, network_only, .. } = follow_up {
						resyncs += 1;
						f.on_restored(window, if network_only { None } else { Some(3) });
					}
				}
			},
			FollowerAction::Step { window } => f.on_stepped(window),
			other => panic!("{other:?}"),
		}
	}
	assert_eq!(resyncs, MAX_FAILED_RESYNCS);
	assert!(!f.in_sync());
	assert_eq!(f.applied(), Some(8), "following on, on its own θ");
}

#[test]
fn no_verdict_keeps_the_own_step() {
	let mut f = Follower::new(DEV, None);
	drain(&mut f, 13);
	f.next(20);
	assert_eq!(
		f.on_verdict(0, VerdictCheck::NoVerdict),
		vec![FollowerAction::Confirmed { window: 0 }]
	);
	assert_eq!(f.applied(), Some(0));
}

#[test]
fn a_late_peer_replays_settled_windows_and_steps_the_open_one() {
	// A peer starting at block 53: windows 0..=3 have verdicts; window 4's reveal ended at 53.
	let mut f = Follower::new(DEV, None);
	let mut seen = Vec::new();
	while let Some(a) = f.next(53) {
		match a {
			FollowerAction::Replay { window } => {
				f.on_replayed(window, Replayed::Reproduced);
			},
			FollowerAction::Step { window } => f.on_stepped(window),
			_ => {},
		}
		seen.push(a);
	}
	assert_eq!(
		seen,
		vec![
			FollowerAction::Replay { window: 0 },
			FollowerAction::Replay { window: 1 },
			FollowerAction::Replay { window: 2 },
			FollowerAction::Replay { window: 3 },
			FollowerAction::Step { window: 4 },
		]
	);
}

#[test]
fn a_restart_mid_step_forgets_the_step_in_flight() {
	let mut f = Follower::new(DEV, Some(2));
	assert_eq!(f.next(43), Some(FollowerAction::Step { window: 3 }));
	// The connection dropped before the step was applied.
	f.on_restart(Some(2), None);
	assert_eq!(f.next(44), Some(FollowerAction::Step { window: 3 }));
	f.on_stepped(3);
	// A restart after it: the provisional step still awaits its verdict.
	f.on_restart(Some(3), Some(3));
	assert_eq!(f.provisional(), Some(3));
	assert_eq!(f.next(50), Some(FollowerAction::Settle { window: 3 }));
	f.on_verdict(3, VerdictCheck::Agrees);
	// The step of window 4 was applied, but the connection broke before the machine heard of
	// it: the driver holds its data, so it is still settled against its verdict.
	assert_eq!(f.next(53), Some(FollowerAction::Step { window: 4 }));
	f.on_restart(Some(4), Some(4));
	assert_eq!(f.applied(), Some(4));
	assert!(!f.is_confirmed(4), "not settled yet");
	assert_eq!(f.next(60), Some(FollowerAction::Settle { window: 4 }));
	// Data of an older step than θ's is no provisional step.
	f.on_restart(Some(4), Some(3));
	assert_eq!(f.provisional(), None);
}

#[test]
fn a_stalled_chain_asks_for_nothing() {
	let mut f = Follower::new(DEV, None);
	drain(&mut f, 13);
	for _ in 0..10 {
		assert!(f.next(19).is_none());
	}
}

#[test]
fn outcomes_for_another_window_are_ignored() {
	let mut f = Follower::new(DEV, None);
	f.next(13);
	f.on_stepped(7);
	assert_eq!(f.applied(), None);
	assert!(f.on_verdict(0, VerdictCheck::Agrees).is_empty());
	assert!(f.on_recomputed(0, true).is_empty());
}

/// What a `Resync` asks for.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
	window: Window,
	below: Option<Window>,
	at_least: Option<Window>,
	network_only: bool,
	cause: LoadCause,
}

fn resync_of(a: Option<FollowerAction>) -> Asked {
	match a {
		Some(FollowerAction::Resync { window, below, at_least, network_only, cause }) => {
			Asked { window, below, at_least, network_only, cause }
		},
		other => panic!("expected a re-sync, got {other:?}"),
	}
}

/// Issue 19 item 4: a peer with an empty disk joins from the network's newest checkpoint (never
/// its own files), then replays the verdicts since; one that holds a newer θ than the
/// checkpoint does not, nor does one that started before any checkpoint existed.
#[test]
fn an_empty_peer_joins_from_the_networks_newest_checkpoint() {
	let mut f = Follower::new(DEV, None);
	f.on_network_checkpoint(Some(6));
	let join = Asked {
		window: 0,
		below: None,
		at_least: None,
		network_only: true,
		cause: LoadCause::Join,
	};
	assert_eq!(resync_of(f.next(100)), join);
	assert!(f.next(100).is_none(), "busy loading");
	f.on_restored(0, Some(6));
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 7 }));
	f.on_replayed(7, Replayed::Reproduced);
	f.on_network_checkpoint(Some(8));
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 8 }), "only at start");
	assert!(f.in_sync());

	let mut ahead = Follower::new(DEV, Some(7));
	ahead.on_network_checkpoint(Some(6));
	assert_eq!(ahead.next(100), Some(FollowerAction::Replay { window: 8 }));

	let mut early = Follower::new(DEV, None);
	early.on_network_checkpoint(None);
	early.on_network_checkpoint(Some(2));
	assert_eq!(early.next(100), Some(FollowerAction::Replay { window: 0 }));
}

/// A join that loads nothing keeps what θ holds and replays from there, still in sync.
#[test]
fn a_join_that_loads_nothing_replays_from_what_it_holds() {
	let mut f = Follower::new(DEV, Some(2));
	f.on_network_checkpoint(Some(6));
	assert_eq!(resync_of(f.next(100)).cause, LoadCause::Join);
	f.on_nothing_loaded(3);
	assert!(f.in_sync());
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 3 }));
}

/// Issue 19 item 4: an unreadable replay payload, or a window no longer on chain, applies
/// nothing and asks for a network checkpoint of that window or later (one before it would need
/// the same payload); when none exists the attempts are counted and end in divergence, from
/// which a newer network checkpoint brings the peer back — and a failed one leaves it diverged.
#[test]
fn an_unreadable_or_pruned_window_skips_to_a_later_network_checkpoint() {
	let mut f = Follower::new(DEV, Some(6));
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 7 }));
	let asked = resync_of(f.on_replayed(7, Replayed::Unreadable).into_iter().next());
	assert_eq!(
		asked,
		Asked {
			window: 7,
			below: None,
			at_least: Some(7),
			network_only: true,
			cause: LoadCause::Unreadable
		}
	);
	assert_eq!(f.applied(), Some(6), "nothing applied");
	// Nothing that late yet: θ stays, the replay is tried again.
	f.on_nothing_loaded(7);
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 7 }));
	let asked = resync_of(f.on_replayed(7, Replayed::Pruned).into_iter().next());
	assert_eq!((asked.at_least, asked.cause), (Some(7), LoadCause::Pruned));
	// A checkpoint of window 8 skips window 7.
	f.on_restored(7, Some(8));
	assert_eq!(f.next(200), Some(FollowerAction::Replay { window: 9 }));
	// Failing again and again: diverged.
	assert_eq!(
		f.on_replayed(9, Replayed::Unreadable),
		vec![FollowerAction::Diverged { window: 9 }]
	);
	assert!(!f.in_sync());
	// A newer network checkpoint is tried once; when it cannot be loaded either, the peer
	// stays diverged.
	f.on_network_checkpoint(Some(10));
	let asked = resync_of(f.next(200));
	assert_eq!((asked.cause, asked.network_only), (LoadCause::Join, true));
	f.on_nothing_loaded(asked.window);
	assert!(!f.in_sync(), "a join that loaded nothing leaves θ diverged");
	f.on_network_checkpoint(Some(10));
	assert_eq!(f.next(200), Some(FollowerAction::Replay { window: 9 }), "tried once");
	f.on_replayed(9, Replayed::Reproduced);
	// The next one loads: in sync again (the re-sync count is spent to the last attempt).
	f.on_network_checkpoint(Some(12));
	let asked = resync_of(f.next(200));
	f.on_restored(asked.window, Some(12));
	assert!(f.in_sync());
	assert_eq!(f.next(200), Some(FollowerAction::Replay { window: 13 }));
}

/// Issue 19 item 5: a load cut short by a lost connection is asked for again, not forgotten.
#[test]
fn a_load_cut_short_is_asked_for_again() {
	let mut f = Follower::new(DEV, Some(4));
	drain(&mut f, 63);
	f.on_theta_corrupt();
	let asked = resync_of(f.next(63));
	assert_eq!(asked.cause, LoadCause::Corrupt);
	f.on_restart(Some(5), None);
	assert_eq!(resync_of(f.next(63)), asked);
	f.on_restored(asked.window, Some(4));
	f.on_restart(Some(4), None);
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 5 }), "nothing to redo");
}

/// Issue 19 item 5: θ found corrupt is reloaded before anything else (the own checkpoints
/// first: the driver verifies each), the provisional step dropped; repeated corruption ends in
/// divergence, not a loop.
#[test]
fn corrupt_theta_is_reloaded_at_once() {
	let mut f = Follower::new(DEV, Some(4));
	drain(&mut f, 63);
	assert_eq!(f.provisional(), Some(5));
	f.on_theta_corrupt();
	f.on_theta_corrupt();
	let asked = resync_of(f.next(63));
	assert_eq!(
		asked,
		Asked {
			window: 6,
			below: None,
			at_least: None,
			network_only: false,
			cause: LoadCause::Corrupt
		}
	);
	assert_eq!(f.provisional(), None);
	f.on_restored(6, Some(4));
	assert_eq!(f.next(100), Some(FollowerAction::Replay { window: 5 }));
	f.on_replayed(5, Replayed::Reproduced);
	f.on_theta_corrupt();
	assert_eq!(resync_of(f.next(100)).cause, LoadCause::Corrupt);
	f.on_restored(6, Some(5));
	f.on_theta_corrupt();
	assert_eq!(f.next(100), Some(FollowerAction::Diverged { window: 6 }));
	assert!(!f.in_sync());
}
