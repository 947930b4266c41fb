//! End to end against a real `tessera-node --dev`: a second validator (Eve) registers and bonds
//! through subxt; in the next window both permitted validators (Dave, 10 000 stake from genesis;
//! Eve, 3 000) submit different results for it; when its scoring period closes, the verdict read
//! through the `TrainingApi` runtime API is the stake-weighted median — here Dave's view, since
//! he holds more than half of the stake — with the inclusion list and θ hash he backed. Then
//! `docs/runtime-api.md`'s polkadot.js example reads that verdict as the page shows it.

use std::time::Duration;
use subxt::utils::H256;
use subxt_signer::sr25519::{Keypair, dev};
use tessera_chain::{
	self as chain, AccountId, runtime,
	training::{self, Location, PeerResult, Role},
	windows,
};
use tessera_e2e::{NodeOptions, TestNode, docs};

const DEADLINE: Duration = Duration::from_secs(180);
const UNIT: u128 = 1_000_000_000_000;

fn id(k: &Keypair) -> AccountId {
	k.public_key().into()
}

fn result(peer: AccountId, percent: u32) -> PeerResult {
	use runtime::runtime_types::{
		pallet_training::gauntlet::Flags, sp_arithmetic::per_things::Perbill,
	};
	PeerResult {
		peer,
		loss_before_assigned: 4_000_000,
		loss_after_assigned: 3_800_000,
		loss_before_random: 4_000_000,
		loss_after_random: 3_900_000,
		gradient_score: 25_000,
		synced: true,
		rating_mu: 25_000_000,
		rating_sigma: 8_000_000,
		final_score: Perbill(percent * 10_000_000),
		flags: Flags(0),
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn verdict_of_two_validators_is_the_stake_weighted_median() -> anyhow::Result<()> {
	// 1 s blocks: the 5-block scoring period leaves room for both submissions on a busy machine.
	let node = TestNode::start(NodeOptions { block_time_ms: 1000, ..Default::default() })?;
	let client = chain::connect(node.rpc_url()).await?;
	let (alice, bob, dave, eve) = (dev::alice(), dev::bob(), dev::dave(), dev::eve());

	let location = Location {
		endpoint: "http://127.0.0.1:9000".into(),
		bucket: "tessera".into(),
		prefix: "eve".into(),
	};
	tokio::time::timeout(DEADLINE, training::register(&client, &eve, Role::Validator, &location))
		.await??;
	tokio::time::timeout(DEADLINE, training::bond(&client, &eve, 3_000 * UNIT)).await??;

	// The next window to open grants permits to both validators.
	let at = client.at_current_block().await?;
	let current =
		at.storage().fetch(runtime::storage().training().current_window(), ()).await?.decode()?;
	let w = tokio::time::timeout(DEADLINE, windows::next_window(&client, current)).await??.window;
	let at = client.at_current_block().await?;
	let permits = at
		.storage()
		.fetch(runtime::storage().training().window_validators(), (w,))
		.await?
		.decode()?;
	assert_eq!(permits.0, vec![id(&dave), id(&eve)], "highest stake first");

	// Window w + 1 opening starts w's scoring period: both submit at once.
	tokio::time::timeout(DEADLINE, windows::next_window(&client, w)).await??;
	let dave_view = training::submit_gauntlet_results(
		&client,
		&dave,
		w,
		vec![result(id(&alice), 80), result(id(&bob), 10)],
		vec![id(&alice), id(&bob)],
		H256::from([1; 32]),
	);
	let eve_view = training::submit_gauntlet_results(
		&client,
		&eve,
		w,
		vec![result(id(&alice), 20), result(id(&bob), 60)],
		vec![id(&alice)],
		H256::from([2; 32]),
	);
	let (d, e) =
		tokio::time::timeout(DEADLINE, async { tokio::join!(dave_view, eve_view) }).await?;
	d.outcome?;
	e.outcome?;

	tokio::time::timeout(DEADLINE, windows::wait_for_verdict(&client, w)).await??;
	let report = training::window_report(&client, w)
		.await?
		.ok_or_else(|| anyhow::anyhow!("no verdict for window {w}"))?;
	assert_eq!(report.window, w);
	assert_eq!(report.validators, 2);
	let mut want = vec![(id(&alice), 800_000_000u32), (id(&bob), 100_000_000u32)];
	want.sort();
	let got: Vec<(AccountId, u32)> = report.scores.iter().map(|(a, p)| (*a, p.0)).collect();
	assert_eq!(got, want, "Dave's 10 000 of 13 000 stake decides each median");
	assert_eq!(report.inclusion, vec![id(&alice), id(&bob)]);
	assert_eq!(report.theta_hash, H256::from([1; 32]));
	assert_eq!(report.aggregation_set[..2], [id(&alice), id(&bob)]);

	let history = training::peer_scores(&client, &id(&alice), 0, w).await?;
	assert_eq!(history.last(), Some(&(w, 800_000_000)));

	// docs/runtime-api.md's polkadot.js example, run as written against this verdict: the
	// runtime API through `api.call`, and the raw `state_call` giving the same bytes.
	let example = docs::js_blocks("docs/runtime-api.md")?
		.into_iter()
		.find(|b| b.contains("windowReport"))
		.ok_or_else(|| anyhow::anyhow!("docs/runtime-api.md has no polkadot.js example"))?;
	let window_line = format!("const window = {w};");
	let code = docs::substitute(
		&example,
		&[("ws://127.0.0.1:9944", node.rpc_url()), ("const window = 3;", &window_line)],
	)?;
	let out = docs::run_js(&code, DEADLINE).await?;
	let lines: Vec<&str> = out.lines().collect();
	let [storage, report, same] = lines[..] else {
		anyhow::bail!("the example printed {} lines, not 3:\n{out}", lines.len());
	};
	let storage: serde_json::Value = serde_json::from_str(storage)?;
	assert!(!storage["verdict"].is_null(), "the verdict in storage: {storage}");
	let report: serde_json::Value = serde_json::from_str(report)?;
	assert_eq!(report["window"], serde_json::json!(w.to_string()), "{report}");
	let alice_ss58 = alice.public_key().to_account_id().to_string();
	assert!(
		report["scores"].to_string().contains(&alice_ss58)
			&& report["scores"].to_string().contains("80.00%"),
		"Alice's 80 % in the runtime API's answer: {report}"
	);
	assert_eq!(same, "true", "state_call's raw answer equals api.call's");

	// Issue 24 item 1: the recipes for every runtime API method and view function, in
	// polkadot.js and in Python, run as written against this verdict.
	let find = |blocks: Vec<String>, what: &str| {
		blocks.into_iter().find(|b| b.contains("checkpoints")).ok_or_else(|| {
			anyhow::anyhow!("docs/runtime-api.md has no {what} recipe for every call")
		})
	};
	let js = find(docs::js_blocks("docs/runtime-api.md")?, "polkadot.js")?;
	let js = docs::substitute(
		&js,
		&[("ws://127.0.0.1:9944", node.rpc_url()), ("const window = 3;", &window_line)],
	)?;
	let py = find(docs::python_blocks("docs/runtime-api.md")?, "Python")?;
	let py = docs::substitute(
		&py,
		&[("ws://127.0.0.1:9944", node.rpc_url()), ("window = 3\n", &format!("window = {w}\n"))],
	)?;
	for (language, out) in [
		("polkadot.js", docs::run_js(&js, DEADLINE).await?),
		("Python", docs::run_python(&py, DEADLINE).await?),
	] {
		let line = out.lines().last().unwrap_or_default();
		let a: serde_json::Value = serde_json::from_str(line)
			.map_err(|e| anyhow::anyhow!("{language} printed no JSON ({e}):\n{out}"))?;
		let why = || format!("{language}: {a}");
		// The runtime API and the view functions give the same answers.
		for (api, view) in [
			("window_report", "verdict"),
			("peer_scores", "score_history"),
			("aggregation", "aggregation_set"),
			("earnings", "view_earnings"),
			("parameters", "view_parameters"),
		] {
			assert_eq!(a[api], a[view], "{api} and {view} differ: {}", why());
		}
		// And the chain's: two validators; Alice's 80 % in window w, last in her history.
		assert_eq!(a["window_report"]["validators"], 2, "{}", why());
		assert_eq!(a["window_report"]["window"], w, "{}", why());
		assert_eq!(
			a["peer_scores"].as_array().and_then(|s| s.last()),
			Some(&serde_json::json!([w, 800_000_000])),
			"{}",
			why()
		);
		let text = a.to_string();
		assert!(text.contains(&alice_ss58) && text.contains(&"01".repeat(32)), "{}", why());
		assert!(a["aggregation"][0].to_string().contains(&alice_ss58), "{}", why());
		// No run was started on this chain: the manifest is null, as the chain says.
		let on_chain = tessera_chain::run::manifest(&client).await?;
		assert_eq!(a["run_manifest"].is_null(), on_chain.is_none(), "{}", why());
		assert_eq!(a["checkpoints"], serde_json::json!([]), "{}", why());
		let in_force = &a["parameters"][0];
		let length = in_force.get("window_length").or_else(|| in_force.get("windowLength"));
		let (chain_params, _) = tessera_chain::parameters::current(&client).await?;
		assert_eq!(
			length.and_then(|l| l.as_u64()),
			Some(u64::from(chain_params.window_length)),
			"{}",
			why()
		);
	}
	Ok(())
}
