//! End to end, an account's life through `offchain-trainer account`, against a real dev node:
//! a key made into a key file, a key the node's own `key insert` put in a keystore, and Eve's
//! account (endowed on the dev chain) registered as a validator, staked, partly unstaked,
//! deregistered and paid back, with `account status` checked after each step; and a real
//! secret typed after `--suri` warned about where a dev key is not.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use tessera_e2e::{NodeOptions, TestDir, TestNode, binary};

const UNIT: u128 = 1_000_000_000_000;

/// `offchain-trainer ARGS`: success, standard output, standard error.
fn trainer(args: &[&str]) -> anyhow::Result<(bool, String, String)> {
	trainer_with(args, &[])
}

/// `offchain-trainer ARGS` with only the key variables of `env` set.
fn trainer_with(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<(bool, String, String)> {
	let mut command = std::process::Command::new(binary("offchain-trainer")?);
	command.args(args);
	for var in ["TESSERA_SURI", "TESSERA_KEY_FILE", "TESSERA_KEYSTORE", "TESSERA_KEY_ACCOUNT"] {
		command.env_remove(var);
	}
	let out = command.envs(env.iter().copied()).output()?;
	Ok((
		out.status.success(),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	))
}

fn ok(args: &[&str]) -> anyhow::Result<String> {
	let (success, stdout, stderr) = trainer(args)?;
	anyhow::ensure!(success, "{args:?} failed:\n{stdout}\n{stderr}");
	Ok(stdout)
}

fn json(args: &[&str]) -> anyhow::Result<serde_json::Value> {
	Ok(serde_json::from_str(&ok(args)?)?)
}

fn planck(v: &serde_json::Value) -> u128 {
	v.as_u64().map(u128::from).or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

#[test]
fn keys_come_from_files_and_the_node_s_keystore() -> anyhow::Result<()> {
	let dir = TestDir::new()?;
	let d = |name: &str| dir.path().join(name).display().to_string();

	// A new key in a key file, readable by its owner only; inspect reads it back.
	let made = ok(&["account", "new", "--key-file", &d("new.key")])?;
	let address = made
		.lines()
		.find_map(|l| l.strip_prefix("account"))
		.map(|a| a.trim().to_string())
		.ok_or_else(|| anyhow::anyhow!("no account in:\n{made}"))?;
	assert!(!made.contains(std::fs::read_to_string(d("new.key"))?.trim()), "phrase printed");
	assert_eq!(std::fs::metadata(d("new.key"))?.permissions().mode() & 0o777, 0o600);
	let seen = json(&["account", "inspect", "--key-file", &d("new.key"), "--json"])?;
	assert_eq!(seen["account"], address.as_str());

	// The node's own keystore: `tessera-node key insert` writes, the trainer reads.
	let keystore = d("keystore");
	let inserted = std::process::Command::new(binary("tessera-node")?)
		.args(["key", "insert", "--keystore-path", &keystore, "--key-type", "tsra"])
		.args(["--scheme", "sr25519", "--suri", "//Eve"])
		.output()?;
	anyhow::ensure!(inserted.status.success(), "{}", String::from_utf8_lossy(&inserted.stderr));
	let eve = json(&["account", "inspect", "//Eve", "--json"])?;
	let from_store = json(&["account", "inspect", "--keystore", &keystore, "--json"])?;
	assert_eq!(from_store["account"], eve["account"]);
	assert_eq!(from_store["public_key"], eve["public_key"]);

	// Two keys in the keystore: one is chosen by --key-account.
	let inserted = std::process::Command::new(binary("tessera-node")?)
		.args(["key", "insert", "--keystore-path", &keystore, "--key-type", "tsra"])
		.args(["--scheme", "sr25519", "--suri", "//Ferdie"])
		.output()?;
	anyhow::ensure!(inserted.status.success(), "{}", String::from_utf8_lossy(&inserted.stderr));
	let (success, _, stderr) = trainer(&["account", "inspect", "--keystore", &keystore])?;
	assert!(!success && stderr.contains("--key-account"), "{stderr}");
	let ferdie = json(&["account", "inspect", "//Ferdie", "--json"])?;
	let ferdie_ss58 = ferdie["account"].as_str().unwrap_or_default();
	let chosen = json(&[
		"account",
		"inspect",
		"--keystore",
		&keystore,
		"--key-account",
		ferdie_ss58,
		"--json",
	])?;
	assert_eq!(chosen["account"], ferdie["account"]);

	// The command line wins over the environment (and both over a config file: unit-tested).
	let (success, stdout, stderr) = trainer_with(
		&["account", "inspect", "--key-file", &d("new.key"), "--json"],
		&[("TESSERA_SURI", "//Bob")],
	)?;
	assert!(success && stdout.contains(&address), "{stdout}\n{stderr}");
	let (success, stdout, stderr) = trainer_with(
		&["account", "inspect", "--json"],
		&[("TESSERA_SURI", "//Ferdie"), ("TESSERA_KEY_FILE", "/nonexistent")],
	)?;
	assert!(!success && stderr.contains("TESSERA_SURI and TESSERA_KEY_FILE"), "{stdout}{stderr}");
	// An address given wins over a key in the environment.
	let (success, stdout, _) =
		trainer_with(&["account", "inspect", "//Ferdie", "--json"], &[("TESSERA_SURI", "//Bob")])?;
	assert!(success && stdout.contains(ferdie_ss58), "{stdout}");

	// A real secret typed after --suri works and is warned about; a dev key is not.
	let phrase = std::fs::read_to_string(d("new.key"))?;
	let (success, stdout, stderr) =
		trainer(&["account", "inspect", "--suri", phrase.trim(), "--json"])?;
	assert!(success, "{stderr}");
	assert!(stdout.contains(&address));
	assert!(stderr.contains("shows in `ps`"), "no warning: {stderr}");
	let (_, _, stderr) = trainer(&["account", "inspect", "--suri", "//Alice"])?;
	assert!(!stderr.contains("shows in `ps`"), "a dev key warned: {stderr}");

	// Two sources at once, a key file others can read: refused, the secret never shown.
	std::fs::set_permissions(d("new.key"), std::fs::Permissions::from_mode(0o644))?;
	let (success, _, stderr) = trainer(&["account", "inspect", "--key-file", &d("new.key")])?;
	assert!(!success && stderr.contains("chmod 600"), "{stderr}");
	let (success, _, stderr) =
		trainer(&["account", "inspect", "--keystore", &keystore, "--suri", "//Bob"])?;
	assert!(!success && stderr.contains("give one key source"), "{stderr}");
	assert!(!stderr.contains(phrase.trim()));
	// A phrase given where an account belongs is refused without being echoed.
	let (success, _, stderr) = trainer(&["account", "inspect", phrase.trim()])?;
	assert!(!success && !stderr.contains(phrase.trim()), "{stderr}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_registers_stakes_unstakes_leaves_and_is_paid_back() -> anyhow::Result<()> {
	// 300 ms blocks: the 30-block unbonding period (9 s) outlasts the few commands between
	// `unstake` and the early `withdraw`.
	let node = TestNode::start(NodeOptions { block_time_ms: 300, ..Default::default() })?;
	let url = node.rpc_url().to_string();
	let dir = TestDir::new()?;
	let key = dir.path().join("eve.key");
	tessera_trainer::account::key::write_key_file(&key, "//Eve")?;
	let key = key.display().to_string();
	let with_key = |args: &[&str]| -> Vec<String> {
		let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
		v.extend(["--key-file".into(), key.clone(), "--url".into(), url.clone()]);
		v
	};
	let run = |args: &[&str]| -> anyhow::Result<String> {
		let v = with_key(args);
		ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
	};
	let status = || json(&["account", "status", "//Eve", "--url", &url, "--json"]);

	let before = status()?;
	assert_eq!(before["role"], "none");
	let free_before = planck(&before["free"]);

	run(&["account", "register", "--role", "validator", "--bucket", "eve-bucket"])?;
	let s = status()?;
	assert_eq!(s["role"], "validator");
	assert_eq!(planck(&s["deposit"]), 100 * UNIT);
	assert!(s["location"].as_str().is_some_and(|l| l.contains("eve-bucket")), "{s}");

	run(&["account", "stake", "1000"])?;
	run(&["account", "unstake", "400.5"])?;
	let s = status()?;
	assert_eq!(planck(&s["stake"]), 1000 * UNIT - 400 * UNIT - UNIT / 2);
	assert_eq!(planck(&s["unbonding"]["amount"]), 400 * UNIT + UNIT / 2, "{s}");
	assert_eq!(planck(&s["free"]), free_before - 1100 * UNIT - planck_fees(&before, &s));

	// Too early: withdraw says when.
	let (success, stdout, stderr) = trainer(
		&with_key(&["account", "withdraw"]).iter().map(String::as_str).collect::<Vec<_>>(),
	)?;
	assert!(!success && stderr.contains("from block"), "{stdout}\n{stderr}");

	run(&["account", "deregister"])?;
	let s = status()?;
	let release =
		s["withdrawable_from"].as_u64().ok_or_else(|| anyhow::anyhow!("not leaving: {s}"))?;
	// Wait for the block the deposit and stake come free at, then take them back.
	let deadline = std::time::Instant::now() + Duration::from_secs(120);
	while status()?["block"].as_u64().unwrap_or(0) < release {
		anyhow::ensure!(std::time::Instant::now() < deadline, "block {release} never came");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let said = run(&["account", "withdraw"])?;
	assert!(said.contains("withdrew"), "{said}");
	let s = status()?;
	assert_eq!(s["role"], "none", "{s}");
	assert_eq!(planck(&s["stake"]), 0);
	assert!(s["unbonding"].is_null(), "{s}");
	// Everything held came back: only fees were spent.
	let fees = free_before - planck(&s["free"]);
	assert!(fees < UNIT, "{fees} planck gone");
	Ok(())
}

/// Fees spent between two statuses are below one TSR on the dev chain; what the balance lost
/// beyond what is held, bounded.
fn planck_fees(before: &serde_json::Value, after: &serde_json::Value) -> u128 {
	let held =
		planck(&after["deposit"]) + planck(&after["stake"]) + planck(&after["unbonding"]["amount"]);
	let lost = planck(&before["free"]) - planck(&after["free"]);
	let fees = lost - held;
	assert!(fees < UNIT, "{fees} planck of fees");
	fees
}
