//! # tessera-codec
//!
//! Everything between "a miner's pseudo-gradient" and "θ of the next window" (DESIGN.md §4 and
//! §2 step 6), on plain `&[f32]` buffers with no ML framework, chain or network:
//!
//! - [`geometry`]: chunking a tensor into ≤ 64 × 64 blocks;
//! - [`topk`]: deterministic top-k by magnitude inside a chunk;
//! - [`quant`]: the 2-bit quantiser and its 4-entry table;
//! - [`compress`]: error feedback + compression of one tensor;
//! - [`format`]: payload format v1 (`docs/payload-format.md`), encoder and strict decoder;
//! - [`rules`]: the network's `k`, value coding and largest value, and the size cap they imply;
//! - [`aggregate`]: median-norm clipping, scatter-mean and the outer SGD step, bit-identical on
//!   every peer;
//! - [`hash`]: BLAKE2b-256 of payloads and parameters;
//! - `cuda` (feature `cuda`): compression and the outer step on an NVIDIA GPU, our own kernels
//!   compiled with NVRTC at run time.

pub mod aggregate;
pub mod bits;
pub mod compress;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod error;
pub mod format;
pub mod geometry;
pub mod hash;
pub mod quant;
pub mod rules;
pub mod topk;

pub use aggregate::{OuterStep, apply_outer_step};
pub use compress::{
	CompressConfig, CompressedTensor, Scratch, Values, compress_tensor, compress_tensor_threaded,
};
pub use error::CodecError;
pub use format::{Expected, Header, IndexCoding, Payload, decode, encode};
pub use geometry::ChunkGeometry;
pub use rules::Rules;
