//! Issue 17 item 6: the rows a validator evaluates an update on at random are drawn with the
//! *next* window's seed, which does not exist while the miner trains; under the old rule (the
//! window's own seed) a miner could compute them and train on them.

mod common;

use common::{replica, seeded_corpus};
use tessera_data::{SliceSpec, TokenShard, assigned_slice, random_slice};
use tessera_model::ModelConfig;
use tessera_peer::gauntlet::evaluate::{EvalInput, evaluation_rows};

#[test]
fn the_random_rows_are_not_known_while_training() -> anyhow::Result<()> {
	let config = ModelConfig::load("tiny")?;
	let dir = tempfile::tempdir()?;
	seeded_corpus(dir.path(), config.vocab_size, 200_000)?;
	let shard = TokenShard::open(dir.path())?;
	let replica = replica(&config)?;
	let (window_seed, next_seed, miner) = ([3u8; 32], [4u8; 32], [7u8; 32]);
	let theta = replica.theta().to_vec();
	let input = EvalInput {
		model: replica.model(),
		theta: &theta,
		shard: &shard,
		seed: &window_seed,
		random_seed: &next_seed,
		sequences: 8,
		batch: 4,
		lr: 0.7,
	};
	let (assigned, random) = evaluation_rows(&input, &miner)?;

	// What a miner knows while it trains window w: w's seed, its account, the dataset.
	let dataset = shard.manifest().dataset_digest_bytes()?;
	let spec = SliceSpec { sequences: 8, seq_len: config.seq_len };
	let train = shard.train_tokens();
	let knowable = random_slice(&window_seed, &miner, &dataset, train, spec)?.rows(&shard)?;
	assert_ne!(random, knowable, "the random rows follow from what the miner knew");
	assert_eq!(random, random_slice(&next_seed, &miner, &dataset, train, spec)?.rows(&shard)?);
	// The assigned rows are the window's (the miner trained on them, by design).
	assert_eq!(
		assigned,
		assigned_slice(&window_seed, &miner, &dataset, train, spec)?.rows(&shard)?
	);
	Ok(())
}
