//! Where the API server is and how to talk to it: `api_server` with the job's HTTP client
//! settings, a kubeconfig file (its current context's cluster and user), or the in-cluster
//! service account — the three ways upstream's `kubernetes.New` builds its client. All
//! three end as a server URL and common HTTP client settings, so one client serves them.

use std::path::{Path, PathBuf};

use base64::Engine;
use goyaml::{Node, NodeKind};
use promconfig::{Authorization, BasicAuth, HttpClientConfig, Secret};

/// The service account's files in a pod, and its namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A resolved API server: its base URL (no trailing slash) and client settings.
#[derive(Debug, Clone)]
pub struct Connection {
    pub server: String,
    pub http: HttpClientConfig,
}

/// client-go's `rest.InClusterConfig`, reading the service account from `dir` and the
/// address from `KUBERNETES_SERVICE_HOST`/`_PORT` as `env` gives them.
pub fn in_cluster(dir: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Connection, String> {
    let host = env("KUBERNETES_SERVICE_HOST").unwrap_or_default();
    let port = env("KUBERNETES_SERVICE_PORT").unwrap_or_default();
    if host.is_empty() || port.is_empty() {
        return Err("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into());
    }
    let token = dir.join("token");
    // The token is read again on every request (it is rotated), as client-go does.
    std::fs::metadata(&token).map_err(|e| format!("open {}: {e}", token.display()))?;
    let mut http = HttpClientConfig::defaults();
    http.authorization = Some(Authorization {
        kind: "Bearer".into(),
        credentials_file: token.display().to_string(),
        ..Authorization::default()
    });
    let ca = dir.join("ca.crt");
    if ca.exists() {
        http.tls_config.ca_file = ca.display().to_string();
    } else {
        tracing::error!(file = %ca.display(), "Expected to load root CA config, but it is missing");
    }
    Ok(Connection {
        server: if host.contains(':') {
            format!("https://[{host}]:{port}")
        } else {
            format!("https://{host}:{port}")
        },
        http,
    })
}

/// The namespace the pod runs in (`namespaces.own_namespace`), from the service account.
pub fn own_namespace(dir: &Path) -> Result<String, String> {
    let file = dir.join("namespace");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("could not determine the pod's namespace: {e}"))?;
    if text.is_empty() {
        return Err("could not read own namespace name (empty file)".into());
    }
    Ok(text)
}

/// The most bytes of a kubeconfig file read.
const MAX_KUBECONFIG_BYTES: u64 = 4 << 20;

/// The current context of the kubeconfig file at `path` (clientcmd's
/// `BuildConfigFromFlags("", path)`): its cluster's server and TLS settings and its
/// user's credentials. Credential plugins (`exec`, `auth-provider`) are refused by name.
pub fn kubeconfig(path: &str) -> Result<Connection, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    let mut text = String::new();
    file.take(MAX_KUBECONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("read {path}: {e}"))?;
    if text.len() as u64 > MAX_KUBECONFIG_BYTES {
        return Err(format!(
            "kubeconfig {path} is larger than {MAX_KUBECONFIG_BYTES} bytes"
        ));
    }
    let dir = Path::new(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    parse_kubeconfig(&text, &dir).map_err(|e| format!("kubeconfig {path}: {e}"))
}

fn parse_kubeconfig(text: &str, dir: &Path) -> Result<Connection, String> {
    let root =
        goyaml::parse(text)?.ok_or("invalid configuration: no configuration has been provided")?;
    let current = get_str(&root, "current-context");
    if current.is_empty() {
        return Err("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable".into());
    }
    let context = named(&root, "contexts", "context", &current)
        .ok_or_else(|| format!("context was not found for specified context: {current}"))?;
    let cluster_name = get_str(context, "cluster");
    let cluster = named(&root, "clusters", "cluster", &cluster_name).ok_or_else(|| {
        format!("invalid configuration: context {current:?} refers to cluster {cluster_name:?}, which is not defined")
    })?;
    let server = get_str(cluster, "server");
    if server.is_empty() {
        return Err("invalid configuration: no server found for cluster".into());
    }
    let mut http = HttpClientConfig::defaults();
    let tls = &mut http.tls_config;
    tls.insecure_skip_verify = get(cluster, "insecure-skip-tls-verify")
        .and_then(Node::scalar_text)
        .is_some_and(|v| v == "true");
    tls.server_name = get_str(cluster, "tls-server-name");
    let data = |node: &Node, key: &str| -> Result<Option<String>, String> {
        let text = get_str(node, key);
        if text.is_empty() {
            return Ok(None);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("{key}: {e}"))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| format!("{key} is not PEM text"))
    };
    let file = |node: &Node, key: &str| -> String {
        let name = get_str(node, key);
        if name.is_empty() || Path::new(&name).is_absolute() {
            name
        } else {
            dir.join(name).display().to_string()
        }
    };
    match data(cluster, "certificate-authority-data")? {
        Some(pem) => tls.ca = pem,
        None => tls.ca_file = file(cluster, "certificate-authority"),
    }
    let user_name = get_str(context, "user");
    if let Some(user) = named(&root, "users", "user", &user_name) {
        if get(user, "exec").is_some_and(|n| !n.is_null()) {
            return Err(format!(
                "user {user_name:?} uses an exec credential plugin, which Promethium does not run; give it a token, token file or client certificate"
            ));
        }
        if get(user, "auth-provider").is_some_and(|n| !n.is_null()) {
            return Err(format!(
                "user {user_name:?} uses an auth-provider plugin, which Promethium does not run; give it a token, token file or client certificate"
            ));
        }
        match data(user, "client-certificate-data")? {
            Some(pem) => tls.cert = pem,
            None => tls.cert_file = file(user, "client-certificate"),
        }
        match data(user, "client-key-data")? {
            Some(pem) => tls.key = Secret(pem),
            None => tls.key_file = file(user, "client-key"),
        }
        let token = get_str(user, "token");
        let token_file = file(user, "tokenFile");
        let username = get_str(user, "username");
        if !token.is_empty() || !token_file.is_empty() {
            http.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials: Secret(token.clone()),
                // A literal token wins over the file, as in client-go.
                credentials_file: if token.is_empty() {
                    token_file
                } else {
                    String::new()
                },
                ..Authorization::default()
            });
        } else if !username.is_empty() {
            http.basic_auth = Some(BasicAuth {
                username,
                password: Secret(get_str(user, "password")),
                ..BasicAuth::default()
            });
        }
    } else if !user_name.is_empty() {
        return Err(format!(
            "invalid configuration: context {current:?} refers to user {user_name:?}, which is not defined"
        ));
    }
    Ok(Connection {
        server: server.trim_end_matches('/').to_string(),
        http,
    })
}

fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.kind {
        NodeKind::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn get_str(node: &Node, key: &str) -> String {
    get(node, key)
        .filter(|n| !n.is_null())
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string()
}

/// The `inner` mapping of the entry of list `list` whose `name` is `name`.
fn named<'a>(root: &'a Node, list: &str, inner: &str, name: &str) -> Option<&'a Node> {
    let NodeKind::Seq(items) = &get(root, list)?.kind else {
        return None;
    };
    items
        .iter()
        .find(|item| get_str(item, "name") == name)
        .and_then(|item| get(item, inner))
}

/// The service account directory in a pod.
pub fn service_account_dir() -> PathBuf {
    PathBuf::from(SERVICE_ACCOUNT_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: other
  cluster: {server: "https://other:6443"}
- name: main
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority: ca.pem
    tls-server-name: kubernetes
contexts:
- name: prod
  context: {cluster: main, user: admin, namespace: monitoring}
users:
- name: admin
  user:
    tokenFile: token.txt
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
"#;

    #[test]
    fn kubeconfig_current_context_gives_server_tls_and_credentials() {
        let c = parse_kubeconfig(KUBECONFIG, Path::new("/etc/kube")).unwrap();
        assert_eq!(c.server, "https://10.0.0.1:6443");
        assert_eq!(c.http.tls_config.ca_file, "/etc/kube/ca.pem");
        assert_eq!(c.http.tls_config.server_name, "kubernetes");
        assert_eq!(c.http.tls_config.cert, "-----BEGIN CERTIFICATE-----\n");
        let auth = c.http.authorization.unwrap();
        assert_eq!(auth.credentials_file, "/etc/kube/token.txt");
        assert_eq!(auth.kind, "Bearer");
    }

    #[test]
    fn kubeconfig_errors_name_what_is_missing() {
        let err = parse_kubeconfig("current-context: x\n", Path::new("/")).unwrap_err();
        assert_eq!(err, "context was not found for specified context: x");
        let err = parse_kubeconfig("kind: Config\n", Path::new("/")).unwrap_err();
        assert!(
            err.starts_with("invalid configuration: no configuration"),
            "{err}"
        );
        let exec = "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n";
        let err = parse_kubeconfig(exec, Path::new("/")).unwrap_err();
        assert!(err.contains("exec credential plugin"), "{err}");
    }

    #[test]
    fn in_cluster_needs_the_service_environment_and_token() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let err = in_cluster(dir.path(), none).unwrap_err();
        assert!(err.contains("KUBERNETES_SERVICE_HOST"), "{err}");
        let env = |k: &str| {
            Some(
                if k == "KUBERNETES_SERVICE_HOST" {
                    "fd00::1"
                } else {
                    "443"
                }
                .to_string(),
            )
        };
        assert!(in_cluster(dir.path(), env).is_err());
        std::fs::write(dir.path().join("token"), "t").unwrap();
        std::fs::write(dir.path().join("ca.crt"), "x").unwrap();
        let c = in_cluster(dir.path(), env).unwrap();
        assert_eq!(c.server, "https://[fd00::1]:443");
        assert!(c.http.tls_config.ca_file.ends_with("ca.crt"));
        std::fs::write(dir.path().join("namespace"), "monitoring").unwrap();
        assert_eq!(own_namespace(dir.path()).unwrap(), "monitoring");
    }
}
