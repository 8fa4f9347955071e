//! The harness of the Kubernetes discovery tests, after upstream's `k8sDiscoveryTest`:
//! objects stored in a fake API server before the discovery runs, changes made once it
//! has listed everything, then the groups read (merged by source) until as many sources
//! as expected arrived or a timeout, and compared with upstream's expected groups.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use discovery::kubernetes::KubernetesDiscovery;
use discovery::{Discoverer, Group, LabelSet};
use kubefake::FakeApi;
use serde_json::Value;

pub use serde_json::json;

/// A label set from pairs.
pub fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A group as upstream's tests write them.
pub fn group(source: &str, targets: Vec<LabelSet>, labels: LabelSet) -> Group {
    Group {
        source: source.to_string(),
        targets,
        labels,
    }
}

/// A group with only its source (a deleted object, or one without targets yet).
pub fn empty(source: &str) -> Group {
    group(source, Vec::new(), LabelSet::new())
}

/// Expected groups by source.
pub fn by_source(groups: Vec<Group>) -> BTreeMap<String, Group> {
    groups.into_iter().map(|g| (g.source.clone(), g)).collect()
}

pub type AfterStart = Box<dyn FnOnce(&FakeApi) + Send>;

pub struct K8sTest {
    /// `role: ...` and any other lines of the `kubernetes_sd_configs` entry (not
    /// `api_server`, which the harness adds).
    pub config: String,
    /// The pod's own namespace, for `namespaces.own_namespace`.
    pub own_namespace: Option<String>,
    /// (resource, object) stored before the discovery starts.
    pub before_run: Vec<(&'static str, Value)>,
    pub after_start: Option<AfterStart>,
    pub expected_max_items: usize,
    pub expected: Option<BTreeMap<String, Group>>,
}

impl K8sTest {
    pub fn new(config: &str) -> Self {
        Self {
            config: config.to_string(),
            own_namespace: None,
            before_run: Vec::new(),
            after_start: None,
            expected_max_items: 0,
            expected: None,
        }
    }

    pub fn before(mut self, resource: &'static str, object: Value) -> Self {
        self.before_run.push((resource, object));
        self
    }

    pub fn after(mut self, f: impl FnOnce(&FakeApi) + Send + 'static) -> Self {
        self.after_start = Some(Box::new(f));
        self
    }

    pub fn own_namespace(mut self, ns: &str) -> Self {
        self.own_namespace = Some(ns.to_string());
        self
    }

    pub fn expect(mut self, max_items: usize, groups: Vec<Group>) -> Self {
        self.expected_max_items = max_items;
        self.expected = Some(by_source(groups));
        self
    }

    /// Runs the test; returns the fake (for its request log) and the groups read.
    pub async fn run(self) -> (FakeApi, BTreeMap<String, Group>) {
        let fake = FakeApi::start().await;
        for (resource, object) in self.before_run {
            fake.apply(resource, object);
        }
        let text = format!("api_server: {}\n{}", fake.url(), self.config);
        let mut config = promconfig::sd::kubernetes::KubernetesSdConfig::default();
        goyaml::from_str(&text, &mut config).expect("the test's configuration");
        let discovery = match &self.own_namespace {
            Some(own) => KubernetesDiscovery::with_own_namespace(&config, own),
            None => KubernetesDiscovery::new(&config, "test"),
        }
        .expect("discovery starts");
        let watches = discovery.watch_count();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let task = tokio::spawn(Box::new(discovery).run(tx));
        // Synced: every collection listed and watched.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while fake.open_watches() < watches {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the discovery did not watch its {watches} collections: {:?}",
                fake.requests()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(after) = self.after_start {
            after(&fake);
        }
        let mut res: BTreeMap<String, Group> = BTreeMap::new();
        let timeout = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(timeout);
        loop {
            tokio::select! {
                groups = rx.recv() => {
                    let Some(groups) = groups else { break };
                    for g in groups {
                        res.insert(g.source.clone(), g);
                    }
                    if res.len() == self.expected_max_items {
                        break;
                    }
                }
                _ = &mut timeout => break,
            }
        }
        task.abort();
        if let Some(expected) = self.expected {
            assert_eq!(res, expected);
        }
        (fake, res)
    }
}
