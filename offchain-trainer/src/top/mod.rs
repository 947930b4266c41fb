//! `offchain-trainer top`: a live view of the network, read from a node at every refresh —
//! the open window and the phases of the windows still in play, with blocks and seconds left;
//! every peer's role, commitment, last verdict score, earnings and incentive; how many
//! validators agree on θ — and, from a local miner's or validator's report file, its own
//! progress ([`own`]). [`snapshot`] reads, [`view`] draws (ratatui; a test draws into
//! ratatui's test backend).

pub mod own;
pub mod snapshot;
pub mod view;
