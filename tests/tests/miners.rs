//! End to end: a real node, a real S3-compatible server and two real miners (`offchain-trainer
//! miner`, tiny model, CPU) train for several windows. Both commit and upload every window, every
//! outer step leaves them with bit-identical θ, held-out loss falls, and a miner that stops and
//! restarts resumes from its checkpoint, replays the aggregates it missed and ends on the
//! network's θ.

use std::{collections::BTreeMap, path::Path, process::Stdio, time::Duration};
use tessera_e2e::{NodeOptions, S3Server, TestNode, binary, corpus, s3};
use tessera_trainer::miner::{Record, Report};
use tokio::process::{Child, Command};

fn spawn_miner(
	node: &TestNode,
	s3: &S3Server,
	corpus: &Path,
	dir: &Path,
	name: &str,
	until: u64,
) -> anyhow::Result<Child> {
	let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
	Ok(Command::new(binary("offchain-trainer")?)
		.args(["miner", "--url", node.rpc_url(), "--suri", &format!("//{name}")])
		.args(["--model", "tiny", "--inner-steps", "8", "--batch-size", "4"])
		.args([
			"--lr",
			"3e-3",
			"--warmup-steps",
			"4",
			"--outer-lr",
			"0.7",
			"--eval-rows",
			"16",
			"--top-k",
			"256",
		])
		.args([
			"--endpoint",
			s3.endpoint(),
			"--bucket",
			"tessera",
			"--prefix",
			name,
			"--create-bucket",
		])
		.args(["--s3-access-key", s3::ACCESS_KEY, "--s3-secret-key", s3::SECRET_KEY])
		.arg("--corpus")
		.arg(corpus)
		.arg("--checkpoint-dir")
		.arg(dir.join(format!("{name}-checkpoints")))
		.arg("--report")
		.arg(dir.join(format!("{name}.jsonl")))
		.args(["--until-window", &until.to_string()])
		.env("RUST_LOG", "info")
		.stdin(Stdio::null())
		.stdout(log.try_clone()?)
		.stderr(log)
		.kill_on_drop(true)
		.spawn()?)
}

async fn finish(mut child: Child, dir: &Path, name: &str) -> anyhow::Result<()> {
	let status = tokio::time::timeout(Duration::from_secs(300), child.wait()).await??;
	let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
	anyhow::ensure!(status.success(), "miner {name} exited with {status}:\n{log}");
	Ok(())
}

/// θ hash after each applied window, from a report.
fn applied(records: &[Record]) -> BTreeMap<u64, (String, Vec<String>, f32)> {
	records
		.iter()
		.filter_map(|r| match r {
			Record::Applied { window, theta_hash, included, held_out_loss } => {
				Some((*window, (theta_hash.clone(), included.clone(), *held_out_loss)))
			},
			_ => None,
		})
		.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_miners_train_in_lockstep_and_a_restarted_miner_catches_up() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let node = TestNode::start(NodeOptions { block_time_ms: 500, ..Default::default() })?;
	let dir = tempfile::tempdir()?;
	let s3 = S3Server::start(&dir.path().join("s3")).await?;
	let d = dir.path();

	let alice = spawn_miner(&node, &s3, &corpus, d, "Alice", 6)?;
	let bob = spawn_miner(&node, &s3, &corpus, d, "Bob", 3)?;
	finish(bob, d, "Bob").await?;
	// Bob is down for a while; then he restarts from his checkpoint.
	let bob = spawn_miner(&node, &s3, &corpus, d, "Bob", 6)?;
	finish(alice, d, "Alice").await?;
	finish(bob, d, "Bob").await?;

	let alice = Report::read(&d.join("Alice.jsonl"))?;
	let bob = Report::read(&d.join("Bob.jsonl"))?;
	let (a, b) = (applied(&alice), applied(&bob));
	let report = |name: &str| {
		let log = std::fs::read_to_string(d.join(format!("{name}.log"))).unwrap_or_default();
		let tail: Vec<&str> = log.lines().rev().take(40).collect();
		let report = std::fs::read_to_string(d.join(format!("{name}.jsonl"))).unwrap_or_default();
		format!("{report}\nlog tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
	};
	for w in 0..=6 {
		let (ta, _, _) = a
			.get(&w)
			.ok_or_else(|| anyhow::anyhow!("Alice never applied {w}:\n{}", report("Alice")))?;
		let (tb, _, _) = b
			.get(&w)
			.ok_or_else(|| anyhow::anyhow!("Bob never applied {w}:\n{}", report("Bob")))?;
		assert_eq!(ta, tb, "θ after window {w} differs between the miners");
	}
	assert!(
		bob.iter().any(|r| matches!(r, Record::Restored { window: 3, .. })),
		"Bob resumed from the checkpoint of window 3: {bob:?}"
	);

	let alice_account = hex::encode(subxt_signer::sr25519::dev::alice().public_key().0);
	let bob_account = hex::encode(subxt_signer::sr25519::dev::bob().public_key().0);
	// Every miner's update made it into an aggregate (committed, uploaded in the reveal period,
	// fetched and verified by the other), and in some window both did. Under load a miner may miss
	// a window's deadline; it then skips that window (never commits late).
	let with =
		|account: &str| a.values().filter(|(_, inc, _)| inc.iter().any(|i| i == account)).count();
	let both = a
		.values()
		.filter(|(_, inc, _)| inc.contains(&alice_account) && inc.contains(&bob_account))
		.count();
	assert!(
		with(&alice_account) >= 2 && with(&bob_account) >= 2 && both >= 1,
		"both miners' updates must be aggregated\nAlice: {}\nBob: {}",
		report("Alice"),
		report("Bob")
	);
	for (name, records) in [("Alice", &alice), ("Bob", &bob)] {
		let uploaded: Vec<u64> = records
			.iter()
			.filter_map(|r| match r {
				Record::Uploaded { window } => Some(*window),
				_ => None,
			})
			.collect();
		assert!(uploaded.len() >= 2, "{name} uploaded {uploaded:?}");
	}
	let first = a[&0].2;
	let last = a[&6].2;
	assert!(last < first - 0.2, "held-out loss {first} → {last} must fall");
	Ok(())
}
