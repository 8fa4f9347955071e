//! Upstream's `discovery/consul` tests, every one of consul_test.go (the Go names in
//! snake case), against a fake Consul agent on loopback: the canned answers and the exact
//! request URLs of upstream's `newServer` are read from its test file, so a query string
//! that differs from what Consul's Go client sends is an unhandled call, as it is there.
//! Then what upstream's file leaves implicit: every label of a target, blocking queries
//! (a change arrives while a query is held, not a refresh interval later), services gone
//! from the catalog, the server/scheme/path prefix forms, the request parameters and
//! headers, and the metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use discovery::consul::{parse_catalog_answer, parse_health_answer, ConsulDiscovery};
use discovery::{Discoverer, Group, LabelSet};
use promconfig::sd::consul::ConsulSdConfig;
use promconfig::{PromDuration, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const UPSTREAM_TEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/discovery/consul/consul_test.go.txt"
);

/// A request the fake agent received.
#[derive(Clone, Debug)]
struct Request {
    /// Path and query, as sent.
    target: String,
    path: String,
    /// Query parameters, decoded.
    query: Vec<(String, String)>,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The fake agent's answer: status, `X-Consul-Index`, body.
struct Reply {
    status: u16,
    index: Option<u64>,
    body: String,
}

fn ok(index: u64, body: &str) -> Reply {
    Reply {
        status: 200,
        index: Some(index),
        body: body.to_string(),
    }
}

type Handler = Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |r| Box::pin(f(r)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Serves `handler` on a loopback port (one request per connection); returns
/// `host:port` and every request seen.
async fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let handler = Arc::clone(&handler);
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let mut lines = head.split("\r\n");
                let target = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or_default()
                    .to_string();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let request = Request {
                    target: target.clone(),
                    path: path.to_string(),
                    query: query
                        .split('&')
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once('=').unwrap_or((p, ""));
                            (percent_decode(k), percent_decode(v))
                        })
                        .collect(),
                    headers,
                };
                requests.lock().unwrap().push(request.clone());
                let reply = handler(request).await;
                let mut response = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                if let Some(index) = reply.index {
                    response.push_str(&format!("X-Consul-Index: {index}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&reply.body);
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    (address, seen)
}

/// A raw string constant of upstream's test file (`Name = \`...\``).
fn upstream_constant(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("\t{name} "))
        .unwrap_or_else(|| panic!("{name} not in upstream's test"));
    let rest = &text[start..];
    let open = rest.find('`').unwrap() + 1;
    let close = rest[open..].find('`').unwrap();
    rest[open..open + close].to_string()
}

/// Upstream's `newServer` table: the exact URLs its fake agent answers, what it
/// answers and whether it holds the answer 5 seconds first.
struct UpstreamServer {
    routes: Vec<(String, String, bool)>,
}

fn upstream_server() -> UpstreamServer {
    let text = std::fs::read_to_string(UPSTREAM_TEST).unwrap();
    let agent = upstream_constant(&text, "AgentAnswer");
    let service = upstream_constant(&text, "ServiceTestAnswer");
    let services = upstream_constant(&text, "ServicesTestAnswer");
    let body = text
        .split("func newServer(")
        .nth(1)
        .and_then(|b| b.split("default:").next())
        .unwrap();
    let mut routes = Vec::new();
    for case in body.split("case \"").skip(1) {
        let url = case.split('"').next().unwrap().to_string();
        let held = case.contains("time.Sleep(5 * time.Second)");
        let value = case
            .split("response = ")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .trim();
        let answer = match value {
            "AgentAnswer" => agent.clone(),
            "ServiceTestAnswer" => service.clone(),
            "ServicesTestAnswer" => services.clone(),
            literal => literal.trim_matches('`').to_string(),
        };
        routes.push((url, answer, held));
    }
    assert_eq!(routes.len(), 9, "the routes of upstream's newServer");
    UpstreamServer { routes }
}

/// Upstream's `newServer`: its routes, the calls it did not expect, and the
/// configuration it returns (an `SDConfig` literal: no defaults, so no stale reads and an
/// empty tag separator).
async fn new_server() -> (
    ConsulSdConfig,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<Request>>>,
) {
    let routes = Arc::new(upstream_server().routes);
    let unhandled = Arc::new(Mutex::new(Vec::new()));
    let missed = Arc::clone(&unhandled);
    let (address, seen) = serve(handler(move |r: Request| {
        let routes = Arc::clone(&routes);
        let missed = Arc::clone(&missed);
        async move {
            let route = routes.iter().find(|(url, _, _)| *url == r.target);
            let Some((_, answer, held)) = route else {
                missed.lock().unwrap().push(r.target.clone());
                return ok(1, "");
            };
            if *held {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            ok(1, answer)
        }
    }))
    .await;
    let config = ConsulSdConfig {
        server: address,
        token: Secret("fake-token".into()),
        refresh_interval: PromDuration(Duration::from_secs(1)),
        ..ConsulSdConfig::default()
    };
    (config, unhandled, seen)
}

/// Runs the discovery; returns its groups' receiver and its task.
fn run(config: &ConsulSdConfig) -> (mpsc::Receiver<Vec<Group>>, tokio::task::JoinHandle<()>) {
    let d = ConsulDiscovery::new(config, "consul").unwrap();
    let (tx, rx) = mpsc::channel(1);
    (rx, tokio::spawn(Box::new(d).run(tx)))
}

async fn next(rx: &mut mpsc::Receiver<Vec<Group>>) -> Vec<Group> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no groups within 10s")
        .expect("the discovery stopped")
}

/// Upstream's cancel-and-wait: with the receiver gone, the discovery ends.
async fn stop(rx: mpsc::Receiver<Vec<Group>>, task: tokio::task::JoinHandle<()>) {
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the discovery did not stop")
        .unwrap();
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The target of upstream's `ServiceTestAnswer`, tags joined by `separator`.
fn test_target(separator: &str) -> LabelSet {
    let tags = format!("{separator}tag1{separator}");
    labels(&[
        ("__address__", "1.1.1.1:3341"),
        ("__meta_consul_address", "1.1.1.1"),
        ("__meta_consul_health", "passing"),
        ("__meta_consul_metadata_rack_name", "2304"),
        ("__meta_consul_namespace", ""),
        ("__meta_consul_node", "node1"),
        ("__meta_consul_partition", ""),
        ("__meta_consul_service_address", ""),
        ("__meta_consul_service_id", "test"),
        ("__meta_consul_service_metadata_environment", "staging"),
        ("__meta_consul_service_metadata_version", "1.0.0"),
        ("__meta_consul_service_port", "3341"),
        ("__meta_consul_tagged_address_lan", "192.168.10.10"),
        ("__meta_consul_tagged_address_wan", "10.0.10.10"),
        ("__meta_consul_tags", &tags),
    ])
}

/// Upstream's `checkOneTarget`, with every label asserted.
fn check_one_target(groups: &[Group]) {
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    assert_eq!(
        g.labels,
        labels(&[
            ("__meta_consul_dc", "test-dc"),
            ("__meta_consul_service", &g.source)
        ])
    );
    match g.source.as_str() {
        "test" => assert_eq!(g.targets, vec![test_target("")]),
        "other" => assert!(g.targets.is_empty(), "{g:?}"),
        other => panic!("unexpected source {other:?}"),
    }
}

fn config_with(services: &[&str], tags: &[&str]) -> ConsulSdConfig {
    ConsulSdConfig {
        services: services.iter().map(|s| s.to_string()).collect(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        ..ConsulSdConfig::default()
    }
}

fn should_watch(config: &ConsulSdConfig, name: &str, tags: &[&str]) -> bool {
    let tags: Vec<String> = tags.iter().map(|s| s.to_string()).collect();
    ConsulDiscovery::new(config, "consul")
        .unwrap()
        .should_watch(name, &tags)
}

#[test]
fn configured_service() {
    let c = config_with(&["configuredServiceName"], &[]);
    assert!(should_watch(&c, "configuredServiceName", &[""]));
    assert!(!should_watch(&c, "nonConfiguredServiceName", &[""]));
}

#[test]
fn configured_service_with_tag() {
    let c = config_with(&["configuredServiceName"], &["http"]);
    assert!(!should_watch(&c, "configuredServiceName", &[""]));
    assert!(should_watch(&c, "configuredServiceName", &["http"]));
    assert!(!should_watch(&c, "nonConfiguredServiceName", &[""]));
    assert!(!should_watch(&c, "nonConfiguredServiceName", &["http"]));
}

#[test]
fn configured_service_with_tags() {
    let cases: &[(&[&str], &str, &[&str], bool)] = &[
        (&["http", "v1"], "configuredServiceName", &[""], false),
        (
            &["http", "v1"],
            "configuredServiceName",
            &["http", "v1"],
            true,
        ),
        (&["http", "v1"], "nonConfiguredServiceName", &[""], false),
        (
            &["http", "v1"],
            "nonConfiguredServiceName",
            &["http, v1"],
            false,
        ),
        (
            &["http", "v1"],
            "configuredServiceName",
            &["http", "v1", "foo"],
            true,
        ),
        (
            &["http", "v1", "foo"],
            "configuredServiceName",
            &["http", "v1", "foo"],
            true,
        ),
        (
            &["http", "v1"],
            "configuredServiceName",
            &["http", "v1", "v1"],
            true,
        ),
    ];
    for (watched_tags, name, tags, want) in cases {
        let c = config_with(&["configuredServiceName"], watched_tags);
        assert_eq!(
            should_watch(&c, name, tags),
            *want,
            "watching {watched_tags:?}, service {name} {tags:?}"
        );
    }
}

#[test]
fn non_configured_service() {
    let c = config_with(&[], &[]);
    assert!(should_watch(&c, "nonConfiguredServiceName", &[""]));
}

/// Watch all the services in the catalog.
#[tokio::test]
async fn all_services() {
    let (config, unhandled, _) = new_server().await;
    let (mut rx, task) = run(&config);
    let first = next(&mut rx).await;
    check_one_target(&first);
    let second = next(&mut rx).await;
    check_one_target(&second);
    let mut sources = vec![first[0].source.clone(), second[0].source.clone()];
    sources.sort();
    assert_eq!(sources, ["other", "test"]);
    assert_eq!(*unhandled.lock().unwrap(), Vec::<String>::new());
    stop(rx, task).await;
}

/// A group with no targets is sent when no service is watched.
#[tokio::test]
async fn no_targets() {
    let (mut config, unhandled, _) = new_server().await;
    config.tags = vec!["missing".into()];
    let (mut rx, task) = run(&config);
    assert_eq!(next(&mut rx).await, vec![Group::default()]);
    assert_eq!(*unhandled.lock().unwrap(), Vec::<String>::new());
    stop(rx, task).await;
}

/// Watch only the test service.
#[tokio::test]
async fn one_service() {
    let (mut config, unhandled, seen) = new_server().await;
    config.services = vec!["test".into()];
    let (mut rx, task) = run(&config);
    check_one_target(&next(&mut rx).await);
    assert_eq!(*unhandled.lock().unwrap(), Vec::<String>::new());
    // Fixed services alone: the catalog is not asked.
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|r| r.path != "/v1/catalog/services"));
    stop(rx, task).await;
}

/// Watch the test service with a specific tag and node-meta.
#[tokio::test]
async fn all_options() {
    let (mut config, unhandled, seen) = new_server().await;
    config.services = vec!["test".into()];
    config.node_meta = [("rack_name".to_string(), "2304".to_string())].into();
    config.tags = vec!["tag1".into()];
    config.allow_stale = true;
    config.token = Secret("fake-token".into());
    let (mut rx, task) = run(&config);
    check_one_target(&next(&mut rx).await);
    assert_eq!(*unhandled.lock().unwrap(), Vec::<String>::new());
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|r| r.target
        == "/v1/health/service/test?node-meta=rack_name%3A2304&stale=&tag=tag1&wait=120000ms"));
    for r in &seen {
        assert_eq!(r.header("x-consul-token"), Some("fake-token"), "{r:?}");
    }
    stop(rx, task).await;
}

/// What upstream's filter tests' agent records: whether each API was called and the
/// filter it got.
#[derive(Default, Clone, Debug)]
struct FilterCalls {
    catalog: Option<String>,
    health: Option<String>,
}

/// The agent of upstream's filter tests: any query, index 1.
async fn filter_server(config: &mut ConsulSdConfig) -> Arc<Mutex<FilterCalls>> {
    let text = std::fs::read_to_string(UPSTREAM_TEST).unwrap();
    let agent = upstream_constant(&text, "AgentAnswer");
    let service = upstream_constant(&text, "ServiceTestAnswer");
    let calls = Arc::new(Mutex::new(FilterCalls::default()));
    let seen = Arc::clone(&calls);
    let (address, _) = serve(handler(move |r: Request| {
        let (agent, service, seen) = (agent.clone(), service.clone(), Arc::clone(&seen));
        async move {
            let filter = r.param("filter").unwrap_or_default().to_string();
            match r.path.as_str() {
                "/v1/agent/self" => ok(1, &agent),
                "/v1/catalog/services" => {
                    seen.lock().unwrap().catalog = Some(filter);
                    ok(1, r#"{"test": []}"#)
                }
                "/v1/health/service/test" => {
                    seen.lock().unwrap().health = Some(filter);
                    ok(1, &service)
                }
                other => panic!("Unhandled consul call: {other}"),
            }
        }
    }))
    .await;
    config.server = address;
    config.refresh_interval = PromDuration(Duration::from_secs(1));
    calls
}

/// With `services` and `filter`, the catalog is still asked, with the filter; the Health
/// API is not given it.
#[tokio::test]
async fn filter_option() {
    let mut config = ConsulSdConfig {
        services: vec!["test".into()],
        filter: r#"NodeMeta.rack_name == "2304""#.into(),
        ..ConsulSdConfig::default()
    };
    let calls = filter_server(&mut config).await;
    let (mut rx, task) = run(&config);
    check_one_target(&next(&mut rx).await);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.catalog.as_deref(),
        Some(r#"NodeMeta.rack_name == "2304""#)
    );
    assert_eq!(calls.health.as_deref(), Some(""));
    stop(rx, task).await;
}

/// `health_filter` goes to the Health API, not the catalog.
#[tokio::test]
async fn health_filter_option() {
    let mut config = ConsulSdConfig {
        health_filter: r#"Service.Tags contains "canary""#.into(),
        ..ConsulSdConfig::default()
    };
    let calls = filter_server(&mut config).await;
    let (mut rx, task) = run(&config);
    check_one_target(&next(&mut rx).await);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.catalog.as_deref(), Some(""));
    assert_eq!(
        calls.health.as_deref(),
        Some(r#"Service.Tags contains "canary""#)
    );
    stop(rx, task).await;
}

/// With both filters, each goes to its own API only.
#[tokio::test]
async fn both_filters_option() {
    let mut config = ConsulSdConfig {
        services: vec!["test".into()],
        filter: r#"NodeMeta.rack_name == "2304""#.into(),
        health_filter: r#"Service.Tags contains "canary""#.into(),
        ..ConsulSdConfig::default()
    };
    let calls = filter_server(&mut config).await;
    let (mut rx, task) = run(&config);
    check_one_target(&next(&mut rx).await);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.catalog.as_deref(),
        Some(r#"NodeMeta.rack_name == "2304""#)
    );
    assert_eq!(
        calls.health.as_deref(),
        Some(r#"Service.Tags contains "canary""#)
    );
    stop(rx, task).await;
}

fn rpc_failures() -> f64 {
    discovery::metrics_snapshot()
        .into_iter()
        .find(|s| s.name == "prometheus_sd_consul_rpc_failures_total")
        .map_or(0.0, |s| s.value)
}

fn rpc_calls(call: &str) -> f64 {
    discovery::metrics_snapshot()
        .into_iter()
        .find(|s| {
            s.name == "prometheus_sd_consul_rpc_duration_seconds_count"
                && s.labels.contains(&("call", call.to_string()))
                && s.labels.contains(&("endpoint", "catalog".to_string()))
        })
        .map_or(0.0, |s| s.value)
}

#[tokio::test]
async fn get_datacenter_should_return_error() {
    let cases = [
        (
            Reply {
                status: 500,
                index: None,
                body: String::new(),
            },
            "Unexpected response code: 500 ()",
            true,
        ),
        (
            ok(0, r#"{"Config": {"Not-Datacenter": "test-dc"}}"#),
            "invalid value '<nil>' for Config.Datacenter",
            false,
        ),
    ];
    for (reply, message, counted) in cases {
        let reply = Arc::new(reply);
        let (address, _) = serve(handler(move |_| {
            let reply = Arc::clone(&reply);
            async move {
                Reply {
                    status: reply.status,
                    index: reply.index,
                    body: reply.body.clone(),
                }
            }
        }))
        .await;
        let config = ConsulSdConfig {
            server: address,
            token: Secret("fake-token".into()),
            refresh_interval: PromDuration(Duration::from_secs(1)),
            ..ConsulSdConfig::default()
        };
        let mut d = ConsulDiscovery::new(&config, "consul").unwrap();
        // Empty until asked.
        assert_eq!(d.datacenter(), "");
        let before = rpc_failures();
        assert_eq!(d.get_datacenter().await.unwrap_err(), message);
        // Still empty.
        assert_eq!(d.datacenter(), "");
        if counted {
            assert!(rpc_failures() > before, "{message}");
        }
    }
}

/// Upstream's TestUnmarshalConfig cases, through this project's YAML decoding.
#[test]
fn unmarshal_config() {
    let decode = |text: &str| {
        let mut c = ConsulSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    };
    let good = decode("server: localhost:8500\nusername: 123\npassword: 1234\n").unwrap();
    let mut want = ConsulSdConfig::defaults();
    want.username = "123".into();
    want.password = Secret("1234".into());
    want.http.basic_auth = Some(promconfig::BasicAuth {
        username: "123".into(),
        password: Secret("1234".into()),
        ..Default::default()
    });
    assert_eq!(good, want);
    assert!(good.http.follow_redirects && good.http.enable_http2);
    for (text, message) in [
        (
            "server: localhost:8500\nusername: 123\npassword: 1234\nbasic_auth:\n  username: 12345\n  password: 123456\n",
            "at most one of consul SD configuration username and password and basic auth can be configured",
        ),
        (
            "server: localhost:8500\ntoken: 1234567\nauthorization:\n  credentials: 12345678\n",
            "at most one of consul SD token, authorization, or oauth2 can be configured",
        ),
        (
            "server: localhost:8500\ntoken: 1234567\noauth2:\n  client_id: 10\n  client_secret: 11\n  token_url: http://example.com\n",
            "at most one of consul SD token, authorization, or oauth2 can be configured",
        ),
    ] {
        assert_eq!(decode(text).unwrap_err(), message);
    }
}

/// The catalog the blocking fake holds: its services and their index.
struct Catalog {
    services: String,
    index: u64,
}

/// A blocking query: the agent answers the first catalog call at once (index 7), holds
/// the next (index=7) until the catalog changes, and the change arrives then, well within
/// the refresh interval; the service gone from the catalog gets an empty group.
#[tokio::test]
async fn blocking_query() {
    let catalog = Arc::new(Mutex::new(Catalog {
        services: r#"{"web": ["a"], "db": []}"#.into(),
        index: 7,
    }));
    let changed = Arc::new(tokio::sync::Notify::new());
    let held = Arc::new(tokio::sync::Notify::new());
    let (c, ch, h) = (
        Arc::clone(&catalog),
        Arc::clone(&changed),
        Arc::clone(&held),
    );
    let (address, seen) = serve(handler(move |r: Request| {
        let (catalog, changed, held) = (Arc::clone(&c), Arc::clone(&ch), Arc::clone(&h));
        async move {
            match r.path.as_str() {
                "/v1/agent/self" => ok(1, r#"{"Config": {"Datacenter": "dc9"}}"#),
                "/v1/catalog/services" => {
                    let asked: u64 = r.param("index").map_or(0, |i| i.parse().unwrap());
                    let current = catalog.lock().unwrap().index;
                    if asked == current {
                        // Held until the catalog changes, as Consul holds a blocking query.
                        let wait = changed.notified();
                        held.notify_one();
                        wait.await;
                    }
                    let c = catalog.lock().unwrap();
                    ok(c.index, &c.services)
                }
                path => {
                    let name = path.trim_start_matches("/v1/health/service/");
                    let body = format!(
                        r#"[{{"Node": {{"Node": "n1", "Address": "10.0.0.1"}},
                            "Service": {{"ID": "{name}-1", "Service": "{name}", "Port": 80, "Tags": ["a"]}},
                            "Checks": []}}]"#
                    );
                    if r.param("index").is_some() {
                        // Later health calls block (no change) for the whole test.
                        std::future::pending::<()>().await;
                    }
                    ok(3, &body)
                }
            }
        }
    }))
    .await;
    let config = ConsulSdConfig {
        server: address,
        refresh_interval: PromDuration(Duration::from_secs(3)),
        ..ConsulSdConfig::defaults()
    };
    let (mut rx, task) = run(&config);
    let mut first = [next(&mut rx).await, next(&mut rx).await];
    first.sort_by(|a, b| a[0].source.cmp(&b[0].source));
    assert_eq!(first[0][0].source, "db");
    assert_eq!(first[1][0].source, "web");
    assert_eq!(
        first[1][0].labels,
        labels(&[
            ("__meta_consul_dc", "dc9"),
            ("__meta_consul_service", "web")
        ])
    );
    assert_eq!(first[1][0].targets[0]["__address__"], "10.0.0.1:80");
    assert_eq!(first[1][0].targets[0]["__meta_consul_tags"], ",a,");

    // The second catalog call (after one refresh interval) waits on index 7.
    tokio::time::timeout(Duration::from_secs(10), held.notified())
        .await
        .expect("no blocking catalog call");
    {
        let mut c = catalog.lock().unwrap();
        c.services = r#"{"web": ["a"], "api": []}"#.into();
        c.index = 8;
    }
    let change = Instant::now();
    changed.notify_one();
    let mut after = [next(&mut rx).await, next(&mut rx).await];
    // Sooner than the next refresh (3 s later) would have seen it.
    assert!(
        change.elapsed() < Duration::from_secs(2),
        "{:?}",
        change.elapsed()
    );
    after.sort_by(|a, b| a[0].source.cmp(&b[0].source));
    assert_eq!(after[0][0].source, "api");
    assert_eq!(after[0][0].targets[0]["__meta_consul_service_id"], "api-1");
    // db left the catalog: its group is emptied.
    assert_eq!(
        after[1],
        vec![Group {
            source: "db".into(),
            ..Group::default()
        }]
    );
    let catalog_calls: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/v1/catalog/services")
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(
        &catalog_calls[..2],
        [
            "/v1/catalog/services?stale=&wait=120000ms",
            "/v1/catalog/services?index=7&stale=&wait=120000ms"
        ]
    );
    stop(rx, task).await;
}

/// `server` with a scheme and path, `path_prefix`, datacenter, namespace and partition
/// reach the requests as Consul's client sends them; `passing` is never asked for.
#[tokio::test]
async fn server_forms_and_request_parameters() {
    let (address, seen) = serve(handler(|r: Request| async move {
        if r.path.ends_with("/v1/catalog/services") {
            ok(2, r#"{"svc": []}"#)
        } else {
            ok(2, "[]")
        }
    }))
    .await;
    let config = ConsulSdConfig {
        server: format!("http://{address}/consul"),
        path_prefix: "/ignored".into(),
        datacenter: "dc1".into(),
        namespace: "team".into(),
        partition: "part".into(),
        ..ConsulSdConfig::defaults()
    };
    let before = rpc_calls("services");
    let (mut rx, task) = run(&config);
    let groups = next(&mut rx).await;
    assert_eq!(
        groups,
        vec![Group {
            source: "svc".into(),
            targets: vec![],
            labels: labels(&[
                ("__meta_consul_dc", "dc1"),
                ("__meta_consul_service", "svc")
            ]),
        }]
    );
    stop(rx, task).await;
    let targets: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    // The datacenter is configured: the agent is not asked for it.
    assert_eq!(
        targets,
        [
            "/consul/v1/catalog/services?dc=dc1&ns=team&partition=part&stale=&wait=120000ms",
            "/consul/v1/health/service/svc?dc=dc1&ns=team&partition=part&stale=&wait=120000ms",
        ]
    );
    assert!(rpc_calls("services") > before);

    let config = ConsulSdConfig {
        server: address.clone(),
        path_prefix: "/prefix".into(),
        services: vec!["svc".into()],
        datacenter: "dc1".into(),
        ..ConsulSdConfig::defaults()
    };
    let (mut rx, task) = run(&config);
    next(&mut rx).await;
    stop(rx, task).await;
    assert_eq!(
        seen.lock().unwrap().last().unwrap().target,
        "/prefix/v1/health/service/svc?dc=dc1&stale=&wait=120000ms"
    );

    let bad = ConsulSdConfig {
        server: "ftp://consul:8500".into(),
        ..ConsulSdConfig::defaults()
    };
    assert_eq!(
        ConsulDiscovery::new(&bad, "consul").err().unwrap().0,
        "Unknown protocol scheme: ftp"
    );
    let sd = promconfig::SdConfigs {
        consul_sd_configs: vec![Some(bad)],
        ..Default::default()
    };
    assert!(discovery::has_discoverers(&sd));
    assert!(discovery::MECHANISMS.contains(&"consul_sd_configs"));
    assert_eq!(
        discovery::check(&sd).unwrap_err(),
        "consul_sd_configs: Unknown protocol scheme: ftp"
    );
}

/// A failed service call keeps the last targets (nothing is sent), is counted, and the
/// discovery stays up.
#[tokio::test]
async fn failures_keep_last_targets() {
    let fail = Arc::new(Mutex::new(false));
    let f = Arc::clone(&fail);
    let (address, _) = serve(handler(move |_r: Request| {
        let fail = *f.lock().unwrap();
        async move {
            if fail {
                Reply {
                    status: 500,
                    index: None,
                    body: "boom\n".into(),
                }
            } else {
                ok(5, r#"[{"Node": {"Node": "n", "Address": "10.1.1.1"}, "Service": {"ID": "s", "Port": 9}}]"#)
            }
        }
    }))
    .await;
    let config = ConsulSdConfig {
        server: address,
        services: vec!["s".into()],
        datacenter: "dc".into(),
        refresh_interval: PromDuration(Duration::from_millis(200)),
        ..ConsulSdConfig::defaults()
    };
    let (mut rx, task) = run(&config);
    let groups = next(&mut rx).await;
    assert_eq!(groups[0].targets[0]["__address__"], "10.1.1.1:9");
    let before = rpc_failures();
    *fail.lock().unwrap() = true;
    // Nothing more is sent (the index did not change, then the calls fail).
    assert!(tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .is_err());
    assert!(rpc_failures() > before);
    stop(rx, task).await;
}

/// Every label of the Health API's answer as upstream builds it: the service address
/// before the node's, IPv6 in brackets, sanitized metadata names, aggregated health.
#[test]
fn target_labels() {
    let body = br#"[
      {"Node": {"Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc",
                "TaggedAddresses": {"lan_ipv4": "10.0.0.1", "wan-x": "1.2.3.4"},
                "Meta": {"rack-name": "r1", "os.version": null}},
       "Service": {"ID": "web-1", "Service": "web", "Tags": ["a", "b"], "Address": "fd00::1",
                   "Meta": {"team.name": "x"}, "Port": 8080, "Namespace": "ns1", "Partition": "p1"},
       "Checks": [{"CheckID": "serfHealth", "Status": "passing"},
                  {"CheckID": "_service_maintenance:web-1", "Status": "critical"}]},
      {"Node": {"Node": "n2", "Address": "10.0.0.2"},
       "Service": {"ID": "web-2", "Tags": null, "Port": 80},
       "Checks": [{"CheckID": "c", "Status": "warning"}, {"CheckID": "d", "Status": "bogus"}]}
    ] trailing text is not read"#;
    let targets = parse_health_answer(body, ";").unwrap();
    assert_eq!(
        targets,
        vec![
            labels(&[
                ("__address__", "[fd00::1]:8080"),
                ("__meta_consul_address", "10.0.0.1"),
                ("__meta_consul_health", "maintenance"),
                ("__meta_consul_metadata_os_version", ""),
                ("__meta_consul_metadata_rack_name", "r1"),
                ("__meta_consul_namespace", "ns1"),
                ("__meta_consul_node", "n1"),
                ("__meta_consul_partition", "p1"),
                ("__meta_consul_service_address", "fd00::1"),
                ("__meta_consul_service_id", "web-1"),
                ("__meta_consul_service_metadata_team_name", "x"),
                ("__meta_consul_service_port", "8080"),
                ("__meta_consul_tagged_address_lan_ipv4", "10.0.0.1"),
                ("__meta_consul_tagged_address_wan_x", "1.2.3.4"),
                ("__meta_consul_tags", ";a;b;"),
            ]),
            labels(&[
                ("__address__", "10.0.0.2:80"),
                ("__meta_consul_address", "10.0.0.2"),
                ("__meta_consul_health", ""),
                ("__meta_consul_namespace", ""),
                ("__meta_consul_node", "n2"),
                ("__meta_consul_partition", ""),
                ("__meta_consul_service_address", ""),
                ("__meta_consul_service_id", "web-2"),
                ("__meta_consul_service_port", "80"),
                ("__meta_consul_tags", ";;"),
            ]),
        ]
    );
    assert_eq!(parse_health_answer(b"null", ",").unwrap(), vec![]);
    assert!(parse_health_answer(b"", ",").is_err());
    assert!(parse_health_answer(br#"[{"Service": {"Port": "80"}}]"#, ",").is_err());
    let catalog = parse_catalog_answer(br#"{"a": null, "b": ["x", "y"]}"#).unwrap();
    assert_eq!(catalog["a"], Vec::<String>::new());
    assert_eq!(catalog["b"], ["x", "y"]);
}
