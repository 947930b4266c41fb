//! The run's identity on chain (`Training::Run`, DESIGN.md §2): reading it, and starting a run
//! through `Sudo` (the chain's root key). Fixed-point `_e9` fields convert to the trainer's
//! floats here, once, so every peer uses the same values.

use crate::{ChainError, Client, runtime, tx};
use subxt_signer::sr25519::Keypair;

pub use runtime::runtime_types::pallet_training::run::{
	CodecManifest, HistoryManifest, InnerManifest, ModelManifest, OuterManifest, RunManifest,
};

/// A float as the manifest stores it: units of 10⁻⁹, rounded (negative and non-finite values
/// become 0, which the pallet refuses where a positive value is needed).
pub fn to_e9(x: f64) -> u64 {
	if x.is_finite() && x > 0.0 { (x * 1e9).round() as u64 } else { 0 }
}

/// A manifest's fixed-point value as the trainer's f64.
pub fn from_e9_f64(n: u64) -> f64 {
	n as f64 / 1e9
}

/// A manifest's fixed-point value as the trainer's f32.
pub fn from_e9(n: u64) -> f32 {
	from_e9_f64(n) as f32
}

/// The model part of a manifest, field by field: `(name, value as stored, value shown)`. A
/// peer's check compares the stored values (fixed point, not as printed); the audit shows them.
pub fn model_fields(m: &ModelManifest) -> [(&'static str, u64, String); 11] {
	let int = |v: u64| (v, v.to_string());
	let e9 = |v: u64| (v, from_e9(v).to_string());
	let flag = |v: bool| (u64::from(v), v.to_string());
	let named = |name, (stored, shown): (u64, String)| (name, stored, shown);
	[
		named("model vocab_size", int(m.vocab_size.into())),
		named("model d_model", int(m.d_model.into())),
		named("model n_layers", int(m.n_layers.into())),
		named("model n_heads", int(m.n_heads.into())),
		named("model d_ff", int(m.d_ff.into())),
		named("model seq_len", int(m.seq_len.into())),
		named("model rope_theta", e9(m.rope_theta_e9)),
		named("model norm_eps", e9(m.norm_eps_e9)),
		named("model init_std", e9(m.init_std_e9)),
		named("model init_seed", int(m.init_seed)),
		named("model tie_embeddings", flag(m.tie_embeddings)),
	]
}

/// The run's manifest, if one was started.
pub async fn manifest(client: &Client) -> Result<Option<RunManifest>, ChainError> {
	let at = client.at_current_block().await.map_err(ChainError::query)?;
	manifest_at_block(at).await
}

/// The run's manifest at block `number`.
pub async fn manifest_at(client: &Client, number: u64) -> Result<Option<RunManifest>, ChainError> {
	manifest_at_block(client.at_block(number).await.map_err(ChainError::query)?).await
}

/// The fields of `m` as `(name, value)` in the trainer's units (floats, hex digests).
pub fn fields(m: &RunManifest) -> Vec<(&'static str, String)> {
	let e9 = |n: u64| from_e9(n).to_string();
	let model = model_fields(&m.model).into_iter().map(|(name, _, shown)| (name, shown));
	model
		.chain([
			("tokenizer digest", hex::encode(m.tokenizer.0)),
			("dataset digest", hex::encode(m.dataset.0)),
			("inner steps", m.inner.steps.to_string()),
			("inner batch size", m.inner.batch_size.to_string()),
			("inner peak lr", e9(m.inner.peak_lr_e9)),
			("inner warmup steps", m.inner.warmup_steps.to_string()),
			("inner decay steps", m.inner.decay_steps.to_string()),
			("inner min lr ratio", e9(m.inner.min_ratio_e9)),
			("adamw beta1", e9(m.inner.beta1_e9)),
			("adamw beta2", e9(m.inner.beta2_e9)),
			("adamw eps", e9(m.inner.eps_e9)),
			("adamw weight decay", e9(m.inner.weight_decay_e9)),
			("adamw max grad norm", e9(m.inner.max_grad_norm_e9)),
			("outer lr", e9(m.outer.lr_e9)),
			("max update value", e9(m.outer.max_update_value_e9)),
			("min updates", m.outer.min_updates.to_string()),
			("payload format version", m.codec.version.to_string()),
			("top k", m.codec.top_k.to_string()),
			("values", if m.codec.quantised { "2-bit quantised" } else { "raw f32" }.to_string()),
			("retain windows", m.history.retain_windows.to_string()),
			("checkpoint interval", m.history.checkpoint_interval.to_string()),
			("checkpoints kept", m.history.checkpoints_kept.to_string()),
		])
		.collect()
}

async fn manifest_at_block(
	at: subxt::OnlineClientAtBlock<crate::TesseraConfig>,
) -> Result<Option<RunManifest>, ChainError> {
	let run = at
		.storage()
		.try_fetch(runtime::storage().training().run(), ())
		.await
		.map_err(ChainError::query)?;
	run.map(|r| r.decode().map_err(ChainError::query)).transpose()
}

/// Starts the run with `manifest`, signed by the chain's sudo key `root`. The inner call's
/// failure (a run already started, an unusable manifest) comes back as
/// [`tx::TxError::Rejected`] like any other.
pub async fn start(
	client: &Client,
	root: &Keypair,
	manifest: RunManifest,
) -> Result<(), tx::TxError> {
	use runtime::runtime_types::{pallet_training, tessera_runtime::RuntimeCall};
	let inner = RuntimeCall::Training(pallet_training::pallet::Call::start_run { manifest });
	sudo(client, root, inner).await.map(|_| ())
}

/// Runs `inner` through the chain's sudo key `root` and returns the events of the including
/// block; the inner call's failure comes back as [`tx::TxError::Rejected`] like any other.
pub(crate) async fn sudo(
	client: &Client,
	root: &Keypair,
	inner: runtime::runtime_types::tessera_runtime::RuntimeCall,
) -> Result<subxt::extrinsics::ExtrinsicEvents<crate::TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().sudo().sudo(inner);
	let events = tx::submit_and_finalize(client, &call, root).await?;
	match events.find_first::<runtime::sudo::events::Sudid>() {
		Some(Ok(sudid)) => match sudid.sudo_result {
			Ok(()) => Ok(events),
			Err(e) => Err(named(client, e).await),
		},
		Some(Err(e)) => Err(tx::TxError::Submission(e.to_string())),
		None => Err(tx::TxError::Dispatch("sudo reported no outcome for the call".into())),
	}
}

/// A dispatch error of the call sudo ran, named from the metadata when it is a pallet's.
async fn named(
	client: &Client,
	e: runtime::runtime_types::sp_runtime::DispatchError,
) -> tx::TxError {
	use runtime::runtime_types::sp_runtime::DispatchError::Module;
	if let Module(m) = &e
		&& let Ok(at) = client.at_current_block().await
		&& let Some(pallet) = at.metadata_ref().pallet_by_error_index(m.index)
		&& let Some(variant) = pallet.error_variant_by_index(m.error[0])
	{
		return tx::TxError::Rejected {
			pallet: pallet.name().to_string(),
			error: variant.name.clone(),
		};
	}
	tx::TxError::Dispatch(format!("{e:?}"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fixed_point_round_trips_the_values_runs_use() {
		for x in [0.7f32, 1e-5, 0.02, 10_000.0, 3e-3, 1.0] {
			assert_eq!(from_e9(to_e9(f64::from(x))), x, "{x}");
		}
		assert_eq!(to_e9(-1.0), 0);
		assert_eq!(to_e9(f64::NAN), 0);
	}
}
