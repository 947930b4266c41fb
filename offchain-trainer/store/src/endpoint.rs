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
		_ => Ok(()),
	}
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
	let first = ip.segments()[0];
	ip.is_loopback()
		|| ip.is_unspecified()
		// Unique local, fc00::/7.
		|| (first & 0xfe00) == 0xfc00
		// Link-local, fe80::/10.
		|| (first & 0xffc0) == 0xfe80
}
