//! `export-metadata`: writes the built-in runtime's metadata, SCALE-encoded, for subxt.

use std::{io::Write, path::PathBuf};

/// Metadata version written by default (V16: view functions, transaction extension versions).
pub const DEFAULT_METADATA_VERSION: u32 = 16;

/// Write the runtime's metadata to a file or to standard output.
#[derive(Debug, clap::Parser)]
pub struct ExportMetadataCmd {
	/// Output file; standard output when absent.
	#[arg(long, short)]
	pub output: Option<PathBuf>,

	/// Metadata version to export.
	#[arg(long, default_value_t = DEFAULT_METADATA_VERSION)]
	pub metadata_version: u32,
}

impl ExportMetadataCmd {
	/// Encodes the metadata and writes it out.
	pub fn run(&self) -> sc_cli::Result<()> {
		let metadata = tessera_runtime::Runtime::metadata_at_version(self.metadata_version)
			.ok_or_else(|| {
				sc_cli::Error::Input(format!(
					"the runtime does not provide metadata version {} (it has {:?})",
					self.metadata_version,
					tessera_runtime::Runtime::metadata_versions()
				))
			})?;
		let bytes: &[u8] = &metadata;
		match &self.output {
			Some(path) => std::fs::write(path, bytes)?,
			None => std::io::stdout().lock().write_all(bytes)?,
		}
		Ok(())
	}
}
