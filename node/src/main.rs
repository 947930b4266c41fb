//! The tessera node binary: parses the command line and runs the chosen command.

mod chain_spec;
mod cli;
mod command;
mod metadata;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
