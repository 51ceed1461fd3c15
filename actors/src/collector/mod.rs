//! The wire collector's judging side: what the eBPF programs saw (see the
//! `casa-ebpf` crate), judged against casa's realms, revocations and
//! registry, recorded as `wire_*` trace events.
pub mod actor;
pub mod directory;
/// The `wire_*` events are domain types (trace events), kept in casa-core.
pub use casa_core::wire_event as event;
pub mod judge;
