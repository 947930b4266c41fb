//! Issue 20 items 4 and 7, end to end on one network (real node, S3 server, two honest miners,
//! a validator): the chain's sudo key changes the window length and scoring period mid-run with
//! `offchain-trainer parameters`; window numbering goes on, each window keeps the timing it
//! opened with, and every peer follows the new timing (both miners commit in every window and
//! their updates are revealed on time and included, before and after the change). Then the
//! books: every account's balance moved by exactly what the chain says it earned (its
//! `Earnings`, which `audit peer` shows) less the transaction fees it paid.

use std::{collections::BTreeMap, time::Duration};
use tessera_chain::{self as chain, network, runtime};
use tessera_e2e::{Harness, Peer, binary, peers::log_tail};
use tokio::time::Instant;

const RUN: Duration = Duration::from_secs(420);
const LAST: u64 = 6;
const NAMES: [&str; 3] = ["Dave", "Alice", "Bob"];

fn context(dir: &std::path::Path) -> String {
	NAMES
		.iter()
		.map(|n| format!("--- {n} ---\n{}", log_tail(dir, n)))
		.collect::<Vec<_>>()
		.join("\n")
}

fn trainer(args: &[&str]) -> anyhow::Result<String> {
	let out = std::process::Command::new(binary("offchain-trainer")?).args(args).output()?;
	anyhow::ensure!(
		out.status.success(),
		"offchain-trainer {args:?}: {}",
		String::from_utf8_lossy(&out.stderr)
	);
	Ok(String::from_utf8(out.stdout)?)
}

/// Free plus held balance of `who` at block `number`.
async fn total_balance(
	client: &chain::Client,
	number: u64,
	who: &[u8; 32],
) -> anyhow::Result<u128> {
	let at = client.at_block(number).await?;
	let account = at
		.storage()
		.fetch(runtime::storage().system().account(), (chain::AccountId::from(*who),))
		.await?
		.decode()?;
	Ok(account.data.free + account.data.reserved)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_length_changed_mid_run_keeps_every_peer_in_step_and_the_books_balance()
-> anyhow::Result<()> {
	let h = Harness::start(1000).await?;
	let (url, d) = (h.node.rpc_url(), h.dir());
	let net = h.network(url);
	let client = chain::connect(url).await?;
	let peers: Vec<Peer> = vec![
		net.validator("Dave", "//Dave", LAST, &[])?,
		net.miner("Alice", "//Alice", "honest", LAST)?,
		net.miner("Bob", "//Bob", "honest", LAST)?,
	];

	// Once window 2 is open, the sudo key schedules 14-block windows scored for 8 blocks (and the
	// cool-down they need: a window and its scoring period).
	let deadline = Instant::now() + RUN;
	loop {
		let n = network::newest_finalized(&client).await?;
		if network::current_window(&client, n).await? >= 2 {
			break;
		}
		anyhow::ensure!(Instant::now() < deadline, "window 2 never opened\n{}", context(d));
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	let scheduled: serde_json::Value = serde_json::from_str(&trainer(&[
		"parameters",
		"--url",
		url,
		"--suri",
		"//Alice",
		"--window-length",
		"14",
		"--score-deadline-blocks",
		"8",
		"--deregister-cooldown",
		"22",
		"--json",
	])?)?;
	let first = scheduled["window"].as_u64().unwrap_or_default();
	let at_block = scheduled["at_block"].as_u64().unwrap_or_default();
	assert!(
		(3..LAST).contains(&first),
		"the change takes effect before the last window: {scheduled}"
	);
	// Window 2 has just opened (10 blocks of 1 s): the set is still pending.
	let shown: serde_json::Value =
		serde_json::from_str(&trainer(&["parameters", "--url", url, "--json"])?)?;
	assert_eq!(shown["in_force"]["window_length"], 10, "in force: {shown}");
	assert_eq!(shown["next_window"]["window_length"], 14, "scheduled: {shown}");
	// A set the pallet refuses is named: a window shorter than its scoring period.
	let refused =
		trainer(&["parameters", "--url", url, "--suri", "//Alice", "--window-length", "6"]);
	assert!(
		refused.as_ref().is_err_and(|e| e.to_string().contains("InvalidPeriods")),
		"{refused:?}"
	);

	for p in peers {
		p.finish(RUN).await.map_err(|e| anyhow::anyhow!("{e}\n{}", context(d)))?;
	}

	let n = network::newest_finalized(&client).await?;
	// Window numbering goes on: 10-block windows until the change, 14-block ones from it.
	let mut starts = BTreeMap::new();
	for w in 1..=LAST + 1 {
		let at = client.at_block(n).await?;
		let info = at
			.storage()
			.try_fetch(runtime::storage().training().windows(), (w,))
			.await?
			.ok_or_else(|| anyhow::anyhow!("window {w} is recorded"))?
			.decode()?;
		let expected_length = if w < first { 10 } else { 14 };
		assert_eq!(info.length, expected_length, "window {w}'s length");
		assert_eq!(info.score_deadline_blocks, if w < first { 10 } else { 8 }, "window {w}");
		starts.insert(w, u64::from(info.start_block));
	}
	assert_eq!(starts[&first], at_block, "the changed window opens where the schedule said");
	for w in 1..=LAST {
		let length = if w < first { 10 } else { 14 };
		assert_eq!(starts[&(w + 1)] - starts[&w], length, "window {w} → {}: {starts:?}", w + 1);
	}

	// Every peer kept to the timing: both miners committed in every window and their payloads
	// were revealed on time.
	let accounts: Vec<(&str, [u8; 32])> = vec![
		("Alice", subxt_signer::sr25519::dev::alice().public_key().0),
		("Bob", subxt_signer::sr25519::dev::bob().public_key().0),
		("Dave", subxt_signer::sr25519::dev::dave().public_key().0),
	];
	for w in 1..=LAST {
		let committed: Vec<[u8; 32]> =
			network::commitments(&client, n, w).await?.into_iter().map(|c| c.account).collect();
		let verdict = network::verdict(&client, n, w)
			.await?
			.ok_or_else(|| anyhow::anyhow!("window {w} has a verdict\n{}", context(d)))?;
		assert!(verdict.binding, "window {w}'s verdict binds: {verdict:?}");
		for (name, account) in &accounts[..2] {
			assert!(committed.contains(account), "{name} committed in window {w}\n{}", context(d));
			// On time and valid: the validator's screening kept it in the binding inclusion
			// list (a late, early or missing payload would have been left out). Its score may
			// be 0 in a window where the update did not help.
			assert!(
				verdict.inclusion.contains(account),
				"{name} included in window {w}: {verdict:?}\n{}",
				context(d)
			);
		}
	}

	// The books: each account's balance moved by its earnings less the fees it paid.
	let mut fees: BTreeMap<[u8; 32], u128> = BTreeMap::new();
	for b in 1..=n {
		let events = client.at_block(b).await?.events().fetch().await?;
		for fee in events.find::<runtime::transaction_payment::events::TransactionFeePaid>() {
			let fee = fee?;
			*fees.entry(fee.who.0).or_default() += fee.actual_fee;
		}
	}
	let newest_window = network::current_window(&client, n).await?;
	for (name, account) in &accounts {
		let mut earned = 0u128;
		let mut by_window = BTreeMap::new();
		for w in 1..=newest_window {
			let paid = network::earnings(&client, n, w, account).await?;
			earned += paid;
			by_window.insert(w, paid);
		}
		let before = total_balance(&client, 0, account).await?;
		let after = total_balance(&client, n, account).await?;
		let paid_fees = fees.get(account).copied().unwrap_or_default();
		assert_eq!(
			after as i128 - before as i128,
			earned as i128 - paid_fees as i128,
			"{name}: balance {before} → {after}, earned {earned}, fees {paid_fees}"
		);
		if *name != "Alice" {
			// Alice is also the owner, paid every window; the others only for their work.
			assert!(earned > 0, "{name} earned something: {by_window:?}");
		}
		// What `audit peer` shows for each window is what the chain paid.
		let suri = format!("//{name}");
		let audit: serde_json::Value = serde_json::from_str(&trainer(&[
			"audit",
			"--url",
			url,
			"--json",
			"peer",
			&suri,
			"--from",
			"1",
			"--to",
			&LAST.to_string(),
		])?)?;
		let rows = audit[0]["windows"].as_array().cloned().unwrap_or_default();
		assert!(!rows.is_empty(), "{name}'s audit: {audit}");
		for row in rows {
			let w = row["window"].as_u64().unwrap_or_default();
			let shown = row["earned"].as_u64().map(u128::from);
			assert_eq!(
				shown,
				by_window.get(&w).copied(),
				"{name}'s earnings for window {w}: {row}"
			);
		}
	}
	Ok(())
}
