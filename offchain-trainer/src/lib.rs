//! # offchain-trainer
//!
//! tessera's off-chain half: the miner, the validator, the local devnet and the audit CLI all
//! live in this crate and its `offchain-trainer` binary. Today it holds the chain client
//! ([`chain`]: subxt, generated from our runtime's metadata) and the window follower
//! ([`windows`]).

pub mod chain;
pub mod windows;
