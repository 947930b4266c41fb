//! The codec's errors. Decoding never panics: every malformed input maps to one variant here.

/// Errors of compression, decoding and aggregation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
	/// A tensor shape the codec cannot chunk.
	#[error("bad tensor shape: {0}")]
	BadShape(&'static str),
	/// A configuration value out of range (`k = 0`, `β` outside `[0, 1]`, …).
	#[error("bad codec configuration: {0}")]
	BadConfig(&'static str),
	/// A buffer's length does not match its tensor.
	#[error("tensor {tensor}: {what} has {got} values, expected {expected}")]
	LengthMismatch {
		/// Tensor position in the model.
		tensor: usize,
		/// Which buffer.
		what: &'static str,
		/// Its length.
		got: usize,
		/// The tensor's length.
		expected: usize,
	},
	/// The update to compress holds NaN or ±∞; nothing was changed.
	#[error("tensor {tensor}: non-finite value in the update")]
	NonFiniteInput {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// The error-feedback accumulation overflowed to ±∞; the tensor's buffer was reset.
	#[error("tensor {tensor}: error feedback overflowed; its buffer was reset")]
	ErrorFeedbackOverflow {
		/// Tensor position in the model.
		tensor: usize,
	},

	/// The payload ends before a field it needs.
	#[error("payload truncated at byte {at} (needs {needed} more)")]
	Truncated {
		/// Offset where the missing field starts.
		at: usize,
		/// Bytes missing.
		needed: usize,
	},
	/// The payload is larger than the cap.
	#[error("payload of {len} bytes exceeds the cap of {cap}")]
	Oversized {
		/// Payload length.
		len: usize,
		/// The cap.
		cap: usize,
	},
	/// Not a tessera gradient payload.
	#[error("bad magic {0:02x?}")]
	BadMagic([u8; 4]),
	/// A format version this decoder does not read.
	#[error("unsupported payload version {0}")]
	UnsupportedVersion(u16),
	/// Reserved header flags are set.
	#[error("reserved flags {0:#06x} set")]
	ReservedFlags(u16),
	/// The header names another window.
	#[error("payload for window {got}, expected window {expected}")]
	WrongWindow {
		/// Window expected.
		expected: u64,
		/// Window in the header.
		got: u64,
	},
	/// The header names another miner.
	#[error("payload of another miner")]
	WrongAccount,
	/// The number of tensors differs from the model's.
	#[error("payload has {got} tensors, the model has {expected}")]
	WrongTensorCount {
		/// The model's tensor count.
		expected: usize,
		/// The payload's.
		got: u32,
	},
	/// A tensor's shape differs from the model's.
	#[error("tensor {tensor}: shape differs from the model's")]
	WrongShape {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// A tensor's chunk geometry differs from the one its shape implies.
	#[error("tensor {tensor}: chunk geometry differs from the shape's")]
	WrongGeometry {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// `k` is zero or larger than a chunk.
	#[error("tensor {tensor}: k = {k} outside 1..={chunk_len}")]
	BadK {
		/// Tensor position in the model.
		tensor: usize,
		/// The payload's k.
		k: u16,
		/// Values per chunk.
		chunk_len: usize,
	},
	/// `k` differs from the network's.
	#[error("tensor {tensor}: k = {got}, the network's is {expected}")]
	WrongK {
		/// Tensor position in the model.
		tensor: usize,
		/// The network's k for this tensor.
		expected: usize,
		/// The payload's.
		got: usize,
	},
	/// The value coding differs from the network's.
	#[error("tensor {tensor}: values must be {}", if *quantised { "2-bit quantised" } else { "raw f32" })]
	WrongValueCoding {
		/// Tensor position in the model.
		tensor: usize,
		/// Whether the network quantises.
		quantised: bool,
	},
	/// A kept value (table entry or raw value) larger in magnitude than the network allows.
	#[error("tensor {tensor}: a value exceeds the network's largest update value")]
	ValueTooLarge {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// An unknown index or value coding.
	#[error("tensor {tensor}: unknown {what} coding {code}")]
	UnknownCoding {
		/// Tensor position in the model.
		tensor: usize,
		/// `index` or `value`.
		what: &'static str,
		/// The code found.
		code: u8,
	},
	/// The declared index count differs from chunks × k.
	#[error("tensor {tensor}: {got} indices, expected {expected}")]
	IndexCount {
		/// Tensor position in the model.
		tensor: usize,
		/// chunks × k.
		expected: u64,
		/// Declared.
		got: u32,
	},
	/// A tensor body's length differs from what its header implies.
	#[error("tensor {tensor}: body of {got} bytes, expected {expected}")]
	BodyLength {
		/// Tensor position in the model.
		tensor: usize,
		/// Implied by the header.
		expected: usize,
		/// Declared.
		got: usize,
	},
	/// An index outside its chunk.
	#[error("tensor {tensor}, chunk {chunk}: index {index} outside the chunk")]
	IndexOutOfRange {
		/// Tensor position in the model.
		tensor: usize,
		/// Chunk number.
		chunk: usize,
		/// The index.
		index: u32,
	},
	/// The same index twice in a chunk.
	#[error("tensor {tensor}, chunk {chunk}: index {index} repeated")]
	DuplicateIndex {
		/// Tensor position in the model.
		tensor: usize,
		/// Chunk number.
		chunk: usize,
		/// The index.
		index: u16,
	},
	/// Indices of a chunk not in ascending order (the canonical form).
	#[error("tensor {tensor}, chunk {chunk}: indices not ascending")]
	UnsortedIndices {
		/// Tensor position in the model.
		tensor: usize,
		/// Chunk number.
		chunk: usize,
	},
	/// NaN or ±∞ in a table or a raw value.
	#[error("tensor {tensor}: non-finite value")]
	NonFiniteValue {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// A quantisation table whose entries decrease.
	#[error("tensor {tensor}: quantisation table not monotone")]
	NonMonotoneTable {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// Padding bits of a section are not zero (the canonical form).
	#[error("tensor {tensor}: non-zero padding bits")]
	NonZeroPadding {
		/// Tensor position in the model.
		tensor: usize,
	},
	/// Bytes after the last tensor.
	#[error("{0} trailing bytes after the last tensor")]
	TrailingBytes(usize),
}
