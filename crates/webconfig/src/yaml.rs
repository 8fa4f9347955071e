//! web.yml is read with yaml.v2's rules and error texts, from the shared `goyaml` crate.

pub(crate) use goyaml::{parse, Decoder, Fatal, Node};
