//! The audit's three output forms: an aligned table for people, JSON and CSV for scripts.
//! Accounts show as their dev-key name when they are one (`Alice`), else as their SS58 address;
//! JSON and CSV always carry the SS58 address.

use super::query::{PeerAudit, Standing, WindowAudit};
use std::fmt::Write;

/// Output form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
	/// Aligned columns.
	Table,
	/// One JSON document.
	Json,
	/// Comma-separated values with a header row.
	Csv,
}

fn who(name: &Option<String>, account: &str) -> String {
	name.clone().unwrap_or_else(|| account.to_string())
}

/// The width of a column of names: at least 16, and wide enough for every one shown.
fn name_width(names: impl Iterator<Item = String>) -> usize {
	names.map(|n| n.chars().count()).max().unwrap_or(0).max(16)
}

fn opt(v: Option<f64>) -> String {
	v.map_or("-".into(), |v| format!("{v:.4}"))
}

fn csv_field(s: &str) -> String {
	if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into() }
}

fn json<T: serde::Serialize>(value: &T) -> String {
	serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The run's manifest, field by field.
pub fn run(fields: &[(&str, String)], format: Format) -> String {
	match format {
		Format::Json => {
			let map: serde_json::Map<String, serde_json::Value> = fields
				.iter()
				.map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
				.collect();
			json(&map)
		},
		Format::Csv => {
			let mut out = String::from("field,value\n");
			for (k, v) in fields {
				let _ = writeln!(out, "{},{}", csv_field(k), csv_field(v));
			}
			out
		},
		Format::Table => {
			let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
			let mut out = String::from("run manifest\n");
			for (k, v) in fields {
				let _ = writeln!(out, "  {k:<width$}  {v}");
			}
			out
		},
	}
}

/// A window's audit.
pub fn window(w: &WindowAudit, format: Format) -> String {
	match format {
		Format::Json => json(w),
		Format::Csv => {
			let mut out = String::from(
				"window,account,name,committed_hash,payload_len,committed_at,in_set,included,score,flags\n",
			);
			for p in &w.peers {
				let flags: Vec<String> = p.reported.iter().flat_map(|r| r.flags.clone()).collect();
				let (hash, len, at) = p
					.commitment
					.clone()
					.map_or((String::new(), String::new(), String::new()), |(h, l, b)| {
						(h, l.to_string(), b.to_string())
					});
				let _ = writeln!(
					out,
					"{},{},{},{},{},{},{},{},{},{}",
					w.window,
					p.account,
					csv_field(p.name.as_deref().unwrap_or("")),
					hash,
					len,
					at,
					p.in_set,
					p.included,
					p.score.map_or(String::new(), |s| s.to_string()),
					csv_field(&flags.join(" "))
				);
			}
			out
		},
		Format::Table => {
			let mut out = format!(
				"window {} (block {}) · seed {} · verdict: {} · θ after: {}\n",
				w.window,
				w.block,
				w.seed.as_deref().map_or("pruned".into(), |s| format!("0x{}…", &s[..12])),
				match w.validators {
					None => "not yet published".into(),
					Some(0) => "no validator scored it".into(),
					Some(n) => format!("{n} validator(s)"),
				},
				w.theta_hash.as_deref().map_or("-".into(), |h| format!("0x{h}")),
			);
			let width = name_width(w.peers.iter().map(|p| who(&p.name, &p.account)));
			let _ = writeln!(
				out,
				"{:<width$} {:>10} {:>8} {:>6} {:>8} {:>8}  flags (by validator)",
				"miner", "committed", "bytes", "in set", "applied", "score"
			);
			for p in &w.peers {
				let flags: Vec<String> = p
					.reported
					.iter()
					.filter(|r| !r.flags.is_empty())
					.map(|r| format!("{}: {}", &r.validator[..8], r.flags.join(",")))
					.collect();
				let _ = writeln!(
					out,
					"{:<width$} {:>10} {:>8} {:>6} {:>8} {:>8}  {}",
					who(&p.name, &p.account),
					p.commitment.as_ref().map_or("-".into(), |c| format!("#{}", c.2)),
					p.commitment.as_ref().map_or("-".into(), |c| c.1.to_string()),
					if p.in_set { "yes" } else { "no" },
					if p.included { "yes" } else { "no" },
					opt(p.score),
					flags.join("; ")
				);
			}
			out
		},
	}
}

/// Peers' histories.
pub fn peers(audits: &[PeerAudit], format: Format) -> String {
	match format {
		Format::Json => json(&audits),
		Format::Csv => {
			let mut out =
				String::from("account,name,window,committed,in_set,included,score,earned,flags\n");
			for a in audits {
				for w in &a.windows {
					let _ = writeln!(
						out,
						"{},{},{},{},{},{},{},{},{}",
						a.account,
						csv_field(a.name.as_deref().unwrap_or("")),
						w.window,
						w.committed,
						w.in_set,
						w.included,
						w.score.map_or(String::new(), |s| s.to_string()),
						w.earned,
						csv_field(&w.flags.join(" "))
					);
				}
			}
			out
		},
		Format::Table => {
			let mut out = String::new();
			for a in audits {
				let scored: Vec<f64> = a.windows.iter().filter_map(|w| w.score).collect();
				let mean = if scored.is_empty() {
					None
				} else {
					Some(scored.iter().sum::<f64>() / scored.len() as f64)
				};
				let heading = match &a.name {
					Some(name) => format!("{name} ({})", a.account),
					None => a.account.clone(),
				};
				let _ = writeln!(
					out,
					"{heading} · incentive weight {:.4} · mean score {} over {} scored window(s)",
					a.incentive,
					opt(mean),
					scored.len()
				);
				let _ = writeln!(
					out,
					"{:>6} {:>9} {:>6} {:>8} {:>8} {:>14}  flags",
					"window", "committed", "in set", "applied", "score", "earned"
				);
				for w in &a.windows {
					let _ = writeln!(
						out,
						"{:>6} {:>9} {:>6} {:>8} {:>8} {:>14}  {}",
						w.window,
						if w.committed { "yes" } else { "no" },
						if w.in_set { "yes" } else { "no" },
						if w.included { "yes" } else { "no" },
						opt(w.score),
						tessera_chain::amount::short(w.earned),
						w.flags.join(",")
					);
				}
				out.push('\n');
			}
			out
		},
	}
}

/// Standings by incentive weight.
pub fn standings(rows: &[Standing], format: Format) -> String {
	match format {
		Format::Json => json(&rows),
		Format::Csv => {
			let mut out = String::from("rank,account,name,incentive,active\n");
			for (i, r) in rows.iter().enumerate() {
				let _ = writeln!(
					out,
					"{},{},{},{},{}",
					i + 1,
					r.account,
					csv_field(r.name.as_deref().unwrap_or("")),
					r.incentive,
					r.active
				);
			}
			out
		},
		Format::Table => {
			let width = name_width(rows.iter().map(|r| who(&r.name, &r.account)));
			let mut out =
				format!("{:>4}  {:<width$} {:>10}  {}\n", "rank", "miner", "incentive", "status");
			for (i, r) in rows.iter().enumerate() {
				let _ = writeln!(
					out,
					"{:>4}  {:<width$} {:>10.4}  {}",
					i + 1,
					who(&r.name, &r.account),
					r.incentive,
					if r.active { "active" } else { "leaving" }
				);
			}
			out
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::audit::query::{PeerWindow, Reported, WindowPeer};

	fn window_audit() -> WindowAudit {
		WindowAudit {
			window: 3,
			block: 40,
			seed: Some("ab".repeat(32)),
			validators: Some(1),
			theta_hash: Some("cd".repeat(32)),
			peers: vec![
				WindowPeer {
					account: "11".repeat(32),
					name: Some("Alice".into()),
					commitment: Some(("ee".repeat(32), 60_000, 38)),
					in_set: true,
					included: true,
					score: Some(0.5),
					reported: vec![],
				},
				WindowPeer {
					account: "22".repeat(32),
					name: None,
					commitment: None,
					in_set: true,
					included: false,
					score: Some(0.0),
					reported: vec![Reported {
						validator: "33".repeat(32),
						score: 0.0,
						gradient_score: 0.0,
						flags: vec!["missing".into()],
					}],
				},
			],
		}
	}

	#[test]
	fn every_form_carries_the_same_facts() {
		let w = window_audit();
		let table = window(&w, Format::Table);
		assert!(table.contains("window 3") && table.contains("1 validator(s)"), "{table}");
		assert!(table.lines().any(|l| l.starts_with("Alice") && l.contains("0.5000")), "{table}");
		assert!(table.contains("33333333: missing"), "{table}");
		let csv = window(&w, Format::Csv);
		assert_eq!(csv.lines().count(), 3);
		assert!(csv.lines().nth(2).is_some_and(|l| l.ends_with(",missing")), "{csv}");
		let parsed: serde_json::Value = serde_json::from_str(&window(&w, Format::Json)).unwrap();
		assert_eq!(parsed["peers"][0]["score"], 0.5);

		let p = PeerAudit {
			account: "11".repeat(32),
			name: Some("Alice".into()),
			incentive: 0.25,
			windows: vec![PeerWindow {
				window: 2,
				committed: true,
				in_set: true,
				included: true,
				score: Some(0.4),
				flags: vec![],
				earned: 1_500_000_000_000,
			}],
		};
		let table = peers(std::slice::from_ref(&p), Format::Table);
		assert!(table.contains("incentive weight 0.2500") && table.contains("mean score 0.4000"));
		assert!(table.contains(" 1.5 TSR "), "earnings beside scores: {table}");
		let csv = peers(std::slice::from_ref(&p), Format::Csv);
		assert_eq!(csv.lines().count(), 2);
		assert!(csv.lines().nth(1).is_some_and(|l| l.contains(",0.4,1500000000000,")), "{csv}");
		let parsed: serde_json::Value = serde_json::from_str(&peers(&[p], Format::Json)).unwrap();
		assert_eq!(parsed[0]["windows"][0]["earned"], 1_500_000_000_000u64);
		let s = standings(
			&[Standing {
				account: tessera_chain::address::encode(&[0x11; 32], 42),
				name: None,
				incentive: 0.3,
				active: true,
			}],
			Format::Table,
		);
		// An account without a dev-key name shows as its whole SS58 address.
		assert!(
			s.contains(&tessera_chain::address::encode(&[0x11; 32], 42)) && s.contains("0.3000"),
			"{s}"
		);
	}
}
