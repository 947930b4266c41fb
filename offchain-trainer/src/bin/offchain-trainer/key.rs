//! The key options every signing command takes (miner, validator, `account`, `start-run`,
//! `parameters`), turned into a key by `tessera_trainer::account::key`. The key is one slot:
//! a key option typed on the command line wins over the environment's (`TESSERA_SURI`,
//! `TESSERA_KEY_FILE`, `TESSERA_KEYSTORE`), which wins over a config file's; two sources at the
//! same level are refused. A real secret typed after `--suri`, or written as `suri` in a
//! config file, is used and warned about.

use std::path::PathBuf;
use tessera_trainer::account::key::{KeySources, LoadedKey, Origin};

/// Where the account's secret key comes from: one of these.
#[derive(Clone, Default, clap::Args)]
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
	#[arg(long, env = "TESSERA_KEY_ACCOUNT")]
	pub(crate) key_account: Option<String>,
}

/// The secret stays out of debug output.
impl std::fmt::Debug for KeyArgs {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("KeyArgs")
			.field("suri", &self.suri.as_ref().map(|_| "<secret>"))
			.field("key_file", &self.key_file)
			.field("keystore", &self.keystore)
			.field("key_account", &self.key_account)
			.finish()
	}
}

impl KeyArgs {
	/// The sources given, each with where it came from.
	pub(crate) fn sources(&self) -> KeySources {
		KeySources {
			uri: self.suri.clone().map(|uri| (uri, origin("--suri", "TESSERA_SURI"))),
			file: self.key_file.clone().map(|f| (f, origin("--key-file", "TESSERA_KEY_FILE"))),
			keystore: self.keystore.clone().map(|dir| {
				(dir, self.key_account.clone(), origin("--keystore", "TESSERA_KEYSTORE"))
			}),
		}
	}

	/// The key, from the source that wins.
	pub(crate) fn load(&self) -> anyhow::Result<LoadedKey> {
		let key = self.sources().load()?;
		if let Some(warning) = &key.exposed {
			tracing::warn!(
				account = %tessera_chain::address::ss58(&key.account),
				"{warning}: use --key-file, --keystore or TESSERA_SURI instead"
			);
		}
		Ok(key)
	}
}

/// Where an option's value came from: typed in this process's arguments; else its environment
/// variable (the config file never overrides one: `tessera_trainer::config`); else the config
/// file.
fn origin(flag: &str, env: &str) -> Origin {
	let typed = std::env::args_os().any(|a| {
		a == flag
			|| a.to_str().is_some_and(|a| a.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
	});
	if typed {
		Origin::CommandLine
	} else if std::env::var_os(env).is_some() {
		Origin::Environment
	} else {
		Origin::ConfigFile
	}
}
