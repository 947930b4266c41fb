//! `offchain-trainer account`: make a key (`new`), show one (`inspect`), and act on chain with
//! it — `register` as a miner or validator, `stake` and `unstake`, `deregister`, `withdraw`
//! what has come free, `transfer` balance to another account — and `status`: what the chain says of an account (role, deposit, stake,
//! storage location, recent scores and earnings).

use crate::key::KeyArgs;
use anyhow::Context;
use std::path::PathBuf;
use tessera_chain::{self as chain, address, amount, training};
use tessera_trainer::account::{key, keystore, status};

/// Options of `offchain-trainer account`.
#[derive(Debug, clap::Args)]
pub(crate) struct AccountArgs {
	#[command(subcommand)]
	command: AccountCommand,
}

/// The node to talk to.
#[derive(Debug, clap::Args)]
struct Node {
	/// WebSocket URL of a tessera node.
	#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
}

#[derive(Debug, clap::Subcommand)]
enum AccountCommand {
	/// Make a new key (a BIP-39 mnemonic) and keep it in a key file or a keystore directory;
	/// with neither, print the mnemonic once (write it down: it is the account).
	New {
		/// Write the key to this new file (mode 600; never replaces one).
		#[arg(long, conflicts_with = "keystore")]
		key_file: Option<PathBuf>,
		/// Add the key to this keystore directory (the node's format, key type `tsra`).
		#[arg(long)]
		keystore: Option<PathBuf>,
		/// Words in the mnemonic: 12, 15, 18, 21 or 24.
		#[arg(long, default_value_t = 12)]
		words: usize,
		/// SS58 prefix to show the address with (42: the generic Substrate one, tessera's).
		#[arg(long, default_value_t = 42)]
		ss58_prefix: u16,
	},
	/// Show an account: its SS58 address and public key, from the key options or from an
	/// address (SS58 of any prefix, or hex). Reads no chain.
	Inspect {
		/// An address to show instead of the key's.
		account: Option<String>,
		#[command(flatten)]
		key: KeyArgs,
		/// SS58 prefix to show the address with.
		#[arg(long, default_value_t = 42)]
		ss58_prefix: u16,
		/// Print JSON.
		#[arg(long)]
		json: bool,
		/// Print the SS58 address alone (for scripts: `addr=$(… --address-only)`).
		#[arg(long, conflicts_with = "json")]
		address_only: bool,
	},
	/// Register the key's account as a miner or validator, publishing its storage location;
	/// holds the peer deposit.
	Register {
		/// `miner` or `validator`.
		#[arg(long)]
		role: RoleArg,
		/// Endpoint of the account's storage location (its S3 server).
		#[arg(long, default_value = "http://127.0.0.1:9000")]
		endpoint: String,
		/// Bucket of the storage location.
		#[arg(long, default_value = "tessera")]
		bucket: String,
		/// Key prefix in the bucket (default: the account's public key in hex, as the miner
		/// and validator use).
		#[arg(long)]
		prefix: Option<String>,
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// Bond stake (TSR, e.g. `1000` or `12.5`); validators need the chain's minimum for a
	/// permit (`parameters` shows it).
	Stake {
		/// Amount in TSR.
		amount: String,
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// Start unbonding stake (TSR): it stops counting at once and can be withdrawn after the
	/// unbonding period (`account withdraw`).
	Unstake {
		/// Amount in TSR.
		amount: String,
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// Ask to leave: the account stops taking part at once; its deposit (and stake) can be
	/// withdrawn after the cool-down, and with stake held after the unbonding period too
	/// (`account withdraw`; `account status` shows the block).
	Deregister {
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// Take back what has come free: unbonded stake whose period is over, and, once the
	/// cool-down after `deregister` is over, the deposit and all stake.
	Withdraw {
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// Send TSR from the key's account to another (SS58, hex or a dev key such as //Eve); the
	/// sender's account is kept above the existential deposit.
	Transfer {
		/// The receiving account.
		to: String,
		/// Amount in TSR.
		amount: String,
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
	},
	/// What the chain says of an account: balance, role, deposit, stake, storage location,
	/// permit, and its recent windows' scores and earnings.
	Status {
		/// The account (SS58, hex or a dev key such as //Bob); default: the key options'.
		account: Option<String>,
		#[command(flatten)]
		key: KeyArgs,
		#[command(flatten)]
		node: Node,
		/// Windows of history to show.
		#[arg(long, default_value_t = status::RECENT_WINDOWS)]
		windows: u64,
		/// Print JSON.
		#[arg(long)]
		json: bool,
	},
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum RoleArg {
	Miner,
	Validator,
}

pub(crate) async fn run(args: AccountArgs) -> anyhow::Result<()> {
	match args.command {
		AccountCommand::New { key_file, keystore, words, ss58_prefix } => {
			let phrase = key::generate(words)?;
			let (pair, _) = key::from_uri(&phrase, "the new key")?;
			let public = pair.public_key().0;
			println!("account     {}", address::encode(&public, ss58_prefix));
			println!("public key  0x{}", hex::encode(public));
			match (key_file, keystore) {
				(Some(path), _) => {
					key::write_key_file(&path, &phrase)?;
					println!(
						"key file    {} (mode 600; back it up: it is the account)",
						path.display()
					);
				},
				(None, Some(dir)) => {
					let path = keystore::insert(&dir, &phrase)?;
					println!("keystore    {} (back it up: it is the account)", path.display());
				},
				(None, None) => {
					println!("mnemonic    {phrase}");
					println!(
						"(shown once, kept nowhere: write it down, and give it to peers in a \
					          key file or TESSERA_SURI)"
					);
				},
			}
		},
		AccountCommand::Inspect { account, key, ss58_prefix, json, address_only } => {
			let (public, source) = match account {
				// An address given wins over key options (which may come from the
				// environment); it is never a secret: hex is a public key.
				Some(text) => (account_arg(&text)?, "address".to_string()),
				None => {
					let loaded = key.load()?;
					(loaded.account, loaded.source)
				},
			};
			let ss58 = address::encode(&public, ss58_prefix);
			if address_only {
				println!("{ss58}");
			} else if json {
				let out = serde_json::json!({
					"account": ss58,
					"public_key": format!("0x{}", hex::encode(public)),
					"ss58_prefix": ss58_prefix,
					"source": source,
				});
				println!("{}", serde_json::to_string_pretty(&out)?);
			} else {
				println!("account     {ss58}");
				println!("public key  0x{}", hex::encode(public));
				println!("from        {source}");
			}
		},
		AccountCommand::Register { role, endpoint, bucket, prefix, key, node } => {
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			let location = tessera_store::Location {
				endpoint,
				bucket,
				prefix: prefix.unwrap_or_else(|| hex::encode(key.account)),
			};
			let (role, name) = match role {
				RoleArg::Miner => (training::Role::Miner, "miner"),
				RoleArg::Validator => (training::Role::Validator, "validator"),
			};
			training::register(&client, &key.pair, role, &location).await.with_context(|| {
				format!("registering {} as a {name}", address::ss58(&key.account))
			})?;
			println!("{} registered as a {name}", address::ss58(&key.account));
			show_status(&client, key.account).await?;
		},
		AccountCommand::Stake { amount: text, key, node } => {
			let planck = positive(&text)?;
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			training::bond(&client, &key.pair, planck).await.context("bonding stake")?;
			println!("bonded {}", amount::short(planck));
			show_status(&client, key.account).await?;
		},
		AccountCommand::Unstake { amount: text, key, node } => {
			let planck = positive(&text)?;
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			training::unbond(&client, &key.pair, planck).await.context("unbonding stake")?;
			println!("unbonding {}", amount::short(planck));
			show_status(&client, key.account).await?;
		},
		AccountCommand::Deregister { key, node } => {
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			training::deregister(&client, &key.pair).await.context("deregistering")?;
			println!("{} is leaving", address::ss58(&key.account));
			show_status(&client, key.account).await?;
		},
		AccountCommand::Withdraw { key, node } => {
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			withdraw(&client, &key).await?;
			show_status(&client, key.account).await?;
		},
		AccountCommand::Transfer { to, amount: text, key, node } => {
			let to = account_arg(&to)?;
			let planck = positive(&text)?;
			let key = key.load()?;
			let client = chain::connect(&node.url).await?;
			chain::account::transfer(&client, &key.pair, &to, planck).await.with_context(|| {
				format!("sending {} to {}", amount::short(planck), address::ss58(&to))
			})?;
			let number = chain::network::newest_finalized(&client).await?;
			let standing = chain::account::standing(&client, number, &to).await?;
			println!(
				"sent {} to {} (its free balance now {})",
				amount::short(planck),
				address::ss58(&to),
				amount::short(standing.free)
			);
		},
		AccountCommand::Status { account, key, node, windows, json } => {
			let who = match account {
				Some(text) => account_arg(&text)?,
				None if key.sources().any() => key.load()?.account,
				None => anyhow::bail!("whose status? give an account, or key options"),
			};
			let client = chain::connect(&node.url).await?;
			let number = chain::network::newest_finalized(&client).await?;
			let s = status::read(&client, number, who, windows.max(1)).await?;
			if json {
				println!("{}", serde_json::to_string_pretty(&s)?);
			} else {
				print!("{}", status::table(&s));
			}
		},
	}
	Ok(())
}

/// An account given on the command line: SS58, 32 bytes of hex (a public key) or a dev key
/// (`//Bob`). A secret phrase given by mistake is refused without being echoed.
fn account_arg(text: &str) -> anyhow::Result<[u8; 32]> {
	address::parse(text).map_err(|_| {
		anyhow::anyhow!(
			"{} is not an account: give an SS58 address, a public key in hex or a dev key (//Bob)",
			key::shown_safely(text)
		)
	})
}

fn positive(text: &str) -> anyhow::Result<u128> {
	let planck = amount::parse(text)?;
	anyhow::ensure!(planck > 0, "the amount must be more than 0");
	Ok(planck)
}

async fn show_status(client: &chain::Client, who: [u8; 32]) -> anyhow::Result<()> {
	let number = chain::network::newest_finalized(client).await?;
	let s = status::read(client, number, who, 1).await?;
	print!("\n{}", status::table(&s));
	Ok(())
}

/// Withdraws whatever has come free; an error says when the rest will.
async fn withdraw(client: &chain::Client, key: &key::LoadedKey) -> anyhow::Result<()> {
	let number = chain::network::newest_finalized(client).await?;
	let standing = chain::account::standing(client, number, &key.account).await?;
	let mut done = false;
	let mut waiting = Vec::new();
	if let Some(u) = standing.unbonding {
		if number >= u.unlock_at {
			training::withdraw_unbonded(client, &key.pair).await.context("withdrawing stake")?;
			println!("withdrew {} of unbonded stake", amount::short(u.amount));
			done = true;
		} else {
			waiting.push(format!("unbonding stake from block {}", u.unlock_at));
		}
	}
	// Releasing the unbonded stake can bring the deposit's time forward: read again.
	let (number, standing) = if done {
		let number = chain::network::newest_finalized(client).await?;
		(number, chain::account::standing(client, number, &key.account).await?)
	} else {
		(number, standing)
	};
	if let Some(from) = standing.registration.as_ref().and_then(|r| r.withdraw_from) {
		if number >= from {
			training::withdraw_deposit(client, &key.pair)
				.await
				.context("withdrawing the deposit")?;
			println!("withdrew the deposit and stake; the account is no longer a peer");
			done = true;
		} else {
			waiting.push(format!("the deposit from block {from}"));
		}
	}
	if !done {
		anyhow::ensure!(
			!waiting.is_empty(),
			"nothing to withdraw: no stake is unbonding and the account is not leaving \
			 (account unstake, account deregister)"
		);
		anyhow::bail!("nothing has come free yet (block {number}): {}", waiting.join("; "));
	}
	Ok(())
}
