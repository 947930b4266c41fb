//! # offchain-trainer
//!
//! tessera's off-chain half: the miner, the validator, the local devnet and the audit CLI all
//! live in this crate and its `offchain-trainer` binary. Modules: the chain client ([`chain`]:
//! subxt, generated from our runtime's metadata) and window follower ([`windows`]); the model
//! ([`model`]: a LLaMA-style decoder in candle); the data ([`data`]: corpus, tokenizer, token
//! shard, data slices); the miner's local work ([`train`]: inner AdamW loop, pseudo-gradient,
//! compressed payload); object storage ([`storage`]: local directory or S3); one window's
//! exchange of updates ([`round`]: fetching, screening) and keeping θ on the network's
//! ([`follow`]); the miner ([`miner`]) and the validator ([`validator`], scoring with the
//! [`gauntlet`]); the whole network on one machine ([`devnet`]); and the auditor's view of the
//! chain ([`audit`]). *When* a miner or validator does what is decided by the window protocol's
//! machines in the `tessera-protocol` crate; the loops here execute their actions, reading the
//! [`wallclock`] for them.

pub mod audit;
pub mod bench;
pub mod chain;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod devnet;
pub mod follow;
pub mod gauntlet;
pub mod metrics;
pub mod miner;
pub mod model;
pub mod replica;
pub mod report;
pub mod round;
pub mod storage;
pub mod train;
pub mod validator;
pub mod wallclock;
pub mod windows;
