//! Reading the training history through subxt: the verdict of a window and a peer's scores
//! through the `TrainingApi` runtime API, and every validator's submission for the window from
//! storage. The example `docs/runtime-api.md` quotes; the end-to-end tests run it.
//!
//! ```sh
//! cargo run -p offchain-trainer --example history -- ws://127.0.0.1:9944 3
//! ```

use tessera_chain::{self as chain, runtime};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	let mut args = std::env::args().skip(1);
	let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9944".into());
	let window: u64 = args.next().map(|w| w.parse()).transpose()?.unwrap_or(1);

	let client = chain::connect(&url).await?;
	let at = client.at_current_block().await?;
	// The verdict of `window`.
	let report = at
		.runtime_apis()
		.call(runtime::runtime_apis().training_api().window_report(window))
		.await?;
	match &report {
		Some(r) => println!(
			"window {window}: {} validator(s), {} scored, {} applied, θ {:?}",
			r.validators,
			r.scores.len(),
			r.inclusion.len(),
			r.theta_hash
		),
		None => println!("window {window}: no verdict yet"),
	}
	// Alice's scores over windows 1..=window.
	let alice = subxt_signer::sr25519::dev::alice().public_key().into();
	let scores = at
		.runtime_apis()
		.call(runtime::runtime_apis().training_api().peer_scores(alice, 1, window))
		.await?;
	for (w, score) in scores {
		println!("alice window {w}: score {:.4}", f64::from(score.0) / 1e9);
	}
	// Every validator's submission for `window`, flags included.
	let mut submissions =
		at.storage().iter(runtime::storage().training().submissions(), (window,)).await?;
	while let Some(entry) = submissions.next().await {
		let submission = entry?.value().decode()?;
		for r in submission.results.0 {
			println!(
				"validator result: peer {} score {:.4} flags {:#04x}",
				tessera_chain::address::ss58(&r.peer.0),
				f64::from(r.final_score.0) / 1e9,
				r.flags.0
			);
		}
	}
	Ok(())
}
