//! End to end against a real `tessera-node --dev`: window 1 opens at block 10 with its event;
//! in a freshly opened window Alice commits a gradient hash through subxt, the commitment is in
//! storage and in the event, and Bob's commit of the same hash (a front-runner copying it from
//! the pool) is recorded beside Alice's without touching hers: nobody owns a hash. And a
//! transaction that is never included does not hold its sender past the finalization deadline.

use std::time::Duration;
use subxt::utils::H256;
use subxt_signer::sr25519::dev;
use tessera_chain::windows;
use tessera_chain::{self as chain, runtime, training};
use tessera_e2e::{NodeOptions, TestNode};

const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread")]
async fn commit_gradient_through_subxt_and_the_same_hash_from_another_account() -> anyhow::Result<()>
{
	// 600 ms blocks: a 6 s window leaves room for two finalized transactions even on a busy
	// 2-core machine (each takes one or two blocks).
	let node = TestNode::start(NodeOptions { block_time_ms: 600, ..Default::default() })?;
	let client = chain::connect(node.rpc_url()).await?;

	let first = tokio::time::timeout(DEADLINE, windows::wait_for_window(&client, 1)).await??;
	assert_eq!(first.window, 1);
	assert_eq!(first.start_block, 10, "window 1 opens at block WindowLength = 10");

	let opened =
		tokio::time::timeout(DEADLINE, windows::next_window(&client, first.window)).await??;
	let w = opened.window;
	assert!(w >= 2);
	assert_eq!(u64::from(opened.start_block), w * 10);

	let hash = H256::from([0xab; 32]);
	let alice = dev::alice();
	let alice_id: chain::AccountId = alice.public_key().into();
	let sent = std::time::Instant::now();
	let followed = tokio::time::timeout(
		DEADLINE,
		training::commit_gradient(&client, &alice, w, hash, 123_456),
	)
	.await?;
	let finalized = std::time::Instant::now();
	// The miner plans its deadline with the way into the pool, which the node reports before
	// the block that includes it.
	let pooled = followed.pooled_at.ok_or_else(|| anyhow::anyhow!("never reported in the pool"))?;
	let included = followed.included_at.ok_or_else(|| anyhow::anyhow!("never in a block"))?;
	assert!(sent < pooled && pooled < included && included <= finalized, "{followed:?}");
	assert_eq!(followed.taken_at(), Some(pooled));
	let events = followed.outcome?;
	let committed = events
		.find_first::<runtime::training::events::GradientCommitted>()
		.ok_or_else(|| anyhow::anyhow!("no GradientCommitted event"))??;
	assert_eq!(committed.window, w);
	assert_eq!(committed.who, alice_id);
	assert_eq!(committed.payload_hash, hash);
	assert_eq!(committed.payload_len, 123_456);

	let stored = training::commitment(&client, w, &alice_id)
		.await?
		.ok_or_else(|| anyhow::anyhow!("commitment not in storage"))?;
	assert_eq!(stored.payload_hash, hash);
	assert_eq!(stored.payload_len, 123_456);

	let bob = dev::bob();
	let bob_id: chain::AccountId = bob.public_key().into();
	tokio::time::timeout(DEADLINE, training::commit_gradient(&client, &bob, w, hash, 123_456))
		.await?
		.outcome?;
	let bobs = training::commitment(&client, w, &bob_id)
		.await?
		.ok_or_else(|| anyhow::anyhow!("Bob's commitment not in storage"))?;
	assert_eq!(bobs.payload_hash, hash);
	let alices = training::commitment(&client, w, &alice_id).await?;
	assert_eq!(alices.map(|c| c.payload_hash), Some(hash), "Alice's commitment stands");
	Ok(())
}

/// Issue 17 item 14: following a transaction to finalization is bounded. A transaction with a
/// nonce far in the future waits in the pool forever; the wait ends with `TimedOut` at the
/// deadline instead of holding the caller.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_finalization_is_bounded() -> anyhow::Result<()> {
	let node = TestNode::start(NodeOptions { block_time_ms: 600, ..Default::default() })?;
	let client = chain::connect(node.rpc_url()).await?;
	let never = subxt::config::DefaultExtrinsicParamsBuilder::<chain::TesseraConfig>::new()
		.nonce(1_000)
		.build();
	let call = runtime::transactions().system().remark(b"never included".to_vec());
	let limit = Duration::from_secs(3);
	let started = std::time::Instant::now();
	let followed = tokio::time::timeout(
		DEADLINE,
		chain::tx::submit_and_follow_with(&client, &call, &dev::eve(), never, limit),
	)
	.await?;
	let outcome = &followed.outcome;
	assert!(matches!(outcome, Err(chain::tx::TxError::TimedOut(d)) if *d == limit), "{outcome:?}");
	// The node took it into its pool (for a nonce still to come) and said so: the time it
	// took is known even though no block ever came.
	let pooled = followed.pooled_at.ok_or_else(|| anyhow::anyhow!("never reported pooled"))?;
	assert!(pooled.duration_since(started) < limit, "{:?}", pooled.duration_since(started));
	assert_eq!(followed.included_at, None);
	assert!(started.elapsed() < limit + Duration::from_secs(10), "{:?}", started.elapsed());
	Ok(())
}
