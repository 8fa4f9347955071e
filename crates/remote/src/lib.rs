//! Prometheus's remote-write protocol, 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`): the protobuf messages (`proto`) and the receiving
//! side (`receive`): which message a request carries and whether this server takes it,
//! the snappy body decompressed under a size limit, and the series checked and turned into
//! samples to append, with upstream's status codes and error texts, and the sending side
//! (`send`): queues that read the WAL and post to remote-write endpoints. Remote read
//! (`read`): the request and response formats of both ends, and `remote_read` endpoints
//! queried beside the local storage. OTLP (`otlp`): the metrics receiver's decoding of
//! OTLP/HTTP bodies (protobuf and JSON, gzip) and the translation of OTLP metrics to
//! Prometheus series, as Prometheus 3 does it.

pub mod otlp;
pub mod proto;
pub mod read;
mod receive;
mod send;

pub use send::{
    ConfigError, MetadataSource, QueueMetrics, SendOptions, WalSource, WriteStorage,
    SEND_DURATION_BUCKETS,
};

pub use receive::{
    decode_v1, decode_v2, decompress, names, negotiate, MessageType, Refused, WriteBatch,
    MAX_AHEAD_MS, MAX_DECOMPRESSED_BYTES,
};

/// Snappy's block format of a buffer this server built. It cannot fail (only inputs over
/// 4 GiB do); an empty body is sent if it somehow does, which the peer refuses.
pub(crate) fn compress(plain: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(plain)
        .unwrap_or_default()
}
