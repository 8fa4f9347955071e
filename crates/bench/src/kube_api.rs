//! The Kubernetes discovery benchmark's API server: the fake API server (kubefake) on a
//! loopback port holding `pods` pods in ten namespaces, then changing `rate` of them per
//! second for `churn_secs` (half modified, a quarter deleted, a quarter added under new
//! names, so the count stays), then, after a pause, expiring every resource version so
//! that every client lists again. The pods present after the churn, and again after the
//! re-list, are written to files for the script to compare with the discovered targets.
//! A file-SD file with the same targets and about the same labels lets the script run a
//! server holding the same targets without discovery.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};

pub struct Options {
    pub listen: SocketAddr,
    pub pods: usize,
    pub rate: u64,
    pub warmup_secs: u64,
    pub churn_secs: u64,
    pub out_dir: PathBuf,
    pub duration_secs: u64,
}

/// A distinct loopback address per pod (127.0.0.0/8 is all loopback; nothing listens on
/// port 1, so a scrape is refused at once): targets are told apart by their address.
fn pod_ip(i: usize) -> String {
    let n = i + 1;
    format!("127.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn pod(namespace: &str, name: &str, i: usize, generation: u64) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"),
            "labels": {"app": format!("app-{}", i % 100), "pod-template-hash": "5d8f9c7b6",
                "generation": generation.to_string()},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": format!("app-{}-5d8f9c7b6", i % 100),
                "controller": true}]},
        "spec": {"nodeName": format!("node-{}", i % 50), "containers": [{"name": "app",
            "image": "registry.example.com/app:1.2.3",
            "ports": [{"name": "metrics", "containerPort": 1, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": pod_ip(i), "hostIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "containerID": format!("containerd://{i:064x}")}]}
    })
}

/// The labels our pod role gives such a pod, for the file-SD comparison server.
fn file_sd_entry(namespace: &str, name: &str, i: usize) -> Value {
    json!({"targets": [format!("{}:1", pod_ip(i))], "labels": {
        "__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_ip": pod_ip(i), "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_phase": "Running", "__meta_kubernetes_pod_node_name": format!("node-{}", i % 50),
        "__meta_kubernetes_pod_host_ip": "127.0.0.1", "__meta_kubernetes_pod_uid": format!("uid-{name}"),
        "__meta_kubernetes_pod_label_app": format!("app-{}", i % 100), "__meta_kubernetes_pod_labelpresent_app": "true",
        "__meta_kubernetes_pod_label_pod_template_hash": "5d8f9c7b6", "__meta_kubernetes_pod_labelpresent_pod_template_hash": "true",
        "__meta_kubernetes_pod_label_generation": "0", "__meta_kubernetes_pod_labelpresent_generation": "true",
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true", "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape": "true",
        "__meta_kubernetes_pod_controller_kind": "ReplicaSet", "__meta_kubernetes_pod_controller_name": format!("app-{}-5d8f9c7b6", i % 100),
        "__meta_kubernetes_pod_container_name": "app", "__meta_kubernetes_pod_container_image": "registry.example.com/app:1.2.3",
        "__meta_kubernetes_pod_container_port_name": "metrics", "__meta_kubernetes_pod_container_port_number": "1",
        "__meta_kubernetes_pod_container_port_protocol": "TCP", "__meta_kubernetes_pod_container_init": "false",
        "__meta_kubernetes_pod_container_id": format!("containerd://{i:064x}")}})
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let api = kubefake::FakeApi::start_on(o.listen)
        .await
        .with_context(|| format!("listening on {}", o.listen))?;
    std::fs::create_dir_all(&o.out_dir)?;
    let namespace = |i: usize| format!("ns-{}", i % 10);
    let mut names: Vec<(String, String, usize)> = Vec::with_capacity(o.pods);
    let mut file_sd = Vec::with_capacity(o.pods);
    for i in 0..o.pods {
        let (ns, name) = (namespace(i), format!("pod-{i}"));
        api.apply("pods", pod(&ns, &name, i, 0));
        file_sd.push(file_sd_entry(&ns, &name, i));
        names.push((ns, name, i));
    }
    std::fs::write(
        o.out_dir.join("file_sd.json"),
        serde_json::to_vec(&file_sd)?,
    )?;
    eprintln!("kube-api: {} pods on {}", o.pods, api.url());
    tokio::time::sleep(Duration::from_secs(o.warmup_secs)).await;

    let mut next = o.pods;
    let mut generation = 0u64;
    let mut changes = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / o.rate.max(1)));
    let churn_end = tokio::time::Instant::now() + Duration::from_secs(o.churn_secs);
    while tokio::time::Instant::now() < churn_end {
        tick.tick().await;
        changes += 1;
        let slot = (changes as usize * 7919) % names.len();
        match changes % 4 {
            0 | 1 => {
                generation += 1;
                let (ns, name, i) = &names[slot];
                api.apply("pods", pod(ns, name, *i, generation));
            }
            2 => {
                let (ns, name, _) = names.swap_remove(slot);
                api.delete("pods", &ns, &name);
            }
            _ => {
                let (ns, name) = (namespace(next), format!("pod-{next}"));
                api.apply("pods", pod(&ns, &name, next, 0));
                names.push((ns, name, next));
                next += 1;
            }
        }
    }
    let write_names = |file: &str| -> anyhow::Result<()> {
        let mut now = api.names("pods");
        now.sort();
        std::fs::write(o.out_dir.join(file), now.join("\n") + "\n")?;
        Ok(())
    };
    write_names("pods-after-churn.txt")?;
    eprintln!("kube-api: {changes} changes made; {} pods", names.len());
    tokio::time::sleep(Duration::from_secs(15)).await;
    api.end_watches();
    api.expire_versions();
    eprintln!("kube-api: every resource version expired");
    write_names("pods-after-relist.txt")?;
    let rest = o
        .duration_secs
        .saturating_sub(o.warmup_secs + o.churn_secs + 15);
    tokio::time::sleep(Duration::from_secs(rest)).await;
    Ok(())
}
