//! The Gauntlet (DESIGN.md §5): how a validator scores a window's updates.
//!
//! - [`evaluate`]: the loss of θ_w on the miner's assigned data and on random data, before and
//!   after applying the miner's update alone (median-norm clipped, outer learning rate);
//! - [`copy`]: top-k position overlap between payloads;
//! - [`rating`]: Plackett–Luce ratings over the window's peers;
//! - [`score`]: gradient score, honest indicator, final score and the on-chain fixed-point
//!   result of each peer;
//! - [`state`]: what a validator carries from window to window (ratings, indicator EMAs),
//!   persisted so a restart keeps it.
//!
//! The objective exclusions (missing, invalid, early, copied, diverged) live in
//! [`crate::round::screen`], shared with the miners.

pub mod copy;
pub mod evaluate;
pub mod rating;
pub mod score;
pub mod state;

pub use evaluate::{Losses, evaluate_window};
pub use score::{ScoreConfig, Scored, score_window};
pub use state::{GauntletState, PeerState};
