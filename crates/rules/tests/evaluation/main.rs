//! Rule evaluation over a real TSDB and the real PromQL engine, with injected times:
//! recording rules, alerting rules, groups and their schedule, and the alert generator
//! compliance cases (their sends through the real notifier to an Alertmanager stand-in on
//! loopback).

mod alerting;
mod alertmanager_standin;
mod common;
mod compliance;
mod group;
mod recording;
