//! The wire collector's judging side: what the eBPF programs saw (see the
//! `casa-ebpf` crate), judged against casa's realms, revocations and
//! registry, recorded as `wire_*` trace events.
pub mod actor;
pub mod directory;
pub mod event;
pub mod judge;
