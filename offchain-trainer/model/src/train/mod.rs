//! The miner's local work in a window: the inner AdamW loop ([`inner`], with [`adamw`], fused on
//! the CPU by `adamw_cpu`, and its learning-rate [`schedule`]) and the update it publishes
//! ([`update`]: pseudo-gradient, error feedback, compression, payload and hash).

pub mod adamw;
mod adamw_cpu;
pub mod inner;
pub mod schedule;
pub mod update;

pub use adamw::{AdamW, AdamWConfig};
pub use inner::{InnerConfig, InnerReport, StopWhen, train_window};
pub use schedule::LrSchedule;
pub use update::{UpdateBuilder, UpdateError};
