//! # offchain-trainer
//!
//! tessera's off-chain half: the miner, the validator, the local devnet and the audit CLI all
//! live in this crate and its `offchain-trainer` binary. Modules: the chain client ([`chain`]:
//! subxt, generated from our runtime's metadata) and window follower ([`windows`]); the model
//! ([`model`]: a LLaMA-style decoder in candle); the data ([`data`]: corpus, tokenizer, token
//! shard, data slices); the miner's local work ([`train`]: inner AdamW loop, pseudo-gradient,
//! compressed payload); and object storage ([`storage`]: local directory or S3).

pub mod chain;
pub mod checkpoint;
pub mod data;
pub mod miner;
pub mod model;
pub mod outer;
pub mod storage;
pub mod train;
pub mod windows;
