//! casa's eBPF collector, user-space side: load and attach the kernel
//! programs of `bpf/` (sensor), decode their records (record), join requests
//! split over packets (flow), and read what a request says (http).
pub mod flow;
pub mod http;
pub mod procfs;
pub mod record;
pub mod sensor;
pub mod tls;

pub use record::{Direction, Record, Sender};
pub use sensor::{Counters, Hook, HookState, KernelBtf, Records, Sensor, SensorConfig};
