//! Upstream's `discovery/kubernetes/endpoints_test.go` cases (same names), against a fake
//! API server on loopback.

mod support;

use discovery::LabelSet;
use serde_json::Value;
use support::kube::*;

/// Upstream's `makeEndpoints`.
fn make_endpoints(namespace: &str) -> Value {
    json!({
        "metadata": {
            "name": "testendpoints", "namespace": namespace,
            "annotations": {"test.annotation": "test"}
        },
        "subsets": [
            {
                "addresses": [{"ip": "1.2.3.4", "hostname": "testendpoint1", "nodeName": "foobar"}],
                "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}]
            },
            {
                "addresses": [{"ip": "2.3.4.5"}],
                "notReadyAddresses": [{"ip": "2.3.4.5"}],
                "ports": [{"name": "testport", "port": 9001, "protocol": "TCP"}]
            },
            {
                "addresses": [{"ip": "6.7.8.9", "targetRef": {"kind": "Node", "name": "barbaz"}}],
                "ports": [{"name": "testport", "port": 9002, "protocol": "TCP"}]
            }
        ]
    })
}

/// Upstream's `makeNode(name, "", "", labels, nil, nil)`.
fn make_node(name: &str, labels: Value) -> Value {
    json!({
        "metadata": {"name": name, "labels": labels},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ""}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

/// Upstream's `makeNamespace`.
fn make_namespace(name: &str, labels: Value, annotations: Value) -> Value {
    json!({"metadata": {"name": name, "labels": labels, "annotations": annotations}})
}

/// A pod `testpod` with `uid` deadbeef on node `testnode` (the shape of most of
/// upstream's pods here).
fn make_pod(namespace: &str, containers: Value, status: Value) -> Value {
    json!({
        "metadata": {"name": "testpod", "namespace": namespace, "uid": "deadbeef"},
        "spec": {"nodeName": "testnode", "containers": containers},
        "status": status
    })
}

/// An endpoints object with one subset: `ip` as pod `testpod` of `namespace`, on one port.
fn make_pod_endpoints(name: &str, namespace: &str, ip: &str, ports: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{
            "addresses": [{
                "ip": ip,
                "targetRef": {"kind": "Pod", "name": "testpod", "namespace": namespace}
            }],
            "ports": ports
        }]
    })
}

fn with(mut set: LabelSet, pairs: &[(&str, &str)]) -> LabelSet {
    set.extend(ls(pairs));
    set
}

/// The targets of `make_endpoints` (without node metadata).
fn make_endpoints_targets() -> Vec<LabelSet> {
    vec![
        ls(&[
            ("__address__", "1.2.3.4:9000"),
            ("__meta_kubernetes_endpoint_hostname", "testendpoint1"),
            ("__meta_kubernetes_endpoint_node_name", "foobar"),
            ("__meta_kubernetes_endpoint_port_name", "testport"),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "true"),
        ]),
        ls(&[
            ("__address__", "2.3.4.5:9001"),
            ("__meta_kubernetes_endpoint_port_name", "testport"),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "true"),
        ]),
        ls(&[
            ("__address__", "2.3.4.5:9001"),
            ("__meta_kubernetes_endpoint_port_name", "testport"),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "false"),
        ]),
        ls(&[
            ("__address__", "6.7.8.9:9002"),
            ("__meta_kubernetes_endpoint_address_target_kind", "Node"),
            ("__meta_kubernetes_endpoint_address_target_name", "barbaz"),
            ("__meta_kubernetes_endpoint_port_name", "testport"),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "true"),
        ]),
    ]
}

/// The group labels of `make_endpoints` in `namespace` (without a service).
fn make_endpoints_labels(namespace: &str) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_namespace", namespace),
        ("__meta_kubernetes_endpoints_name", "testendpoints"),
        (
            "__meta_kubernetes_endpoints_annotation_test_annotation",
            "test",
        ),
        (
            "__meta_kubernetes_endpoints_annotationpresent_test_annotation",
            "true",
        ),
    ])
}

/// The service `default/testendpoints` with the label `app/name: test`.
fn make_service() -> Value {
    json!({"metadata": {"name": "testendpoints", "namespace": "default", "labels": {"app/name": "test"}}})
}

/// The targets of `make_endpoints` with the nodes of the node-metadata tests.
fn make_endpoints_targets_with_nodes() -> Vec<LabelSet> {
    let mut targets = make_endpoints_targets();
    targets[0] = with(
        targets[0].clone(),
        &[
            ("__meta_kubernetes_node_label_az", "us-east1"),
            ("__meta_kubernetes_node_labelpresent_az", "true"),
            ("__meta_kubernetes_node_name", "foobar"),
        ],
    );
    targets[3] = with(
        targets[3].clone(),
        &[
            ("__meta_kubernetes_node_label_az", "us-west2"),
            ("__meta_kubernetes_node_labelpresent_az", "true"),
            ("__meta_kubernetes_node_name", "barbaz"),
        ],
    );
    targets
}

#[tokio::test]
async fn endpoints_discovery_before_run() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .expect(
            1,
            vec![group(
                "endpoints/default/testendpoints",
                make_endpoints_targets(),
                make_endpoints_labels("default"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_add() {
    let pod = make_pod(
        "default",
        json!([
            {"name": "c1", "image": "c1:latest", "ports": [
                {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
            ]},
            {"name": "c2", "image": "c2:latest", "ports": [
                {"name": "sideport", "containerPort": 9001, "protocol": "TCP"}
            ]}
        ]),
        json!({"hostIP": "2.3.4.5", "podIP": "1.2.3.4"}),
    );
    K8sTest::new("role: endpoints\n")
        .before("pods", pod)
        .after(|api| {
            api.apply(
                "endpoints",
                make_pod_endpoints(
                    "testendpoints",
                    "default",
                    "4.3.2.1",
                    json!([{"name": "testport", "port": 9000, "protocol": "TCP"}]),
                ),
            )
        })
        .expect(
            1,
            vec![group(
                "endpoints/default/testendpoints",
                vec![
                    ls(&[
                        ("__address__", "4.3.2.1:9000"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                        ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_container_name", "c1"),
                        ("__meta_kubernetes_pod_container_image", "c1:latest"),
                        ("__meta_kubernetes_pod_container_port_name", "mainport"),
                        ("__meta_kubernetes_pod_container_port_number", "9000"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                    ]),
                    ls(&[
                        ("__address__", "1.2.3.4:9001"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_container_name", "c2"),
                        ("__meta_kubernetes_pod_container_image", "c2:latest"),
                        ("__meta_kubernetes_pod_container_port_name", "sideport"),
                        ("__meta_kubernetes_pod_container_port_number", "9001"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                    ]),
                ],
                ls(&[
                    ("__meta_kubernetes_endpoints_name", "testendpoints"),
                    ("__meta_kubernetes_namespace", "default"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_delete() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .after(|api| api.delete("endpoints", "default", "testendpoints"))
        .expect(2, vec![empty("endpoints/default/testendpoints")])
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_update() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .after(|api| {
            api.apply(
                "endpoints",
                json!({
                    "metadata": {"name": "testendpoints", "namespace": "default"},
                    "subsets": [
                        {
                            "addresses": [{"ip": "1.2.3.4"}],
                            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}]
                        },
                        {
                            "addresses": [{"ip": "2.3.4.5"}],
                            "ports": [{"name": "testport", "port": 9001, "protocol": "TCP"}]
                        }
                    ]
                }),
            )
        })
        .expect(
            2,
            vec![group(
                "endpoints/default/testendpoints",
                vec![
                    ls(&[
                        ("__address__", "1.2.3.4:9000"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                    ]),
                    ls(&[
                        ("__address__", "2.3.4.5:9001"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                    ]),
                ],
                ls(&[
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_endpoints_name", "testendpoints"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_empty_subsets() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .after(|api| {
            api.apply(
                "endpoints",
                json!({
                    "metadata": {"name": "testendpoints", "namespace": "default"},
                    "subsets": []
                }),
            )
        })
        .expect(
            2,
            vec![group(
                "endpoints/default/testendpoints",
                vec![],
                ls(&[
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_endpoints_name", "testendpoints"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_service() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .before("services", make_service())
        .expect(
            1,
            vec![group(
                "endpoints/default/testendpoints",
                make_endpoints_targets(),
                with(
                    make_endpoints_labels("default"),
                    &[
                        ("__meta_kubernetes_service_label_app_name", "test"),
                        ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                        ("__meta_kubernetes_service_name", "testendpoints"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_service_update() {
    K8sTest::new("role: endpoints\n")
        .before("endpoints", make_endpoints("default"))
        .before("services", make_service())
        .after(|api| {
            api.apply(
                "services",
                json!({"metadata": {
                    "name": "testendpoints", "namespace": "default",
                    "labels": {"app/name": "svc", "component": "testing"}
                }}),
            )
        })
        .expect(
            2,
            vec![group(
                "endpoints/default/testendpoints",
                make_endpoints_targets(),
                with(
                    make_endpoints_labels("default"),
                    &[
                        ("__meta_kubernetes_service_label_app_name", "svc"),
                        ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                        ("__meta_kubernetes_service_name", "testendpoints"),
                        ("__meta_kubernetes_service_label_component", "testing"),
                        ("__meta_kubernetes_service_labelpresent_component", "true"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_node_metadata() {
    K8sTest::new("role: endpoints\nattach_metadata: {node: true}\n")
        .before("endpoints", make_endpoints("default"))
        .before("services", make_service())
        .before("nodes", make_node("foobar", json!({"az": "us-east1"})))
        .before("nodes", make_node("barbaz", json!({"az": "us-west2"})))
        .expect(
            1,
            vec![group(
                "endpoints/default/testendpoints",
                make_endpoints_targets_with_nodes(),
                with(
                    make_endpoints_labels("default"),
                    &[
                        ("__meta_kubernetes_service_label_app_name", "test"),
                        ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                        ("__meta_kubernetes_service_name", "testendpoints"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_updated_node_metadata() {
    // Upstream indexes endpoints by node only for addresses with a target reference,
    // so this update of `foobar` (an address without one) does not change the group.
    K8sTest::new("role: endpoints\nattach_metadata: {node: true}\n")
        .before("endpoints", make_endpoints("default"))
        .before("nodes", make_node("foobar", json!({"az": "us-east1"})))
        .before("nodes", make_node("barbaz", json!({"az": "us-west2"})))
        .before("services", make_service())
        .after(|api| api.apply("nodes", make_node("foobar", json!({"az": "eu-central1"}))))
        .expect(
            2,
            vec![group(
                "endpoints/default/testendpoints",
                make_endpoints_targets_with_nodes(),
                with(
                    make_endpoints_labels("default"),
                    &[
                        ("__meta_kubernetes_service_label_app_name", "test"),
                        ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                        ("__meta_kubernetes_service_name", "testendpoints"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_namespaces() {
    K8sTest::new("role: endpoints\nnamespaces: {names: [ns1, ns2]}\n")
        .before("endpoints", make_endpoints("ns1"))
        .before(
            "endpoints",
            make_pod_endpoints(
                "testendpoints",
                "ns2",
                "4.3.2.1",
                json!([{"name": "testport", "port": 9000, "protocol": "TCP"}]),
            ),
        )
        .before(
            "services",
            json!({"metadata": {"name": "testendpoints", "namespace": "ns1", "labels": {"app": "app1"}}}),
        )
        .before(
            "pods",
            make_pod(
                "ns2",
                json!([{"name": "c1", "image": "c1:latest", "ports": [
                    {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
                ]}]),
                json!({"hostIP": "2.3.4.5", "podIP": "4.3.2.1"}),
            ),
        )
        .expect(
            2,
            vec![
                group(
                    "endpoints/ns1/testendpoints",
                    make_endpoints_targets(),
                    with(
                        make_endpoints_labels("ns1"),
                        &[
                            ("__meta_kubernetes_service_label_app", "app1"),
                            ("__meta_kubernetes_service_labelpresent_app", "true"),
                            ("__meta_kubernetes_service_name", "testendpoints"),
                        ],
                    ),
                ),
                group(
                    "endpoints/ns2/testendpoints",
                    vec![ls(&[
                        ("__address__", "4.3.2.1:9000"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                        ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_ip", "4.3.2.1"),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_container_name", "c1"),
                        ("__meta_kubernetes_pod_container_image", "c1:latest"),
                        ("__meta_kubernetes_pod_container_port_name", "mainport"),
                        ("__meta_kubernetes_pod_container_port_number", "9000"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                    ])],
                    ls(&[
                        ("__meta_kubernetes_namespace", "ns2"),
                        ("__meta_kubernetes_endpoints_name", "testendpoints"),
                    ]),
                ),
            ],
        )
        .run()
        .await;
}

/// The pod of the own-namespace tests, with container `p1`.
fn make_p1_pod(namespace: &str, status: Value) -> Value {
    make_pod(
        namespace,
        json!([{"name": "p1", "image": "p1:latest", "ports": [
            {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
        ]}]),
        status,
    )
}

#[tokio::test]
async fn endpoints_discovery_own_namespace() {
    let status = json!({"hostIP": "2.3.4.5", "podIP": "4.3.2.1"});
    K8sTest::new("role: endpoints\n")
        .own_namespace("own-ns")
        .before("endpoints", make_endpoints("own-ns"))
        .before("endpoints", make_endpoints("non-own-ns"))
        .before("pods", make_p1_pod("own-ns", status.clone()))
        .before("pods", make_p1_pod("non-own-ns", status))
        .expect(
            1,
            vec![group(
                "endpoints/own-ns/testendpoints",
                make_endpoints_targets(),
                make_endpoints_labels("own-ns"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_empty_pod_status() {
    K8sTest::new("role: endpoints\n")
        .own_namespace("own-ns")
        .before("endpoints", make_endpoints("ns"))
        .before("pods", make_p1_pod("ns", json!({})))
        .expect(0, vec![])
        .run()
        .await;
}

/// Endpoints discovery notices changes of the pods under it (upstream's issue 11305).
#[tokio::test]
async fn endpoints_discovery_update_pod() {
    let containers = json!([{"name": "c1", "image": "c1:latest", "ports": [
        {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
    ]}]);
    // Pending when first discovered.
    let pod = make_pod(
        "default",
        containers.clone(),
        json!({
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "hostIP": "2.3.4.5", "podIP": "4.3.2.1"
        }),
    );
    // The pending pod may be listed because the endpoints were made by hand, or because
    // the service has `publishNotReadyAddresses: true`.
    let endpoints = make_pod_endpoints(
        "testendpoints",
        "default",
        "4.3.2.1",
        json!([{"name": "mainport", "port": 9000, "protocol": "TCP"}]),
    );
    K8sTest::new("role: endpoints\n")
        .before("endpoints", endpoints)
        .before("pods", pod)
        .after(move |api| {
            // The pod becomes ready.
            api.apply(
                "pods",
                make_pod(
                    "default",
                    containers,
                    json!({
                        "phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True"}],
                        "hostIP": "2.3.4.5", "podIP": "4.3.2.1"
                    }),
                ),
            )
        })
        .expect(
            2,
            vec![group(
                "endpoints/default/testendpoints",
                vec![ls(&[
                    ("__address__", "4.3.2.1:9000"),
                    ("__meta_kubernetes_endpoint_port_name", "mainport"),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", "true"),
                    ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                    ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                    ("__meta_kubernetes_pod_name", "testpod"),
                    ("__meta_kubernetes_pod_ip", "4.3.2.1"),
                    ("__meta_kubernetes_pod_ready", "true"),
                    ("__meta_kubernetes_pod_phase", "Running"),
                    ("__meta_kubernetes_pod_node_name", "testnode"),
                    ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                    ("__meta_kubernetes_pod_container_name", "c1"),
                    ("__meta_kubernetes_pod_container_image", "c1:latest"),
                    ("__meta_kubernetes_pod_container_port_name", "mainport"),
                    ("__meta_kubernetes_pod_container_port_number", "9000"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                    ("__meta_kubernetes_pod_uid", "deadbeef"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                ])],
                ls(&[
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_endpoints_name", "testendpoints"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_sidecar_container() {
    let endpoints = make_pod_endpoints(
        "testsidecar",
        "default",
        "4.3.2.1",
        json!([
            {"name": "testport", "port": 9000, "protocol": "TCP"},
            {"name": "initport", "port": 9111, "protocol": "TCP"}
        ]),
    );
    let pod = json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
        "spec": {
            "nodeName": "testnode",
            "initContainers": [
                {"name": "ic1", "image": "ic1:latest", "ports": [
                    {"name": "initport", "containerPort": 1111, "protocol": "TCP"}
                ]},
                {"name": "ic2", "image": "ic2:latest", "ports": [
                    {"name": "initport", "containerPort": 9111, "protocol": "TCP"}
                ]}
            ],
            "containers": [
                {"name": "c1", "image": "c1:latest", "ports": [
                    {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
                ]}
            ]
        },
        "status": {"hostIP": "2.3.4.5", "podIP": "4.3.2.1"}
    });
    K8sTest::new("role: endpoints\n")
        .before("endpoints", endpoints)
        .before("pods", pod)
        .expect(
            1,
            vec![group(
                "endpoints/default/testsidecar",
                vec![
                    ls(&[
                        ("__address__", "4.3.2.1:9000"),
                        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                        ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                        ("__meta_kubernetes_pod_container_image", "c1:latest"),
                        ("__meta_kubernetes_pod_container_name", "c1"),
                        ("__meta_kubernetes_pod_container_port_name", "mainport"),
                        ("__meta_kubernetes_pod_container_port_number", "9000"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_ip", "4.3.2.1"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "false"),
                    ]),
                    ls(&[
                        ("__address__", "4.3.2.1:9111"),
                        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                        ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                        ("__meta_kubernetes_endpoint_port_name", "initport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                        ("__meta_kubernetes_pod_container_image", "ic2:latest"),
                        ("__meta_kubernetes_pod_container_name", "ic2"),
                        ("__meta_kubernetes_pod_container_port_name", "initport"),
                        ("__meta_kubernetes_pod_container_port_number", "9111"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_ip", "4.3.2.1"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "true"),
                    ]),
                    ls(&[
                        ("__address__", "4.3.2.1:1111"),
                        ("__meta_kubernetes_pod_container_image", "ic1:latest"),
                        ("__meta_kubernetes_pod_container_name", "ic1"),
                        ("__meta_kubernetes_pod_container_port_name", "initport"),
                        ("__meta_kubernetes_pod_container_port_number", "1111"),
                        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                        ("__meta_kubernetes_pod_ip", "4.3.2.1"),
                        ("__meta_kubernetes_pod_name", "testpod"),
                        ("__meta_kubernetes_pod_node_name", "testnode"),
                        ("__meta_kubernetes_pod_phase", ""),
                        ("__meta_kubernetes_pod_ready", "unknown"),
                        ("__meta_kubernetes_pod_uid", "deadbeef"),
                        ("__meta_kubernetes_pod_container_init", "true"),
                    ]),
                ],
                ls(&[
                    ("__meta_kubernetes_endpoints_name", "testsidecar"),
                    ("__meta_kubernetes_namespace", "default"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_namespace_metadata() {
    let ns = "test-ns";
    K8sTest::new("role: endpoints\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(
                ns,
                json!({"environment": "production", "team": "backend"}),
                json!({"owner": "platform", "version": "v1.2.3"}),
            ),
        )
        .before("endpoints", make_endpoints(ns))
        .expect(
            1,
            vec![group(
                &format!("endpoints/{ns}/testendpoints"),
                make_endpoints_targets(),
                with(
                    make_endpoints_labels(ns),
                    &[
                        ("__meta_kubernetes_namespace_annotation_owner", "platform"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_owner",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_annotation_version", "v1.2.3"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_version",
                            "true",
                        ),
                        (
                            "__meta_kubernetes_namespace_label_environment",
                            "production",
                        ),
                        (
                            "__meta_kubernetes_namespace_labelpresent_environment",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_label_team", "backend"),
                        ("__meta_kubernetes_namespace_labelpresent_team", "true"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_discovery_with_updated_namespace_metadata() {
    let ns = "test-ns";
    K8sTest::new("role: endpoints\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(
                ns,
                json!({"environment": "development", "team": "frontend"}),
                json!({"owner": "devops", "version": "v2.1.0"}),
            ),
        )
        .before("endpoints", make_endpoints(ns))
        .after(move |api| {
            api.apply(
                "namespaces",
                make_namespace(
                    ns,
                    json!({"environment": "staging", "team": "frontend", "region": "us-west"}),
                    json!({"owner": "sre", "version": "v2.1.0", "cost-center": "engineering"}),
                ),
            )
        })
        .expect(
            2,
            vec![group(
                &format!("endpoints/{ns}/testendpoints"),
                make_endpoints_targets(),
                with(
                    make_endpoints_labels(ns),
                    &[
                        ("__meta_kubernetes_namespace_annotation_owner", "sre"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_owner",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_annotation_version", "v2.1.0"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_version",
                            "true",
                        ),
                        (
                            "__meta_kubernetes_namespace_annotation_cost_center",
                            "engineering",
                        ),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_cost_center",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_label_environment", "staging"),
                        (
                            "__meta_kubernetes_namespace_labelpresent_environment",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_label_team", "frontend"),
                        ("__meta_kubernetes_namespace_labelpresent_team", "true"),
                        ("__meta_kubernetes_namespace_label_region", "us-west"),
                        ("__meta_kubernetes_namespace_labelpresent_region", "true"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}
