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
