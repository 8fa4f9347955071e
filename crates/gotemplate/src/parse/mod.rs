//! Template text to parse trees: Go's `text/template/parse`.

pub(crate) mod node;
mod number;
mod parser;
#[cfg(test)]
mod tests;

pub(crate) use parser::parse;
