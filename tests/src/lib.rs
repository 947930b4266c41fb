//! Harness for tessera's end-to-end tests: locates the workspace's binaries and runs a real
//! `tessera-node --dev` on loopback ports chosen at run time, waiting on its log rather than
//! sleeping. Every process and directory it creates is removed when its handle drops.

pub mod node;
pub mod paths;

pub use node::{NodeOptions, TestNode};
pub use paths::{binary, workspace_root};
