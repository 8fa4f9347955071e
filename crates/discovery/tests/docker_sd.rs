//! Upstream's `discovery/moby` Docker tests (TestDockerSDRefresh,
//! TestDockerSDRefreshMatchAllNetworks, TestDockerSDRefreshIPv6Only): their expected label
//! sets are read from upstream's test file, their daemon answers from its testdata, served
//! by a fake daemon on loopback TCP (through an `http://` host) and on a Unix socket (a
//! `unix://` host), with the file mapping of upstream's `SDMock`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use discovery::docker::DockerDiscovery;
use discovery::LabelSet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const MOBY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/discovery/moby"
);

/// A test of upstream's file: the testdata directory, whether it turns
/// `match_first_network` off, and the targets it expects.
struct UpstreamCase {
    name: String,
    directory: String,
    match_first_network: bool,
    expected: Vec<LabelSet>,
}

/// Reads a Go string literal's contents starting after its opening quote.
fn go_string(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    (out, "")
}

fn upstream_cases() -> Vec<UpstreamCase> {
    let text = std::fs::read_to_string(format!("{MOBY}/docker_test.go.txt")).unwrap();
    let mut cases = Vec::new();
    for test in text.split("\nfunc ").skip(1) {
        let Some(dir) = test.split("NewSDMock(t, \"").nth(1) else {
            continue;
        };
        let directory = dir.split('"').next().unwrap().to_string();
        let Some(list) = test.split("expected := []model.LabelSet{").nth(1) else {
            continue;
        };
        let list = list.split("\n\t}\n").next().unwrap();
        let mut expected = Vec::new();
        for set in list.split("\n\t\t{").skip(1) {
            let mut labels = LabelSet::new();
            for line in set.lines() {
                let line = line.trim();
                let Some(rest) = line.strip_prefix('"') else {
                    continue;
                };
                let (name, rest) = go_string(rest);
                let Some(rest) = rest.trim_start_matches([':', ' ', '\t']).strip_prefix('"') else {
                    continue;
                };
                let (value, _) = go_string(rest);
                labels.insert(name, value);
            }
            expected.push(labels);
        }
        // Upstream asserts the count first: the label sets read must be that many.
        let count: usize = test
            .split("require.Len(t, tg.Targets, ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(usize::MAX);
        assert_eq!(
            expected.len(),
            count,
            "label sets read from upstream's test"
        );
        cases.push(UpstreamCase {
            name: test.split('(').next().unwrap().to_string(),
            directory,
            match_first_network: !test.contains("cfg.MatchFirstNetwork = false"),
            expected,
        });
    }
    cases
}

/// Answers like upstream's SDMock: `/_ping` with the directory's headers, the API paths
/// under `/v<Api-Version>/` from its JSON files.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S, dir: PathBuf) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let headers: BTreeMap<String, String> = std::fs::read_to_string(dir.join("headers.yml"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect();
    let prefix = format!("/v{}/", headers["Api-Version"]);
    let file = if path == "/_ping" {
        Some(dir.join("_ping.json"))
    } else {
        path.strip_prefix(&prefix)
            .map(|p| dir.join(format!("{p}.json")))
    };
    let (status, body) = match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) => ("200 OK", body),
        None => ("500 Internal Server Error", Vec::new()),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in &headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("Content-Type: application/json\r\n\r\n");
    let _ = conn.write_all(response.as_bytes()).await;
    let _ = conn.write_all(&body).await;
}

async fn tcp_daemon(dir: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(answer(conn, dir.clone()));
        }
    });
    url
}

async fn unix_daemon(dir: PathBuf, socket: &Path) -> String {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(answer(conn, dir.clone()));
        }
    });
    format!("unix://{}", socket.display())
}

fn config(host: &str, match_first_network: bool) -> promconfig::sd::moby::DockerSdConfig {
    let mut c = promconfig::sd::moby::DockerSdConfig::default();
    goyaml::from_str(
        &format!("host: {host}\nmatch_first_network: {match_first_network}\n"),
        &mut c,
    )
    .unwrap();
    c
}

#[tokio::test]
async fn upstream_docker_tests() {
    let cases = upstream_cases();
    assert_eq!(cases.len(), 3, "the three Docker tests of upstream's file");
    let sockets = tempfile::tempdir().unwrap();
    for (i, case) in cases.into_iter().enumerate() {
        assert!(
            !case.expected.is_empty(),
            "{}: no expected targets read",
            case.name
        );
        let dir = PathBuf::from(format!("{MOBY}/testdata/{}", case.directory));
        let hosts = [
            tcp_daemon(dir.clone()).await,
            unix_daemon(dir, &sockets.path().join(format!("docker-{i}.sock"))).await,
        ];
        for host in hosts {
            let mut d =
                DockerDiscovery::new(&config(&host, case.match_first_network), "docker").unwrap();
            let groups = d
                .refresh()
                .await
                .unwrap_or_else(|e| panic!("{}: {host}: {e}", case.name));
            assert_eq!(groups.len(), 1);
            assert_eq!(groups[0].source, "Docker");
            let mut got = groups[0].targets.clone();
            let mut want = case.expected.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{} over {host}", case.name);
        }
    }
}

#[test]
fn label_names_are_sanitized_as_upstream() {
    assert_eq!(
        discovery::sanitize_label_name("com.docker.compose-project/x"),
        "com_docker_compose_project_x"
    );
}
