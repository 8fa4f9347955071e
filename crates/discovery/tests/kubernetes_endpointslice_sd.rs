//! Upstream's `discovery/kubernetes/endpointslice_test.go` cases (same names), against a
//! fake API server on loopback.

mod support;

use discovery::LabelSet;
use serde_json::Value;
use support::kube::*;

/// `makeEndpointSliceV1`.
fn make_endpoint_slice_v1(namespace: &str) -> Value {
    json!({
        "metadata": {
            "name": "testendpoints", "namespace": namespace,
            "labels": {"kubernetes.io/service-name": "testendpoints"},
            "annotations": {"test.annotation": "test"}
        },
        "addressType": "IPv4",
        "ports": [{"name": "testport", "port": 9000, "protocol": "TCP", "appProtocol": "http"}],
        "endpoints": [
            {
                "addresses": ["1.2.3.4"],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "hostname": "testendpoint1",
                "targetRef": {},
                "nodeName": "foobar",
                "deprecatedTopology": {"topology": "value"},
                "zone": "us-east-1a"
            },
            {
                "addresses": ["2.3.4.5"],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "zone": "us-east-1b"
            },
            {
                "addresses": ["3.4.5.6"],
                "conditions": {"ready": false, "serving": true, "terminating": true},
                "zone": "us-east-1c"
            },
            {
                "addresses": ["4.5.6.7"],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "targetRef": {"kind": "Node", "name": "barbaz"},
                "zone": "us-east-1a"
            }
        ]
    })
}

/// A string map as Go marshals one (absent when nil or empty, as `omitempty` does).
fn string_map(meta: &mut Value, field: &str, pairs: &[(&str, &str)]) {
    if !pairs.is_empty() {
        meta[field] = json!(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>());
    }
}

/// `makeNamespace`.
fn make_namespace(name: &str, labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Value {
    let mut meta = json!({"name": name});
    string_map(&mut meta, "labels", labels);
    string_map(&mut meta, "annotations", annotations);
    json!({ "metadata": meta })
}

/// `makeNode` (node_test.go) without conditions.
fn make_node(name: &str, address: &str, provider_id: &str, labels: &[(&str, &str)]) -> Value {
    let mut meta = json!({"name": name});
    string_map(&mut meta, "labels", labels);
    let mut spec = json!({});
    if !provider_id.is_empty() {
        spec["providerID"] = json!(provider_id);
    }
    json!({
        "metadata": meta,
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

/// A service with only a name, a namespace and labels (the tests' `corev1.Service`s).
fn make_service(name: &str, namespace: &str, labels: &[(&str, &str)]) -> Value {
    let mut meta = json!({"name": name, "namespace": namespace});
    string_map(&mut meta, "labels", labels);
    json!({ "metadata": meta })
}

/// `base` with `extra` added.
fn with(mut base: LabelSet, extra: &[(&str, &str)]) -> LabelSet {
    base.extend(ls(extra));
    base
}

/// The four targets of `makeEndpointSliceV1`'s slice, without metadata.
fn endpoint_slice_v1_targets() -> Vec<LabelSet> {
    let port = ls(&[
        ("__meta_kubernetes_endpointslice_port", "9000"),
        ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
        ("__meta_kubernetes_endpointslice_port_name", "testport"),
        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
    ]);
    vec![
        with(
            port.clone(),
            &[
                ("__address__", "1.2.3.4:9000"),
                ("__meta_kubernetes_endpointslice_address_target_kind", ""),
                ("__meta_kubernetes_endpointslice_address_target_name", ""),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                    "false",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_hostname",
                    "testendpoint1",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_node_name",
                    "foobar",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_topology_present_topology",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_topology_topology",
                    "value",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_zone",
                    "us-east-1a",
                ),
            ],
        ),
        with(
            port.clone(),
            &[
                ("__address__", "2.3.4.5:9000"),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                    "false",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_zone",
                    "us-east-1b",
                ),
            ],
        ),
        with(
            port.clone(),
            &[
                ("__address__", "3.4.5.6:9000"),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                    "false",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_zone",
                    "us-east-1c",
                ),
            ],
        ),
        with(
            port,
            &[
                ("__address__", "4.5.6.7:9000"),
                (
                    "__meta_kubernetes_endpointslice_address_target_kind",
                    "Node",
                ),
                (
                    "__meta_kubernetes_endpointslice_address_target_name",
                    "barbaz",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                    "true",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                    "false",
                ),
                (
                    "__meta_kubernetes_endpointslice_endpoint_zone",
                    "us-east-1a",
                ),
            ],
        ),
    ]
}

/// The group labels of `makeEndpointSliceV1`'s slice in `namespace`.
fn endpoint_slice_v1_labels(namespace: &str) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
        ("__meta_kubernetes_namespace", namespace),
        ("__meta_kubernetes_endpointslice_name", "testendpoints"),
        (
            "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
            "testendpoints",
        ),
        (
            "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
            "true",
        ),
        (
            "__meta_kubernetes_endpointslice_annotation_test_annotation",
            "test",
        ),
        (
            "__meta_kubernetes_endpointslice_annotationpresent_test_annotation",
            "true",
        ),
    ])
}

/// The labels the pod `testpod` (uid `deadbeef`, node `testnode`, host IP 2.3.4.5, no
/// phase nor conditions) gives its targets.
fn test_pod_labels(pod_ip: &str) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
        ("__meta_kubernetes_pod_ip", pod_ip),
        ("__meta_kubernetes_pod_name", "testpod"),
        ("__meta_kubernetes_pod_node_name", "testnode"),
        ("__meta_kubernetes_pod_phase", ""),
        ("__meta_kubernetes_pod_ready", "unknown"),
        ("__meta_kubernetes_pod_uid", "deadbeef"),
    ])
}

/// The labels of a container port on a target.
fn container_port(name: &str, image: &str, port_name: &str, port: &str, init: &str) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_pod_container_name", name),
        ("__meta_kubernetes_pod_container_image", image),
        ("__meta_kubernetes_pod_container_port_name", port_name),
        ("__meta_kubernetes_pod_container_port_number", port),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", init),
    ])
}

/// A target of an endpoint on the pod `testpod` at port 9000 named `testport`.
fn pod_endpoint_target(address: &str) -> LabelSet {
    ls(&[
        ("__address__", address),
        ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
        (
            "__meta_kubernetes_endpointslice_address_target_name",
            "testpod",
        ),
        ("__meta_kubernetes_endpointslice_port", "9000"),
        ("__meta_kubernetes_endpointslice_port_name", "testport"),
        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
    ])
}

/// The group labels of a slice without labels nor annotations.
fn bare_slice_labels(namespace: &str, name: &str) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
        ("__meta_kubernetes_endpointslice_name", name),
        ("__meta_kubernetes_namespace", namespace),
    ])
}

/// The pod `testpod` with one container `container` (port `mainport` 9000/TCP).
fn make_test_pod(namespace: &str, container: &str, status: Value) -> Value {
    json!({
        "metadata": {"name": "testpod", "namespace": namespace, "uid": "deadbeef"},
        "spec": {
            "nodeName": "testnode",
            "containers": [{
                "name": container, "image": format!("{container}:latest"),
                "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]
            }]
        },
        "status": status
    })
}

#[tokio::test]
async fn endpoint_slice_discovery_before_run() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .expect(
            1,
            vec![group(
                "endpointslice/default/testendpoints",
                endpoint_slice_v1_targets(),
                endpoint_slice_v1_labels("default"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_add() {
    let pod = json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {"name": "c1", "image": "c1:latest", "ports": [
                    {"name": "mainport", "containerPort": 9000, "protocol": "TCP"}
                ]},
                {"name": "c2", "image": "c2:latest", "ports": [
                    {"name": "sideport", "containerPort": 9001, "protocol": "TCP"}
                ]}
            ]
        },
        "status": {"hostIP": "2.3.4.5", "podIP": "1.2.3.4"}
    });
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("pods", pod)
        .after(|api| {
            api.apply(
                "endpointslices",
                json!({
                    "metadata": {"name": "testendpoints", "namespace": "default"},
                    "addressType": "IPv4",
                    "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
                    "endpoints": [{
                        "addresses": ["4.3.2.1"],
                        "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"},
                        "conditions": {"ready": false}
                    }]
                }),
            )
        })
        .expect(
            1,
            vec![group(
                "endpointslice/default/testendpoints",
                vec![
                    with(
                        pod_endpoint_target("4.3.2.1:9000"),
                        &[(
                            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                            "false",
                        )],
                    )
                    .into_iter()
                    .chain(container_port(
                        "c1",
                        "c1:latest",
                        "mainport",
                        "9000",
                        "false",
                    ))
                    .chain(test_pod_labels("1.2.3.4"))
                    .collect(),
                    with(
                        container_port("c2", "c2:latest", "sideport", "9001", "false"),
                        &[("__address__", "1.2.3.4:9001")],
                    )
                    .into_iter()
                    .chain(test_pod_labels("1.2.3.4"))
                    .collect(),
                ],
                bare_slice_labels("default", "testendpoints"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_delete() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .after(|api| api.delete("endpointslices", "default", "testendpoints"))
        .expect(2, vec![empty("endpointslice/default/testendpoints")])
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_update() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .after(|api| {
            let mut obj = make_endpoint_slice_v1("default");
            let meta = obj["metadata"].as_object_mut().expect("metadata");
            meta.remove("labels");
            meta.remove("annotations");
            obj["endpoints"]
                .as_array_mut()
                .expect("endpoints")
                .truncate(2);
            api.apply("endpointslices", obj);
        })
        .expect(
            2,
            vec![group(
                "endpointslice/default/testendpoints",
                endpoint_slice_v1_targets()[0..2].to_vec(),
                bare_slice_labels("default", "testendpoints"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_empty_endpoints() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .after(|api| {
            let mut obj = make_endpoint_slice_v1("default");
            obj["endpoints"] = json!([]);
            api.apply("endpointslices", obj);
        })
        .expect(
            2,
            vec![group(
                "endpointslice/default/testendpoints",
                vec![],
                endpoint_slice_v1_labels("default"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_with_service() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .before(
            "services",
            make_service("testendpoints", "default", &[("app/name", "test")]),
        )
        .expect(
            1,
            vec![group(
                "endpointslice/default/testendpoints",
                endpoint_slice_v1_targets(),
                with(
                    endpoint_slice_v1_labels("default"),
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
async fn endpoint_slice_discovery_with_service_update() {
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .before(
            "services",
            make_service("testendpoints", "default", &[("app/name", "test")]),
        )
        .after(|api| {
            api.apply(
                "services",
                make_service(
                    "testendpoints",
                    "default",
                    &[("app/name", "svc"), ("component", "testing")],
                ),
            )
        })
        .expect(
            2,
            vec![group(
                "endpointslice/default/testendpoints",
                endpoint_slice_v1_targets(),
                with(
                    endpoint_slice_v1_labels("default"),
                    &[
                        ("__meta_kubernetes_service_label_app_name", "svc"),
                        ("__meta_kubernetes_service_label_component", "testing"),
                        ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                        ("__meta_kubernetes_service_labelpresent_component", "true"),
                        ("__meta_kubernetes_service_name", "testendpoints"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

/// `makeEndpointSliceV1`'s targets with the labels of the nodes foobar (first target)
/// and barbaz (last one).
fn node_metadata_targets(foobar_az: &str, barbaz_az: &str) -> Vec<LabelSet> {
    let mut targets = endpoint_slice_v1_targets();
    targets[0].extend(ls(&[
        ("__meta_kubernetes_node_label_az", foobar_az),
        ("__meta_kubernetes_node_labelpresent_az", "true"),
        ("__meta_kubernetes_node_name", "foobar"),
    ]));
    targets[3].extend(ls(&[
        ("__meta_kubernetes_node_label_az", barbaz_az),
        ("__meta_kubernetes_node_labelpresent_az", "true"),
        ("__meta_kubernetes_node_name", "barbaz"),
    ]));
    targets
}

fn with_test_service_labels(namespace: &str) -> LabelSet {
    with(
        endpoint_slice_v1_labels(namespace),
        &[
            ("__meta_kubernetes_service_label_app_name", "test"),
            ("__meta_kubernetes_service_labelpresent_app_name", "true"),
            ("__meta_kubernetes_service_name", "testendpoints"),
        ],
    )
}

#[tokio::test]
async fn endpoints_slices_discovery_with_node_metadata() {
    K8sTest::new("role: endpointslice\nattach_metadata: {node: true}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .before("nodes", make_node("foobar", "", "", &[("az", "us-east1")]))
        .before("nodes", make_node("barbaz", "", "", &[("az", "us-west2")]))
        .before(
            "services",
            make_service("testendpoints", "default", &[("app/name", "test")]),
        )
        .expect(
            1,
            vec![group(
                "endpointslice/default/testendpoints",
                node_metadata_targets("us-east1", "us-west2"),
                with_test_service_labels("default"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_slices_discovery_with_updated_node_metadata() {
    // The first endpoint names its node without a Pod target, so upstream's node index
    // does not list the slice under foobar and the update sends nothing: the group keeps
    // foobar's old label.
    K8sTest::new("role: endpointslice\nattach_metadata: {node: true}\n")
        .before("endpointslices", make_endpoint_slice_v1("default"))
        .before("nodes", make_node("foobar", "", "", &[("az", "us-east1")]))
        .before("nodes", make_node("barbaz", "", "", &[("az", "us-west2")]))
        .before(
            "services",
            make_service("testendpoints", "default", &[("app/name", "test")]),
        )
        .after(|api| {
            api.apply(
                "nodes",
                make_node("foobar", "", "", &[("az", "us-central1")]),
            )
        })
        .expect(
            2,
            vec![group(
                "endpointslice/default/testendpoints",
                node_metadata_targets("us-east1", "us-west2"),
                with_test_service_labels("default"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_namespaces() {
    let mut ep_one = make_endpoint_slice_v1("default");
    ep_one["metadata"]["namespace"] = json!("ns1");
    K8sTest::new("role: endpointslice\nnamespaces: {names: [ns1, ns2]}\n")
        .before("endpointslices", ep_one)
        .before(
            "endpointslices",
            json!({
                "metadata": {"name": "testendpoints", "namespace": "ns2"},
                "addressType": "IPv4",
                "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
                "endpoints": [{
                    "addresses": ["4.3.2.1"],
                    "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "ns2"}
                }]
            }),
        )
        .before(
            "services",
            make_service("testendpoints", "ns1", &[("app", "app1")]),
        )
        .before(
            "pods",
            make_test_pod(
                "ns2",
                "c1",
                json!({"hostIP": "2.3.4.5", "podIP": "4.3.2.1"}),
            ),
        )
        .expect(
            2,
            vec![
                group(
                    "endpointslice/ns1/testendpoints",
                    endpoint_slice_v1_targets(),
                    with(
                        endpoint_slice_v1_labels("ns1"),
                        &[
                            ("__meta_kubernetes_service_label_app", "app1"),
                            ("__meta_kubernetes_service_labelpresent_app", "true"),
                            ("__meta_kubernetes_service_name", "testendpoints"),
                        ],
                    ),
                ),
                group(
                    "endpointslice/ns2/testendpoints",
                    vec![pod_endpoint_target("4.3.2.1:9000")
                        .into_iter()
                        .chain(container_port(
                            "c1",
                            "c1:latest",
                            "mainport",
                            "9000",
                            "false",
                        ))
                        .chain(test_pod_labels("4.3.2.1"))
                        .collect()],
                    bare_slice_labels("ns2", "testendpoints"),
                ),
            ],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_own_namespace() {
    let mut ep_one = make_endpoint_slice_v1("default");
    ep_one["metadata"]["namespace"] = json!("own-ns");
    let mut ep_two = make_endpoint_slice_v1("default");
    ep_two["metadata"]["namespace"] = json!("non-own-ns");
    let status = json!({"hostIP": "2.3.4.5", "podIP": "4.3.2.1"});
    K8sTest::new("role: endpointslice\n")
        .own_namespace("own-ns")
        .before("endpointslices", ep_one)
        .before("endpointslices", ep_two)
        .before("pods", make_test_pod("own-ns", "p1", status.clone()))
        .before("pods", make_test_pod("non-own-ns", "p1", status))
        .expect(
            1,
            vec![group(
                "endpointslice/own-ns/testendpoints",
                endpoint_slice_v1_targets(),
                endpoint_slice_v1_labels("own-ns"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_empty_pod_status() {
    // Upstream runs this one with the endpoints role, in the own namespace only, where
    // neither object is: no group at all.
    let mut ep = make_endpoint_slice_v1("default");
    ep["metadata"]["namespace"] = json!("ns");
    K8sTest::new("role: endpoints\n")
        .own_namespace("own-ns")
        .before("endpointslices", ep)
        .before("pods", make_test_pod("ns", "p1", json!({})))
        .expect(0, vec![])
        .run()
        .await;
}

/// The collections watched, as request paths.
fn watched(requests: &[String]) -> std::collections::BTreeSet<String> {
    requests
        .iter()
        .filter_map(|r| r.strip_prefix("WATCH "))
        .map(|r| r.split('?').next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn endpoint_slice_inf_indexers_count() {
    // Upstream counts the indexers of the slice informer: the service one always, the
    // node one only with node metadata. Here the node index has no informer of its own:
    // what shows is that nodes are watched (to be indexed by) only with node metadata,
    // services always.
    let (with_node, without_node) = tokio::join!(
        K8sTest::new("role: endpointslice\nattach_metadata: {node: true}\n").run(),
        K8sTest::new("role: endpointslice\n").run(),
    );
    let base = [
        "/apis/discovery.k8s.io/v1/endpointslices",
        "/api/v1/services",
        "/api/v1/pods",
    ];
    let mut expected: std::collections::BTreeSet<String> =
        base.iter().map(|s| s.to_string()).collect();
    assert_eq!(watched(&without_node.0.requests()), expected);
    expected.insert("/api/v1/nodes".to_string());
    assert_eq!(watched(&with_node.0.requests()), expected);
}

#[tokio::test]
async fn endpoint_slice_discovery_sidecar_container() {
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
    K8sTest::new("role: endpointslice\n")
        .before(
            "endpointslices",
            json!({
                "metadata": {"name": "testsidecar", "namespace": "default"},
                "addressType": "IPv4",
                "ports": [
                    {"name": "testport", "port": 9000, "protocol": "TCP"},
                    {"name": "initport", "port": 9111, "protocol": "TCP"}
                ],
                "endpoints": [{
                    "addresses": ["4.3.2.1"],
                    "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}
                }]
            }),
        )
        .before("pods", pod)
        .expect(
            1,
            vec![group(
                "endpointslice/default/testsidecar",
                vec![
                    pod_endpoint_target("4.3.2.1:9000")
                        .into_iter()
                        .chain(container_port(
                            "c1",
                            "c1:latest",
                            "mainport",
                            "9000",
                            "false",
                        ))
                        .chain(test_pod_labels("4.3.2.1"))
                        .collect(),
                    ls(&[
                        ("__address__", "4.3.2.1:9111"),
                        ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
                        (
                            "__meta_kubernetes_endpointslice_address_target_name",
                            "testpod",
                        ),
                        ("__meta_kubernetes_endpointslice_port", "9111"),
                        ("__meta_kubernetes_endpointslice_port_name", "initport"),
                        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
                    ])
                    .into_iter()
                    .chain(container_port(
                        "ic2",
                        "ic2:latest",
                        "initport",
                        "9111",
                        "true",
                    ))
                    .chain(test_pod_labels("4.3.2.1"))
                    .collect(),
                    with(
                        container_port("ic1", "ic1:latest", "initport", "1111", "true"),
                        &[("__address__", "4.3.2.1:1111")],
                    )
                    .into_iter()
                    .chain(test_pod_labels("4.3.2.1"))
                    .collect(),
                ],
                bare_slice_labels("default", "testsidecar"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_slices_discovery_with_namespace_metadata() {
    let ns = "test-ns";
    K8sTest::new("role: endpointslice\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(
                ns,
                &[("service", "web"), ("layer", "frontend")],
                &[("contact", "platform"), ("release", "v5.6.7")],
            ),
        )
        .before(
            "services",
            make_service("testendpoints", ns, &[("app/name", "test")]),
        )
        .before("endpointslices", make_endpoint_slice_v1(ns))
        .expect(
            1,
            vec![group(
                "endpointslice/test-ns/testendpoints",
                endpoint_slice_v1_targets(),
                with(
                    with_test_service_labels(ns),
                    &[
                        ("__meta_kubernetes_namespace_annotation_contact", "platform"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_contact",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_annotation_release", "v5.6.7"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_release",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_label_service", "web"),
                        ("__meta_kubernetes_namespace_labelpresent_service", "true"),
                        ("__meta_kubernetes_namespace_label_layer", "frontend"),
                        ("__meta_kubernetes_namespace_labelpresent_layer", "true"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoints_slices_discovery_with_updated_namespace_metadata() {
    let ns = "test-ns";
    K8sTest::new("role: endpointslice\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(
                ns,
                &[("component", "database"), ("layer", "backend")],
                &[("contact", "dba"), ("release", "v6.7.8")],
            ),
        )
        .before(
            "services",
            make_service("testendpoints", ns, &[("app/name", "test")]),
        )
        .before("endpointslices", make_endpoint_slice_v1(ns))
        .after(move |api| {
            api.apply(
                "namespaces",
                make_namespace(
                    ns,
                    &[
                        ("component", "cache"),
                        ("layer", "backend"),
                        ("region", "us-central"),
                    ],
                    &[
                        ("contact", "sre"),
                        ("release", "v6.7.8"),
                        ("monitoring", "enabled"),
                    ],
                ),
            )
        })
        .expect(
            2,
            vec![group(
                "endpointslice/test-ns/testendpoints",
                endpoint_slice_v1_targets(),
                with(
                    with_test_service_labels(ns),
                    &[
                        ("__meta_kubernetes_namespace_annotation_contact", "sre"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_contact",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_annotation_release", "v6.7.8"),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_release",
                            "true",
                        ),
                        (
                            "__meta_kubernetes_namespace_annotation_monitoring",
                            "enabled",
                        ),
                        (
                            "__meta_kubernetes_namespace_annotationpresent_monitoring",
                            "true",
                        ),
                        ("__meta_kubernetes_namespace_label_component", "cache"),
                        ("__meta_kubernetes_namespace_labelpresent_component", "true"),
                        ("__meta_kubernetes_namespace_label_layer", "backend"),
                        ("__meta_kubernetes_namespace_labelpresent_layer", "true"),
                        ("__meta_kubernetes_namespace_label_region", "us-central"),
                        ("__meta_kubernetes_namespace_labelpresent_region", "true"),
                    ],
                ),
            )],
        )
        .run()
        .await;
}

/// `makeDualStackService`.
fn make_dual_stack_service(name: &str, namespace: &str, policy: &str, families: &[&str]) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ipFamilyPolicy": policy, "ipFamilies": families}
    })
}

/// `makeDualStackEndpointSlice`.
fn make_dual_stack_endpoint_slice(
    name: &str,
    namespace: &str,
    svc_name: &str,
    addr_type: &str,
    addr: &str,
) -> Value {
    json!({
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {"kubernetes.io/service-name": svc_name}
        },
        "addressType": addr_type,
        "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}],
        "endpoints": [{"addresses": [addr], "conditions": {"ready": true}}]
    })
}

/// `dualStackGroupLabels`.
fn dual_stack_group_labels(
    namespace: &str,
    addr_type: &str,
    slice_name: &str,
    svc_name: &str,
) -> LabelSet {
    ls(&[
        ("__meta_kubernetes_namespace", namespace),
        ("__meta_kubernetes_endpointslice_address_type", addr_type),
        ("__meta_kubernetes_endpointslice_name", slice_name),
        (
            "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
            svc_name,
        ),
        (
            "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
            "true",
        ),
        ("__meta_kubernetes_service_name", svc_name),
    ])
}

/// `dualStackTarget`.
fn dual_stack_target(addr: &str) -> LabelSet {
    ls(&[
        ("__address__", addr),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
            "true",
        ),
        ("__meta_kubernetes_endpointslice_port", "9000"),
        ("__meta_kubernetes_endpointslice_port_name", "http"),
        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
    ])
}

/// A dual-stack service whose IPv4 slice has the targets; its IPv6 slice is empty.
async fn dual_stack_ipv4_primary(policy: &str) {
    let svc = make_dual_stack_service("testsvc", "default", policy, &["IPv4", "IPv6"]);
    let eps_ipv4 =
        make_dual_stack_endpoint_slice("testsvc-ipv4", "default", "testsvc", "IPv4", "1.2.3.4");
    let eps_ipv6 =
        make_dual_stack_endpoint_slice("testsvc-ipv6", "default", "testsvc", "IPv6", "fd00::1");
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("services", svc)
        .before("endpointslices", eps_ipv4)
        .before("endpointslices", eps_ipv6)
        .expect(
            2,
            vec![
                group(
                    "endpointslice/default/testsvc-ipv4",
                    vec![dual_stack_target("1.2.3.4:9000")],
                    dual_stack_group_labels("default", "IPv4", "testsvc-ipv4", "testsvc"),
                ),
                group(
                    "endpointslice/default/testsvc-ipv6",
                    vec![],
                    dual_stack_group_labels("default", "IPv6", "testsvc-ipv6", "testsvc"),
                ),
            ],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_dual_stack_preferred_skips_secondary_slice() {
    dual_stack_ipv4_primary("PreferDualStack").await;
}

#[tokio::test]
async fn endpoint_slice_discovery_dual_stack_required_skips_secondary_slice() {
    dual_stack_ipv4_primary("RequireDualStack").await;
}

#[tokio::test]
async fn endpoint_slice_discovery_single_stack_ipv4_unaffected() {
    let svc = make_dual_stack_service("testsvc", "default", "SingleStack", &["IPv4"]);
    let eps_ipv4 =
        make_dual_stack_endpoint_slice("testsvc-ipv4", "default", "testsvc", "IPv4", "1.2.3.4");
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("services", svc)
        .before("endpointslices", eps_ipv4)
        .expect(
            1,
            vec![group(
                "endpointslice/default/testsvc-ipv4",
                vec![dual_stack_target("1.2.3.4:9000")],
                dual_stack_group_labels("default", "IPv4", "testsvc-ipv4", "testsvc"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_single_stack_ipv6_unaffected() {
    let svc = make_dual_stack_service("testsvc", "default", "SingleStack", &["IPv6"]);
    let eps_ipv6 =
        make_dual_stack_endpoint_slice("testsvc-ipv6", "default", "testsvc", "IPv6", "fd00::1");
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("services", svc)
        .before("endpointslices", eps_ipv6)
        .expect(
            1,
            vec![group(
                "endpointslice/default/testsvc-ipv6",
                vec![dual_stack_target("[fd00::1]:9000")],
                dual_stack_group_labels("default", "IPv6", "testsvc-ipv6", "testsvc"),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn endpoint_slice_discovery_dual_stack_preferred_ipv6_primary() {
    let svc = make_dual_stack_service("testsvc", "default", "PreferDualStack", &["IPv6", "IPv4"]);
    let eps_ipv6 =
        make_dual_stack_endpoint_slice("testsvc-ipv6", "default", "testsvc", "IPv6", "fd00::1");
    let eps_ipv4 =
        make_dual_stack_endpoint_slice("testsvc-ipv4", "default", "testsvc", "IPv4", "1.2.3.4");
    K8sTest::new("role: endpointslice\nnamespaces: {names: [default]}\n")
        .before("services", svc)
        .before("endpointslices", eps_ipv6)
        .before("endpointslices", eps_ipv4)
        .expect(
            2,
            vec![
                group(
                    "endpointslice/default/testsvc-ipv6",
                    vec![dual_stack_target("[fd00::1]:9000")],
                    dual_stack_group_labels("default", "IPv6", "testsvc-ipv6", "testsvc"),
                ),
                group(
                    "endpointslice/default/testsvc-ipv4",
                    vec![],
                    dual_stack_group_labels("default", "IPv4", "testsvc-ipv4", "testsvc"),
                ),
            ],
        )
        .run()
        .await;
}
