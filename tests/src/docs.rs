//! The docs' JavaScript and Python examples, run for real: a fenced ```js or ```python block is
//! taken from a Markdown file, its placeholders (the node URL, a window) are replaced by the
//! test's, and it runs with Node.js and the polkadot.js version pinned in
//! `tests/js/package-lock.json`, or with the Python client pinned in `tests/py/requirements.txt`
//! (`scripts/fetch-js-client.sh` and `scripts/fetch-py-client.sh` install them; the README's
//! test command runs both).

use crate::paths::workspace_root;
use std::path::PathBuf;
use std::time::Duration;

/// The fenced ```js blocks of `path` (relative to the workspace root), in order.
pub fn js_blocks(path: &str) -> anyhow::Result<Vec<String>> {
	blocks(path, "js")
}

/// The fenced ```python blocks of `path` (relative to the workspace root), in order.
pub fn python_blocks(path: &str) -> anyhow::Result<Vec<String>> {
	blocks(path, "python")
}

/// The fenced blocks of language `lang` in `path`, in order.
fn blocks(path: &str, lang: &str) -> anyhow::Result<Vec<String>> {
	let fence = format!("```{lang}");
	let file = workspace_root().join(path);
	let text = std::fs::read_to_string(&file)
		.map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
	let mut blocks = Vec::new();
	let mut current: Option<String> = None;
	for line in text.lines() {
		match (&mut current, line.trim_end()) {
			(None, open) if open == fence => current = Some(String::new()),
			(Some(block), "```") => {
				blocks.push(std::mem::take(block));
				current = None;
			},
			(Some(block), _) => {
				block.push_str(line);
				block.push('\n');
			},
			(None, _) => {},
		}
	}
	Ok(blocks)
}

/// `code` with each `(from, to)` replaced; an error names a placeholder the code lacks (the
/// docs changed shape, and the test would no longer run what they show).
pub fn substitute(code: &str, replacements: &[(&str, &str)]) -> anyhow::Result<String> {
	let mut out = code.to_string();
	for (from, to) in replacements {
		anyhow::ensure!(out.contains(from), "the example no longer contains `{from}`:\n{code}");
		out = out.replace(from, to);
	}
	Ok(out)
}

fn node_modules() -> anyhow::Result<PathBuf> {
	let dir = workspace_root().join("tests/js/node_modules");
	anyhow::ensure!(
		dir.join("@polkadot/api").is_dir(),
		"{} has no @polkadot/api: run scripts/fetch-js-client.sh (the README's test command does)",
		dir.display()
	);
	Ok(dir)
}

/// Runs `code` as an ES module with Node.js (killed after `limit`); its standard output, or an
/// error with its exit status and both streams.
pub async fn run_js(code: &str, limit: Duration) -> anyhow::Result<String> {
	let modules = node_modules()?;
	let dir = tempfile::tempdir()?;
	std::os::unix::fs::symlink(&modules, dir.path().join("node_modules"))?;
	run_script(&PathBuf::from("node"), dir, "example.mjs", code, limit).await
}

/// Writes `code` to `name` in `dir` and runs it with `program` there (killed after `limit`).
async fn run_script(
	program: &std::path::Path,
	dir: tempfile::TempDir,
	name: &str,
	code: &str,
	limit: Duration,
) -> anyhow::Result<String> {
	let script = dir.path().join(name);
	std::fs::write(&script, code)?;
	let child = tokio::process::Command::new(program)
		.arg(&script)
		.current_dir(dir.path())
		.kill_on_drop(true)
		.output();
	let output = tokio::time::timeout(limit, child)
		.await
		.map_err(|_| anyhow::anyhow!("the example ran longer than {limit:?}:\n{code}"))?
		.map_err(|e| anyhow::anyhow!("starting {}: {e}", program.display()))?;
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	anyhow::ensure!(
		output.status.success(),
		"the example failed ({}):\n{code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
		output.status,
		String::from_utf8_lossy(&output.stderr)
	);
	Ok(stdout)
}

/// The Python interpreter of `scripts/fetch-py-client.sh`'s virtual environment.
fn python() -> anyhow::Result<PathBuf> {
	let venv = match std::env::var_os("TESSERA_PY_CLIENT") {
		Some(dir) => PathBuf::from(dir),
		None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
			.join(".cache/tessera/py-client"),
	};
	let python = venv.join("bin/python");
	anyhow::ensure!(
		python.is_file(),
		"{} is missing: run scripts/fetch-py-client.sh (the README's test command does)",
		python.display()
	);
	Ok(python)
}

/// Runs `code` with the pinned Python client (killed after `limit`); its standard output, or an
/// error with its exit status and both streams.
pub async fn run_python(code: &str, limit: Duration) -> anyhow::Result<String> {
	let python = python()?;
	run_script(&python, tempfile::tempdir()?, "example.py", code, limit).await
}
