//! Unit tests of `pallet-training`, one file per topic; each runs through `mock::run_test`, which
//! checks the storage invariants (`do_try_state`) afterwards.

mod attacks;
mod checkpoints;
mod commit;
mod fake_stake;
mod gauntlet;
mod genesis;
mod history;
mod migration;
mod parameters;
mod peers;
mod register;
mod rewards;
mod run;
mod stake;
mod windows;
