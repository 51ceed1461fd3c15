//! casa: an authorization runtime for multi-agent AI systems.
//!
//! This crate is the edge: configuration, the command line, the HTTP API and
//! node bootstrap. The runtime core lives in `casa-actors`.

pub mod admin;
pub mod ai;
pub mod api;
pub mod calibration;
pub mod cli;
pub mod cluster;
pub mod cluster_status;
pub mod collector;
pub mod config;
pub mod eval;
pub mod http_server;
pub mod kek;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod ui;
