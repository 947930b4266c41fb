//! Performance tooling (issue 8): the communication simulator ([`simulate`]).

pub mod simulate;
