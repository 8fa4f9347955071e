//! `storage`: TSDB settings that may change on reload (out-of-order window, retention,
//! chunk encoding) and the exemplar buffer size.

use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::{ByteSize, PromDuration};

/// `storage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StorageConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsdb: Option<TsdbConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemplars: Option<ExemplarsConfig>,
}
goyaml::fields!(StorageConfig as "config.StorageConfig" {
    "tsdb" => tsdb,
    "exemplars" => exemplars,
});
goyaml::plain!(StorageConfig);

impl StorageConfig {
    /// The out-of-order window (zero: out-of-order samples are refused).
    pub fn out_of_order_time_window(&self) -> Duration {
        self.tsdb
            .as_ref()
            .map(|t| t.out_of_order_time_window.0)
            .unwrap_or_default()
    }
}

/// `storage.tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TsdbConfig {
    pub out_of_order_time_window: PromDuration,
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_series_compaction_threshold: f64,
    #[serde(skip_serializing_if = "ChunkEncoding::is_unset")]
    pub chunk_encoding: ChunkEncoding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionConfig>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

goyaml::fields!(TsdbConfig as "config.plain" {
    "out_of_order_time_window" => out_of_order_time_window,
    "stale_series_compaction_threshold" => stale_series_compaction_threshold,
    "chunk_encoding" => chunk_encoding,
    "retention" => retention,
});

impl Decode for TsdbConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::default();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        match self.chunk_encoding.floats.as_str() {
            "" | "xor" | "xor2" => {}
            other => {
                return Err(Fatal(format!(
                    "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got {}",
                    goyaml::go_quote(other)
                )))
            }
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.TSDBConfig".into()
    }
}

/// `storage.tsdb.chunk_encoding`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChunkEncoding {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub floats: String,
}
goyaml::fields!(ChunkEncoding as "config.ChunkEncodingConfig" { "floats" => floats });
goyaml::plain!(ChunkEncoding);

impl ChunkEncoding {
    fn is_unset(&self) -> bool {
        self.floats.is_empty()
    }
}

/// `storage.tsdb.retention`: limits that, when set, take precedence over the flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetentionConfig {
    pub time: PromDuration,
    pub size: ByteSize,
    #[serde(skip_serializing_if = "is_zero")]
    pub percentage: f64,
}

/// The retention section as written: the size may be negative, which is reported.
#[derive(Default)]
struct PlainRetention {
    time: PromDuration,
    size: SignedSize,
    percentage: f64,
}
goyaml::fields!(PlainRetention as "config.plain" {
    "time" => time,
    "size" => size,
    "percentage" => percentage,
});

#[derive(Default)]
struct SignedSize(i64);

impl Decode for SignedSize {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        self.0 = ByteSize::parse_base2(&text).map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "units.Base2Bytes".into()
    }
}

impl Decode for RetentionConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut plain = PlainRetention::default();
        if !d.unmarshal_fields(node, &mut plain)? {
            return Ok(false);
        }
        if plain.size.0 < 0 {
            return Err(Fatal(format!(
                "'storage.tsdb.retention.size' must be greater than or equal to 0, got -{}",
                ByteSize(plain.size.0.unsigned_abs())
            )));
        }
        if !(0.0..=100.0).contains(&plain.percentage) {
            return Err(Fatal(format!(
                "'storage.tsdb.retention.percentage' must be in the range [0, 100], got {}",
                plain.percentage
            )));
        }
        *self = RetentionConfig {
            time: plain.time,
            size: ByteSize(plain.size.0 as u64),
            percentage: plain.percentage,
        };
        Ok(true)
    }
    fn go_type() -> String {
        "config.TSDBRetentionConfig".into()
    }
}

/// `storage.exemplars`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExemplarsConfig {
    pub max_exemplars: i64,
}
goyaml::fields!(ExemplarsConfig as "config.ExemplarsConfig" { "max_exemplars" => max_exemplars });
goyaml::plain!(ExemplarsConfig);
