//! `docs/pallet.md`, generated from the runtime's metadata (the checked-in
//! `metadata/tessera.scale`): every call, event, error, storage item, constant and view function
//! of `pallet-training` with its documentation, and the `TrainingApi` runtime API. Generated,
//! so it cannot drift: a test fails when the checked-in page differs from what the metadata
//! says (`scripts/export-chain-specs.sh` rewrites it).

use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive, form::PortableForm};
use std::fmt::Write;
use subxt::metadata::Metadata;

/// The metadata this crate's client is generated from.
pub const METADATA: &[u8] = include_bytes!("../../metadata/tessera.scale");

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
	/// The metadata does not decode.
	#[error("metadata: {0}")]
	Metadata(String),
	/// No such pallet.
	#[error("no pallet {0} in the metadata")]
	NoPallet(String),
}

/// A readable name of type `id`: its path's last segment with generic parameters, or its
/// structure (`Vec<…>`, tuples, arrays, primitives).
pub fn type_name(types: &PortableRegistry, id: u32) -> String {
	let Some(ty) = types.resolve(id) else { return format!("#{id}") };
	if let Some(last) = ty.path.segments.last() {
		let params: Vec<String> =
			ty.type_params.iter().filter_map(|p| p.ty.map(|t| type_name(types, t.id))).collect();
		return if params.is_empty() {
			last.clone()
		} else {
			format!("{last}<{}>", params.join(", "))
		};
	}
	match &ty.type_def {
		TypeDef::Sequence(s) => format!("Vec<{}>", type_name(types, s.type_param.id)),
		TypeDef::Array(a) => format!("[{}; {}]", type_name(types, a.type_param.id), a.len),
		TypeDef::Tuple(t) => format!(
			"({})",
			t.fields.iter().map(|f| type_name(types, f.id)).collect::<Vec<_>>().join(", ")
		),
		TypeDef::Compact(c) => format!("Compact<{}>", type_name(types, c.type_param.id)),
		TypeDef::Primitive(p) => match p {
			TypeDefPrimitive::Bool => "bool",
			TypeDefPrimitive::Char => "char",
			TypeDefPrimitive::Str => "str",
			TypeDefPrimitive::U8 => "u8",
			TypeDefPrimitive::U16 => "u16",
			TypeDefPrimitive::U32 => "u32",
			TypeDefPrimitive::U64 => "u64",
			TypeDefPrimitive::U128 => "u128",
			TypeDefPrimitive::U256 => "u256",
			TypeDefPrimitive::I8 => "i8",
			TypeDefPrimitive::I16 => "i16",
			TypeDefPrimitive::I32 => "i32",
			TypeDefPrimitive::I64 => "i64",
			TypeDefPrimitive::I128 => "i128",
			TypeDefPrimitive::I256 => "i256",
		}
		.into(),
		TypeDef::BitSequence(_) => "BitVec".into(),
		TypeDef::Composite(_) | TypeDef::Variant(_) => format!("#{id}"),
	}
}

fn docs(out: &mut String, lines: &[String]) {
	let text = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
	let _ = writeln!(out, "{}\n", if text.is_empty() { "(undocumented)" } else { text.trim() });
}

fn variants(
	out: &mut String,
	title: &str,
	types: &PortableRegistry,
	list: &[scale_info::Variant<PortableForm>],
) {
	let _ = writeln!(out, "## {title}\n");
	for v in list {
		let fields: Vec<String> = v
			.fields
			.iter()
			.map(|f| {
				let ty = f.type_name.clone().unwrap_or_else(|| type_name(types, f.ty.id));
				match &f.name {
					Some(n) => format!("{n}: {ty}"),
					None => ty,
				}
			})
			.collect();
		let _ = writeln!(out, "### `{}({})` — index {}\n", v.name, fields.join(", "), v.index);
		docs(out, &v.docs);
	}
}

/// The Markdown page of `pallet` (and the runtime APIs named after it) in `metadata`.
pub fn pallet_markdown(metadata: &[u8], pallet: &str) -> Result<String, DocsError> {
	let md = Metadata::decode_from(metadata).map_err(|e| DocsError::Metadata(e.to_string()))?;
	let types = md.types();
	let p = md.pallet_by_name(pallet).ok_or_else(|| DocsError::NoPallet(pallet.into()))?;
	let mut out = format!(
		"# `pallet-training` reference\n\n<!-- Generated from offchain-trainer/metadata/tessera.scale by \
		 `offchain-trainer pallet-docs`; scripts/export-chain-specs.sh rewrites it and a test fails \
		 while it is stale. Do not edit by hand. -->\n\nPallet `{}` (index {}). Calls, events, errors, \
		 storage, constants, view functions and the runtime API, with their documentation as the \
		 runtime's metadata carries it.\n\n",
		p.name(),
		p.call_index()
	);
	variants(&mut out, "Calls", types, p.call_variants().unwrap_or_default());
	variants(&mut out, "Events", types, p.event_variants().unwrap_or_default());
	variants(&mut out, "Errors", types, p.error_variants().unwrap_or_default());

	let _ = writeln!(out, "## Storage\n");
	if let Some(storage) = p.storage() {
		for e in storage.entries() {
			let keys: Vec<String> = e
				.keys()
				.map(|k| format!("{} ({:?})", type_name(types, k.key_id), k.hasher))
				.collect();
			let shape = if keys.is_empty() {
				format!("value: `{}`", type_name(types, e.value_ty()))
			} else {
				format!("map `{}` → `{}`", keys.join(", "), type_name(types, e.value_ty()))
			};
			let _ = writeln!(out, "### `{}` — {shape}\n", e.name());
			docs(&mut out, e.docs());
		}
	}

	let _ = writeln!(out, "## Constants\n");
	for c in p.constants() {
		let mut bytes = c.value();
		let value = subxt::ext::scale_value::scale::decode_as_type(&mut bytes, c.ty(), types)
			.map(|v| v.to_string())
			.unwrap_or_else(|_| format!("0x{}", hex::encode(c.value())));
		let _ = writeln!(out, "### `{}: {}` = `{}`\n", c.name(), type_name(types, c.ty()), value);
		docs(&mut out, c.docs());
	}

	let _ = writeln!(out, "## View functions\n");
	for f in p.view_functions() {
		let inputs: Vec<String> =
			f.inputs().map(|i| format!("{}: {}", i.name, type_name(types, i.id))).collect();
		let _ = writeln!(
			out,
			"### `{}({})` → `{}`\n",
			f.name(),
			inputs.join(", "),
			type_name(types, f.output_ty())
		);
		let _ = writeln!(out, "Id: `0x{}`\n", hex::encode(f.query_id()));
		docs(&mut out, f.docs());
	}

	let _ = writeln!(out, "## Runtime API\n");
	for api in md.runtime_api_traits().filter(|a| a.name().starts_with(pallet)) {
		let _ = writeln!(out, "### `{}`\n", api.name());
		docs(&mut out, api.docs());
		for m in api.methods() {
			let inputs: Vec<String> =
				m.inputs().map(|i| format!("{}: {}", i.name, type_name(types, i.id))).collect();
			let _ = writeln!(
				out,
				"#### `{}_{}({})` → `{}`\n",
				api.name(),
				m.name(),
				inputs.join(", "),
				type_name(types, m.output_ty())
			);
			docs(&mut out, m.docs());
		}
	}
	Ok(out.trim_end().to_string() + "\n")
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_page_lists_every_call_error_and_constant() {
		let page = pallet_markdown(METADATA, "Training").unwrap();
		for needle in [
			"### `register(",
			"### `commit_gradient(",
			"### `submit_gauntlet_results(",
			"### `AlreadyCommitted(",
			"### `GauntletPublished(",
			"### `Commitments` — map",
			"### `WindowLength: u32` = `10`",
			"### `AggregationWeightFloor: Perbill`",
			"#### `TrainingApi_window_report(",
		] {
			assert!(page.contains(needle), "{needle} missing from:\n{page}");
		}
		assert!(!page.contains("(undocumented)"), "every item is documented:\n{page}");
	}
}
