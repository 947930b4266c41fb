//! A peer's account: where its secret key comes from ([`key`]: a key file, a keystore directory
//! in the node's format ([`keystore`]), the environment, or the command line), reading, writing
//! and making secrets ([`secret`]), and what the chain says of it ([`status`]). `offchain-trainer account` drives these; miners,
//! validators, `start-run` and `parameters` load their keys through [`key::KeySources`].

pub mod key;
pub mod keystore;
pub mod secret;
pub mod status;
