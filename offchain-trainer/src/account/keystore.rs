//! Keys kept the way a Substrate node keeps them (`sc-keystore`'s file keystore, what
//! `tessera-node key insert --keystore-path DIR --key-type tsra --scheme sr25519` writes): one
//! file per key in a directory, named by the key type's four bytes and the public key, both in
//! hex, holding the secret URI as a JSON string, readable by its owner only.
//!
//! The key type of a peer's account key is [`KEY_TYPE`] (`tsra`); other keys in the directory
//! (a validator node's session keys, say) are left alone.

use std::path::{Path, PathBuf};
use subxt_signer::sr25519::Keypair;

/// The key type tessera peers' account keys are kept under.
pub const KEY_TYPE: [u8; 4] = *b"tsra";

/// Why the keystore could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
	/// The directory could not be read or written.
	#[error("keystore {dir}: {message}")]
	Io {
		/// The directory (or file).
		dir: PathBuf,
		/// What failed.
		message: String,
	},
	/// It holds no tessera key.
	#[error(
		"keystore {0} holds no tessera account key (type `tsra`): add one with \
		 `offchain-trainer account new --keystore DIR` or `tessera-node key insert \
		 --keystore-path DIR --key-type tsra --scheme sr25519`"
	)]
	Empty(PathBuf),
	/// It holds several and none was chosen.
	#[error("keystore {dir} holds {} tessera account keys ({}): choose one with --key-account", accounts.len(), accounts.join(", "))]
	Several {
		/// The directory.
		dir: PathBuf,
		/// Their SS58 addresses.
		accounts: Vec<String>,
	},
	/// The chosen account is not in it.
	#[error("keystore {dir} has no key for {account}")]
	NotFound {
		/// The directory.
		dir: PathBuf,
		/// The account asked for.
		account: String,
	},
	/// A file's secret is not a key, or not the key its name says.
	#[error("keystore file {path}: {message}")]
	BadFile {
		/// The file.
		path: PathBuf,
		/// What is wrong (never the secret).
		message: String,
	},
	/// `--key-account` is not an account.
	#[error("{0:?} is not an account: give an SS58 address or 32 bytes of hex")]
	Account(String),
}

/// `text` (an SS58 address or 32 bytes of hex) as an account.
pub fn parse_account(text: &str) -> Result<[u8; 32], KeystoreError> {
	tessera_chain::address::parse(text).map_err(|_| KeystoreError::Account(text.into()))
}

fn file_name(public: &[u8; 32]) -> String {
	format!("{}{}", hex::encode(KEY_TYPE), hex::encode(public))
}

/// The tessera account keys in `dir`, by public key.
pub fn accounts(dir: &Path) -> Result<Vec<[u8; 32]>, KeystoreError> {
	let io = |e: std::io::Error| KeystoreError::Io { dir: dir.into(), message: e.to_string() };
	let prefix = hex::encode(KEY_TYPE);
	let mut out = Vec::new();
	for entry in std::fs::read_dir(dir).map_err(io)? {
		let name = entry.map_err(io)?.file_name();
		let Some(public) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
		let mut key = [0u8; 32];
		if hex::decode_to_slice(public, &mut key).is_ok() {
			out.push(key);
		}
	}
	out.sort();
	Ok(out)
}

/// The key for `wanted` in `dir` (the only one there when `None`), and its file.
pub fn load(dir: &Path, wanted: Option<[u8; 32]>) -> Result<(Keypair, PathBuf), KeystoreError> {
	let present = accounts(dir)?;
	let public = match wanted {
		Some(account) if present.contains(&account) => account,
		Some(account) => {
			return Err(KeystoreError::NotFound {
				dir: dir.into(),
				account: tessera_chain::address::ss58(&account),
			});
		},
		None => match present.as_slice() {
			[] => return Err(KeystoreError::Empty(dir.into())),
			[one] => *one,
			several => {
				return Err(KeystoreError::Several {
					dir: dir.into(),
					accounts: several.iter().map(tessera_chain::address::ss58).collect(),
				});
			},
		},
	};
	let path = dir.join(file_name(&public));
	let bad = |message: String| KeystoreError::BadFile { path: path.clone(), message };
	let uri = match super::secret::read_key_file(&path) {
		Ok(uri) => uri,
		Err(e) => return Err(bad(e.to_string())),
	};
	let (pair, _) =
		super::secret::from_uri(&uri, "the keystore").map_err(|e| bad(e.to_string()))?;
	if pair.public_key().0 != public {
		return Err(bad("its secret is not the key its name says (a keystore kept with a \
		                 password is not supported: keep the key in a key file instead)"
			.into()));
	}
	Ok((pair, path))
}

/// Adds the key of secret URI `uri` to `dir` (created, owner only, when missing); its file.
/// A key already there is never replaced.
pub fn insert(dir: &Path, uri: &str) -> Result<PathBuf, KeystoreError> {
	use std::os::unix::fs::DirBuilderExt;
	let io = |e: std::io::Error| KeystoreError::Io { dir: dir.into(), message: e.to_string() };
	let (pair, _) = super::secret::from_uri(uri, "the new key")
		.map_err(|e| KeystoreError::Io { dir: dir.into(), message: e.to_string() })?;
	std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
	let path = dir.join(file_name(&pair.public_key().0));
	let json = serde_json::to_string(uri)
		.map_err(|e| KeystoreError::Io { dir: dir.into(), message: e.to_string() })?;
	super::secret::write_key_file(&path, &json)
		.map_err(|e| KeystoreError::Io { dir: dir.into(), message: e.to_string() })?;
	Ok(path)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keys_go_in_and_come_out_under_the_node_s_file_names() {
		let dir = tempfile::tempdir().unwrap();
		let store = dir.path().join("keystore");
		let bob = subxt_signer::sr25519::dev::bob().public_key().0;
		let path = insert(&store, "//Bob").unwrap();
		assert_eq!(
			path.file_name().unwrap().to_str().unwrap(),
			format!("74737261{}", hex::encode(bob))
		);
		// The node writes the URI as a JSON string.
		assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), "\"//Bob\"");
		let (pair, _) = load(&store, None).unwrap();
		assert_eq!(pair.public_key().0, bob);
		assert!(insert(&store, "//Bob").is_err(), "never replaced");

		// Another key type's file (a session key) is not ours.
		std::fs::write(store.join(format!("61757261{}", hex::encode([7u8; 32]))), "\"//x\"")
			.unwrap();
		assert_eq!(accounts(&store).unwrap(), vec![bob]);

		insert(&store, "//Charlie").unwrap();
		assert!(matches!(load(&store, None), Err(KeystoreError::Several { .. })));
		assert_eq!(load(&store, Some(bob)).unwrap().0.public_key().0, bob);
		let eve = subxt_signer::sr25519::dev::eve().public_key().0;
		assert!(matches!(load(&store, Some(eve)), Err(KeystoreError::NotFound { .. })));
		let empty = dir.path().join("empty");
		std::fs::create_dir(&empty).unwrap();
		assert!(matches!(load(&empty, None), Err(KeystoreError::Empty(_))));
	}

	#[test]
	fn a_file_whose_secret_is_another_key_is_refused() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let bob = subxt_signer::sr25519::dev::bob().public_key().0;
		let path = dir.path().join(file_name(&bob));
		std::fs::write(&path, "\"//Alice\"").unwrap();
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
		let e = load(dir.path(), None).err().unwrap();
		assert!(e.to_string().contains("not the key its name says"), "{e}");
	}
}
