//! Remote read: the wire format of both ends (`codec`) and the `remote_read` endpoints
//! merged into queries (`client`).

mod client;
pub mod codec;

pub use client::{Fanout, ReadClient, ReadStorage};
