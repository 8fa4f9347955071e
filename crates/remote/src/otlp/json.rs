//! OTLP/JSON: protobuf's JSON mapping as OTLP specifies it (lowerCamelCase keys, the
//! original snake_case ones also taken as pdata takes them; 64-bit integers as strings or
//! numbers; enums as integers; doubles as numbers or `"NaN"`/`"Infinity"`/`"-Infinity"`;
//! bytes as base64; `null` for a field's default; unknown fields ignored), decoded with
//! serde into structs parallel to the protobuf ones, then moved into those, so the
//! translation reads one form. Nesting is bounded by serde_json's recursion limit (128
//! levels), which `AnyValue`'s arrays and lists are the only way to reach.

use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::proto;

/// Decodes an `ExportMetricsServiceRequest` from OTLP/JSON.
pub fn decode(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest, String> {
    let request: Request = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    request.into_proto()
}

/// `null` decodes to the field's default, as in protobuf's JSON mapping.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Request {
    #[serde(
        rename = "resourceMetrics",
        alias = "resource_metrics",
        deserialize_with = "nullable"
    )]
    resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourceMetrics {
    #[serde(deserialize_with = "nullable")]
    resource: Resource,
    #[serde(
        rename = "scopeMetrics",
        alias = "scope_metrics",
        deserialize_with = "nullable"
    )]
    scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resource {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScopeMetrics {
    #[serde(deserialize_with = "nullable")]
    scope: Scope,
    #[serde(deserialize_with = "nullable")]
    metrics: Vec<Metric>,
    #[serde(
        rename = "schemaUrl",
        alias = "schema_url",
        deserialize_with = "nullable"
    )]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scope {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    version: String,
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metric {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    unit: String,
    gauge: Option<Gauge>,
    sum: Option<Sum>,
    histogram: Option<Histogram>,
    #[serde(rename = "exponentialHistogram", alias = "exponential_histogram")]
    exponential_histogram: Option<ExponentialHistogram>,
    summary: Option<Summary>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Gauge {
    #[serde(
        rename = "dataPoints",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<NumberDataPoint>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Sum {
    #[serde(
        rename = "dataPoints",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<NumberDataPoint>,
    #[serde(
        rename = "aggregationTemporality",
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
    #[serde(
        rename = "isMonotonic",
        alias = "is_monotonic",
        deserialize_with = "nullable"
    )]
    is_monotonic: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Histogram {
    #[serde(
        rename = "dataPoints",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<HistogramDataPoint>,
    #[serde(
        rename = "aggregationTemporality",
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExponentialHistogram {
    #[serde(
        rename = "dataPoints",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<ExponentialHistogramDataPoint>,
    #[serde(
        rename = "aggregationTemporality",
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Summary {
    #[serde(
        rename = "dataPoints",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<SummaryDataPoint>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NumberDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "uint64"
    )]
    start_time_unix_nano: u64,
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "uint64"
    )]
    time_unix_nano: u64,
    #[serde(
        rename = "asDouble",
        alias = "as_double",
        deserialize_with = "some_double"
    )]
    as_double: Option<f64>,
    #[serde(rename = "asInt", alias = "as_int", deserialize_with = "some_int64")]
    as_int: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<Exemplar>,
    #[serde(deserialize_with = "uint32")]
    flags: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Exemplar {
    #[serde(
        rename = "filteredAttributes",
        alias = "filtered_attributes",
        deserialize_with = "nullable"
    )]
    filtered_attributes: Vec<KeyValue>,
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "uint64"
    )]
    time_unix_nano: u64,
    #[serde(
        rename = "asDouble",
        alias = "as_double",
        deserialize_with = "some_double"
    )]
    as_double: Option<f64>,
    #[serde(rename = "asInt", alias = "as_int", deserialize_with = "some_int64")]
    as_int: Option<i64>,
    #[serde(rename = "spanId", alias = "span_id", deserialize_with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(rename = "traceId", alias = "trace_id", deserialize_with = "hex_id")]
    trace_id: Vec<u8>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HistogramDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "uint64"
    )]
    start_time_unix_nano: u64,
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "uint64"
    )]
    time_unix_nano: u64,
    #[serde(deserialize_with = "uint64")]
    count: u64,
    #[serde(deserialize_with = "some_double")]
    sum: Option<f64>,
    #[serde(
        rename = "bucketCounts",
        alias = "bucket_counts",
        deserialize_with = "uint64s"
    )]
    bucket_counts: Vec<u64>,
    #[serde(
        rename = "explicitBounds",
        alias = "explicit_bounds",
        deserialize_with = "doubles"
    )]
    explicit_bounds: Vec<f64>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<Exemplar>,
    #[serde(deserialize_with = "uint32")]
    flags: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExponentialHistogramDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "uint64"
    )]
    start_time_unix_nano: u64,
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "uint64"
    )]
    time_unix_nano: u64,
    #[serde(deserialize_with = "uint64")]
    count: u64,
    #[serde(deserialize_with = "some_double")]
    sum: Option<f64>,
    #[serde(deserialize_with = "int32")]
    scale: i32,
    #[serde(
        rename = "zeroCount",
        alias = "zero_count",
        deserialize_with = "uint64"
    )]
    zero_count: u64,
    #[serde(deserialize_with = "nullable")]
    positive: Option<ExponentialBuckets>,
    #[serde(deserialize_with = "nullable")]
    negative: Option<ExponentialBuckets>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<Exemplar>,
    #[serde(deserialize_with = "uint32")]
    flags: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExponentialBuckets {
    #[serde(deserialize_with = "int32")]
    offset: i32,
    #[serde(
        rename = "bucketCounts",
        alias = "bucket_counts",
        deserialize_with = "uint64s"
    )]
    bucket_counts: Vec<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SummaryDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "uint64"
    )]
    start_time_unix_nano: u64,
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "uint64"
    )]
    time_unix_nano: u64,
    #[serde(deserialize_with = "uint64")]
    count: u64,
    #[serde(deserialize_with = "double")]
    sum: f64,
    #[serde(
        rename = "quantileValues",
        alias = "quantile_values",
        deserialize_with = "nullable"
    )]
    quantile_values: Vec<ValueAtQuantile>,
    #[serde(deserialize_with = "uint32")]
    flags: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ValueAtQuantile {
    #[serde(deserialize_with = "double")]
    quantile: f64,
    #[serde(deserialize_with = "double")]
    value: f64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyValue {
    #[serde(deserialize_with = "nullable")]
    key: String,
    value: Option<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnyValue {
    #[serde(rename = "stringValue", alias = "string_value")]
    string_value: Option<String>,
    #[serde(rename = "boolValue", alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(
        rename = "intValue",
        alias = "int_value",
        deserialize_with = "some_int64"
    )]
    int_value: Option<i64>,
    #[serde(
        rename = "doubleValue",
        alias = "double_value",
        deserialize_with = "some_double"
    )]
    double_value: Option<f64>,
    #[serde(rename = "arrayValue", alias = "array_value")]
    array_value: Option<ValueList>,
    #[serde(rename = "kvlistValue", alias = "kvlist_value")]
    kvlist_value: Option<KeyValueList>,
    #[serde(
        rename = "bytesValue",
        alias = "bytes_value",
        deserialize_with = "some_bytes"
    )]
    bytes_value: Option<Vec<u8>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ValueList {
    #[serde(deserialize_with = "nullable")]
    values: Vec<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyValueList {
    #[serde(deserialize_with = "nullable")]
    values: Vec<KeyValue>,
}

impl Request {
    fn into_proto(self) -> Result<proto::ExportMetricsServiceRequest, String> {
        let resource_metrics = self
            .resource_metrics
            .into_iter()
            .map(|rm| {
                Ok(proto::ResourceMetrics {
                    resource: Some(proto::Resource {
                        attributes: key_values(rm.resource.attributes)?,
                    }),
                    scope_metrics: rm
                        .scope_metrics
                        .into_iter()
                        .map(ScopeMetrics::into_proto)
                        .collect::<Result<_, String>>()?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(proto::ExportMetricsServiceRequest { resource_metrics })
    }
}

impl ScopeMetrics {
    fn into_proto(self) -> Result<proto::ScopeMetrics, String> {
        Ok(proto::ScopeMetrics {
            scope: Some(proto::InstrumentationScope {
                name: self.scope.name,
                version: self.scope.version,
                attributes: key_values(self.scope.attributes)?,
            }),
            metrics: self
                .metrics
                .into_iter()
                .map(Metric::into_proto)
                .collect::<Result<_, String>>()?,
            schema_url: self.schema_url,
        })
    }
}

impl Metric {
    fn into_proto(self) -> Result<proto::Metric, String> {
        use proto::MetricData as D;
        let mut data = Vec::with_capacity(1);
        if let Some(g) = self.gauge {
            data.push(D::Gauge(proto::Gauge {
                data_points: number_points(g.data_points)?,
            }));
        }
        if let Some(s) = self.sum {
            data.push(D::Sum(proto::Sum {
                data_points: number_points(s.data_points)?,
                aggregation_temporality: s.aggregation_temporality,
                is_monotonic: s.is_monotonic,
            }));
        }
        if let Some(h) = self.histogram {
            let data_points = h
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(proto::HistogramDataPoint {
                        attributes: key_values(p.attributes)?,
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        bucket_counts: p.bucket_counts,
                        explicit_bounds: p.explicit_bounds,
                        exemplars: exemplars(p.exemplars)?,
                        flags: p.flags,
                    })
                })
                .collect::<Result<_, String>>()?;
            data.push(D::Histogram(proto::Histogram {
                data_points,
                aggregation_temporality: h.aggregation_temporality,
            }));
        }
        if let Some(h) = self.exponential_histogram {
            let data_points = h
                .data_points
                .into_iter()
                .map(|p| {
                    let buckets = |b: Option<ExponentialBuckets>| {
                        b.map(|b| proto::Buckets {
                            offset: b.offset,
                            bucket_counts: b.bucket_counts,
                        })
                    };
                    Ok(proto::ExponentialHistogramDataPoint {
                        attributes: key_values(p.attributes)?,
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        scale: p.scale,
                        zero_count: p.zero_count,
                        positive: buckets(p.positive),
                        negative: buckets(p.negative),
                        flags: p.flags,
                        exemplars: exemplars(p.exemplars)?,
                    })
                })
                .collect::<Result<_, String>>()?;
            data.push(D::ExponentialHistogram(proto::ExponentialHistogram {
                data_points,
                aggregation_temporality: h.aggregation_temporality,
            }));
        }
        if let Some(s) = self.summary {
            let data_points = s
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(proto::SummaryDataPoint {
                        attributes: key_values(p.attributes)?,
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        quantile_values: p
                            .quantile_values
                            .into_iter()
                            .map(|q| proto::ValueAtQuantile {
                                quantile: q.quantile,
                                value: q.value,
                            })
                            .collect(),
                        flags: p.flags,
                    })
                })
                .collect::<Result<_, String>>()?;
            data.push(D::Summary(proto::Summary { data_points }));
        }
        if data.len() > 1 {
            return Err(format!(
                "metric {:?} has more than one of gauge, sum, histogram, exponentialHistogram and summary",
                self.name
            ));
        }
        Ok(proto::Metric {
            name: self.name,
            description: self.description,
            unit: self.unit,
            data: data.pop(),
        })
    }
}

fn number_points(points: Vec<NumberDataPoint>) -> Result<Vec<proto::NumberDataPoint>, String> {
    points
        .into_iter()
        .map(|p| {
            let value = match (p.as_double, p.as_int) {
                (Some(_), Some(_)) => {
                    return Err("a data point has both asDouble and asInt".to_string())
                }
                (Some(d), None) => Some(proto::NumberValue::AsDouble(d)),
                (None, Some(i)) => Some(proto::NumberValue::AsInt(i)),
                (None, None) => None,
            };
            Ok(proto::NumberDataPoint {
                attributes: key_values(p.attributes)?,
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                value,
                exemplars: exemplars(p.exemplars)?,
                flags: p.flags,
            })
        })
        .collect()
}

fn exemplars(exemplars: Vec<Exemplar>) -> Result<Vec<proto::Exemplar>, String> {
    exemplars
        .into_iter()
        .map(|e| {
            let value = match (e.as_double, e.as_int) {
                (Some(_), Some(_)) => {
                    return Err("an exemplar has both asDouble and asInt".to_string())
                }
                (Some(d), None) => Some(proto::ExemplarValue::AsDouble(d)),
                (None, Some(i)) => Some(proto::ExemplarValue::AsInt(i)),
                (None, None) => None,
            };
            Ok(proto::Exemplar {
                filtered_attributes: key_values(e.filtered_attributes)?,
                time_unix_nano: e.time_unix_nano,
                value,
                span_id: e.span_id,
                trace_id: e.trace_id,
            })
        })
        .collect()
}

fn key_values(kvs: Vec<KeyValue>) -> Result<Vec<proto::KeyValue>, String> {
    kvs.into_iter()
        .map(|kv| {
            Ok(proto::KeyValue {
                key: kv.key,
                value: kv.value.map(AnyValue::into_proto).transpose()?,
            })
        })
        .collect()
}

impl AnyValue {
    fn into_proto(self) -> Result<proto::AnyValue, String> {
        use proto::Value as V;
        let mut set = Vec::with_capacity(1);
        if let Some(s) = self.string_value {
            set.push(V::StringValue(s));
        }
        if let Some(b) = self.bool_value {
            set.push(V::BoolValue(b));
        }
        if let Some(i) = self.int_value {
            set.push(V::IntValue(i));
        }
        if let Some(d) = self.double_value {
            set.push(V::DoubleValue(d));
        }
        if let Some(a) = self.array_value {
            let values = a
                .values
                .into_iter()
                .map(AnyValue::into_proto)
                .collect::<Result<_, String>>()?;
            set.push(V::ArrayValue(proto::ArrayValue { values }));
        }
        if let Some(l) = self.kvlist_value {
            set.push(V::KvlistValue(proto::KeyValueList {
                values: key_values(l.values)?,
            }));
        }
        if let Some(b) = self.bytes_value {
            set.push(V::BytesValue(b));
        }
        if set.len() > 1 {
            return Err("an attribute value has more than one type".into());
        }
        Ok(proto::AnyValue { value: set.pop() })
    }
}

/// A JSON scalar that may be a number or a string holding one.
enum Scalar {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string holding one")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Signed(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

impl Scalar {
    /// An integer in `[min, max]`: integral numbers, or decimal strings (the mapping's
    /// form for 64-bit integers).
    fn integer(self, min: i128, max: i128) -> Result<i128, String> {
        let v: i128 = match self {
            Scalar::Unsigned(u) => u.into(),
            Scalar::Signed(i) => i.into(),
            // Integral floats (`1e3`) are integers in protobuf's JSON mapping; 2^127 bounds
            // the cast below, and the range check follows.
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 1.7e38 => f as i128,
            Scalar::Float(f) => return Err(format!("{f} is not an integer")),
            Scalar::Text(s) => s
                .trim()
                .parse::<i128>()
                .map_err(|_| format!("{s:?} is not an integer"))?,
        };
        if v < min || v > max {
            return Err(format!("{v} is out of range"));
        }
        Ok(v)
    }

    fn double(self) -> Result<f64, String> {
        match self {
            Scalar::Unsigned(u) => Ok(u as f64),
            Scalar::Signed(i) => Ok(i as f64),
            Scalar::Float(f) => Ok(f),
            Scalar::Text(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                // Rust's parser also takes "inf" and "nan", which are not JSON numbers.
                t if t
                    .bytes()
                    .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
                {
                    Err(format!("{s:?} is not a number"))
                }
                t => t.parse().map_err(|_| format!("{s:?} is not a number")),
            },
        }
    }
}

fn parse_scalar<'de, D: Deserializer<'de>, T>(
    d: D,
    convert: impl FnOnce(Scalar) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(s) => convert(s).map(Some).map_err(de::Error::custom),
    }
}

fn uint64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(parse_scalar(d, |s| s.integer(0, u64::MAX.into()).map(|v| v as u64))?.unwrap_or(0))
}

fn uint32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(parse_scalar(d, |s| s.integer(0, u32::MAX.into()).map(|v| v as u32))?.unwrap_or(0))
}

fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    Ok(parse_scalar(d, |s| {
        s.integer(i32::MIN.into(), i32::MAX.into())
            .map(|v| v as i32)
    })?
    .unwrap_or(0))
}

fn some_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    parse_scalar(d, |s| {
        s.integer(i64::MIN.into(), i64::MAX.into())
            .map(|v| v as i64)
    })
}

fn double<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(parse_scalar(d, Scalar::double)?.unwrap_or(0.0))
}

fn some_double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    parse_scalar(d, Scalar::double)
}

fn uint64s<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let items = Option::<Vec<Scalar>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(|s| s.integer(0, u64::MAX.into()).map(|v| v as u64))
        .collect::<Result<_, _>>()
        .map_err(de::Error::custom)
}

fn doubles<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let items = Option::<Vec<Scalar>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(Scalar::double)
        .collect::<Result<_, _>>()
        .map_err(de::Error::custom)
}

/// An enum as its number (OTLP/JSON), or as its name, which pdata also takes.
fn temporality<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let value = parse_scalar(d, |s| match s {
        Scalar::Text(name) if name == "AGGREGATION_TEMPORALITY_UNSPECIFIED" => {
            Ok(proto::AGGREGATION_TEMPORALITY_UNSPECIFIED)
        }
        Scalar::Text(name) if name == "AGGREGATION_TEMPORALITY_DELTA" => {
            Ok(proto::AGGREGATION_TEMPORALITY_DELTA)
        }
        Scalar::Text(name) if name == "AGGREGATION_TEMPORALITY_CUMULATIVE" => {
            Ok(proto::AGGREGATION_TEMPORALITY_CUMULATIVE)
        }
        s => s
            .integer(i32::MIN.into(), i32::MAX.into())
            .map(|v| v as i32),
    })?;
    Ok(value.unwrap_or(0))
}

/// A trace or span id: OTLP/JSON writes them in hex, not base64 (empty: none).
fn hex_id<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.len() % 2 != 0 || text.len() > 64 {
        return Err(de::Error::custom(format!(
            "a trace or span id is not an even number of hex digits: {text:?}"
        )));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| {
                    de::Error::custom(format!("a trace or span id is not hex: {text:?}"))
                })
        })
        .collect()
}

/// Base64 in either alphabet, padded or not, as protobuf's JSON mapping allows.
fn some_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let standard = text.replace('-', "+").replace('_', "/");
    let unpadded = standard.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(unpadded)
        .map(Some)
        .map_err(|e| de::Error::custom(format!("bytesValue is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_json_mapping() {
        let body = br#"{"resourceMetrics":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"svc"}},
            {"key":"n","value":{"intValue":"12"}},
            {"key":"b","value":{"bytesValue":"AQI="}},
            {"key":"l","value":{"arrayValue":{"values":[{"doubleValue":"NaN"},{"boolValue":true}]}}}
          ]},
          "scope_metrics":[{"scope":{"name":"s","version":null},"schemaUrl":"u","metrics":[
            {"name":"c","unit":"By","sum":{"aggregationTemporality":2,"isMonotonic":true,
              "dataPoints":[{"timeUnixNano":"1700000000000000000","startTimeUnixNano":1690000000000000000,"asInt":"7","flags":1}]}},
            {"name":"h","histogram":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE",
              "dataPoints":[{"timeUnixNano":"5","count":"3","sum":1.5,"bucketCounts":["1",2],"explicitBounds":[1,"Infinity"]}]}},
            {"name":"unknown","futureField":{"x":1}}
          ]}]}]}"#;
        let req = decode(body).unwrap();
        let rm = &req.resource_metrics[0];
        let attrs = &rm.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attrs[1].value.as_ref().unwrap().value,
            Some(proto::Value::IntValue(12))
        );
        assert_eq!(
            attrs[2].value.as_ref().unwrap().value,
            Some(proto::Value::BytesValue(vec![1, 2]))
        );
        let sm = &rm.scope_metrics[0];
        assert_eq!(sm.schema_url, "u");
        assert_eq!(sm.scope.as_ref().unwrap().version, "");
        let Some(proto::MetricData::Sum(sum)) = &sm.metrics[0].data else {
            panic!("{:?}", sm.metrics[0]);
        };
        assert!(sum.is_monotonic);
        assert_eq!(sum.aggregation_temporality, 2);
        let p = &sum.data_points[0];
        assert_eq!(p.time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(p.start_time_unix_nano, 1_690_000_000_000_000_000);
        assert_eq!(p.value, Some(proto::NumberValue::AsInt(7)));
        assert_eq!(p.flags, 1);
        let Some(proto::MetricData::Histogram(h)) = &sm.metrics[1].data else {
            panic!();
        };
        assert_eq!(h.aggregation_temporality, 2);
        assert_eq!(h.data_points[0].bucket_counts, vec![1, 2]);
        assert_eq!(h.data_points[0].explicit_bounds, vec![1.0, f64::INFINITY]);
        assert_eq!(h.data_points[0].sum, Some(1.5));
        assert_eq!(sm.metrics[2].data, None);
    }

    #[test]
    fn refuses_what_the_mapping_does_not_allow() {
        for body in [
            &br#"{"resourceMetrics":{}}"#[..],
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{"dataPoints":[{"asInt":"x"}]}}]}]}]}"#,
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{"dataPoints":[{"asInt":1.5}]}}]}]}]}"#,
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{"dataPoints":[{"timeUnixNano":-1}]}}]}]}]}"#,
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{"dataPoints":[{"asDouble":"inf"}]}}]}]}]}"#,
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{},"sum":{}}]}]}]}"#,
            br#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":{"bytesValue":"!!"}}]}}]}"#,
            b"not json",
        ] {
            assert!(decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let depth = 10_000;
        let mut body =
            String::from(r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":"#);
        for _ in 0..depth {
            body.push_str(r#"{"arrayValue":{"values":["#);
        }
        for _ in 0..depth {
            body.push_str("]}}");
        }
        body.push_str("}]}}]}");
        assert!(decode(body.as_bytes()).is_err());
    }
}
