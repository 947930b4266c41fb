//! What a validator carries from window to window: each peer's rating and honest-indicator
//! EMA, and the last window scored. Saved as JSON after every window (written to a temporary
//! file and renamed, so a crash never leaves half a file) and loaded at start-up.

use super::rating::Rating;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path};

/// One peer's running state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerState {
	/// Plackett–Luce rating.
	pub rating: Rating,
	/// Honest-indicator EMA in `[−1, 1]` (0 for a newcomer).
	pub indicator: f64,
}

/// Every peer's state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GauntletState {
	/// The last window scored.
	pub window: Option<u64>,
	/// By account (hex).
	peers: BTreeMap<String, PeerState>,
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
	/// Reading or writing failed.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// The file is not a state file.
	#[error("{path}: not a Gauntlet state file: {source}")]
	Parse {
		/// The file.
		path: String,
		/// Why.
		source: serde_json::Error,
	},
}

impl GauntletState {
	/// The state of `account` (a newcomer's when unknown).
	pub fn peer(&self, account: &[u8; 32]) -> PeerState {
		self.peers.get(&hex::encode(account)).copied().unwrap_or_default()
	}

	/// Mutable state of `account`, created when unknown.
	pub fn peer_mut(&mut self, account: &[u8; 32]) -> &mut PeerState {
		self.peers.entry(hex::encode(account)).or_default()
	}

	/// Loads `path`; a missing file is a fresh state.
	pub fn load(path: &Path) -> Result<Self, StateError> {
		let text = match std::fs::read_to_string(path) {
			Ok(text) => text,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
			Err(source) => return Err(StateError::Io { path: path.display().to_string(), source }),
		};
		serde_json::from_str(&text)
			.map_err(|source| StateError::Parse { path: path.display().to_string(), source })
	}

	/// Saves to `path` atomically.
	pub fn save(&self, path: &Path) -> Result<(), StateError> {
		let io = |source| StateError::Io { path: path.display().to_string(), source };
		let text = serde_json::to_string_pretty(self)
			.map_err(|source| StateError::Parse { path: path.display().to_string(), source })?;
		if let Some(dir) = path.parent() {
			std::fs::create_dir_all(dir).map_err(io)?;
		}
		let tmp = path.with_extension("json.partial");
		std::fs::write(&tmp, text).map_err(io)?;
		std::fs::rename(&tmp, path).map_err(io)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn saves_and_loads_and_a_missing_file_is_fresh() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("state.json");
		assert_eq!(GauntletState::load(&path).unwrap(), GauntletState::default());
		let mut state = GauntletState { window: Some(4), ..Default::default() };
		state.peer_mut(&[1; 32]).indicator = 0.5;
		state.peer_mut(&[2; 32]).rating.mu = 30.0;
		state.save(&path).unwrap();
		let loaded = GauntletState::load(&path).unwrap();
		assert_eq!(loaded, state);
		assert_eq!(loaded.peer(&[1; 32]).indicator, 0.5);
		assert_eq!(loaded.peer(&[3; 32]), PeerState::default());
		std::fs::write(&path, "not json").unwrap();
		assert!(matches!(GauntletState::load(&path), Err(StateError::Parse { .. })));
	}
}
