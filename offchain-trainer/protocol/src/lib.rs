//! tessera's window protocol (DESIGN.md §2) as pure, deterministic state machines.
//!
//! This crate owns *when* a peer does what: the phases of a window as a function of the block
//! number ([`timing`]), chain time ([`clock`]), the peer's measured durations ([`estimate`]) and
//! the named safety margins ([`margins`]) that deadlines are planned with, and each role's
//! decisions ([`follower`]: keeping θ on the network's, shared by every peer; [`miner`];
//! [`validator`]). It does no I/O, spawns nothing and reads no clock: the
//! async drivers in `offchain-trainer` (and the simulator) feed events — a finalized block,
//! training done, a transaction's outcome — with the wall-clock time they happened at, and
//! execute the actions they get back.

pub mod clock;
pub mod estimate;
pub mod follower;
pub mod margins;
pub mod miner;
pub mod sim;
pub mod timing;
pub mod validator;

pub use clock::{BlockClock, Millis};
pub use estimate::{Durations, Estimate};
pub use follower::{Follower, FollowerAction, LoadCause};
pub use margins::Margins;
pub use miner::{Miner, MinerAction, SitOut, Trained};
pub use timing::{Block, Era, Phase, Timing, TimingError, Window};
pub use validator::{Skip, Validator, ValidatorAction};
