//! The per-address connection cap: how many connections one client address may hold open
//! at once, so that a single client cannot take every slot of `max_connections` and make
//! the server unreachable for everyone else.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most one warning about refused connections per this interval: a flood must not turn
/// into a flood of log lines.
const WARN_INTERVAL: Duration = Duration::from_secs(1);

/// What a plain-HTTP client over the cap is told before its connection is closed.
pub(super) const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Connection: close\r\n\
Content-Length: 45\r\n\
\r\n\
Too many open connections from this address.\n";

/// Tells a plain-HTTP client over its address's cap why it is refused, then closes the
/// connection, without waiting on the client: what the socket does not take at once is not
/// sent.
pub(super) fn refuse_plain(stream: tokio::net::TcpStream) {
    // tokio's own `try_write` reports "would block" until its reactor has seen the socket
    // writable, which a just-accepted socket has not yet: write through std instead.
    let Ok(mut stream) = stream.into_std() else {
        return;
    };
    let _ = stream.write(REFUSAL);
    // What the client already sent is read first, so that closing sends a FIN rather than
    // a reset (which could make the client drop the 503 unread). Bounded: the socket is
    // non-blocking and at most 64 KiB are read.
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

/// Open connections per client address, with the cap and the count of refusals.
pub(super) struct AddressLimits {
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    refused: Arc<AtomicU64>,
    warnings: Mutex<WarnState>,
}

/// What the rate-limited warning needs to remember.
struct WarnState {
    last: Option<Instant>,
    /// Refusals since the last warning, reported with the next one.
    unreported: u64,
}

/// One open connection's place in its address's count, given back on drop.
pub(super) struct AddressSlot {
    limits: Arc<AddressLimits>,
    key: IpAddr,
}

impl AddressLimits {
    /// A cap of `per_address` connections (at least 1); refusals are added to `refused`.
    pub(super) fn new(per_address: usize, refused: Arc<AtomicU64>) -> Arc<Self> {
        Arc::new(Self {
            per_address: per_address.max(1),
            open: Mutex::new(HashMap::new()),
            refused,
            warnings: Mutex::new(WarnState {
                last: None,
                unreported: 0,
            }),
        })
    }

    /// A slot for a new connection from `peer`, or `None` (counted and, at most once per
    /// [`WARN_INTERVAL`], logged) when its address already holds the cap.
    pub(super) fn try_acquire(self: &Arc<Self>, peer: IpAddr) -> Option<AddressSlot> {
        let key = address_key(peer);
        {
            // A panic elsewhere cannot leave a count half-updated: every update is one
            // statement, so a poisoned map is still consistent.
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(key).or_insert(0);
            if *count < self.per_address {
                *count += 1;
                return Some(AddressSlot {
                    limits: Arc::clone(self),
                    key,
                });
            }
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.warn_refused(key);
        None
    }

    fn warn_refused(&self, key: IpAddr) {
        let mut warnings = self.warnings.lock().unwrap_or_else(PoisonError::into_inner);
        warnings.unreported += 1;
        let now = Instant::now();
        if warnings
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_INTERVAL)
        {
            return;
        }
        let refused = std::mem::take(&mut warnings.unreported);
        warnings.last = Some(now);
        drop(warnings);
        tracing::warn!(
            address = %key,
            max_connections_per_address = self.per_address,
            refused_since_last_warning = refused,
            "Too many open connections from one address: refusing new ones (logged at most once per second)"
        );
    }

    /// How many addresses have connections open (for tests of the map's bound).
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            // Addresses with nothing open are forgotten, so the map holds at most one entry
            // per open connection however many clients come and go.
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The address a connection is counted under: IPv4 (also when it reaches a dual-stack
/// listener as `::ffff:a.b.c.d`) as is, IPv6 by its /64, because one IPv6 client is
/// typically given a whole /64 and could otherwise open each connection from a new address.
fn address_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_each_address_and_forgets_closed_ones() {
        let refused = Arc::new(AtomicU64::new(0));
        let limits = AddressLimits::new(2, Arc::clone(&refused));
        let a1 = limits.try_acquire(ip("10.0.0.1"));
        let a2 = limits.try_acquire(ip("10.0.0.1"));
        assert!(a1.is_some() && a2.is_some());
        assert!(limits.try_acquire(ip("10.0.0.1")).is_none());
        assert_eq!(refused.load(Ordering::Relaxed), 1);
        let b = limits.try_acquire(ip("10.0.0.2"));
        assert!(b.is_some());
        drop(a1);
        assert!(limits.try_acquire(ip("10.0.0.1")).is_some());
        drop((a2, b));
        assert_eq!(limits.addresses(), 0);
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            address_key(ip("2001:db8:1:2:bbbb::9")),
            address_key(ip("2001:db8:1:2:aaaa::1"))
        );
        assert_ne!(address_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(address_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
