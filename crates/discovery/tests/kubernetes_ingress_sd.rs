//! Upstream's `discovery/kubernetes/ingress_test.go` cases (same names), against a fake
//! API server on loopback (`networking.k8s.io/v1` Ingresses).

mod support;

use discovery::Group;
use serde_json::Value;
use support::kube::*;

/// Upstream's `TLSMode` (its `TLSWildcard` is used by no test).
#[derive(Clone, Copy)]
enum Tls {
    No,
    Yes,
    Mixed,
}

fn make_ingress(namespace: &str, tls: Tls) -> Value {
    let mut ingress = json!({
        "metadata": {
            "name": "testingress", "namespace": namespace,
            "labels": {"test/label": "testvalue"},
            "annotations": {"test/annotation": "testannotationvalue"}
        },
        "spec": {
            "ingressClassName": "testclass",
            "rules": [
                {"host": "example.com", "http": {"paths": [{"path": "/"}, {"path": "/foo"}]}},
                // No backend config, ignored.
                {"host": "nobackend.example.com", "http": {}},
                {"host": "test.example.com", "http": {"paths": [{}]}}
            ]
        }
    });
    match tls {
        Tls::No => {}
        Tls::Yes => {
            ingress["spec"]["tls"] = json!([{"hosts": ["example.com", "test.example.com"]}])
        }
        Tls::Mixed => ingress["spec"]["tls"] = json!([{"hosts": ["example.com"]}]),
    }
    ingress
}

/// Upstream's `makeNamespace` (endpointslice_test.go).
fn make_namespace(name: &str, labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Value {
    json!({
        "metadata": {"name": name, "labels": ls(labels), "annotations": ls(annotations)}
    })
}

fn expected_target_groups(ns: &str, tls: Tls) -> Vec<Group> {
    let (scheme1, scheme2) = match tls {
        Tls::No => ("http", "http"),
        Tls::Yes => ("https", "https"),
        Tls::Mixed => ("https", "http"),
    };
    let key = format!("ingress/{ns}/testingress");
    vec![group(
        &key,
        vec![
            ls(&[
                ("__meta_kubernetes_ingress_scheme", scheme1),
                ("__meta_kubernetes_ingress_host", "example.com"),
                ("__meta_kubernetes_ingress_path", "/"),
                ("__address__", "example.com"),
            ]),
            ls(&[
                ("__meta_kubernetes_ingress_scheme", scheme1),
                ("__meta_kubernetes_ingress_host", "example.com"),
                ("__meta_kubernetes_ingress_path", "/foo"),
                ("__address__", "example.com"),
            ]),
            ls(&[
                ("__meta_kubernetes_ingress_scheme", scheme2),
                ("__meta_kubernetes_ingress_host", "test.example.com"),
                ("__address__", "test.example.com"),
                ("__meta_kubernetes_ingress_path", "/"),
            ]),
        ],
        ls(&[
            ("__meta_kubernetes_ingress_name", "testingress"),
            ("__meta_kubernetes_namespace", ns),
            ("__meta_kubernetes_ingress_label_test_label", "testvalue"),
            ("__meta_kubernetes_ingress_labelpresent_test_label", "true"),
            (
                "__meta_kubernetes_ingress_annotation_test_annotation",
                "testannotationvalue",
            ),
            (
                "__meta_kubernetes_ingress_annotationpresent_test_annotation",
                "true",
            ),
            ("__meta_kubernetes_ingress_class_name", "testclass"),
        ]),
    )]
}

/// The targets of `makeIngress(ns, TLSNo)` as the namespace metadata tests spell them.
fn plain_targets() -> Vec<discovery::LabelSet> {
    vec![
        ls(&[
            ("__address__", "example.com"),
            ("__meta_kubernetes_ingress_host", "example.com"),
            ("__meta_kubernetes_ingress_path", "/"),
            ("__meta_kubernetes_ingress_scheme", "http"),
        ]),
        ls(&[
            ("__address__", "example.com"),
            ("__meta_kubernetes_ingress_host", "example.com"),
            ("__meta_kubernetes_ingress_path", "/foo"),
            ("__meta_kubernetes_ingress_scheme", "http"),
        ]),
        ls(&[
            ("__address__", "test.example.com"),
            ("__meta_kubernetes_ingress_host", "test.example.com"),
            ("__meta_kubernetes_ingress_path", "/"),
            ("__meta_kubernetes_ingress_scheme", "http"),
        ]),
    ]
}

#[tokio::test]
async fn ingress_discovery_add() {
    K8sTest::new("role: ingress\nnamespaces: {names: [default]}\n")
        .after(|api| api.apply("ingresses", make_ingress("default", Tls::No)))
        .expect(1, expected_target_groups("default", Tls::No))
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_add_tls() {
    K8sTest::new("role: ingress\nnamespaces: {names: [default]}\n")
        .after(|api| api.apply("ingresses", make_ingress("default", Tls::Yes)))
        .expect(1, expected_target_groups("default", Tls::Yes))
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_add_mixed() {
    K8sTest::new("role: ingress\nnamespaces: {names: [default]}\n")
        .after(|api| api.apply("ingresses", make_ingress("default", Tls::Mixed)))
        .expect(1, expected_target_groups("default", Tls::Mixed))
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_namespaces() {
    let mut expected = expected_target_groups("ns1", Tls::No);
    expected.extend(expected_target_groups("ns2", Tls::No));
    K8sTest::new("role: ingress\nnamespaces: {names: [ns1, ns2]}\n")
        .after(|api| {
            for ns in ["ns1", "ns2"] {
                api.apply("ingresses", make_ingress(ns, Tls::No));
            }
        })
        .expect(2, expected)
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_own_namespace() {
    K8sTest::new("role: ingress\n")
        .own_namespace("own-ns")
        .after(|api| {
            for ns in ["own-ns", "non-own-ns"] {
                api.apply("ingresses", make_ingress(ns, Tls::No));
            }
        })
        .expect(1, expected_target_groups("own-ns", Tls::No))
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_with_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels = [("service", "web"), ("layer", "frontend")];
    let ns_annotations = [("contact", "platform"), ("release", "v5.6.7")];
    K8sTest::new("role: ingress\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(ns, &ns_labels, &ns_annotations),
        )
        .before("ingresses", make_ingress(ns, Tls::No))
        .expect(
            1,
            vec![group(
                "ingress/test-ns/testingress",
                plain_targets(),
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
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
                    ("__meta_kubernetes_ingress_name", "testingress"),
                    ("__meta_kubernetes_ingress_label_test_label", "testvalue"),
                    ("__meta_kubernetes_ingress_labelpresent_test_label", "true"),
                    (
                        "__meta_kubernetes_ingress_annotation_test_annotation",
                        "testannotationvalue",
                    ),
                    (
                        "__meta_kubernetes_ingress_annotationpresent_test_annotation",
                        "true",
                    ),
                    ("__meta_kubernetes_ingress_class_name", "testclass"),
                ]),
            )],
        )
        .run()
        .await;
}

#[tokio::test]
async fn ingress_discovery_with_updated_namespace_metadata() {
    let ns = "test-ns";
    let ns_labels = [("component", "database"), ("layer", "backend")];
    let ns_annotations = [("contact", "dba"), ("release", "v6.7.8")];
    K8sTest::new("role: ingress\nattach_metadata: {namespace: true}\n")
        .before(
            "namespaces",
            make_namespace(ns, &ns_labels, &ns_annotations),
        )
        .before("ingresses", make_ingress(ns, Tls::No))
        .after(move |api| {
            let mut namespace = make_namespace(ns, &ns_labels, &ns_annotations);
            namespace["metadata"]["labels"]["component"] = json!("cache");
            namespace["metadata"]["labels"]["region"] = json!("us-central");
            namespace["metadata"]["annotations"]["contact"] = json!("sre");
            namespace["metadata"]["annotations"]["monitoring"] = json!("enabled");
            api.apply("namespaces", namespace);
        })
        .expect(
            2,
            vec![group(
                "ingress/test-ns/testingress",
                plain_targets(),
                ls(&[
                    ("__meta_kubernetes_namespace", ns),
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
                    ("__meta_kubernetes_ingress_name", "testingress"),
                    ("__meta_kubernetes_ingress_label_test_label", "testvalue"),
                    ("__meta_kubernetes_ingress_labelpresent_test_label", "true"),
                    (
                        "__meta_kubernetes_ingress_annotation_test_annotation",
                        "testannotationvalue",
                    ),
                    (
                        "__meta_kubernetes_ingress_annotationpresent_test_annotation",
                        "true",
                    ),
                    ("__meta_kubernetes_ingress_class_name", "testclass"),
                ]),
            )],
        )
        .run()
        .await;
}
