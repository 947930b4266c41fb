//! Harness for tessera's end-to-end tests: locates the workspace's binaries, runs a real
//! `tessera-node --dev` on loopback ports chosen at run time (waiting on its log rather than
//! sleeping), serves a real S3-compatible store ([`s3`]), provides the training corpus
//! ([`corpus`]), runs real miner and validator processes ([`peers`]) and can cut their RPC
//! connections ([`proxy`]), and runs the docs' JavaScript and Python examples ([`docs`]) and their shell examples
//! ([`shell_docs`]). Every process and directory it creates is removed when its handle
//! drops.

pub mod corpus;
pub mod docs;
pub mod harness;
pub mod node;
pub mod paths;
pub mod peers;
pub mod proxy;
pub mod s3;
pub mod shell_docs;

pub use corpus::corpus;
pub use harness::Harness;
pub use node::{NodeOptions, TestNode};
pub use paths::{TestDir, binary, workspace_root};
pub use peers::{Network, Peer};
pub use proxy::Proxy;
pub use s3::S3Server;
