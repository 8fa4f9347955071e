//! Upstream's `discovery/kubernetes/pod_test.go` cases (same names), against a fake API
//! server on loopback.

mod support;

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
        .before("pods", make_multi_port_pods())
        .after(|api| api.delete("pods", "default", "testpod"))
        .expect(2, vec![empty("pod/default/testpod")])
        .run()
        .await;
}
