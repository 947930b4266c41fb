//! Performance (issue 8, DESIGN.md §8): `offchain-trainer bench` measures the codec, the outer
//! step, the inner step and the Gauntlet on a model configuration beside a PyTorch
//! implementation of Templar's algorithm; `offchain-trainer simulate` replays a window's
//! payload exchange over given links; `guard` holds the codec's ratios to recorded floors.

pub mod guard;
pub mod measure;
pub mod reference;
pub mod report;
pub mod simulate;
