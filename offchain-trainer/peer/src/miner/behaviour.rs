//! How a miner behaves. Honest by default; the other behaviours are the adversaries of
//! DESIGN.md §9 that the Gauntlet must catch, built into the real miner so the end-to-end tests
//! (and `devnet --adversaries`) run them as real processes against a real chain and store.
//! Each is a deliberate protocol violation; none is reachable without `--behaviour`.

use rand::{Rng, SeedableRng, seq::index::sample};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::str::FromStr;
use tessera_codec::{
	ChunkGeometry, CodecError, CompressedTensor, Expected, Header, IndexCoding, Payload, Rules,
	Values, decode, encode,
};

/// What the miner does each window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
	/// Train, commit, upload in the reveal period.
	#[default]
	Honest,
	/// Upload a payload whose values are NaN.
	Nan,
	/// Upload a well-formed payload of random values (no training).
	Noise,
	/// Re-serve `victim`'s payload of the previous window byte for byte.
	CopyExact {
		/// Whose payload is copied.
		victim: [u8; 32],
	},
	/// Re-serve `victim`'s payload of the previous window under its own header, values
	/// perturbed by 1 %.
	CopyPerturbed {
		/// Whose payload is copied.
		victim: [u8; 32],
	},
	/// Upload a well-formed payload one block after the reveal period.
	Late,
	/// Upload a well-formed payload right after committing (before the window closes).
	Early,
	/// Commit a hash and never upload.
	NoUpload,
	/// Upload a payload whose hash is not the committed one.
	WrongHash,
	/// Train honestly, but once θ includes window `at − 1`, flip a value of θ in memory and a
	/// byte of every local checkpoint file (a fault, not an attack): the miner must notice before
	/// training on it, sit out, and recover from the network's checkpoint.
	CorruptTheta {
		/// The first window trained on the corrupted θ, were nothing noticed.
		at: u64,
	},
}

impl Behaviour {
	/// Whether the miner runs the inner loop. The adversaries fabricate their payloads: what
	/// the Gauntlet must catch in them is their timing or their content, not their training,
	/// and on a small test machine a dozen trainers would only slow everyone down.
	pub fn trains(&self) -> bool {
		matches!(self, Behaviour::Honest | Behaviour::CorruptTheta { .. })
	}

	/// The name used on the command line.
	pub fn name(&self) -> &'static str {
		match self {
			Behaviour::Honest => "honest",
			Behaviour::Nan => "nan",
			Behaviour::Noise => "noise",
			Behaviour::CopyExact { .. } => "copy-exact",
			Behaviour::CopyPerturbed { .. } => "copy-perturbed",
			Behaviour::Late => "late",
			Behaviour::Early => "early",
			Behaviour::NoUpload => "no-upload",
			Behaviour::WrongHash => "wrong-hash",
			Behaviour::CorruptTheta { .. } => "corrupt-theta",
		}
	}
}

/// Why a `--behaviour` value is refused.
#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
	/// Unknown name.
	#[error(
		"unknown behaviour {0:?}: expected honest, nan, noise, copy-exact:<victim>, \
		 copy-perturbed:<victim> (an SS58 address or hex), late, early, no-upload, wrong-hash or \
		 corrupt-theta:<window>"
	)]
	Unknown(String),
	/// The victim is not an account.
	#[error("behaviour {0:?}: the victim must be an account (SS58 address, or 32 bytes of hex)")]
	Victim(String),
}

impl FromStr for Behaviour {
	type Err = BehaviourError;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		let victim = |v: &str| -> Result<[u8; 32], BehaviourError> {
			tessera_chain::address::parse(v).map_err(|_| BehaviourError::Victim(s.into()))
		};
		Ok(match s.split_once(':') {
			None => match s {
				"honest" => Behaviour::Honest,
				"nan" => Behaviour::Nan,
				"noise" => Behaviour::Noise,
				"late" => Behaviour::Late,
				"early" => Behaviour::Early,
				"no-upload" => Behaviour::NoUpload,
				"wrong-hash" => Behaviour::WrongHash,
				_ => return Err(BehaviourError::Unknown(s.into())),
			},
			Some(("copy-exact", v)) => Behaviour::CopyExact { victim: victim(v)? },
			Some(("copy-perturbed", v)) => Behaviour::CopyPerturbed { victim: victim(v)? },
			Some(("corrupt-theta", w)) => Behaviour::CorruptTheta {
				at: w.parse().map_err(|_| BehaviourError::Unknown(s.into()))?,
			},
			Some(_) => return Err(BehaviourError::Unknown(s.into())),
		})
	}
}

/// Flips a byte near the end (in θ's data) of every file in `dir`, as a failing disk would:
/// the checkpoints there no longer verify. Errors are logged; the fault is best-effort.
pub fn corrupt_files(dir: &std::path::Path) {
	let Ok(entries) = std::fs::read_dir(dir) else { return };
	for path in entries.filter_map(Result::ok).map(|e| e.path()) {
		let flipped = std::fs::read(&path).and_then(|mut bytes| {
			if let Some(b) = bytes.len().checked_sub(5).and_then(|i| bytes.get_mut(i)) {
				*b ^= 0x55;
			}
			std::fs::write(&path, bytes)
		});
		if let Err(e) = flipped {
			tracing::warn!(path = %path.display(), error = %e, "cannot corrupt the file");
		}
	}
}

/// A well-formed payload for `shapes` under the network's `rules` (its k per chunk at random
/// positions; quantised with a table of four values drawn by `value`, or raw values drawn by
/// `value`), seeded by the header so reruns are reproducible.
fn fabricate(
	shapes: &[Vec<usize>],
	header: &Header,
	rules: &Rules,
	mut value: impl FnMut(&mut ChaCha8Rng) -> f32,
) -> Result<Vec<u8>, CodecError> {
	let mut seed = [0u8; 32];
	seed[..8].copy_from_slice(&header.window.to_le_bytes());
	seed[8..].copy_from_slice(&header.miner[..24]);
	let mut rng = ChaCha8Rng::from_seed(seed);
	let mut tensors = Vec::with_capacity(shapes.len());
	for shape in shapes {
		let geometry = ChunkGeometry::for_shape(shape)?;
		let kk = rules.k_for(&geometry).max(1);
		let mut indices = Vec::with_capacity(geometry.num_chunks() * kk);
		for _ in 0..geometry.num_chunks() {
			let mut chosen: Vec<u16> =
				sample(&mut rng, geometry.chunk_len(), kk).into_iter().map(|i| i as u16).collect();
			chosen.sort_unstable();
			indices.extend(chosen);
		}
		let values = if rules.quantised {
			let mut table = [0f32; 4];
			for v in table.iter_mut() {
				*v = value(&mut rng);
			}
			table.sort_by(f32::total_cmp);
			let codes = (0..indices.len()).map(|_| rng.random_range(0..4u8)).collect();
			Values::Quantised { codes, table }
		} else {
			Values::Raw((0..indices.len()).map(|_| value(&mut rng)).collect())
		};
		tensors.push(CompressedTensor { geometry, k: kk, indices, values });
	}
	Ok(encode(header, &tensors, IndexCoding::Rice))
}

/// Random values of standard deviation `scale` at random positions.
pub fn noise_payload(
	shapes: &[Vec<usize>],
	header: &Header,
	rules: &Rules,
	scale: f32,
) -> Result<Vec<u8>, CodecError> {
	let normal = Normal::new(0.0f32, scale.abs().max(f32::MIN_POSITIVE))
		.map_err(|_| CodecError::BadShape("noise scale"))?;
	fabricate(shapes, header, rules, |rng| normal.sample(rng))
}

/// A payload whose values are all NaN.
pub fn nan_payload(
	shapes: &[Vec<usize>],
	header: &Header,
	rules: &Rules,
) -> Result<Vec<u8>, CodecError> {
	fabricate(shapes, header, rules, |_| f32::NAN)
}

/// `victim`'s payload for window `header.window − 1` (`bytes`), re-issued under `header` with
/// every value scaled by 1.01.
pub fn perturbed_copy(
	bytes: &[u8],
	victim: &[u8; 32],
	shapes: &[Vec<usize>],
	header: &Header,
	rules: Rules,
) -> Result<Vec<u8>, CodecError> {
	let window = header.window.saturating_sub(1);
	let Payload { tensors, .. } =
		decode(bytes, &Expected { window, miner: victim, shapes, rules })?;
	let tensors: Vec<CompressedTensor> = tensors
		.into_iter()
		.map(|mut t| {
			t.values = match t.values {
				Values::Quantised { codes, table } => {
					Values::Quantised { codes, table: table.map(|v| v * 1.01) }
				},
				Values::Raw(v) => Values::Raw(v.into_iter().map(|v| v * 1.01).collect()),
			};
			t
		})
		.collect();
	Ok(encode(header, &tensors, IndexCoding::Rice))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn shapes() -> Vec<Vec<usize>> {
		vec![vec![64, 64], vec![64]]
	}

	fn header(window: u64, miner: u8) -> Header {
		Header { window, miner: [miner; 32], theta_hash: [0; 32], data_digest: [0; 32] }
	}

	const RAW: Rules = Rules { k: 16, quantised: false, max_value: 10.0 };

	fn expected<'a>(window: u64, miner: &'a [u8; 32], shapes: &'a [Vec<usize>]) -> Expected<'a> {
		Expected { window, miner, shapes, rules: RAW }
	}

	#[test]
	fn behaviours_parse_from_their_names() {
		assert_eq!("nan".parse::<Behaviour>().unwrap(), Behaviour::Nan);
		let v = hex::encode([3u8; 32]);
		assert_eq!(
			format!("copy-perturbed:0x{v}").parse::<Behaviour>().unwrap(),
			Behaviour::CopyPerturbed { victim: [3; 32] }
		);
		let ss58 = tessera_chain::address::encode(&[3; 32], 42);
		assert_eq!(
			format!("copy-exact:{ss58}").parse::<Behaviour>().unwrap(),
			Behaviour::CopyExact { victim: [3; 32] }
		);
		assert!(matches!("copy-exact:12".parse::<Behaviour>(), Err(BehaviourError::Victim(_))));
		assert!(matches!("sneaky".parse::<Behaviour>(), Err(BehaviourError::Unknown(_))));
		assert!(Behaviour::Honest.trains() && !Behaviour::Late.trains());
		let corrupt = "corrupt-theta:5".parse::<Behaviour>().unwrap();
		assert_eq!(corrupt, Behaviour::CorruptTheta { at: 5 });
		assert!(corrupt.trains());
		assert!(matches!("corrupt-theta:x".parse::<Behaviour>(), Err(BehaviourError::Unknown(_))));
	}

	#[test]
	fn noise_decodes_and_nan_is_refused_by_the_decoder() {
		let s = shapes();
		let noise = noise_payload(&s, &header(2, 1), &RAW, 0.05).unwrap();
		let p = decode(&noise, &expected(2, &[1; 32], &s)).unwrap();
		assert_eq!(p.tensors[0].indices.len(), 16);
		let nan = nan_payload(&s, &header(2, 1), &RAW).unwrap();
		assert!(matches!(
			decode(&nan, &expected(2, &[1; 32], &s)),
			Err(CodecError::NonFiniteValue { .. })
		));
	}

	#[test]
	fn a_perturbed_copy_keeps_the_positions_under_a_new_header() {
		let s = shapes();
		let original = noise_payload(&s, &header(4, 9), &RAW, 0.05).unwrap();
		let copy = perturbed_copy(&original, &[9; 32], &s, &header(5, 2), RAW).unwrap();
		let a = decode(&original, &expected(4, &[9; 32], &s)).unwrap();
		let b = decode(&copy, &expected(5, &[2; 32], &s)).unwrap();
		assert_eq!(a.tensors[0].indices, b.tensors[0].indices);
		assert_ne!(a.tensors[0].values, b.tensors[0].values);
	}

	#[test]
	fn fabricated_payloads_follow_a_quantised_network() {
		let s = shapes();
		let rules = Rules { k: 16, quantised: true, max_value: 10.0 };
		let noise = noise_payload(&s, &header(2, 1), &rules, 0.05).unwrap();
		let e = Expected { window: 2, miner: &[1; 32], shapes: &s, rules };
		assert!(matches!(decode(&noise, &e).unwrap().tensors[0].values, Values::Quantised { .. }));
		let nan = nan_payload(&s, &header(2, 1), &rules).unwrap();
		assert!(matches!(decode(&nan, &e), Err(CodecError::NonFiniteValue { .. })));
	}
}
