//! The tessera node binary: parses the command line and runs the chosen command.

// sc-cli and sc-service fix these signatures and their (large) error types.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod metadata;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
