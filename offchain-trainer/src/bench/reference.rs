//! The baseline's side of `offchain-trainer bench`: runs `bench/reference/templar_reference.py`
//! (Templar's published algorithm in PyTorch) with the same spec, on the same machine, in the
//! same invocation, and reads its figures back (one JSON object on its standard output).

use super::measure::{BenchSpec, Figures};
use std::{
	path::{Path, PathBuf},
	process::Command,
};

/// The reference script in this repository.
pub fn default_script() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/reference/templar_reference.py")
}

/// Why the reference produced no figures.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
	/// The script is not there.
	#[error("reference script {0} not found")]
	NoScript(PathBuf),
	/// The spec file could not be written.
	#[error("cannot write the reference's spec {path}: {source}")]
	Spec {
		/// The file.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
	/// The interpreter could not be started.
	#[error("cannot run {python}: {source}")]
	Spawn {
		/// The interpreter.
		python: String,
		/// Why.
		source: std::io::Error,
	},
	/// The script failed (PyTorch missing, out of memory, …).
	#[error("the reference failed ({status}): {stderr}")]
	Failed {
		/// Its exit status.
		status: std::process::ExitStatus,
		/// The end of its standard error.
		stderr: String,
	},
	/// Its output was not the expected JSON.
	#[error("the reference printed no figures: {0}")]
	Output(String),
}

/// The reference's figures and the PyTorch version it ran on.
#[derive(Clone, Debug)]
pub struct ReferenceRun {
	/// Its figures.
	pub figures: Figures,
	/// `torch.__version__`.
	pub torch: String,
}

/// Runs `script` with `python` on `spec`; the spec file is written next to the system's
/// temporary files and removed afterwards unless `keep_spec` names where to keep it.
pub fn run_reference(
	python: &str,
	script: &Path,
	spec: &BenchSpec,
	keep_spec: Option<&Path>,
) -> Result<ReferenceRun, ReferenceError> {
	if !script.is_file() {
		return Err(ReferenceError::NoScript(script.to_path_buf()));
	}
	let path = keep_spec.map_or_else(
		|| std::env::temp_dir().join(format!("tessera-bench-spec-{}.json", std::process::id())),
		Path::to_path_buf,
	);
	let json = serde_json::to_vec_pretty(spec)
		.map_err(|e| ReferenceError::Output(format!("spec does not serialise: {e}")))?;
	std::fs::write(&path, json)
		.map_err(|source| ReferenceError::Spec { path: path.clone(), source })?;
	// The reference runs as the operator's environment has it, not with the thread settings
	// this process chose for its own libraries.
	let mut command = Command::new(python);
	for name in crate::process::set_here() {
		command.env_remove(name);
	}
	let output = command.arg(script).arg("--spec").arg(&path).output();
	if keep_spec.is_none() {
		let _ = std::fs::remove_file(&path);
	}
	let output =
		output.map_err(|source| ReferenceError::Spawn { python: python.into(), source })?;
	if !output.status.success() {
		let stderr = String::from_utf8_lossy(&output.stderr);
		let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
		let tail: Vec<&str> = tail.into_iter().rev().collect();
		return Err(ReferenceError::Failed { status: output.status, stderr: tail.join(" | ") });
	}
	parse_output(&String::from_utf8_lossy(&output.stdout))
}

/// The figures in the script's last non-empty line of output.
fn parse_output(stdout: &str) -> Result<ReferenceRun, ReferenceError> {
	let line = stdout
		.lines()
		.rev()
		.find(|l| !l.trim().is_empty())
		.ok_or_else(|| ReferenceError::Output("empty output".into()))?;
	let value: serde_json::Value =
		serde_json::from_str(line).map_err(|e| ReferenceError::Output(format!("{e}: {line}")))?;
	let torch = value.get("torch").and_then(|v| v.as_str()).unwrap_or("?").to_string();
	let figures: Figures = serde_json::from_value(value)
		.map_err(|e| ReferenceError::Output(format!("{e}: {line}")))?;
	for (name, v) in figures.named() {
		if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
			return Err(ReferenceError::Output(format!("{name} is not a positive number: {line}")));
		}
	}
	Ok(ReferenceRun { figures, torch })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_last_json_line_is_read_and_bad_figures_are_refused() {
		let out = "warming up\n{\"torch\": \"2.5\", \"device\": \"cpu\", \"compress_gbps_one\": 0.25, \"bytes_per_chunk\": 160.0}\n";
		let run = parse_output(out).unwrap();
		assert_eq!(run.torch, "2.5");
		assert_eq!(run.figures.compress_gbps_one, Some(0.25));
		assert_eq!(run.figures.bytes_per_chunk, Some(160.0));
		assert_eq!(run.figures.aggregate_s, None);
		assert!(matches!(parse_output(""), Err(ReferenceError::Output(_))));
		assert!(matches!(parse_output("Traceback"), Err(ReferenceError::Output(_))));
		let negative = "{\"torch\": \"2.5\", \"aggregate_s\": -1.0}";
		assert!(matches!(parse_output(negative), Err(ReferenceError::Output(_))));
	}

	#[test]
	fn a_missing_interpreter_or_script_is_a_clear_error() {
		let spec_dir = tempfile::tempdir().unwrap();
		let script = spec_dir.path().join("ref.py");
		std::fs::write(&script, "print('{}')").unwrap();
		let spec = crate::bench::measure::test_spec();
		let err = run_reference("/nonexistent/python3", &script, &spec, None).unwrap_err();
		assert!(matches!(err, ReferenceError::Spawn { .. }), "{err}");
		let err =
			run_reference("python3", &spec_dir.path().join("missing.py"), &spec, None).unwrap_err();
		assert!(matches!(err, ReferenceError::NoScript(_)), "{err}");
	}
}
