//! The key options every signing command takes (miner, validator, `account`, `start-run`,
//! `parameters`), turned into a key by `tessera_trainer::account::key`; a non-dev secret typed
//! after `--suri` is used and warned about.

use std::path::PathBuf;
use tessera_trainer::account::key::{KeySources, LoadedKey};

/// Where the account's secret key comes from: exactly one of these.
#[derive(Clone, Debug, Default, clap::Args)]
pub(crate) struct KeyArgs {
	/// The secret key URI: `//Alice` and the other dev accounts. A real key typed here shows
	/// in `ps` and shell history (it is used, with a warning): prefer --key-file, --keystore
	/// or the TESSERA_SURI environment variable.
	#[arg(long, env = "TESSERA_SURI", hide_env_values = true)]
	pub(crate) suri: Option<String>,
	/// A file holding the secret URI on one line, readable by its owner only (`account new
	/// --key-file` writes one).
	#[arg(long, env = "TESSERA_KEY_FILE")]
	pub(crate) key_file: Option<PathBuf>,
	/// A keystore directory in the node's format: key type `tsra` (`account new --keystore`,
	/// or `tessera-node key insert --keystore-path DIR --key-type tsra --scheme sr25519`).
	#[arg(long, env = "TESSERA_KEYSTORE")]
	pub(crate) keystore: Option<PathBuf>,
	/// Which account of the keystore (SS58 or hex), when it holds several.
	#[arg(long, env = "TESSERA_KEY_ACCOUNT", requires = "keystore")]
	pub(crate) key_account: Option<String>,
}

impl KeyArgs {
	pub(crate) fn sources(&self) -> KeySources {
		KeySources {
			uri: self.suri.clone().map(|uri| (uri, typed_on_command_line())),
			file: self.key_file.clone(),
			keystore: self.keystore.clone().map(|dir| (dir, self.key_account.clone())),
		}
	}

	/// The key, from the one source given.
	pub(crate) fn load(&self) -> anyhow::Result<LoadedKey> {
		let key = self.sources().load()?;
		if key.exposed {
			tracing::warn!(
				account = %tessera_chain::address::ss58(&key.account),
				"a secret key was given with --suri on the command line: it shows in `ps` and \
				 in shell history; use --key-file, --keystore or TESSERA_SURI instead"
			);
		}
		Ok(key)
	}
}

/// Whether `--suri` was typed in this process's arguments (not taken from the environment or
/// a config file).
fn typed_on_command_line() -> bool {
	std::env::args_os().any(|a| a == "--suri" || a.to_string_lossy().starts_with("--suri="))
}
