//! Rule evaluation over a real TSDB and the real PromQL engine, with injected times:
//! recording rules, alerting rules, groups and their schedule, and the alert generator
//! compliance cases.

mod alerting;
mod common;
mod compliance;
mod group;
mod recording;
