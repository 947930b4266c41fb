//! # offchain-trainer
//!
//! The `offchain-trainer` binary's library: what its subcommands do beyond a peer's drivers.
//! Accounts and their keys ([`account`]); operator configuration files ([`config`]); the whole network on one machine ([`devnet`]); the
//! auditor's view of the chain ([`audit`]); the side-by-side measurements ([`bench`]); and what
//! the process sets for itself before it starts a thread ([`process`]).
//! The rest lives in crates along the real boundaries: `tessera-codec` (the SparseLoCo payload),
//! `tessera-protocol` (the window protocol's pure machines), `tessera-model` (θ, training,
//! checkpoints), `tessera-data` (corpus, tokenizer, data slices), `tessera-store` (object
//! storage), `tessera-chain` (the chain client) and `tessera-peer` (the miner's, validator's and
//! follower's async drivers). `src/bin/offchain-trainer/main.rs` parses and dispatches, one
//! module per subcommand.

pub mod account;
pub mod audit;
pub mod bench;
pub mod config;
pub mod devnet;
pub mod process;
pub mod top;
