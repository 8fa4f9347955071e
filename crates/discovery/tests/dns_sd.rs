//! Upstream's `discovery/dns` tests (TestDNS's cases, with their canned answers), the
//! resolver settings as miekg/dns reads them, and discovery end to end against a DNS
//! server on loopback whose SRV and A records change between refreshes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use discovery::dns::{name_list, parse_resolv_conf, DnsDiscovery, LookupFn, ResolverConfig};
use discovery::{Group, LabelSet};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn config(yaml: &str) -> promconfig::sd::dns::DnsSdConfig {
    let mut c = promconfig::sd::dns::DnsSdConfig::default();
    goyaml::from_str(yaml, &mut c).unwrap();
    c
}

fn record(data: RData) -> Record {
    Record::from_rdata(Name::root(), 60, data)
}

fn answer(records: Vec<RData>) -> Message {
    let mut m = Message::new();
    for r in records {
        m.add_answer(record(r));
    }
    m
}

fn canned(result: Result<Message, String>) -> LookupFn {
    Arc::new(move |_, _| {
        let result = result.clone();
        Box::pin(async move { result })
    })
}

fn target(address: &str, name: &str, srv: (&str, &str), mx: &str) -> LabelSet {
    [
        ("__address__", address),
        ("__meta_dns_name", name),
        ("__meta_dns_srv_record_target", srv.0),
        ("__meta_dns_srv_record_port", srv.1),
        ("__meta_dns_mx_record_target", mx),
        ("__meta_dns_ns_record_target", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn group(source: &str, targets: Vec<LabelSet>) -> Group {
    Group {
        source: source.into(),
        targets,
        labels: LabelSet::new(),
    }
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// One of TestDNS's cases: its name, the configuration, the canned lookup result and the
/// groups expected.
type Case = (&'static str, String, Result<Message, String>, Vec<Group>);

#[tokio::test]
async fn test_dns() {
    let web = "names: [web.example.com.]\nrefresh_interval: 1m\nport: 80\ntype: ";
    let db = "names: [_mysql._tcp.db.example.com.]\nrefresh_interval: 1m\n";
    let srv = |port, t: &str| RData::SRV(SRV::new(0, 0, port, name(t)));
    let cases: Vec<Case> = vec![
        (
            "A record query with error",
            format!("{web}A"),
            Err("some error".into()),
            vec![],
        ),
        (
            "A record query",
            format!("{web}A"),
            Ok(answer(vec![RData::A(A(Ipv4Addr::new(192, 0, 2, 2)))])),
            vec![group(
                "web.example.com.",
                vec![target("192.0.2.2:80", "web.example.com.", ("", ""), "")],
            )],
        ),
        (
            "AAAA record query",
            format!("{web}AAAA"),
            Ok(answer(vec![RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))])),
            vec![group(
                "web.example.com.",
                vec![target("[::1]:80", "web.example.com.", ("", ""), "")],
            )],
        ),
        (
            "SRV record query",
            format!("{db}type: SRV\n"),
            Ok(answer(vec![
                srv(3306, "db1.example.com."),
                srv(3306, "db2.example.com."),
            ])),
            vec![group(
                "_mysql._tcp.db.example.com.",
                vec![
                    target(
                        "db1.example.com:3306",
                        "_mysql._tcp.db.example.com.",
                        ("db1.example.com.", "3306"),
                        "",
                    ),
                    target(
                        "db2.example.com:3306",
                        "_mysql._tcp.db.example.com.",
                        ("db2.example.com.", "3306"),
                        "",
                    ),
                ],
            )],
        ),
        (
            "SRV record query with unsupported resource records",
            db.to_string(),
            Ok(answer(vec![
                srv(3306, "db1.example.com."),
                RData::TXT(TXT::new(vec!["this should be discarded".into()])),
            ])),
            vec![group(
                "_mysql._tcp.db.example.com.",
                vec![target(
                    "db1.example.com:3306",
                    "_mysql._tcp.db.example.com.",
                    ("db1.example.com.", "3306"),
                    "",
                )],
            )],
        ),
        (
            "SRV record query with empty answer (NXDOMAIN)",
            db.to_string(),
            Ok(Message::new()),
            vec![group("_mysql._tcp.db.example.com.", vec![])],
        ),
        (
            "MX record query",
            "names: [example.com.]\ntype: MX\nport: 25\nrefresh_interval: 1m\n".into(),
            Ok(answer(vec![
                RData::MX(MX::new(0, name("smtp1.example.com."))),
                RData::MX(MX::new(10, name("smtp2.example.com."))),
            ])),
            vec![group(
                "example.com.",
                vec![
                    target(
                        "smtp1.example.com:25",
                        "example.com.",
                        ("", ""),
                        "smtp1.example.com.",
                    ),
                    target(
                        "smtp2.example.com:25",
                        "example.com.",
                        ("", ""),
                        "smtp2.example.com.",
                    ),
                ],
            )],
        ),
    ];
    for (case, yaml, result, expected) in cases {
        let mut d = DnsDiscovery::new(&config(&yaml), "dns")
            .unwrap()
            .with_lookup(canned(result));
        assert_eq!(d.refresh().await.unwrap(), expected, "{case}");
    }
}

#[test]
fn resolver_settings_and_search_names_as_miekg_dns_reads_them() {
    let conf = parse_resolv_conf(
        "# comment\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nsearch a.example b.example\noptions ndots:2 timeout:1\n",
    );
    assert_eq!(
        conf.servers,
        vec![
            SocketAddr::from_str("10.0.0.1:53").unwrap(),
            SocketAddr::from_str("[fe80::1]:53").unwrap()
        ]
    );
    assert_eq!(conf.search, vec!["a.example.", "b.example."]);
    assert_eq!(conf.ndots, 2);
    // Fully qualified: alone. Fewer labels than ndots+1: search domains first.
    assert_eq!(name_list("x.example.com.", &conf), vec!["x.example.com."]);
    assert_eq!(
        name_list("web.svc", &conf),
        vec!["web.svc.a.example.", "web.svc.b.example.", "web.svc."]
    );
    assert_eq!(
        name_list("web.svc.cluster", &conf),
        vec![
            "web.svc.cluster.",
            "web.svc.cluster.a.example.",
            "web.svc.cluster.b.example."
        ]
    );
    assert_eq!(parse_resolv_conf("domain corp\n").search, vec!["corp."]);
    assert_eq!(parse_resolv_conf("").ndots, 1);
}

/// A DNS server on a loopback UDP and TCP port answering from `zone` (name, type →
/// records); over UDP it sets the truncated bit when `truncate` holds, so that the client
/// asks again over TCP.
async fn dns_server(
    zone: Arc<Mutex<Vec<(String, RecordType, RData)>>>,
    truncate: bool,
) -> SocketAddr {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
    let respond = {
        let zone = Arc::clone(&zone);
        move |query: &[u8], truncated: bool| -> Vec<u8> {
            let q = Message::from_vec(query).unwrap();
            let mut r = Message::new();
            r.set_id(q.id()).set_message_type(MessageType::Response);
            let question = q.queries()[0].clone();
            let mut found = false;
            if truncated {
                r.set_truncated(true);
            } else {
                for (n, t, data) in zone.lock().unwrap().iter() {
                    if *n == question.name().to_string() && *t == question.query_type() {
                        r.add_answer(Record::from_rdata(question.name().clone(), 5, data.clone()));
                        found = true;
                    }
                }
            }
            if !found && !truncated {
                r.set_response_code(ResponseCode::NXDomain);
            }
            r.add_query(question);
            r.to_vec().unwrap()
        }
    };
    let udp_respond = respond.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                return;
            };
            let _ = udp.send_to(&udp_respond(&buf[..n], truncate), peer).await;
        }
    });
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut conn, _)) = tcp.accept().await else {
                return;
            };
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut query).await.is_err() {
                    return;
                }
                let answer = respond(&query, false);
                let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&answer);
                let _ = conn.write_all(&framed).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_follows_a_dns_server_on_loopback() {
    let srv = |port, t: &str| RData::SRV(SRV::new(0, 0, port, name(t)));
    let zone = Arc::new(Mutex::new(vec![
        (
            "_web._tcp.svc.test.".to_string(),
            RecordType::SRV,
            srv(8080, "a.svc.test."),
        ),
        (
            "web.svc.test.".to_string(),
            RecordType::A,
            RData::A(A(Ipv4Addr::new(127, 0, 0, 2))),
        ),
    ]));
    let udp_only = dns_server(Arc::clone(&zone), false).await;
    let truncating = dns_server(Arc::clone(&zone), true).await;
    // The names are looked up through the search list: "svc.test." completes them.
    discovery::dns::override_resolver(Some(ResolverConfig {
        servers: vec![udp_only],
        search: vec!["svc.test.".into()],
        ndots: 1,
    }));
    let srv_sd = DnsDiscovery::new(
        &config("names: [_web._tcp]\nrefresh_interval: 200ms\n"),
        "dns-e2e",
    )
    .unwrap();
    let a_sd = DnsDiscovery::new(
        &config("names: [web]\ntype: A\nport: 9100\nrefresh_interval: 200ms\n"),
        "dns-e2e",
    )
    .unwrap();
    let (set, mut updates) = discovery::Set::start(
        "dns-e2e",
        vec![Box::new(srv_sd), Box::new(a_sd)],
        Duration::from_millis(100),
    );
    let addresses = |groups: &[std::sync::Arc<Group>]| -> Vec<String> {
        let mut a: Vec<String> = discovery::targets_of(groups)
            .iter()
            .filter_map(|l| l.get("__address__").map(str::to_string))
            .collect();
        a.sort();
        a
    };
    let mut wait_for = async |want: Vec<&str>| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let groups = updates.borrow_and_update().clone().unwrap_or_default();
            if addresses(&groups) == want {
                return groups;
            }
            assert!(
                tokio::time::timeout_at(deadline, updates.changed())
                    .await
                    .is_ok(),
                "timed out waiting for {want:?}, have {:?}",
                addresses(&groups)
            );
        }
    };
    let groups = wait_for(vec!["127.0.0.2:9100", "a.svc.test:8080"]).await;
    let srv_target = discovery::targets_of(&groups)
        .into_iter()
        .find(|l| l.get("__address__") == Some("a.svc.test:8080"))
        .unwrap();
    assert_eq!(srv_target.get("__meta_dns_name"), Some("_web._tcp"));
    assert_eq!(
        srv_target.get("__meta_dns_srv_record_target"),
        Some("a.svc.test.")
    );
    // The records change: the targets follow at the next refresh.
    {
        let mut z = zone.lock().unwrap();
        z.push((
            "_web._tcp.svc.test.".into(),
            RecordType::SRV,
            srv(8081, "b.svc.test."),
        ));
        z.retain(|(n, _, _)| n != "web.svc.test.");
        z.push((
            "web.svc.test.".into(),
            RecordType::A,
            RData::A(A(Ipv4Addr::new(127, 0, 0, 3))),
        ));
    }
    wait_for(vec!["127.0.0.3:9100", "a.svc.test:8080", "b.svc.test:8081"]).await;
    // A name that no longer exists (NXDOMAIN everywhere): its group empties.
    zone.lock()
        .unwrap()
        .retain(|(n, _, _)| n != "web.svc.test.");
    wait_for(vec!["a.svc.test:8080", "b.svc.test:8081"]).await;
    // Truncated over UDP: asked again over TCP, same answer.
    discovery::dns::override_resolver(Some(ResolverConfig {
        servers: vec![truncating],
        search: vec![],
        ndots: 1,
    }));
    let mut tcp = DnsDiscovery::new(&config("names: [_web._tcp.svc.test.]\n"), "dns-tcp").unwrap();
    let groups: Vec<std::sync::Arc<Group>> = tcp
        .refresh()
        .await
        .unwrap()
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    assert_eq!(
        addresses(&groups),
        vec!["a.svc.test:8080", "b.svc.test:8081"]
    );
    discovery::dns::override_resolver(None);
    drop(set);
}
