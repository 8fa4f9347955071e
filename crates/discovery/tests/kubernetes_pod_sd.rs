//! Upstream's `discovery/kubernetes/pod_test.go` cases (same names), against a fake API
//! server on loopback.

mod support;

use discovery::{Group, LabelSet};
use support::kube::*;

fn make_multi_port_pods() -> serde_json::Value {
    json!({
        "metadata": {
            "name": "testpod", "namespace": "default",
            "labels": {"test/label": "testvalue"},
            "annotations": {"test/annotation": "testannotationvalue"},
            "uid": "abc123",
            "ownerReferences": [{"kind": "testcontrollerkind", "name": "testcontrollername", "controller": true}]
        },
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {"name": "testcontainer0", "image": "testcontainer0:latest", "ports": [
                    {"name": "testport0", "protocol": "TCP", "containerPort": 9000},
                    {"name": "testport1", "protocol": "UDP", "containerPort": 9001}
                ]},
                {"name": "testcontainer1", "image": "testcontainer1:latest"}
            ]
        },
        "status": {
            "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "testcontainer0", "containerID": "docker://a1b2c3d4e5f6"},
                {"name": "testcontainer1", "containerID": "containerd://6f5e4d3c2b1a"}
            ]
        }
    })
}

#[tokio::test]
async fn pod_discovery_before_run() {
    K8sTest::new("role: pod\n")
        .before("pods", make_multi_port_pods())
        .expect(
            1,
            vec![group(
                "pod/default/testpod",
                vec![
                    ls(&[
                        ("__address__", "1.2.3.4:9000"),
                        ("__meta_kubernetes_pod_container_name", "testcontainer0"),
                        (
                            "__meta_kubernetes_pod_container_image",
                            "testcontainer0:latest",
                        ),
                        ("__meta_kubernetes_pod_container_port_name", "testport0"),
                        ("__meta_kubernetes_pod_container_port_number", "9000"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                        (
                            "__meta_kubernetes_pod_container_id",
                            "docker://a1b2c3d4e5f6",
                        ),
                    ]),
                    ls(&[
                        ("__address__", "1.2.3.4:9001"),
                        ("__meta_kubernetes_pod_container_name", "testcontainer0"),
                        (
                            "__meta_kubernetes_pod_container_image",
                            "testcontainer0:latest",
                        ),
                        ("__meta_kubernetes_pod_container_port_name", "testport1"),
                        ("__meta_kubernetes_pod_container_port_number", "9001"),
                        ("__meta_kubernetes_pod_container_port_protocol", "UDP"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                        (
                            "__meta_kubernetes_pod_container_id",
                            "docker://a1b2c3d4e5f6",
                        ),
                    ]),
                    ls(&[
                        ("__address__", "1.2.3.4"),
                        ("__meta_kubernetes_pod_container_name", "testcontainer1"),
                        (
                            "__meta_kubernetes_pod_container_image",
                            "testcontainer1:latest",
                        ),
                        ("__meta_kubernetes_pod_container_init", "false"),
                        (
                            "__meta_kubernetes_pod_container_id",
                            "containerd://6f5e4d3c2b1a",
                        ),
                    ]),
                ],
                ls(&[
                    ("__meta_kubernetes_pod_name", "testpod"),
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_pod_label_test_label", "testvalue"),
                    ("__meta_kubernetes_pod_labelpresent_test_label", "true"),
                    (
                        "__meta_kubernetes_pod_annotation_test_annotation",
                        "testannotationvalue",
                    ),
                    (
                        "__meta_kubernetes_pod_annotationpresent_test_annotation",
                        "true",
                    ),
                    ("__meta_kubernetes_pod_node_name", "testnode"),
                    ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                    ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                    ("__meta_kubernetes_pod_ready", "true"),
                    ("__meta_kubernetes_pod_phase", "Running"),
                    ("__meta_kubernetes_pod_uid", "abc123"),
                    (
                        "__meta_kubernetes_pod_controller_kind",
                        "testcontrollerkind",
                    ),
                    (
                        "__meta_kubernetes_pod_controller_name",
                        "testcontrollername",
                    ),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_delete() {
    K8sTest::new("role: pod\n")
        .before("pods", make_pods("default"))
        .after(|api| api.delete("pods", "default", "testpod"))
        .expect(2, vec![empty("pod/default/testpod")])
        .run()
        .await;
}

fn make_pods(namespace: &str) -> serde_json::Value {
    json!({
        "metadata": {"name": "testpod", "namespace": namespace, "uid": "abc123"},
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {"name": "testcontainer", "image": "testcontainer:latest", "ports": [
                    {"name": "testport", "protocol": "TCP", "containerPort": 9000}
                ]}
            ]
        },
        "status": {
            "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6"}
            ]
        }
    })
}

fn make_init_container_pods() -> serde_json::Value {
    json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "abc123"},
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {"name": "testcontainer", "image": "testcontainer:latest", "ports": [
                    {"name": "testport", "protocol": "TCP", "containerPort": 9000}
                ]}
            ],
            "initContainers": [
                {"name": "initcontainer", "image": "initcontainer:latest"}
            ]
        },
        "status": {
            "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6"}
            ],
            "initContainerStatuses": [
                {"name": "initcontainer", "containerID": "containerd://6f5e4d3c2b1a"}
            ]
        }
    })
}

/// The target of `make_pods`' one container port, at `ip`.
fn testcontainer_target(ip: &str) -> LabelSet {
    let address = format!("{ip}:9000");
    ls(&[
        ("__address__", &address),
        ("__meta_kubernetes_pod_container_name", "testcontainer"),
        (
            "__meta_kubernetes_pod_container_image",
            "testcontainer:latest",
        ),
        ("__meta_kubernetes_pod_container_port_name", "testport"),
        ("__meta_kubernetes_pod_container_port_number", "9000"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
        (
            "__meta_kubernetes_pod_container_id",
            "docker://a1b2c3d4e5f6",
        ),
    ])
}

fn expected_pod_target_groups(ns: &str) -> Group {
    let key = format!("pod/{ns}/testpod");
    group(
        &key,
        vec![testcontainer_target("1.2.3.4")],
        ls(&[
            ("__meta_kubernetes_pod_name", "testpod"),
            ("__meta_kubernetes_namespace", ns),
            ("__meta_kubernetes_pod_node_name", "testnode"),
            ("__meta_kubernetes_pod_ip", "1.2.3.4"),
            ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
            ("__meta_kubernetes_pod_ready", "true"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__meta_kubernetes_pod_uid", "abc123"),
        ]),
    )
}

fn expected_pod_target_groups_with_node_meta(
    ns: &str,
    node_name: &str,
    node_labels: &[(&str, &str)],
) -> Group {
    let mut g = expected_pod_target_groups(ns);
    g.labels
        .insert("__meta_kubernetes_node_name".into(), node_name.into());
    for (k, v) in node_labels {
        g.labels
            .insert(format!("__meta_kubernetes_node_label_{k}"), v.to_string());
        g.labels.insert(
            format!("__meta_kubernetes_node_labelpresent_{k}"),
            "true".into(),
        );
    }
    g
}

/// Upstream's `makeNode` (node_test.go): `None` maps and conditions stay unset.
fn make_node(
    name: &str,
    address: &str,
    provider_id: &str,
    labels: Option<&[(&str, &str)]>,
    annotations: Option<&[(&str, &str)]>,
) -> serde_json::Value {
    let mut metadata = json!({"name": name});
    if let Some(labels) = labels {
        metadata["labels"] = json!(ls(labels));
    }
    if let Some(annotations) = annotations {
        metadata["annotations"] = json!(ls(annotations));
    }
    json!({
        "metadata": metadata,
        "spec": {"providerID": provider_id},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

fn make_namespace(
    name: &str,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
) -> serde_json::Value {
    json!({"metadata": {"name": name, "labels": ls(labels), "annotations": ls(annotations)}})
}

fn make_replica_set(
    name: &str,
    namespace: &str,
    deployment_name: &str,
    deployment_uid: &str,
) -> serde_json::Value {
    json!({"metadata": {
        "name": name, "namespace": namespace, "uid": "rs123",
        "ownerReferences": [{"kind": "Deployment", "name": deployment_name, "uid": deployment_uid, "controller": true}]
    }})
}

fn make_deployment(name: &str, namespace: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": namespace, "uid": "deploy123"}})
}

fn make_job(
    name: &str,
    namespace: &str,
    cron_job_name: &str,
    cron_job_uid: &str,
) -> serde_json::Value {
    let mut job = json!({"metadata": {"name": name, "namespace": namespace, "uid": "job123"}});
    if !cron_job_name.is_empty() {
        job["metadata"]["ownerReferences"] = json!([
            {"kind": "CronJob", "name": cron_job_name, "uid": cron_job_uid, "controller": true}
        ]);
    }
    job
}

fn make_cron_job(name: &str, namespace: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": namespace, "uid": "cronjob123"}})
}

/// Upstream's `makeReplicaSetOwnedPod` and `makeJobOwnedPod`: `make_pods` with uid
/// `pod123` and a controlling owner.
fn make_owned_pod(
    namespace: &str,
    owner_kind: &str,
    owner_name: &str,
    owner_uid: &str,
) -> serde_json::Value {
    let mut pod = make_pods(namespace);
    pod["metadata"]["uid"] = json!("pod123");
    pod["metadata"]["ownerReferences"] = json!([
        {"kind": owner_kind, "name": owner_name, "uid": owner_uid, "controller": true}
    ]);
    pod
}

fn make_replica_set_owned_pod(
    namespace: &str,
    replica_set_name: &str,
    replica_set_uid: &str,
) -> serde_json::Value {
    make_owned_pod(namespace, "ReplicaSet", replica_set_name, replica_set_uid)
}

fn make_job_owned_pod(namespace: &str, job_name: &str, job_uid: &str) -> serde_json::Value {
    make_owned_pod(namespace, "Job", job_name, job_uid)
}

/// The group upstream's owned-pod tests expect: `pod/default/testpod` (uid `pod123`)
/// controlled by `controller_kind`/`controller_name`, with `extra` labels.
fn expected_owned_pod_group(
    controller_kind: &str,
    controller_name: &str,
    extra: &[(&str, &str)],
) -> Group {
    let mut labels = ls(&[
        ("__meta_kubernetes_pod_name", "testpod"),
        ("__meta_kubernetes_namespace", "default"),
        ("__meta_kubernetes_pod_node_name", "testnode"),
        ("__meta_kubernetes_pod_ip", "1.2.3.4"),
        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
        ("__meta_kubernetes_pod_ready", "true"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_uid", "pod123"),
        ("__meta_kubernetes_pod_controller_kind", controller_kind),
        ("__meta_kubernetes_pod_controller_name", controller_name),
    ]);
    labels.extend(ls(extra));
    group(
        "pod/default/testpod",
        vec![testcontainer_target("1.2.3.4")],
        labels,
    )
}

#[tokio::test]
async fn pod_discovery_init_container() {
    let mut expected = expected_pod_target_groups("default");
    expected.targets.push(ls(&[
        ("__address__", "1.2.3.4"),
        ("__meta_kubernetes_pod_container_name", "initcontainer"),
        (
            "__meta_kubernetes_pod_container_image",
            "initcontainer:latest",
        ),
        ("__meta_kubernetes_pod_container_init", "true"),
        (
            "__meta_kubernetes_pod_container_id",
            "containerd://6f5e4d3c2b1a",
        ),
    ]));
    expected
        .labels
        .insert("__meta_kubernetes_pod_phase".into(), "Pending".into());
    expected
        .labels
        .insert("__meta_kubernetes_pod_ready".into(), "false".into());
    K8sTest::new("role: pod\n")
        .before("pods", make_init_container_pods())
        .expect(1, vec![expected])
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_add() {
    K8sTest::new("role: pod\n")
        .after(|api| api.apply("pods", make_pods("default")))
        .expect(1, vec![expected_pod_target_groups("default")])
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_update() {
    let obj = json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "xyz321"},
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {"name": "testcontainer", "image": "testcontainer:latest", "ports": [
                    {"name": "testport", "protocol": "TCP", "containerPort": 9000}
                ]}
            ]
        },
        "status": {"podIP": "1.2.3.4", "hostIP": "2.3.4.5"}
    });
    K8sTest::new("role: pod\n")
        .before("pods", obj)
        .after(|api| api.apply("pods", make_pods("default")))
        .expect(2, vec![expected_pod_target_groups("default")])
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_update_empty_pod_ip() {
    let mut updated_pod = make_pods("default");
    updated_pod["status"]["podIP"] = json!("");
    K8sTest::new("role: pod\n")
        .before("pods", make_pods("default"))
        .after(move |api| api.apply("pods", updated_pod))
        .expect(2, vec![empty("pod/default/testpod")])
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_namespaces() {
    let mut test = K8sTest::new("role: pod\nnamespaces: {names: [ns1, ns2]}\n");
    for ns in ["ns1", "ns2"] {
        let mut pod = make_pods("default");
        pod["metadata"]["namespace"] = json!(ns);
        test = test.before("pods", pod);
    }
    test.expect(
        2,
        vec![
            expected_pod_target_groups("ns1"),
            expected_pod_target_groups("ns2"),
        ],
    )
    .run()
    .await;
}

#[tokio::test]
async fn pod_discovery_own_namespace() {
    // NamespaceDiscovery{IncludeOwnNamespace: true} with own namespace "own-ns" (the
    // configuration cannot say it: `own_namespace` is refused with `api_server`).
    let mut test = K8sTest::new("role: pod\n").own_namespace("own-ns");
    for ns in ["own-ns", "non-own-ns"] {
        let mut pod = make_pods("default");
        pod["metadata"]["namespace"] = json!(ns);
        test = test.before("pods", pod);
    }
    test.expect(1, vec![expected_pod_target_groups("own-ns")])
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_node_metadata() {
    let node_lbls: &[(&str, &str)] = &[("l1", "v1")];
    K8sTest::new("role: pod\nattach_metadata: {node: true}\n")
        .after(move |api| {
            api.apply(
                "nodes",
                make_node("testnode", "", "", Some(node_lbls), None),
            );
            api.apply("pods", make_pods("default"));
        })
        .expect(
            2,
            vec![expected_pod_target_groups_with_node_meta(
                "default", "testnode", node_lbls,
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_node_metadata_update_node() {
    let node_lbls: &[(&str, &str)] = &[("l2", "v2")];
    let old_node_lbls: &[(&str, &str)] = &[("l1", "v1")];
    K8sTest::new("role: pod\nattach_metadata: {node: true}\n")
        .before(
            "nodes",
            make_node("testnode", "", "", Some(old_node_lbls), None),
        )
        .after(move |api| {
            api.apply("pods", make_pods("default"));
            api.apply(
                "nodes",
                make_node("testnode", "", "", Some(node_lbls), None),
            );
        })
        .expect(
            2,
            vec![expected_pod_target_groups_with_node_meta(
                "default", "testnode", node_lbls,
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels: &[(&str, &str)] = &[("app", "web"), ("tier", "frontend")];
    let ns_annotations: &[(&str, &str)] = &[("maintainer", "devops"), ("build", "v3.4.5")];
    let source = format!("pod/{ns}/testpod");
    K8sTest::new("role: pod\nattach_metadata: {namespace: true}\n")
        .before("namespaces", make_namespace(ns, ns_labels, ns_annotations))
        .before("pods", make_pods(ns))
        .expect(
            1,
            vec![group(
                &source,
                vec![testcontainer_target("1.2.3.4")],
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
                    (
                        "__meta_kubernetes_namespace_annotation_maintainer",
                        "devops",
                    ),
                    (
                        "__meta_kubernetes_namespace_annotationpresent_maintainer",
                        "true",
                    ),
                    ("__meta_kubernetes_namespace_annotation_build", "v3.4.5"),
                    (
                        "__meta_kubernetes_namespace_annotationpresent_build",
                        "true",
                    ),
                    ("__meta_kubernetes_namespace_label_app", "web"),
                    ("__meta_kubernetes_namespace_labelpresent_app", "true"),
                    ("__meta_kubernetes_namespace_label_tier", "frontend"),
                    ("__meta_kubernetes_namespace_labelpresent_tier", "true"),
                    ("__meta_kubernetes_pod_name", "testpod"),
                    ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                    ("__meta_kubernetes_pod_ready", "true"),
                    ("__meta_kubernetes_pod_phase", "Running"),
                    ("__meta_kubernetes_pod_node_name", "testnode"),
                    ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                    ("__meta_kubernetes_pod_uid", "abc123"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_updated_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels: &[(&str, &str)] = &[("app", "api"), ("tier", "backend")];
    let ns_annotations: &[(&str, &str)] = &[("maintainer", "platform"), ("build", "v4.5.6")];
    let mut namespace = make_namespace(ns, ns_labels, ns_annotations);
    let source = format!("pod/{ns}/testpod");
    K8sTest::new("role: pod\nattach_metadata: {namespace: true}\n")
        .before("namespaces", namespace.clone())
        .before("pods", make_pods(ns))
        .after(move |api| {
            namespace["metadata"]["labels"]["app"] = json!("service");
            namespace["metadata"]["labels"]["zone"] = json!("us-east");
            namespace["metadata"]["annotations"]["maintainer"] = json!("sre");
            namespace["metadata"]["annotations"]["deployment"] = json!("canary");
            api.apply("namespaces", namespace);
        })
        .expect(
            2,
            vec![group(
                &source,
                vec![testcontainer_target("1.2.3.4")],
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
                    ("__meta_kubernetes_namespace_annotation_maintainer", "sre"),
                    (
                        "__meta_kubernetes_namespace_annotationpresent_maintainer",
                        "true",
                    ),
                    ("__meta_kubernetes_namespace_annotation_build", "v4.5.6"),
                    (
                        "__meta_kubernetes_namespace_annotationpresent_build",
                        "true",
                    ),
                    (
                        "__meta_kubernetes_namespace_annotation_deployment",
                        "canary",
                    ),
                    (
                        "__meta_kubernetes_namespace_annotationpresent_deployment",
                        "true",
                    ),
                    ("__meta_kubernetes_namespace_label_app", "service"),
                    ("__meta_kubernetes_namespace_labelpresent_app", "true"),
                    ("__meta_kubernetes_namespace_label_tier", "backend"),
                    ("__meta_kubernetes_namespace_labelpresent_tier", "true"),
                    ("__meta_kubernetes_namespace_label_zone", "us-east"),
                    ("__meta_kubernetes_namespace_labelpresent_zone", "true"),
                    ("__meta_kubernetes_pod_name", "testpod"),
                    ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                    ("__meta_kubernetes_pod_ready", "true"),
                    ("__meta_kubernetes_pod_phase", "Running"),
                    ("__meta_kubernetes_pod_node_name", "testnode"),
                    ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                    ("__meta_kubernetes_pod_uid", "abc123"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_node_selector() {
    let worker_node = make_node(
        "worker-node",
        "10.0.0.1",
        "",
        Some(&[("node-type", "worker")]),
        None,
    );
    let filtered_node = make_node(
        "filtered-node",
        "10.0.0.2",
        "",
        Some(&[("node-type", "master")]),
        None,
    );

    let mut pod_on_worker = make_pods("default");
    pod_on_worker["metadata"]["name"] = json!("pod-on-worker");
    pod_on_worker["metadata"]["uid"] = json!("worker-pod-123");
    pod_on_worker["spec"]["nodeName"] = json!("worker-node");
    pod_on_worker["status"]["podIP"] = json!("192.168.1.1");

    let mut pod_on_filtered_node = make_pods("default");
    pod_on_filtered_node["metadata"]["name"] = json!("pod-on-filtered-node");
    pod_on_filtered_node["metadata"]["uid"] = json!("filtered-pod-456");
    pod_on_filtered_node["spec"]["nodeName"] = json!("filtered-node");
    pod_on_filtered_node["status"]["podIP"] = json!("192.168.1.2");

    // Node metadata is necessary for node role selectors to work for the pod role.
    K8sTest::new(
        "role: pod\nattach_metadata: {node: true}\nselectors: [{role: node, label: node-type=worker}]\n",
    )
    .before("nodes", worker_node)
    .before("nodes", filtered_node)
    .before("pods", pod_on_worker)
    .before("pods", pod_on_filtered_node)
    .expect(
        2,
        vec![
            group(
                "pod/default/pod-on-worker",
                vec![testcontainer_target("192.168.1.1")],
                ls(&[
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_pod_name", "pod-on-worker"),
                    ("__meta_kubernetes_pod_ip", "192.168.1.1"),
                    ("__meta_kubernetes_pod_ready", "true"),
                    ("__meta_kubernetes_pod_phase", "Running"),
                    ("__meta_kubernetes_pod_node_name", "worker-node"),
                    ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                    ("__meta_kubernetes_pod_uid", "worker-pod-123"),
                    ("__meta_kubernetes_node_name", "worker-node"),
                    ("__meta_kubernetes_node_label_node_type", "worker"),
                    ("__meta_kubernetes_node_labelpresent_node_type", "true"),
                ]),
            ),
            empty("pod/default/pod-on-filtered-node"),
        ],
    )
    .run()
    .await;
}

#[tokio::test]
async fn pod_discovery_with_deployment() {
    let deployment = make_deployment("testdeployment", "default");
    let replica_set = make_replica_set(
        "testdeployment-rs-abc",
        "default",
        "testdeployment",
        "deploy123",
    );
    let pod = make_replica_set_owned_pod("default", "testdeployment-rs-abc", "rs123");
    K8sTest::new("role: pod\nattach_metadata: {deployment: true}\n")
        .before("pods", pod)
        .before("replicasets", replica_set)
        .before("deployments", deployment)
        .expect(
            1,
            vec![expected_owned_pod_group(
                "ReplicaSet",
                "testdeployment-rs-abc",
                &[("__meta_kubernetes_pod_deployment_name", "testdeployment")],
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_job() {
    let job = make_job("testjob", "default", "", "");
    let pod = make_job_owned_pod("default", "testjob", "job123");
    K8sTest::new("role: pod\nattach_metadata: {job: true}\n")
        .before("pods", pod)
        .before("jobs", job)
        .expect(
            1,
            vec![expected_owned_pod_group(
                "Job",
                "testjob",
                &[("__meta_kubernetes_pod_job_name", "testjob")],
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_cron_job() {
    let cron_job = make_cron_job("testcronjob", "default");
    let job = make_job(
        "testcronjob-job-abc",
        "default",
        "testcronjob",
        "cronjob123",
    );
    let pod = make_job_owned_pod("default", "testcronjob-job-abc", "job123");
    K8sTest::new("role: pod\nattach_metadata: {job: true}\n")
        .before("pods", pod)
        .before("jobs", job)
        .before("cronjobs", cron_job)
        .expect(
            1,
            vec![expected_owned_pod_group(
                "Job",
                "testcronjob-job-abc",
                &[("__meta_kubernetes_pod_job_name", "testcronjob-job-abc")],
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_deployment_update() {
    let mut deployment = make_deployment("testdeployment", "default");
    deployment["metadata"]["labels"] = json!({"version": "v1"});
    let replica_set = make_replica_set(
        "testdeployment-rs-abc",
        "default",
        "testdeployment",
        "deploy123",
    );
    let pod = make_replica_set_owned_pod("default", "testdeployment-rs-abc", "rs123");
    K8sTest::new("role: pod\nattach_metadata: {deployment: true}\n")
        .before("pods", pod)
        .before("replicasets", replica_set)
        .before("deployments", deployment.clone())
        .after(move |api| {
            // Update deployment with new labels
            deployment["metadata"]["labels"]["version"] = json!("v2");
            deployment["metadata"]["labels"]["env"] = json!("prod");
            api.apply("deployments", deployment);
        })
        .expect(
            2,
            vec![expected_owned_pod_group(
                "ReplicaSet",
                "testdeployment-rs-abc",
                &[("__meta_kubernetes_pod_deployment_name", "testdeployment")],
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_job_update() {
    let mut job = make_job("testjob", "default", "", "");
    job["metadata"]["labels"] = json!({"batch": "v1"});
    let pod = make_job_owned_pod("default", "testjob", "job123");
    K8sTest::new("role: pod\nattach_metadata: {job: true}\n")
        .before("pods", pod)
        .before("jobs", job.clone())
        .after(move |api| {
            // Update job with new labels
            job["metadata"]["labels"]["batch"] = json!("v2");
            job["metadata"]["labels"]["priority"] = json!("high");
            api.apply("jobs", job);
        })
        .expect(
            2,
            vec![expected_owned_pod_group(
                "Job",
                "testjob",
                &[("__meta_kubernetes_pod_job_name", "testjob")],
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn pod_discovery_with_cron_job_update() {
    let mut cron_job = make_cron_job("testcronjob", "default");
    cron_job["metadata"]["labels"] = json!({"schedule": "hourly"});
    let job = make_job(
        "testcronjob-job-abc",
        "default",
        "testcronjob",
        "cronjob123",
    );
    let pod = make_job_owned_pod("default", "testcronjob-job-abc", "job123");
    K8sTest::new("role: pod\nattach_metadata: {cronjob: true}\n")
        .before("pods", pod)
        .before("jobs", job)
        .before("cronjobs", cron_job.clone())
        .after(move |api| {
            // Update cronjob with new labels
            cron_job["metadata"]["labels"]["schedule"] = json!("daily");
            cron_job["metadata"]["labels"]["retention"] = json!("7d");
            api.apply("cronjobs", cron_job);
        })
        .expect(
            2,
            vec![expected_owned_pod_group(
                "Job",
                "testcronjob-job-abc",
                &[("__meta_kubernetes_pod_cronjob_name", "testcronjob")],
            )],
        )
        .run()
        .await;
}
