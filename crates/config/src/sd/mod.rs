//! Service discovery sections (`<name>_sd_configs`, `static_configs`): every mechanism
//! Prometheus 3 registers, with its fields, defaults and checks, so that any
//! prometheus.yml reads and validates as upstream reads it. Which of them the server can
//! run is the scrape crate's business ([`SdConfigs::configured`] names what a job uses).

pub mod aws;
pub mod azure;
pub mod consul;
pub mod digitalocean;
pub mod dns;
pub mod eureka;
pub mod file;
pub mod gce;
pub mod hetzner;
pub mod http;
pub mod ionos;
pub mod kubernetes;
pub mod linode;
pub mod marathon;
pub mod moby;
pub mod nomad;
pub mod oci;
pub mod openstack;
pub mod outscale;
pub mod ovhcloud;
pub mod puppetdb;
pub mod scaleway;
pub mod stackit;
mod static_config;
pub mod triton;
pub mod uyuni;
pub mod vultr;
pub mod xds;
pub mod zookeeper;

use std::path::Path;

use goyaml::Fatal;
use serde::Serialize;

pub use file::FileSdConfig;
pub use static_config::TargetGroup;

macro_rules! sd_configs {
    ($($key:literal => $field:ident: $ty:ty),+ $(,)?) => {
        /// The service discovery sections of a scrape job or Alertmanager config (Go's
        /// `discovery.Configs`, inlined): one list per mechanism; a `null` entry is kept
        /// as `None` so that it can be reported.
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct SdConfigs {
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub static_configs: Vec<Option<TargetGroup>>,
            $(
                #[serde(skip_serializing_if = "Vec::is_empty")]
                pub $field: Vec<Option<$ty>>,
            )+
        }

        goyaml::fields!(SdConfigs as "discovery.Configs" {
            "static_configs" => static_configs,
            $($key => $field,)+
        });

        impl SdConfigs {
            /// Go's `readConfigs`: a `null` (or zero) entry is an error naming its section.
            pub fn check_entries(&self) -> Result<(), Fatal> {
                let mut sections: Vec<(&str, bool)> = vec![
                    ("static_configs", self.static_configs.iter().any(Option::is_none)),
                    $(($key, self.$field.iter().any(|c| match c {
                        None => true,
                        Some(c) => *c == <$ty>::default(),
                    })),)+
                ];
                // Go walks the sections in the order of their generated field names.
                sections.sort_by(|a, b| a.0.cmp(b.0));
                match sections.into_iter().find(|(_, bad)| *bad) {
                    Some((key, _)) => Err(Fatal(format!("empty or null section in {key}"))),
                    None => Ok(()),
                }
            }

            /// Joins relative file names with `dir`.
            pub fn set_directory(&mut self, dir: &Path) {
                $(for c in self.$field.iter_mut().flatten() {
                    c.set_directory(dir);
                })+
            }

            /// The YAML keys of the sections that hold at least one entry.
            pub fn configured(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                if !self.static_configs.is_empty() {
                    out.push("static_configs");
                }
                $(if !self.$field.is_empty() {
                    out.push($key);
                })+
                out
            }
        }
    };
}

sd_configs! {
    "aws_sd_configs" => aws_sd_configs: aws::AwsSdConfig,
    "azure_sd_configs" => azure_sd_configs: azure::AzureSdConfig,
    "consul_sd_configs" => consul_sd_configs: consul::ConsulSdConfig,
    "digitalocean_sd_configs" => digitalocean_sd_configs: digitalocean::DigitalOceanSdConfig,
    "dns_sd_configs" => dns_sd_configs: dns::DnsSdConfig,
    "docker_sd_configs" => docker_sd_configs: moby::DockerSdConfig,
    "dockerswarm_sd_configs" => dockerswarm_sd_configs: moby::DockerSwarmSdConfig,
    "ec2_sd_configs" => ec2_sd_configs: aws::Ec2SdConfig,
    "ecs_sd_configs" => ecs_sd_configs: aws::EcsSdConfig,
    "elasticache_sd_configs" => elasticache_sd_configs: aws::ElasticacheSdConfig,
    "eureka_sd_configs" => eureka_sd_configs: eureka::EurekaSdConfig,
    "file_sd_configs" => file_sd_configs: file::FileSdConfig,
    "gce_sd_configs" => gce_sd_configs: gce::GceSdConfig,
    "hetzner_sd_configs" => hetzner_sd_configs: hetzner::HetznerSdConfig,
    "http_sd_configs" => http_sd_configs: http::HttpSdConfig,
    "ionos_sd_configs" => ionos_sd_configs: ionos::IonosSdConfig,
    "kubernetes_sd_configs" => kubernetes_sd_configs: kubernetes::KubernetesSdConfig,
    "kuma_sd_configs" => kuma_sd_configs: xds::KumaSdConfig,
    "lightsail_sd_configs" => lightsail_sd_configs: aws::LightsailSdConfig,
    "linode_sd_configs" => linode_sd_configs: linode::LinodeSdConfig,
    "marathon_sd_configs" => marathon_sd_configs: marathon::MarathonSdConfig,
    "msk_sd_configs" => msk_sd_configs: aws::MskSdConfig,
    "nerve_sd_configs" => nerve_sd_configs: zookeeper::NerveSdConfig,
    "nomad_sd_configs" => nomad_sd_configs: nomad::NomadSdConfig,
    "oci_sd_configs" => oci_sd_configs: oci::OciSdConfig,
    "openstack_sd_configs" => openstack_sd_configs: openstack::OpenStackSdConfig,
    "outscale_sd_configs" => outscale_sd_configs: outscale::OutscaleSdConfig,
    "ovhcloud_sd_configs" => ovhcloud_sd_configs: ovhcloud::OvhcloudSdConfig,
    "puppetdb_sd_configs" => puppetdb_sd_configs: puppetdb::PuppetDbSdConfig,
    "rds_sd_configs" => rds_sd_configs: aws::RdsSdConfig,
    "scaleway_sd_configs" => scaleway_sd_configs: scaleway::ScalewaySdConfig,
    "serverset_sd_configs" => serverset_sd_configs: zookeeper::ServersetSdConfig,
    "stackit_sd_configs" => stackit_sd_configs: stackit::StackitSdConfig,
    "triton_sd_configs" => triton_sd_configs: triton::TritonSdConfig,
    "uyuni_sd_configs" => uyuni_sd_configs: uyuni::UyuniSdConfig,
    "vultr_sd_configs" => vultr_sd_configs: vultr::VultrSdConfig,
}
