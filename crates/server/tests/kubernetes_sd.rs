//! Kubernetes discovery through the server binary with upstream's example configuration
//! (`documentation/examples/prometheus-kubernetes.yml`, written out below with the API
//! server pointed at a fake one on loopback and the service account files in a temporary
//! directory, and one job for endpoint slices added): every job's targets with the labels its relabeling gives (Debian's
//! Prometheus 2.42 is built without Kubernetes discovery, so the expected labels are
//! written out from upstream's rules); a pod that appears or goes is a target or none
//! within one watch event; after the API server expires every resource version (410
//! Gone), the targets are unchanged, none lost and none doubled.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{free_port, send_request, Server};
use serde_json::{json, Value};

/// Upstream's example, comments left out; `{api}`, `{ca}` and `{token}` are filled in.
const EXAMPLE: &str = r#"
global:
  scrape_interval: 1s
  scrape_timeout: 500ms
  keep_dropped_targets: 100
scrape_configs:
  - job_name: "kubernetes-apiservers"
    kubernetes_sd_configs:
      - role: endpoints
        api_server: {api}
    scheme: https
    tls_config:
      ca_file: {ca}
    authorization:
      credentials_file: {token}
    relabel_configs:
      - source_labels:
          [
            __meta_kubernetes_namespace,
            __meta_kubernetes_service_name,
            __meta_kubernetes_endpoint_port_name,
          ]
        action: keep
        regex: default;kubernetes;https
  - job_name: "kubernetes-nodes"
    scheme: https
    tls_config:
      ca_file: {ca}
    authorization:
      credentials_file: {token}
    kubernetes_sd_configs:
      - role: node
        api_server: {api}
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_node_label_(.+)
  - job_name: "kubernetes-cadvisor"
    scheme: https
    metrics_path: /metrics/cadvisor
    tls_config:
      ca_file: {ca}
    authorization:
      credentials_file: {token}
    kubernetes_sd_configs:
      - role: node
        api_server: {api}
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_node_label_(.+)
  - job_name: "kubernetes-service-endpoints"
    kubernetes_sd_configs:
      - role: endpoints
        api_server: {api}
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        action: replace
        target_label: service
  - job_name: "kubernetes-services"
    metrics_path: /probe
    params:
      module: [http_2xx]
    kubernetes_sd_configs:
      - role: service
        api_server: {api}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - target_label: __address__
        replacement: blackbox-exporter.example.com:9115
      - source_labels: [__param_target]
        target_label: instance
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        target_label: service
  - job_name: "kubernetes-ingresses"
    metrics_path: /probe
    params:
      module: [http_2xx]
    kubernetes_sd_configs:
      - role: ingress
        api_server: {api}
    relabel_configs:
      - source_labels:
          [
            __meta_kubernetes_ingress_scheme,
            __address__,
            __meta_kubernetes_ingress_path,
          ]
        regex: (.+);(.+);(.+)
        replacement: ${1}://${2}${3}
        target_label: __param_target
      - target_label: __address__
        replacement: blackbox-exporter.example.com:9115
      - source_labels: [__param_target]
        target_label: instance
      - action: labelmap
        regex: __meta_kubernetes_ingress_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_ingress_name]
        target_label: ingress
  - job_name: "kubernetes-pods"
    kubernetes_sd_configs:
      - role: pod
        api_server: {api}
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
  # Not in upstream's example: endpoint slices, added, changed and deleted below.
  - job_name: "kubernetes-endpointslices"
    kubernetes_sd_configs:
      - role: endpointslice
        api_server: {api}
        namespaces: {names: [monitoring]}
"#;

fn pod(name: &str, port: u16) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "monitoring", "uid": format!("uid-{name}"),
            "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "web:1",
            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "web", "containerID": "containerd://abc"}]}
    })
}

/// A small cluster: the API server's own service and endpoints, a node, a service with
/// its endpoints and pod, and an ingress.
fn cluster(api: &kubefake::FakeApi, web_port: u16) {
    api.apply("namespaces", json!({"metadata": {"name": "default"}}));
    api.apply("namespaces", json!({"metadata": {"name": "monitoring"}}));
    api.apply(
        "services",
        json!({"metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}),
    );
    api.apply(
        "endpoints",
        json!({"metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": "127.0.0.2"}],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}),
    );
    api.apply(
        "nodes",
        json!({"metadata": {"name": "node-1", "uid": "node-uid",
            "labels": {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"}},
            "spec": {"providerID": "kind://docker/node-1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.3"},
                {"type": "Hostname", "address": "node-1"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}),
    );
    api.apply(
        "services",
        json!({"metadata": {"name": "web", "namespace": "monitoring", "labels": {"app": "web"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}}),
    );
    api.apply("pods", pod("web-1", web_port));
    api.apply(
        "endpoints",
        json!({"metadata": {"name": "web", "namespace": "monitoring", "labels": {"app": "web"}},
            "subsets": [{"addresses": [{"ip": "127.0.0.1", "nodeName": "node-1",
                "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "monitoring"}}],
                "ports": [{"name": "http", "port": web_port, "protocol": "TCP"}]}]}),
    );
    api.apply(
        "ingresses",
        json!({"metadata": {"name": "web", "namespace": "monitoring", "labels": {"app": "web"}},
            "spec": {"ingressClassName": "nginx",
                "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/"}]}}]}}),
    );
}

/// (scrapePool, labels) → discoveredLabels of every active target.
type Targets = BTreeMap<(String, String), Value>;

fn targets(port: u16) -> Option<Targets> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let reply = send_request(addr, "GET", "/api/v1/targets", &[], b"", &|| String::new());
    let json: Value = serde_json::from_str(&reply.text()).ok()?;
    let mut out = Targets::new();
    for t in json["data"]["activeTargets"].as_array()? {
        let key = (
            t["scrapePool"].as_str().unwrap_or_default().to_string(),
            t["labels"].to_string(),
        );
        // A target listed twice would be a duplicate: keep the evidence.
        assert!(
            out.insert(key.clone(), t["discoveredLabels"].clone())
                .is_none(),
            "target listed twice: {key:?}"
        );
    }
    Some(out)
}

fn wait_for(port: u16, what: &str, ok: impl Fn(&Targets) -> bool) -> Targets {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(t) = targets(port) {
            if ok(&t) {
                return t;
            }
            assert!(Instant::now() < deadline, "{what}: {t:#?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pod_targets(t: &Targets) -> Vec<&(String, String)> {
    t.keys()
        .filter(|(pool, _)| pool == "kubernetes-pods")
        .collect()
}

#[test]
fn example_configuration_targets_match_prometheus_and_follow_watch_events() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = runtime.block_on(kubefake::FakeApi::start());
    let web_port = free_port();
    cluster(&api, web_port);

    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "not-a-real-token").unwrap();
    let ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/web-config/tls-ca-chain.pem"
    );
    let config = EXAMPLE
        .replace("{api}", &api.url())
        .replace("{ca}", ca)
        .replace("{token}", &token.display().to_string());
    std::fs::write(dir.path().join("prometheus.yml"), &config).unwrap();

    let ours = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let ours_port = ours.addr.port();

    let mine = wait_for(ours_port, "our targets", |t| t.len() == 9);
    let found: Vec<(String, Value)> = mine
        .keys()
        .map(|(pool, labels)| (pool.clone(), serde_json::from_str(labels).unwrap()))
        .collect();
    let web = format!("127.0.0.1:{web_port}");
    let node = |job: &str| {
        json!({"instance": "node-1", "job": job, "kubernetes_io_hostname": "node-1",
            "kubernetes_io_os": "linux"})
    };
    let mut expected = vec![
        (
            "kubernetes-apiservers",
            json!({"instance": "127.0.0.2:6443", "job": "kubernetes-apiservers"}),
        ),
        ("kubernetes-nodes", node("kubernetes-nodes")),
        ("kubernetes-cadvisor", node("kubernetes-cadvisor")),
        (
            "kubernetes-service-endpoints",
            json!({"component": "apiserver", "provider": "kubernetes",
            "instance": "127.0.0.2:6443", "job": "kubernetes-service-endpoints",
            "namespace": "default", "service": "kubernetes"}),
        ),
        (
            "kubernetes-service-endpoints",
            json!({"app": "web", "instance": web,
            "job": "kubernetes-service-endpoints", "namespace": "monitoring", "service": "web"}),
        ),
        (
            "kubernetes-services",
            json!({"component": "apiserver", "provider": "kubernetes",
            "instance": "kubernetes.default.svc:443", "job": "kubernetes-services",
            "namespace": "default", "service": "kubernetes"}),
        ),
        (
            "kubernetes-services",
            json!({"app": "web", "instance": "web.monitoring.svc:8080",
            "job": "kubernetes-services", "namespace": "monitoring", "service": "web"}),
        ),
        (
            "kubernetes-ingresses",
            json!({"app": "web", "instance": "http://web.example.com/",
            "job": "kubernetes-ingresses", "namespace": "monitoring", "ingress": "web"}),
        ),
        // Upstream's documentation: the pod's target carries its namespace, name and labels.
        (
            "kubernetes-pods",
            json!({"app": "web", "instance": web, "job": "kubernetes-pods",
            "namespace": "monitoring", "pod": "web-1"}),
        ),
    ]
    .into_iter()
    .map(|(pool, labels)| (pool.to_string(), labels))
    .collect::<Vec<_>>();
    let mut found_sorted = found.clone();
    found_sorted.sort_by_key(|(p, l)| (p.clone(), l.to_string()));
    expected.sort_by_key(|(p, l)| (p.clone(), l.to_string()));
    assert_eq!(found_sorted, expected, "{}", ours.log_text());
    // The pod target's discovered labels, as upstream's pod role gives them.
    let pod_key = mine
        .keys()
        .find(|(pool, _)| pool == "kubernetes-pods")
        .unwrap();
    let discovered = &mine[pod_key];
    for (name, value) in [
        ("__address__", web.as_str()),
        ("__meta_kubernetes_namespace", "monitoring"),
        ("__meta_kubernetes_pod_name", "web-1"),
        ("__meta_kubernetes_pod_ready", "true"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_node_name", "node-1"),
        ("__meta_kubernetes_pod_uid", "uid-web-1"),
        ("__meta_kubernetes_pod_container_name", "web"),
        ("__meta_kubernetes_pod_container_id", "containerd://abc"),
        ("__meta_kubernetes_pod_container_port_name", "http"),
        ("__meta_kubernetes_pod_container_init", "false"),
        ("__meta_kubernetes_pod_label_app", "web"),
        ("__meta_kubernetes_pod_labelpresent_app", "true"),
    ] {
        assert_eq!(discovered[name], value, "{name} in {discovered:#}");
    }
    let keys = |t: &Targets| t.keys().cloned().collect::<Vec<_>>();

    // Jobs with identical kubernetes_sd_configs share their watches: the two endpoints
    // jobs watch endpoints, services and pods once, the two node jobs the nodes once, the
    // service, ingress and pod jobs one collection each, and the endpoint slice job its
    // slices, services and pods in its namespace.
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.open_watches() != 10 {
        assert!(
            Instant::now() < deadline,
            "open watches: {}; requests: {:#?}",
            api.open_watches(),
            api.requests()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A new pod is a target, and a deleted one none, with one watch event each.
    api.apply("pods", pod("web-2", web_port + 1));
    wait_for(ours_port, "the new pod's target", |t| {
        pod_targets(t).len() == 2
    });
    api.delete("pods", "monitoring", "web-1");
    wait_for(ours_port, "the deleted pod's target gone", |t| {
        let pods = pod_targets(t);
        pods.len() == 1 && pods[0].1.contains("web-2")
    });
    // A pod whose labels change: its target carries the new ones.
    let mut web2 = pod("web-2", web_port + 1);
    web2["metadata"]["labels"]["app"] = json!("web-v2");
    api.apply("pods", web2);
    wait_for(ours_port, "the modified pod's target", |t| {
        let pods = pod_targets(t);
        pods.len() == 1 && pods[0].1.contains("\"app\":\"web-v2\"")
    });
    // An endpoint slice added, changed and deleted: its targets follow.
    let slice = |addresses: &[&str]| {
        let endpoints: Vec<Value> = addresses
            .iter()
            .map(|a| {
                let mut e = json!({"addresses": [a], "conditions": {"ready": true}});
                if *a == "127.0.0.1" {
                    e["targetRef"] =
                        json!({"kind": "Pod", "name": "web-2", "namespace": "monitoring"});
                }
                e
            })
            .collect();
        json!({"metadata": {"name": "web-abc", "namespace": "monitoring",
            "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http", "port": web_port + 1, "protocol": "TCP"}]})
    };
    let slice_targets = |t: &Targets| -> Vec<Value> {
        t.iter()
            .filter(|((pool, _), _)| pool == "kubernetes-endpointslices")
            .map(|(_, d)| d.clone())
            .collect()
    };
    api.apply("endpointslices", slice(&["127.0.0.1"]));
    let t = wait_for(ours_port, "the slice's target", |t| {
        slice_targets(t).len() == 1
    });
    let d = &slice_targets(&t)[0];
    assert_eq!(d["__meta_kubernetes_endpointslice_name"], "web-abc");
    assert_eq!(
        d["__meta_kubernetes_endpointslice_address_target_name"],
        "web-2"
    );
    assert_eq!(d["__meta_kubernetes_service_name"], "web");
    assert_eq!(d["__meta_kubernetes_pod_label_app"], "web-v2");
    assert_eq!(
        d["__meta_kubernetes_endpointslice_endpoint_conditions_ready"],
        "true"
    );
    api.apply("endpointslices", slice(&["127.0.0.1", "127.0.0.5"]));
    wait_for(ours_port, "the changed slice's targets", |t| {
        slice_targets(t).len() == 2
    });
    api.delete("endpointslices", "monitoring", "web-abc");
    let after = wait_for(ours_port, "the deleted slice's targets gone", |t| {
        slice_targets(t).is_empty() && pod_targets(t).len() == 1
    });
    // Each watch of the server resumes where it was after the API server ends it, and
    // lists again after every version expired: the targets stay, none lost or doubled.
    let lists_before = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("LIST"))
        .count();
    api.end_watches();
    api.expire_versions();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api
        .requests()
        .iter()
        .filter(|r| r.starts_with("LIST"))
        .count()
        <= lists_before
    {
        assert!(Instant::now() < deadline, "no list after 410 Gone");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(keys(&targets(ours_port).unwrap()), keys(&after));
    api.apply("pods", pod("web-3", web_port + 2));
    wait_for(ours_port, "a pod added after the re-list", |t| {
        pod_targets(t).len() == 2
    });

    // The API server refuses every request: the Service discovery page's source says which
    // jobs fail and why, and the targets last discovered stay.
    let before = keys(&targets(ours_port).unwrap());
    api.fail_requests(true);
    let failing = wait_for_discovery(ours_port, "the failures", |jobs| {
        jobs.iter().any(|(job, _)| job == "kubernetes-pods")
            && jobs.iter().all(|(_, error)| error.contains("401"))
    });
    assert!(failing.len() >= 5, "{failing:?}");
    assert_eq!(keys(&targets(ours_port).unwrap()), before);
    api.fail_requests(false);
    wait_for_discovery(ours_port, "the failures cleared", |jobs| jobs.is_empty());
}

/// (job, error) of every failing discovery call, from `/api/v1/status/service_discovery`.
fn discovery_failures(port: u16) -> Vec<(String, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let reply = send_request(
        addr,
        "GET",
        "/api/v1/status/service_discovery",
        &[],
        b"",
        &|| String::new(),
    );
    let json: Value = serde_json::from_str(&reply.text()).unwrap_or_default();
    let mut out = Vec::new();
    for m in json["data"].as_array().into_iter().flatten() {
        for f in m["failures"].as_array().into_iter().flatten() {
            out.push((
                m["job"].as_str().unwrap_or_default().to_string(),
                f["error"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

fn wait_for_discovery(
    port: u16,
    what: &str,
    ok: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = discovery_failures(port);
        if ok(&jobs) {
            return jobs;
        }
        assert!(Instant::now() < deadline, "{what}: {jobs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
