//! The flags against Prometheus 3.14's list (`shared/spec/prometheus-flags.md`, read at
//! test time), kingpin's syntax, the 2.x flags service files pass, and the checks and
//! log lines at start.

use std::time::Duration;

use super::startup::Notice;
use super::*;

fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
    try_parse_from(std::iter::once("promethium").chain(args.iter().copied()))
}

fn map_of(args: &[&str]) -> std::collections::BTreeMap<&'static str, String> {
    parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .as_map()
}

/// One row of the spec's flag table.
struct SpecFlag {
    name: String,
    default: Option<String>,
    repeatable: bool,
}

fn spec_flags() -> Vec<SpecFlag> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/prometheus-flags.md"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let flags: Vec<SpecFlag> = text
        .lines()
        .filter(|l| l.starts_with("| <code"))
        .map(|line| {
            let first = line[2..].split(" | ").next().unwrap();
            let start = first.find(">--").unwrap() + 3;
            let name = first[start..].split('<').next().unwrap().to_string();
            let last = line.trim_end_matches('|').trim_end();
            let default = last
                .rsplit(" | ")
                .next()
                .filter(|c| c.starts_with('`'))
                .map(|c| c.trim_matches('`').to_string());
            SpecFlag {
                name,
                default,
                repeatable: first.contains("..."),
            }
        })
        .filter(|f| f.name != "help" && f.name != "version")
        .collect();
    assert_eq!(
        flags.len(),
        57,
        "the spec lists 59 flags, --help and --version aside"
    );
    flags
}

/// A value to give a flag whose spec default is empty.
fn sample_value(name: &str) -> &'static str {
    match name {
        "web.config.file" => "web.yml",
        "web.external-url" => "http://example.com/prom/",
        "web.route-prefix" => "/prom",
        "web.user-assets" => "/srv/user",
        "storage.tsdb.retention.time" => "30d",
        "storage.tsdb.retention.size" => "512MB",
        "storage.tsdb.delay-compact-file.path" => "/var/lib/thanos/meta.json",
        "enable-feature" => "st-storage",
        other => panic!("no sample value for --{other}"),
    }
}

/// How the status API prints a value given on the command line.
fn listed(name: &str, value: &str) -> String {
    match (name, value) {
        (_, "5e7") => "50000000".into(),
        ("storage.tsdb.retention.size", "512MB") => "512MiB".into(),
        ("web.route-prefix", v) => v.trim_end_matches('/').into(),
        _ => value.into(),
    }
}

fn is_bool(flag: &SpecFlag) -> bool {
    flag.name == "agent" || matches!(flag.default.as_deref(), Some("true" | "false"))
}

#[test]
fn every_spec_flag_is_accepted_and_listed() {
    let mut all = Vec::new();
    for flag in spec_flags() {
        let name = flag.name.as_str();
        if is_bool(&flag) {
            let default = flag.default.as_deref().unwrap_or("false");
            for (args, want) in [
                (vec![format!("--{name}")], "true"),
                (vec![format!("--{name}=false")], "false"),
                (vec![format!("--{name}=true")], "true"),
                (vec![format!("--no-{name}")], "false"),
                (vec![format!("--{name}={default}")], default),
            ] {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                assert_eq!(map_of(&args)[name], want, "{args:?}");
            }
            all.push(format!("--{name}={default}"));
            continue;
        }
        let value = flag
            .default
            .clone()
            .unwrap_or_else(|| sample_value(name).to_string());
        let want = listed(name, &value);
        let map = map_of(&[&format!("--{name}={value}")]);
        let shown = &map[name];
        if name == "web.remote-write-receiver.accepted-protobuf-messages" {
            assert_eq!(shown, &value, "--{name}");
        } else {
            assert_eq!(shown, &want, "--{name}={value}");
        }
        // kingpin's other syntax: the value as the next argument.
        assert_eq!(
            &map_of(&[&format!("--{name}"), &value])[name],
            shown,
            "--{name} {value}"
        );
        // Cumulative in Prometheus though its table shows no `...`; giving a message
        // twice is refused at start (see `prometheus_start_checks`).
        let cumulative = name == "web.remote-write-receiver.accepted-protobuf-messages";
        if flag.repeatable || cumulative {
            let twice = map_of(&[&format!("--{name}={value}"), &format!("--{name}={value}")]);
            if name != "web.remote-write-receiver.accepted-protobuf-messages" {
                assert_eq!(twice[name], format!("{want},{want}"), "--{name} twice");
            }
        } else {
            assert!(
                parse(&[&format!("--{name}={value}"), &format!("--{name}={value}")]).is_err(),
                "--{name} cannot be repeated, as in kingpin"
            );
        }
        all.push(format!("--{name}={value}"));
    }
    // All at once, and every one of them listed.
    let args: Vec<&str> = all.iter().map(String::as_str).collect();
    let flags = parse(&args).unwrap();
    let map = flags.as_map();
    for flag in spec_flags() {
        assert!(
            map.contains_key(flag.name.as_str()),
            "--{} is not listed",
            flag.name
        );
        assert!(flags.given(&flag.name), "--{} given", flag.name);
    }
}

#[test]
fn defaults_are_the_spec_defaults() {
    let map = map_of(&[]);
    for flag in spec_flags() {
        let name = flag.name.as_str();
        let want = match (name, flag.default.as_deref()) {
            // As Prometheus lists them after start: the retention in force, the root prefix.
            ("storage.tsdb.retention.time", None) => "15d".to_string(),
            ("storage.tsdb.retention.size", None) => "0B".to_string(),
            ("web.route-prefix", None) => "/".to_string(),
            ("agent", None) => "false".to_string(),
            // The spec's table shows the first of the two defaults.
            ("web.remote-write-receiver.accepted-protobuf-messages", Some(first)) => {
                format!("{first},io.prometheus.write.v2.Request")
            }
            (_, Some(default)) => listed(name, default),
            (_, None) => String::new(),
        };
        assert_eq!(map[name], want, "default of --{name}");
    }
    assert!(parse(&[]).unwrap().validate().is_ok());
    assert!(parse(&[]).unwrap().notices().is_empty());
}

/// Flags Prometheus does not have (`version` is kingpin's, listed apart in the spec).
const PROMETHIUM_ONLY: &[&str] = &[
    "version",
    "web.health-without-auth",
    "query.max-memory",
    "query.max-memory-per-query",
    "storage.remote.max-held-wal-size",
    "storage.remote.max-held-wal-age",
];

#[test]
fn query_memory_is_a_share_or_a_size() {
    let h = parse(&["--query.max-memory=8GB", "--query.max-memory-per-query=10%"]).unwrap();
    let opts = h.engine_options();
    assert_eq!(opts.max_total_memory, 8 << 30);
    let machine = values::machine_memory();
    assert!(machine > 0);
    assert_eq!(opts.max_query_memory, (machine as f64 * 0.1) as u64);
    let map = map_of(&["--query.max-memory=0"]);
    assert_eq!(map["query.max-memory"], "0B");
    assert_eq!(map["query.max-memory-per-query"], "25%");
    assert_eq!(
        parse(&["--query.max-memory=0"])
            .unwrap()
            .engine_options()
            .max_total_memory,
        0
    );
    for bad in ["150%", "x%", "12"] {
        let err = parse(&["--query.max-memory", bad]).unwrap_err().to_string();
        assert!(err.contains("query.max-memory"), "{bad}: {err}");
    }
}

#[test]
fn visible_flags_are_the_spec_flags() {
    let spec: Vec<String> = spec_flags().into_iter().map(|f| f.name).collect();
    let ours: Vec<String> = command()
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(str::to_string))
        .filter(|l| !PROMETHIUM_ONLY.contains(&l.as_str()))
        .collect();
    let missing: Vec<_> = spec.iter().filter(|s| !ours.contains(s)).collect();
    let extra: Vec<_> = ours.iter().filter(|o| !spec.contains(o)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    // Prometheus lists hidden flags too (and promethium its own health flag).
    let map = map_of(&[]);
    for hidden in [
        "storage.tsdb.min-block-duration",
        "storage.tsdb.max-block-duration",
        "storage.tsdb.wal-compression",
        "scrape.adjust-timestamps",
        "scrape.timestamp-tolerance",
        "write-documentation",
    ]
    .into_iter()
    .chain(PROMETHIUM_ONLY.iter().copied().filter(|f| *f != "version"))
    {
        assert!(map.contains_key(hidden), "{hidden}");
    }
    let docs = documentation();
    for name in &spec {
        assert!(
            docs.contains(&format!(">--{name}<")),
            "--write-documentation lacks --{name}"
        );
    }
}

#[test]
fn defaults_match_prometheus() {
    let f = parse(&[]).unwrap();
    assert_eq!(f.listen_addresses, vec!["0.0.0.0:9090"]);
    assert_eq!(f.config_file, "prometheus.yml");
    assert_eq!(f.tsdb_path, "data/");
    assert!(!f.enable_lifecycle);
    assert_eq!(f.route_prefix(), "");
    assert_eq!(f.query_concurrency(), 20);
    assert_eq!(f.connection_limit(), 512);
    assert_eq!(f.read_timeout(), Some(Duration::from_secs(300)));
    assert_eq!(f.auto_reload(), None);
    let map = f.as_map();
    assert_eq!(map["storage.tsdb.max-block-duration"], "1d12h");
    assert_eq!(map["scrape.timestamp-tolerance"], "2ms");
    assert_eq!(map["storage.agent.wal-truncate-frequency"], "0s");
    assert_eq!(map["storage.agent.wal-segment-size"], "0B");
    assert_eq!(map["auto-gomemlimit.ratio"], "0.9");
}

#[test]
fn kingpin_style_values() {
    let f = parse(&[
        "--web.enable-lifecycle",
        "--web.config.file=web.yml",
        "--web.listen-address=:1",
        "--web.listen-address",
        "127.0.0.1:2",
        "--enable-feature=st-storage,use-start-timestamps",
        "--enable-feature",
        "promql-delayed-name-removal",
    ])
    .unwrap();
    assert!(f.enable_lifecycle);
    assert_eq!(f.web_config_file, "web.yml");
    assert_eq!(f.listen_addresses, vec![":1", "127.0.0.1:2"]);
    assert_eq!(f.as_map()["web.listen-address"], ":1,127.0.0.1:2");
    assert!(f.feature_enabled("use-start-timestamps"));
    assert!(f.feature_enabled("promql-delayed-name-removal"));
    assert!(f.engine_options().delayed_name_removal);
    let g = parse(&["--web.enable-lifecycle=false"]).unwrap();
    assert!(!g.enable_lifecycle);
    assert!(
        !parse(&["--no-web.enable-lifecycle"])
            .unwrap()
            .enable_lifecycle
    );
    assert!(
        !parse(&["--no-auto-gomaxprocs"])
            .unwrap()
            .pending
            .auto_gomaxprocs
    );
    assert!(
        parse(&["--web.enable-lifecycle=1"])
            .unwrap()
            .enable_lifecycle
    );
    // kingpin takes a boolean's value only after `=`, and no other words.
    assert!(parse(&["--web.enable-lifecycle", "false"]).is_err());
    assert!(parse(&["--web.enable-lifecycle=yes"]).is_err());
    // `--no-` exists for booleans only.
    assert!(parse(&["--no-query.timeout"]).is_err());
    assert!(parse(&["--web.no-such-flag"]).is_err());
    // Durations, sizes and kingpin's numbers.
    let h = parse(&[
        "--storage.tsdb.retention.time=15d",
        "--storage.tsdb.retention.size=512MB",
        "--query.timeout",
        "2h",
        "--query.lookback-delta=90s",
        "--query.max-samples=1e6",
        "--web.max-connections=0",
        "--web.read-timeout=0s",
    ])
    .unwrap();
    let map = h.as_map();
    assert_eq!(map["storage.tsdb.retention.time"], "15d");
    assert_eq!(map["storage.tsdb.retention.size"], "512MiB");
    assert_eq!(map["query.timeout"], "2h");
    assert_eq!(map["query.lookback-delta"], "1m30s");
    assert_eq!(map["query.max-samples"], "1000000");
    assert_eq!(h.engine_options().timeout, Some(Duration::from_secs(7200)));
    assert_eq!(h.engine_options().max_samples, 1_000_000);
    assert_eq!(h.connection_limit(), tokio::sync::Semaphore::MAX_PERMITS);
    assert_eq!(map["web.read-timeout"], "0s");
    assert_eq!(h.read_timeout(), None);
    assert_eq!(
        parse(&["--web.read-timeout=90s"]).unwrap().read_timeout(),
        Some(Duration::from_secs(90))
    );
    assert_eq!(h.storage_retention(), "15d or 512MiB");
    // A size needs a unit, as with kingpin's BytesVar.
    assert!(parse(&["--storage.tsdb.retention.size=512"]).is_err());
}

#[test]
fn a_bad_value_names_the_flag() {
    for flag in [
        "query.timeout",
        "query.lookback-delta",
        "storage.tsdb.retention.time",
        "storage.tsdb.retention",
        "config.auto-reload-interval",
        "web.read-timeout",
        "rules.alert.resend-delay",
        "storage.agent.retention.max-time",
        "storage.remote.flush-deadline",
        "auto-gomemlimit.refresh-interval",
        "scrape.timestamp-tolerance",
    ] {
        let err = parse(&[&format!("--{flag}=5x")]).unwrap_err().to_string();
        assert!(err.contains(&format!("--{flag}")), "{flag}: {err}");
        assert!(err.contains("5x"), "{flag}: {err}");
    }
    for (flag, value) in [
        ("storage.tsdb.retention.size", "lots"),
        ("query.max-samples", "many"),
        ("auto-gomemlimit.ratio", "most"),
        ("web.enable-admin-api", "maybe"),
        ("log.level", "loud"),
        ("storage.tsdb.wal-compression-type", "gzip"),
        (
            "web.remote-write-receiver.accepted-protobuf-messages",
            "json",
        ),
    ] {
        let err = parse(&[&format!("--{flag}={value}")])
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("--{flag}")), "{flag}: {err}");
    }
}

#[test]
fn route_prefix_from_external_url() {
    let f = parse(&["--web.external-url=https://example.com/prom/"]).unwrap();
    assert_eq!(f.route_prefix(), "/prom");
    assert_eq!(f.as_map()["web.route-prefix"], "/prom");
    let g = parse(&[
        "--web.external-url=https://example.com/prom/",
        "--web.route-prefix=/",
    ])
    .unwrap();
    assert_eq!(g.route_prefix(), "");
    assert_eq!(g.as_map()["web.route-prefix"], "/");
}

fn warnings(args: &[&str]) -> Vec<String> {
    parse(args)
        .unwrap()
        .notices()
        .into_iter()
        .filter(|n| n.warn)
        .map(|n| n.message)
        .collect()
}

#[test]
fn deprecated_2x_flags_are_accepted_with_a_warning() {
    let old = [
        ("--storage.tsdb.retention=30d", "storage.tsdb.retention"),
        (
            "--storage.tsdb.allow-overlapping-blocks",
            "storage.tsdb.allow-overlapping-blocks",
        ),
        ("--alertmanager.timeout=10s", "alertmanager.timeout"),
        (
            "--storage.exemplars.exemplars-limit=100000",
            "storage.exemplars.exemplars-limit",
        ),
        (
            "--scrape.name-escaping-scheme=underscores",
            "scrape.name-escaping-scheme",
        ),
        (
            "--web.local-assets=/usr/share/prometheus/web/",
            "web.local-assets",
        ),
        ("--storage.tsdb.use-lockfile", "storage.tsdb.use-lockfile"),
    ];
    for (arg, name) in old {
        let f = parse(&[arg]).unwrap_or_else(|e| panic!("{arg}: {e}"));
        assert!(f.validate().is_ok(), "{arg}");
        let w = warnings(&[arg]);
        assert_eq!(w.len(), 1, "{arg}: {w:?}");
        assert!(w[0].contains(name), "{arg}: {w:?}");
        // Not listed: Prometheus 3 has no such flag.
        assert!(!f.as_map().contains_key(name));
    }
    // --storage.tsdb.retention is the retention time, as in 2.x; the new name wins.
    let f = parse(&["--storage.tsdb.retention=30d"]).unwrap();
    assert_eq!(f.tsdb_options().retention_ms, 30 * 24 * 3600 * 1000);
    assert_eq!(f.as_map()["storage.tsdb.retention.time"], "30d");
    assert_eq!(f.as_map()["storage.tsdb.max-block-duration"], "3d");
    let g = parse(&[
        "--storage.tsdb.retention=30d",
        "--storage.tsdb.retention.time=10d",
    ])
    .unwrap();
    assert_eq!(g.storage_retention(), "10d");
    assert!(parse(&["--storage.tsdb.retention=thirty"])
        .unwrap_err()
        .to_string()
        .contains("--storage.tsdb.retention"));
    assert!(parse(&["--scrape.name-escaping-scheme=spaces"]).is_err());
}

/// Debian's Prometheus 2.42 package, with every flag of its `--help` (server mode) at the
/// package's values, as a service file might pass them.
#[test]
fn debian_2_42_flags_start_the_server() {
    let args = [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--web.listen-address=0.0.0.0:9090",
        "--web.config.file=",
        "--web.read-timeout=5m",
        "--web.max-connections=512",
        "--web.external-url=http://prometheus.example.com:9090/",
        "--web.route-prefix=/",
        "--web.local-assets=/usr/share/prometheus/web/",
        "--web.user-assets=/usr/share/prometheus/user",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        "--web.enable-remote-write-receiver",
        "--web.console.templates=/etc/prometheus/consoles",
        "--web.console.libraries=/etc/prometheus/console_libraries",
        "--web.page-title=Prometheus Time Series Collection and Processing Server",
        "--web.cors.origin=.*",
        "--storage.tsdb.path=/var/lib/prometheus/metrics2/",
        "--storage.tsdb.retention=15d",
        "--storage.tsdb.retention.time=15d",
        "--storage.tsdb.retention.size=10GB",
        "--storage.tsdb.use-lockfile",
        "--storage.tsdb.head-chunks-write-queue-size=0",
        "--storage.remote.flush-deadline=1m",
        "--storage.remote.read-sample-limit=5e7",
        "--storage.remote.read-concurrent-limit=10",
        "--storage.remote.read-max-bytes-in-frame=1048576",
        "--rules.alert.for-outage-tolerance=1h",
        "--rules.alert.for-grace-period=10m",
        "--rules.alert.resend-delay=1m",
        "--alertmanager.notification-queue-capacity=10000",
        "--query.lookback-delta=5m",
        "--query.timeout=2m",
        "--query.max-concurrency=20",
        "--query.max-samples=50000000",
        "--enable-feature=exemplar-storage,promql-at-modifier",
        "--log.level=info",
        "--log.format=logfmt",
    ];
    let f = parse(&args).unwrap();
    assert!(f.validate().is_ok());
    assert_eq!(f.storage_retention(), "15d or 10GiB");
    let w = warnings(&args);
    let says = |text: &str| w.iter().any(|m| m.contains(text));
    assert!(says("--web.local-assets"), "{w:?}");
    assert!(says("'storage.tsdb.retention' flag is deprecated"), "{w:?}");
    assert!(says("--web.enable-admin-api has no effect yet"), "{w:?}");
    assert!(says("--web.user-assets has no effect yet"), "{w:?}");
    assert!(says("--web.console.templates has no effect yet"), "{w:?}");
    // promethium applies --web.read-timeout: no warning for it, whatever its value.
    assert!(!says("--web.read-timeout"), "{w:?}");
    // Values equal to Prometheus's defaults change nothing: no warning.
    assert!(!says("--alertmanager.notification-queue-capacity"), "{w:?}");
    assert!(!says("--web.cors.origin"), "{w:?}");
    // Debian's agent-mode flags, with --agent, as its 2.42 takes them.
    let agent = parse(&[
        "--agent",
        "--storage.agent.path=/var/lib/prometheus/data-agent/",
        "--storage.agent.wal-compression",
        "--storage.agent.use-lockfile",
        "--storage.agent.retention.min-time=5m",
    ])
    .unwrap();
    assert!(agent.validate().is_ok());
    assert_eq!(agent.storage_path(), "/var/lib/prometheus/data-agent/");
}

#[test]
fn pending_flags_warn_only_when_they_would_matter() {
    let w = warnings(&["--web.enable-admin-api", "--web.cors.origin=example\\.com"]);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("--web.cors.origin has no effect yet"),
        "{w:?}"
    );
    assert!(
        w[1].contains("--web.enable-admin-api has no effect yet"),
        "{w:?}"
    );
    assert!(warnings(&[
        "--web.enable-admin-api=false",
        "--rules.alert.resend-delay=60s"
    ])
    .is_empty());
    // Flags of features promethium has act, and do not warn.
    assert!(warnings(&[
        "--web.enable-otlp-receiver",
        "--query.timeout=1m",
        "--storage.tsdb.retention.time=1d",
        "--web.read-timeout=30s",
        "--rules.alert.resend-delay=2m",
        "--rules.alert.for-grace-period=1m",
        "--alertmanager.notification-queue-capacity=5",
    ])
    .is_empty());
    // promethium never locks its data directory: no warning for --storage.tsdb.no-lockfile.
    assert!(warnings(&["--storage.tsdb.no-lockfile"]).is_empty());
    // The Go runtime flags: an info line when set.
    let notices = parse(&["--auto-gomemlimit.ratio=0.5", "--no-auto-gomaxprocs"])
        .unwrap()
        .notices();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices
        .iter()
        .all(|n| !n.warn && n.message.contains("Go runtime")));
}

#[test]
fn feature_names_as_prometheus_knows_them() {
    let notices =
        parse(&["--enable-feature=st-storage,search-api,no-such-thing,native-histograms"])
            .unwrap()
            .notices();
    assert_eq!(
        notices[0],
        Notice {
            warn: false,
            message: "Experimental start timestamp storage enabled.".into(),
            option: None
        }
    );
    assert!(notices[1].warn && notices[1].option.as_deref() == Some("search-api"));
    assert_eq!(notices[2].message, "Unknown option for --enable-feature");
    assert_eq!(notices[2].option.as_deref(), Some("no-such-thing"));
    assert!(notices[3].message.contains("no-op"));
    // Every feature of the spec's list is known.
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/prometheus-flags.md"
    ))
    .unwrap();
    let list = spec
        .split("Valid options: ")
        .nth(1)
        .and_then(|rest| rest.split(". See").next())
        .unwrap();
    let known: Vec<&str> = startup::known_features().collect();
    for feature in list.split(", ") {
        assert!(known.contains(&feature), "{feature}");
        let joined = format!("--enable-feature={feature}");
        let n = parse(&[&joined]).unwrap().notices();
        assert!(
            !n.iter().any(|n| n.message.starts_with("Unknown")),
            "{feature}"
        );
    }
    // The deprecated auto-reload-config feature turns on --config.auto-reload.
    let f = parse(&[
        "--enable-feature=auto-reload-config",
        "--config.auto-reload-interval=500ms",
    ])
    .unwrap();
    assert_eq!(f.auto_reload(), Some(Duration::from_secs(1)));
    assert_eq!(f.as_map()["config.auto-reload-interval"], "1s");
    // Two features Prometheus refuses together.
    let both =
        parse(&["--enable-feature=otlp-deltatocumulative,otlp-native-delta-ingestion"]).unwrap();
    assert_eq!(both.validate().unwrap_err().status, 1);
}

#[test]
fn prometheus_start_checks() {
    let refusal = |args: &[&str]| parse(args).unwrap().validate().unwrap_err();
    let r = refusal(&["--storage.agent.path=x"]);
    assert_eq!(r.status, 3);
    assert_eq!(
        r.message,
        "The following flag(s) can only be used in agent mode: [\"--storage.agent.path\"]"
    );
    let r = refusal(&["--agent", "--storage.tsdb.path=x", "--query.timeout=1m"]);
    assert_eq!(r.status, 3);
    assert!(
        r.message
            .contains("[\"--query.timeout\" \"--storage.tsdb.path\"]"),
        "{}",
        r.message
    );
    assert_eq!(refusal(&["--auto-gomemlimit.ratio=1.5"]).status, 1);
    assert_eq!(refusal(&["--web.search.max-limit=-1"]).status, 1);
    assert_eq!(refusal(&["--web.cors.origin=(unclosed"]).status, 2);
    assert_eq!(
        refusal(&[
            "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
            "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
        ])
        .status,
        2
    );
    assert_eq!(
        refusal(&["--agent", "--storage.agent.checkpoint-batch-size=0"]).status,
        1
    );
    let agent = parse(&["--agent"]).unwrap();
    assert!(agent.validate().is_ok());
    assert_eq!(agent.storage_path(), "data-agent/");
    // Agent mode acts: no warning, and its own flags act with it.
    assert!(warnings(&["--agent", "--storage.agent.retention.min-time=1m"]).is_empty());
    assert!(
        warnings(&["--agent", "--storage.agent.wal-segment-size=1MB"])[0]
            .contains("--storage.agent.wal-segment-size")
    );
    let opts = parse(&["--agent", "--storage.agent.retention.max-time=1h"])
        .unwrap()
        .tsdb_options();
    assert_eq!(
        opts.agent.map(|a| a.max_time),
        Some(std::time::Duration::from_secs(3600))
    );
}
