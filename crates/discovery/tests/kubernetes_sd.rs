//! Upstream's `discovery/kubernetes/kubernetes_test.go` cases that have a counterpart
//! here (same names), against a fake API server on loopback. Its `TestRetryOnError`
//! and `TestNodeName` test Go helpers (`retryOnError`, `nodeName` on client-go's
//! `DeletedFinalStateUnknown`) that have none. The harness in `support` waits for every
//! watch to open, which never happens here, so this file runs the discovery itself.

use std::time::Duration;

use discovery::kubernetes::KubernetesDiscovery;
use discovery::Discoverer;
use kubefake::FakeApi;

/// `prometheus_sd_kubernetes_failures_total` now (process-wide).
fn failures() -> f64 {
    discovery::metrics_snapshot()
        .into_iter()
        .find(|s| s.name == "prometheus_sd_kubernetes_failures_total")
        .map(|s| s.value)
        .expect("prometheus_sd_kubernetes_failures_total is exported")
}

/// Upstream makes the fake refuse every watch; the failing requests here are the lists
/// each watch starts with (a list fails before any watch is made), which count the
/// same. One test runs the roles one after another on this test's current-thread
/// runtime, and each role's discovery is stopped before the next starts, so the
/// increase of the process-wide counter is this role's alone (nothing else in this
/// test binary counts Kubernetes failures).
#[tokio::test]
async fn failures_count_metric() {
    let cases = [
        ("node", 1),
        ("pod", 1),
        ("service", 1),
        ("endpoints", 3),
        ("endpointslice", 3),
        ("ingress", 1),
    ];
    for (role, min_failed_watches) in cases {
        let fake = FakeApi::start().await;
        // Simulate an error on every request.
        fake.fail_requests(true);
        let text = format!("api_server: {}\nrole: {role}\n", fake.url());
        let mut config = promconfig::sd::kubernetes::KubernetesSdConfig::default();
        goyaml::from_str(&text, &mut config).expect("the test's configuration");
        let before = failures();
        let discovery = KubernetesDiscovery::new(&config, "x").expect("discovery starts");
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let task = tokio::spawn(Box::new(discovery).run(tx));

        // At least the errors of the initial requests are counted (they are retried).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while failures() - before < min_failed_watches as f64 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "role {role}: {} failures counted, want at least {min_failed_watches}; requests: {:?}",
                failures() - before,
                fake.requests()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        let _ = task.await;
        // No groups from a discovery that could list nothing.
        assert!(rx.try_recv().is_err(), "role {role}: groups sent");
        let refused = fake.requests().len();
        assert!(
            refused >= min_failed_watches,
            "role {role}: {refused} requests made, want at least {min_failed_watches}"
        );
    }
}

/// A kubeconfig file's current context (its server, and its user's token file read
/// again on every request) is how the discovery reaches the API server.
#[tokio::test]
async fn kubeconfig_file_gives_the_server_and_credentials() {
    let api = kubefake::FakeApi::start().await;
    api.apply(
        "pods",
        serde_json::json!({"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c"}]}, "status": {"podIP": "10.0.0.1"}}),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "first-token\n").unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: fake\n  cluster: {{server: '{}'}}\ncontexts:\n- name: test\n  context: {{cluster: fake, user: me}}\nusers:\n- name: me\n  user: {{tokenFile: token}}\n",
            api.url()
        ),
    )
    .unwrap();
    let mut config = promconfig::sd::kubernetes::KubernetesSdConfig::default();
    goyaml::from_str(
        &format!("role: pod\nkubeconfig_file: {}\n", kubeconfig.display()),
        &mut config,
    )
    .unwrap();
    let d = discovery::kubernetes::KubernetesDiscovery::new(&config, "kubeconfig").unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(discovery::Discoverer::run(Box::new(d), tx));
    let groups = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("groups in time")
        .expect("groups");
    assert_eq!(groups[0].source, "pod/default/p");
    assert_eq!(groups[0].targets[0]["__address__"], "10.0.0.1");
    assert_eq!(api.authorizations()[0], "Bearer first-token");
    // The token file changes (rotated): the next request carries the new one.
    std::fs::write(dir.path().join("token"), "second-token\n").unwrap();
    while api.open_watches() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    api.end_watches();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !api
        .authorizations()
        .iter()
        .any(|a| a == "Bearer second-token")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            api.authorizations()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
}
