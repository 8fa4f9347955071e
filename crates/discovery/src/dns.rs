//! `dns_sd_configs` (upstream's `discovery/dns`): every `refresh_interval`, each name is
//! looked up (SRV, A, AAAA, MX or NS) with the system's resolver settings as upstream
//! reads them from `/etc/resolv.conf` (its search list and `ndots`, each server in turn,
//! EDNS0, TCP when an answer is truncated), and becomes a group of its own, its source
//! the name. A name whose lookup fails keeps the group it had.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use promconfig::sd::dns::DnsSdConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{join_host_port, Discoverer, DiscoveryError, Group, LabelSet, Updates};

/// Where upstream reads the resolver settings.
const RESOLV_CONF: &str = "/etc/resolv.conf";
/// miekg/dns's `dns.DefaultMsgSize`, advertised with EDNS0.
const EDNS_PAYLOAD: u16 = 4096;
/// miekg/dns's client timeouts (`dnsTimeout`), for each exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest resolv.conf read.
const MAX_RESOLV_CONF_BYTES: u64 = 1 << 20;

/// A lookup: the name as configured and the record type, to the answer.
pub type LookupFn = Arc<
    dyn Fn(String, RecordType) -> Pin<Box<dyn Future<Output = Result<Message, String>> + Send>>
        + Send
        + Sync,
>;

/// The resolver settings lookups use (upstream's `dns.ClientConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    pub servers: Vec<SocketAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
}

/// Settings that replace `/etc/resolv.conf` in this process (tests: a DNS server on a
/// loopback port, which resolv.conf cannot name).
static RESOLVER_OVERRIDE: OnceLock<Mutex<Option<ResolverConfig>>> = OnceLock::new();

/// Makes every DNS discovery of this process use `config` instead of `/etc/resolv.conf`
/// (`None`: the file again).
#[doc(hidden)]
pub fn override_resolver(config: Option<ResolverConfig>) {
    *RESOLVER_OVERRIDE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = config;
}

/// One `dns_sd_configs` entry, ready to run.
pub struct DnsDiscovery {
    names: Vec<String>,
    port: u16,
    record_type: RecordType,
    interval: Duration,
    set_name: String,
    lookup: LookupFn,
}

impl DnsDiscovery {
    pub fn new(config: &DnsSdConfig, set_name: &str) -> Result<Self, DiscoveryError> {
        let record_type = match config.kind.to_ascii_uppercase().as_str() {
            "SRV" => RecordType::SRV,
            "A" => RecordType::A,
            "AAAA" => RecordType::AAAA,
            "MX" => RecordType::MX,
            "NS" => RecordType::NS,
            other => {
                return Err(DiscoveryError(format!(
                    "invalid DNS-SD records type {other}"
                )))
            }
        };
        let port = u16::try_from(config.port)
            .map_err(|_| DiscoveryError(format!("invalid port {}", config.port)))?;
        Ok(Self {
            names: config.names.clone(),
            port,
            record_type,
            interval: config.refresh_interval.0,
            set_name: set_name.to_string(),
            lookup: Arc::new(|name, record_type| {
                Box::pin(lookup_with_search_path(name, record_type))
            }),
        })
    }

    /// Replaces how names are looked up (upstream's tests set `lookupFn`).
    pub fn with_lookup(mut self, lookup: LookupFn) -> Self {
        self.lookup = lookup;
        self
    }

    /// Looks every name up once: a group per name that answered, in the configured order.
    pub async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        crate::refresh::Refresh::refresh(self).await
    }

    fn group(&self, name: &str, answer: &Message) -> Group {
        let mut targets = Vec::new();
        for record in answer.answers() {
            let (address, srv_target, srv_port, mx_target, ns_target) = match record.data() {
                RData::SRV(srv) => {
                    let target = srv.target().to_string();
                    let host = target.trim_end_matches('.').to_string();
                    (
                        join_host_port(&host, srv.port()),
                        target,
                        srv.port().to_string(),
                        String::new(),
                        String::new(),
                    )
                }
                RData::MX(mx) => {
                    let target = mx.exchange().to_string();
                    let host = target.trim_end_matches('.').to_string();
                    (
                        join_host_port(&host, self.port),
                        String::new(),
                        String::new(),
                        target,
                        String::new(),
                    )
                }
                RData::NS(ns) => {
                    let target = ns.0.to_string();
                    let host = target.trim_end_matches('.').to_string();
                    (
                        join_host_port(&host, self.port),
                        String::new(),
                        String::new(),
                        String::new(),
                        target,
                    )
                }
                RData::A(a) => (
                    join_host_port(&a.0.to_string(), self.port),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ),
                RData::AAAA(a) => (
                    join_host_port(&a.0.to_string(), self.port),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ),
                RData::CNAME(_) => continue,
                other => {
                    tracing::warn!(record = %other, "Invalid record");
                    continue;
                }
            };
            targets.push(LabelSet::from([
                ("__address__".to_string(), address),
                ("__meta_dns_name".to_string(), name.to_string()),
                ("__meta_dns_srv_record_target".to_string(), srv_target),
                ("__meta_dns_srv_record_port".to_string(), srv_port),
                ("__meta_dns_mx_record_target".to_string(), mx_target),
                ("__meta_dns_ns_record_target".to_string(), ns_target),
            ]));
        }
        Group {
            source: name.to_string(),
            targets,
            labels: LabelSet::new(),
        }
    }
}

impl crate::refresh::Refresh for DnsDiscovery {
    async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        let lookups = self.names.iter().map(|name| {
            let lookup = Arc::clone(&self.lookup);
            let name = name.clone();
            let record_type = self.record_type;
            async move { (lookup)(name, record_type).await }
        });
        let answers = join_all(lookups.collect()).await;
        let mut groups = Vec::new();
        for (name, answer) in self.names.iter().zip(answers) {
            crate::metrics::dns_lookup(answer.is_err());
            match answer {
                Ok(answer) => groups.push(self.group(name, &answer)),
                Err(e) => tracing::error!(name = %name, err = %e, "Error refreshing DNS targets"),
            }
        }
        Ok(groups)
    }
}

impl Discoverer for DnsDiscovery {
    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let interval = self.interval;
        let set_name = self.set_name.clone();
        Box::pin(crate::refresh::run(
            "dns", set_name, interval, updates, *self,
        ))
    }
}

/// Runs the futures at once and gives their outputs in order.
async fn join_all<T: Send + 'static>(
    futures: Vec<impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// Upstream's `lookupWithSearchPath`: the names of the search list in turn; the first
/// successful answer wins; an empty answer when every server answered (NXDOMAIN) for
/// every name; an error when some name got no viable answer.
async fn lookup_with_search_path(name: String, record_type: RecordType) -> Result<Message, String> {
    let config = match resolver_override() {
        Some(c) => c,
        None => read_resolv_conf(RESOLV_CONF)?,
    };
    let mut all_valid = true;
    for candidate in name_list(&name, &config) {
        match lookup_from_any_server(&candidate, record_type, &config).await {
            Err(_) => all_valid = false,
            Ok(answer) if answer.response_code() == ResponseCode::NoError => return Ok(answer),
            Ok(_) => {}
        }
    }
    if all_valid {
        Ok(Message::new())
    } else {
        Err(format!(
            "could not resolve {name:?}: all servers responded with errors to at least one search domain"
        ))
    }
}

fn resolver_override() -> Option<ResolverConfig> {
    RESOLVER_OVERRIDE
        .get()?
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

async fn lookup_from_any_server(
    name: &str,
    record_type: RecordType,
    config: &ResolverConfig,
) -> Result<Message, String> {
    for server in &config.servers {
        match ask_server(name, record_type, *server).await {
            Ok(answer)
                if matches!(
                    answer.response_code(),
                    ResponseCode::NoError | ResponseCode::NXDomain
                ) =>
            {
                return Ok(answer)
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(server = %server, name, err = %e, "DNS resolution failed")
            }
        }
    }
    Err(format!(
        "could not resolve {name}: no servers returned a viable answer"
    ))
}

/// One question to one server over UDP with EDNS0; again over TCP (without EDNS0, as
/// upstream) when the answer is truncated.
async fn ask_server(
    name: &str,
    record_type: RecordType,
    server: SocketAddr,
) -> Result<Message, String> {
    let query_name =
        Name::from_ascii(fqdn(name)).map_err(|e| format!("invalid name {name:?}: {e}"))?;
    let id: u16 = rand_id();
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(query_name.clone(), record_type));
    let mut udp_message = message.clone();
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    udp_message.set_edns(edns);
    let answer = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange_udp(&udp_message, server))
        .await
        .map_err(|_| format!("read udp {server}: i/o timeout"))??;
    if answer.id() != id {
        return Err("id mismatch".into());
    }
    if !answer.truncated() {
        return Ok(answer);
    }
    let answer = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange_tcp(&message, server))
        .await
        .map_err(|_| format!("read tcp {server}: i/o timeout"))??;
    if answer.truncated() {
        return Err("got truncated message on TCP (64kiB limit exceeded?)".into());
    }
    Ok(answer)
}

async fn exchange_udp(message: &Message, server: SocketAddr) -> Result<Message, String> {
    let bind: SocketAddr = match server.ip() {
        IpAddr::V4(_) => "0.0.0.0:0",
        IpAddr::V6(_) => "[::]:0",
    }
    .parse()
    .map_err(|e| format!("{e}"))?;
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    let bytes = message.to_vec().map_err(|e| e.to_string())?;
    socket.send(&bytes).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(EDNS_PAYLOAD)];
    loop {
        let n = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
        // A datagram that is not an answer to this question is ignored, as Go's client
        // does for a mismatched id.
        match Message::from_vec(&buf[..n]) {
            Ok(answer)
                if answer.id() == message.id()
                    && answer.message_type() == MessageType::Response =>
            {
                return Ok(answer)
            }
            Ok(_) => continue,
            Err(e) => return Err(format!("reading the answer: {e}")),
        }
    }
}

async fn exchange_tcp(message: &Message, server: SocketAddr) -> Result<Message, String> {
    let mut stream = tokio::net::TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = message.to_vec().map_err(|e| e.to_string())?;
    let len = u16::try_from(bytes.len()).map_err(|_| "question too long".to_string())?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| e.to_string())?;
    Message::from_vec(&buf).map_err(|e| format!("reading the answer: {e}"))
}

/// A question id nobody on the path can guess (from the process's random hasher keys).
fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u16
}

/// miekg/dns's `ClientConfigFromFile`: `nameserver`, `domain`, `search` and the `ndots`
/// option (port 53, `ndots` 1 unless set).
pub fn read_resolv_conf(path: &str) -> Result<ResolverConfig, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("could not load resolv.conf: {e}"))?;
    if meta.len() > MAX_RESOLV_CONF_BYTES {
        return Err(format!(
            "could not load resolv.conf: {path} is larger than {MAX_RESOLV_CONF_BYTES} bytes"
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("could not load resolv.conf: {e}"))?;
    Ok(parse_resolv_conf(&text))
}

/// The settings of a resolv.conf text (see [`read_resolv_conf`]).
pub fn parse_resolv_conf(text: &str) -> ResolverConfig {
    let mut config = ResolverConfig {
        servers: Vec::new(),
        search: Vec::new(),
        ndots: 1,
    };
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [first, ..] if first.starts_with('#') || first.starts_with(';') => {}
            ["nameserver", address, ..] => {
                // An IPv6 address may carry a zone (`%eth0`), which the socket address
                // cannot: it is left out.
                let ip = address.split('%').next().unwrap_or(address);
                if let Ok(ip) = ip.parse::<IpAddr>() {
                    config.servers.push(SocketAddr::new(ip, 53));
                }
            }
            ["domain", domain, ..] => config.search = vec![fqdn(domain)],
            ["search", domains @ ..] => config.search = domains.iter().map(|d| fqdn(d)).collect(),
            ["options", options @ ..] => {
                for option in options {
                    if let Some(n) = option.strip_prefix("ndots:") {
                        config.ndots = n.parse::<usize>().map_or(0, |n| n.min(15));
                    }
                }
            }
            _ => {}
        }
    }
    config
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// miekg/dns's `NameList`: a fully qualified name alone; else, with more labels than
/// `ndots`, the name first and then with each search domain, otherwise the search
/// domains first and the name last.
pub fn name_list(name: &str, config: &ResolverConfig) -> Vec<String> {
    if name.ends_with('.') {
        return vec![name.to_string()];
    }
    let labels = name.split('.').filter(|l| !l.is_empty()).count();
    let has_ndots = labels > config.ndots;
    let name = fqdn(name);
    let mut out = Vec::new();
    if has_ndots {
        out.push(name.clone());
    }
    for s in &config.search {
        out.push(format!("{name}{s}"));
    }
    if !has_ndots {
        out.push(name);
    }
    out
}
