//! Upstream's `discovery/kubernetes/node_test.go` cases (same names), against a fake API
//! server on loopback.

mod support;

use support::kube::*;

/// Upstream's `makeNode`: `None` maps and conditions stay unset.
fn make_node(
    name: &str,
    address: &str,
    provider_id: &str,
    labels: Option<&[(&str, &str)]>,
    annotations: Option<&[(&str, &str)]>,
    conditions: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut node = json!({
        "metadata": {"name": name},
        "spec": {"providerID": provider_id},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    });
    if let Some(labels) = labels {
        node["metadata"]["labels"] = json!(ls(labels));
    }
    if let Some(annotations) = annotations {
        node["metadata"]["annotations"] = json!(ls(annotations));
    }
    if let Some(conditions) = conditions {
        node["status"]["conditions"] = conditions;
    }
    node
}

fn make_enumerated_node(i: usize) -> serde_json::Value {
    make_node(
        &format!("test{i}"),
        "1.2.3.4",
        &format!("aws:///de-west-3a/i-{i}"),
        Some(&[]),
        Some(&[]),
        None,
    )
}

/// The one target of a node at 1.2.3.4.
fn node_target(name: &str) -> discovery::LabelSet {
    ls(&[
        ("__address__", "1.2.3.4:10250"),
        ("instance", name),
        ("__meta_kubernetes_node_address_InternalIP", "1.2.3.4"),
    ])
}

#[tokio::test]
async fn node_discovery_before_start() {
    K8sTest::new("role: node\n")
        .before(
            "nodes",
            make_node(
                "test",
                "1.2.3.4",
                "aws:///nl-north-7b/i-03149834983492827",
                Some(&[("test-label", "testvalue")]),
                Some(&[("test-annotation", "testannotationvalue")]),
                None,
            ),
        )
        .expect(
            1,
            vec![group(
                "node/test",
                vec![node_target("test")],
                ls(&[
                    ("__meta_kubernetes_node_name", "test"),
                    (
                        "__meta_kubernetes_node_provider_id",
                        "aws:///nl-north-7b/i-03149834983492827",
                    ),
                    ("__meta_kubernetes_node_label_test_label", "testvalue"),
                    ("__meta_kubernetes_node_labelpresent_test_label", "true"),
                    (
                        "__meta_kubernetes_node_annotation_test_annotation",
                        "testannotationvalue",
                    ),
                    (
                        "__meta_kubernetes_node_annotationpresent_test_annotation",
                        "true",
                    ),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn node_discovery_add() {
    K8sTest::new("role: node\n")
        .after(|api| api.apply("nodes", make_enumerated_node(1)))
        .expect(
            1,
            vec![group(
                "node/test1",
                vec![node_target("test1")],
                ls(&[
                    ("__meta_kubernetes_node_name", "test1"),
                    (
                        "__meta_kubernetes_node_provider_id",
                        "aws:///de-west-3a/i-1",
                    ),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn node_discovery_delete() {
    K8sTest::new("role: node\n")
        .before("nodes", make_enumerated_node(0))
        .after(|api| api.delete("nodes", "", "test0"))
        .expect(2, vec![empty("node/test0")])
        .run()
        .await;
}

#[tokio::test]
async fn node_discovery_update() {
    K8sTest::new("role: node\n")
        .after(|api| {
            api.apply("nodes", make_enumerated_node(0));
            api.apply(
                "nodes",
                make_node(
                    "test0",
                    "1.2.3.4",
                    "aws:///fr-south-1c/i-49508290343823952",
                    Some(&[("Unschedulable", "true")]),
                    Some(&[]),
                    None,
                ),
            );
        })
        .expect(
            2,
            vec![group(
                "node/test0",
                vec![node_target("test0")],
                ls(&[
                    ("__meta_kubernetes_node_label_Unschedulable", "true"),
                    ("__meta_kubernetes_node_labelpresent_Unschedulable", "true"),
                    ("__meta_kubernetes_node_name", "test0"),
                    (
                        "__meta_kubernetes_node_provider_id",
                        "aws:///fr-south-1c/i-49508290343823952",
                    ),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn node_discovery_conditions() {
    let tests: Vec<(&str, Option<serde_json::Value>, discovery::LabelSet)> = vec![
        (
            "node ready true",
            Some(json!([{"type": "Ready", "status": "True"}])),
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                (
                    "__meta_kubernetes_node_provider_id",
                    "aws:///test-zone/i-test",
                ),
                ("__meta_kubernetes_node_condition_ready", "true"),
            ]),
        ),
        (
            "node ready false",
            Some(json!([{"type": "Ready", "status": "False"}])),
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                (
                    "__meta_kubernetes_node_provider_id",
                    "aws:///test-zone/i-test",
                ),
                ("__meta_kubernetes_node_condition_ready", "false"),
            ]),
        ),
        (
            "node ready unknown",
            Some(json!([{"type": "Ready", "status": "Unknown"}])),
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                (
                    "__meta_kubernetes_node_provider_id",
                    "aws:///test-zone/i-test",
                ),
                ("__meta_kubernetes_node_condition_ready", "unknown"),
            ]),
        ),
        (
            "node no conditions",
            None,
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                (
                    "__meta_kubernetes_node_provider_id",
                    "aws:///test-zone/i-test",
                ),
            ]),
        ),
        (
            "node multiple conditions",
            Some(json!([
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
                {"type": "DiskPressure", "status": "False"}
            ])),
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                (
                    "__meta_kubernetes_node_provider_id",
                    "aws:///test-zone/i-test",
                ),
                ("__meta_kubernetes_node_condition_memorypressure", "false"),
                ("__meta_kubernetes_node_condition_ready", "true"),
                ("__meta_kubernetes_node_condition_diskpressure", "false"),
            ]),
        ),
    ];

    for (name, conditions, expected) in tests {
        eprintln!("case: {name}");
        K8sTest::new("role: node\n")
            .before(
                "nodes",
                make_node(
                    "test",
                    "1.2.3.4",
                    "aws:///test-zone/i-test",
                    Some(&[]),
                    Some(&[]),
                    conditions,
                ),
            )
            .expect(
                1,
                vec![group("node/test", vec![node_target("test")], expected)],
            )
            .run()
            .await;
    }
}
