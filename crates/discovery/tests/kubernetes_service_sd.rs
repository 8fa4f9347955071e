//! Upstream's `discovery/kubernetes/service_test.go` cases (same names), against a fake
//! API server on loopback.

mod support;

use discovery::Group;
use serde_json::Value;
use support::kube::*;

fn make_multi_port_service() -> Value {
    json!({
        "metadata": {
            "name": "testservice", "namespace": "default",
            "labels": {"test-label": "testvalue"},
            "annotations": {"test-annotation": "testannotationvalue"}
        },
        "spec": {
            "ports": [
                {"name": "testport0", "protocol": "TCP", "port": 30900},
                {"name": "testport1", "protocol": "UDP", "port": 30901}
            ],
            "type": "ClusterIP",
            "clusterIP": "10.0.0.1"
        }
    })
}

fn make_service(namespace: &str) -> Value {
    json!({
        "metadata": {"name": "testservice", "namespace": namespace},
        "spec": {
            "ports": [{"name": "testport", "protocol": "TCP", "port": 30900}],
            "type": "ClusterIP",
            "clusterIP": "10.0.0.1"
        }
    })
}

fn make_external_service() -> Value {
    json!({
        "metadata": {"name": "testservice-external", "namespace": "default"},
        "spec": {
            "ports": [{"name": "testport", "protocol": "TCP", "port": 31900}],
            "type": "ExternalName",
            "externalName": "FooExternalName"
        }
    })
}

fn make_load_balancer_service() -> Value {
    json!({
        "metadata": {"name": "testservice-loadbalancer", "namespace": "default"},
        "spec": {
            "ports": [{"name": "testport", "protocol": "TCP", "port": 31900}],
            "type": "LoadBalancer",
            "loadBalancerIP": "127.0.0.1",
            "clusterIP": "10.0.0.1"
        }
    })
}

fn make_load_balancer_service_from_ingress() -> Value {
    json!({
        "metadata": {"name": "testservice-lb-ingress", "namespace": "default"},
        "spec": {
            "ports": [{"name": "testport", "protocol": "TCP", "port": 31900}],
            "type": "LoadBalancer",
            "clusterIP": "10.0.0.1"
        },
        "status": {
            "loadBalancer": {"ingress": [{"ip": "192.168.1.15"}, {"ip": "2001:db8::1"}]}
        }
    })
}

/// Upstream's `makeNamespace` (endpointslice_test.go).
fn make_namespace(name: &str, labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Value {
    json!({
        "metadata": {"name": name, "labels": ls(labels), "annotations": ls(annotations)}
    })
}

/// The group upstream expects of `makeService(ns)`.
fn service_group(ns: &str) -> Group {
    let source = format!("svc/{ns}/testservice");
    let address = format!("testservice.{ns}.svc:30900");
    group(
        &source,
        vec![ls(&[
            ("__meta_kubernetes_service_port_protocol", "TCP"),
            ("__address__", &address),
            ("__meta_kubernetes_service_type", "ClusterIP"),
            ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
            ("__meta_kubernetes_service_port_name", "testport"),
            ("__meta_kubernetes_service_port_number", "30900"),
        ])],
        ls(&[
            ("__meta_kubernetes_service_name", "testservice"),
            ("__meta_kubernetes_namespace", ns),
        ]),
    )
}

#[tokio::test]
async fn service_discovery_add() {
    K8sTest::new("role: service\n")
        .after(|api| {
            api.apply("services", make_service("default"));
            api.apply("services", make_external_service());
            api.apply("services", make_load_balancer_service());
            api.apply("services", make_load_balancer_service_from_ingress());
        })
        .expect(
            4,
            vec![
                service_group("default"),
                group(
                    "svc/default/testservice-external",
                    vec![ls(&[
                        ("__meta_kubernetes_service_port_protocol", "TCP"),
                        ("__address__", "testservice-external.default.svc:31900"),
                        ("__meta_kubernetes_service_type", "ExternalName"),
                        ("__meta_kubernetes_service_port_name", "testport"),
                        ("__meta_kubernetes_service_port_number", "31900"),
                        ("__meta_kubernetes_service_external_name", "FooExternalName"),
                    ])],
                    ls(&[
                        ("__meta_kubernetes_service_name", "testservice-external"),
                        ("__meta_kubernetes_namespace", "default"),
                    ]),
                ),
                group(
                    "svc/default/testservice-loadbalancer",
                    vec![ls(&[
                        ("__meta_kubernetes_service_port_protocol", "TCP"),
                        ("__address__", "testservice-loadbalancer.default.svc:31900"),
                        ("__meta_kubernetes_service_type", "LoadBalancer"),
                        ("__meta_kubernetes_service_port_name", "testport"),
                        ("__meta_kubernetes_service_port_number", "31900"),
                        ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                        ("__meta_kubernetes_service_loadbalancer_ip", "127.0.0.1"),
                    ])],
                    ls(&[
                        ("__meta_kubernetes_service_name", "testservice-loadbalancer"),
                        ("__meta_kubernetes_namespace", "default"),
                    ]),
                ),
                group(
                    "svc/default/testservice-lb-ingress",
                    vec![ls(&[
                        ("__meta_kubernetes_service_port_protocol", "TCP"),
                        ("__address__", "testservice-lb-ingress.default.svc:31900"),
                        ("__meta_kubernetes_service_type", "LoadBalancer"),
                        ("__meta_kubernetes_service_port_name", "testport"),
                        ("__meta_kubernetes_service_port_number", "31900"),
                        ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                        (
                            "__meta_kubernetes_service_loadbalancer_ip",
                            "192.168.1.15,2001:db8::1",
                        ),
                    ])],
                    ls(&[
                        ("__meta_kubernetes_service_name", "testservice-lb-ingress"),
                        ("__meta_kubernetes_namespace", "default"),
                    ]),
                ),
            ],
        )
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_delete() {
    K8sTest::new("role: service\n")
        .before("services", make_service("default"))
        .after(|api| api.delete("services", "default", "testservice"))
        .expect(2, vec![empty("svc/default/testservice")])
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_update() {
    K8sTest::new("role: service\n")
        .before("services", make_service("default"))
        .after(|api| api.apply("services", make_multi_port_service()))
        .expect(
            2,
            vec![group(
                "svc/default/testservice",
                vec![
                    ls(&[
                        ("__meta_kubernetes_service_port_protocol", "TCP"),
                        ("__address__", "testservice.default.svc:30900"),
                        ("__meta_kubernetes_service_type", "ClusterIP"),
                        ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                        ("__meta_kubernetes_service_port_name", "testport0"),
                        ("__meta_kubernetes_service_port_number", "30900"),
                    ]),
                    ls(&[
                        ("__meta_kubernetes_service_port_protocol", "UDP"),
                        ("__address__", "testservice.default.svc:30901"),
                        ("__meta_kubernetes_service_type", "ClusterIP"),
                        ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                        ("__meta_kubernetes_service_port_name", "testport1"),
                        ("__meta_kubernetes_service_port_number", "30901"),
                    ]),
                ],
                ls(&[
                    ("__meta_kubernetes_service_name", "testservice"),
                    ("__meta_kubernetes_namespace", "default"),
                    ("__meta_kubernetes_service_label_test_label", "testvalue"),
                    ("__meta_kubernetes_service_labelpresent_test_label", "true"),
                    (
                        "__meta_kubernetes_service_annotation_test_annotation",
                        "testannotationvalue",
                    ),
                    (
                        "__meta_kubernetes_service_annotationpresent_test_annotation",
                        "true",
                    ),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_namespaces() {
    K8sTest::new("role: service\nnamespaces: {names: [ns1, ns2]}\n")
        .after(|api| {
            for ns in ["ns1", "ns2"] {
                api.apply("services", make_service(ns));
            }
        })
        .expect(2, vec![service_group("ns1"), service_group("ns2")])
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_own_namespace() {
    K8sTest::new("role: service\n")
        .own_namespace("own-ns")
        .after(|api| {
            for ns in ["own-ns", "non-own-ns"] {
                api.apply("services", make_service(ns));
            }
        })
        .expect(1, vec![service_group("own-ns")])
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_all_namespaces() {
    K8sTest::new("role: service\n")
        .after(|api| {
            for ns in ["own-ns", "non-own-ns"] {
                api.apply("services", make_service(ns));
            }
        })
        .expect(
            2,
            vec![service_group("own-ns"), service_group("non-own-ns")],
        )
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_with_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels = [("environment", "production"), ("team", "backend")];
    let ns_annotations = [("owner", "platform"), ("version", "v1.2.3")];
    K8sTest::new("role: service\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(ns, &ns_labels, &ns_annotations),
        )
        .before("services", make_service(ns))
        .expect(
            1,
            vec![group(
                "svc/test-ns/testservice",
                vec![ls(&[
                    ("__address__", "testservice.test-ns.svc:30900"),
                    ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                    ("__meta_kubernetes_service_port_name", "testport"),
                    ("__meta_kubernetes_service_port_number", "30900"),
                    ("__meta_kubernetes_service_port_protocol", "TCP"),
                    ("__meta_kubernetes_service_type", "ClusterIP"),
                ])],
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
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
                    ("__meta_kubernetes_service_name", "testservice"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn service_discovery_with_updated_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels = [("environment", "development"), ("team", "frontend")];
    let ns_annotations = [("owner", "devops"), ("version", "v2.1.0")];
    K8sTest::new("role: service\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(ns, &ns_labels, &ns_annotations),
        )
        .before("services", make_service(ns))
        .after(move |api| {
            let mut namespace = make_namespace(ns, &ns_labels, &ns_annotations);
            namespace["metadata"]["labels"]["environment"] = json!("staging");
            namespace["metadata"]["labels"]["region"] = json!("us-west");
            namespace["metadata"]["annotations"]["owner"] = json!("sre");
            namespace["metadata"]["annotations"]["cost-center"] = json!("engineering");
            api.apply("namespaces", namespace);
        })
        .expect(
            2,
            vec![group(
                "svc/test-ns/testservice",
                vec![ls(&[
                    ("__address__", "testservice.test-ns.svc:30900"),
                    ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                    ("__meta_kubernetes_service_port_name", "testport"),
                    ("__meta_kubernetes_service_port_number", "30900"),
                    ("__meta_kubernetes_service_port_protocol", "TCP"),
                    ("__meta_kubernetes_service_type", "ClusterIP"),
                ])],
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
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
                    ("__meta_kubernetes_service_name", "testservice"),
                ]),
            )],
        )
        .run()
        .await;
}
