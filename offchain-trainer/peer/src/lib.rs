//! # tessera-peer
//!
//! Owns a peer's async drivers: the loops that execute the window protocol's decisions (the
//! machines of `tessera-protocol`) against the chain (`tessera-chain`), object storage
//! (`tessera-store`) and the model (`tessera-model`). One window's exchange of updates ([`round`]:
//! fetching, screening); keeping θ on the network's ([`follow`]); the replica a peer trains or only
//! follows ([`replica`]); the miner ([`miner`]) and the validator ([`validator`], scoring with the
//! [`gauntlet`]), each registered (or its location moved) at start; what each peer reports
//! ([`report`]) and exposes as metrics ([`metrics`]); progress bars that keep log lines whole
//! ([`progress`]); the run's identity checked against the chain's ([`run`]); a stop the operator
//! asked for ([`shutdown`]); and the [`wallclock`] the drivers read for the machines.

pub mod follow;
pub mod gauntlet;
pub mod metrics;
pub mod miner;
pub mod progress;
mod registration;
pub mod replica;
pub mod report;
pub mod round;
pub mod run;
pub mod shutdown;
pub mod validator;
pub mod wallclock;
