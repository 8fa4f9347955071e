//! YAML decoding with the rules and error texts of Go's yaml.v2, the reader behind every
//! configuration file of the Prometheus ecosystem (prometheus.yml, web.yml, rule files).
//!
//! Users and scripts match on the exact errors that `promtool check config` prints
//! (`yaml: unmarshal errors:\n  line 2: field foo not found in type config.plain`), and
//! yaml.v2 resolves scalars with YAML 1.1 rules (`yes` is a bool, `010` is octal). It also
//! decodes *into* a value that already holds defaults, sets a field to its zero value when
//! the YAML says `null`, keeps decoding after a type error, and lets a type check itself
//! after its fields are read (Go's `UnmarshalYAML`). A serde deserializer gives none of
//! that, so this crate builds a small node tree from granit-parser's events ([`parse`])
//! and decodes it with the [`Decode`] trait and the [`fields!`] macro.
//!
//! Inputs are bounded: nesting depth and the number of nodes after alias expansion
//! (a "billion laughs" document is refused, as yaml.v2 refuses excessive aliasing).

mod decode;
mod quote;
mod tree;

pub use decode::{from_str, Decode, Decoder, Fatal, Fields};
pub use quote::{go_quote, go_quote_bytes};
pub use tree::{
    go_duration, parse, parse_first_document, parse_go_duration, FirstDocument, Node, NodeKind,
    Resolved, Scalar, MAX_DEPTH, MAX_NODES,
};
