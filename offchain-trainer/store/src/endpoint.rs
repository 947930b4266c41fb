//! Whether another peer's endpoint points into private address space. Endpoints come from other
//! peers through the chain; a peer that announced `http://169.254.169.254` or `http://10.0.0.1`
//! would otherwise make every other peer send requests into its own network (cloud metadata
//! services, internal admin ports). IP literals are checked here; a DNS name is taken as public
//! (a name that resolves to a private address is not caught: run peers where that matters with
//! egress rules).

use crate::StoreError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Refuses an `http(s)://` endpoint whose host is a loopback, private, shared, link-local or
/// unspecified address, or `localhost`.
pub fn check_public(endpoint: &str) -> Result<(), StoreError> {
	let private = |why: &str| {
		Err(StoreError::BadLocation(format!(
			"endpoint {endpoint:?} is {why}; a network on one machine or a LAN allows it \
			 (--allow-private-endpoints)"
		)))
	};
	let rest = endpoint
		.strip_prefix("https://")
		.or_else(|| endpoint.strip_prefix("http://"))
		.ok_or_else(|| StoreError::BadLocation(format!("endpoint {endpoint:?}")))?;
	let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
	let host = match authority.strip_prefix('[') {
		Some(v6) => v6.split(']').next().unwrap_or_default(),
		None => authority.split(':').next().unwrap_or_default(),
	};
	let host = host.trim_end_matches('.').to_ascii_lowercase();
	if host == "localhost" || host.ends_with(".localhost") {
		return private("localhost");
	}
	match host.parse::<IpAddr>() {
		Ok(IpAddr::V4(ip)) if is_private_v4(ip) => private("a private IPv4 address"),
		Ok(IpAddr::V6(ip)) if is_private_v6(ip) => private("a private IPv6 address"),
		Ok(_) => Ok(()),
		// `2130706433`, `127.1`, `0x7f.0.0.1`: the system resolver reads these as IPv4
		// addresses; only the plain dotted quad is accepted as one.
		Err(_) if looks_numeric(&host) => private("a numeric address in a non-standard form"),
		Err(_) => Ok(()),
	}
}

/// A host made only of digits, dots and hexadecimal notation, with a digit in its last label
/// (a DNS name's last label is never numeric).
fn looks_numeric(host: &str) -> bool {
	let last = host.rsplit('.').next().unwrap_or_default();
	host.chars().all(|c| c.is_ascii_hexdigit() || c == '.' || c == 'x')
		&& last.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
	let [a, b, ..] = ip.octets();
	ip.is_loopback()
		|| ip.is_private()
		|| ip.is_link_local()
		|| ip.is_unspecified()
		|| ip.is_broadcast()
		|| a == 0
		// Shared address space (carrier-grade NAT), 100.64.0.0/10.
		|| (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
	if let Some(v4) = ip.to_ipv4_mapped() {
		return is_private_v4(v4);
	}
	let seg = ip.segments();
	let embedded =
		|hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
	// IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4
	// address that may be private.
	if seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
		return is_private_v4(embedded(seg[6], seg[7]));
	}
	if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_private_v4(embedded(seg[6], seg[7])) {
		return true;
	}
	if seg[0] == 0x2002 && is_private_v4(embedded(seg[1], seg[2])) {
		return true;
	}
	let first = seg[0];
	ip.is_loopback()
		|| ip.is_unspecified()
		// Unique local, fc00::/7.
		|| (first & 0xfe00) == 0xfc00
		// Link-local, fe80::/10.
		|| (first & 0xffc0) == 0xfe80
}
