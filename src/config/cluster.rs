//! The `[cluster]` table. A node is one of a cluster when `listen` is set;
//! `crate::cluster` validates it and turns it into the runtime's config.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::catalog::settings;
use super::units::{Millis, Seconds};

/// A secret setting: debug output never shows it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

settings! {
    pub struct ClusterSettings, flags ClusterAllFlags;

    #[flags(ClusterFlags, heading = "Cluster")]
    cluster {
        listen: opt SocketAddr = none,
            "Make this node one of a cluster, accepting peers (mutual TLS) here, e.g. 0.0.0.0:7400",
            flag("cluster-listen", "CASA_CLUSTER_LISTEN", "ADDR");
        advertise: opt String = (none "--cluster-listen"), "Where peers reach this node",
            flag("cluster-advertise", "CASA_CLUSTER_ADVERTISE", "HOST:PORT");
        seeds: req Vec<String> = default,
            "Other nodes, host:port, comma-separated; a DNS name may resolve to many (a headless service)",
            flag("cluster-seeds", "CASA_CLUSTER_SEEDS", "HOST:PORT,...", value_delimiter = ',');
        node_name: opt String = (none "the host name"), "This node's name, unique in the cluster",
            flag("node-name", "CASA_NODE_NAME", "NAME");
        tls_cert: opt PathBuf = none, "This node's certificate (PEM), signed by the cluster CA",
            flag("cluster-tls-cert", "CASA_CLUSTER_TLS_CERT", "FILE");
        tls_key: opt PathBuf = none, "This node's private key (PEM)",
            flag("cluster-tls-key", "CASA_CLUSTER_TLS_KEY", "FILE");
        tls_ca: opt PathBuf = none, "The cluster CA (PEM): peers must present a certificate it signed",
            flag("cluster-tls-ca", "CASA_CLUSTER_TLS_CA", "FILE");
        min_members: req usize = 1,
            "Serve only while at least this many members (self included) are reachable; set it to a \
             majority of the cluster's size so a restarted node cannot serve alone",
            flag("cluster-min-members", "CASA_CLUSTER_MIN_MEMBERS", "N");
        tls_server_name: req String = "casa-cluster", "The DNS name every node certificate carries";
        cookie: opt Secret = (none "derived from the CA certificate"),
            "ractor_cluster's cookie (CASA_CLUSTER_COOKIE)";
        heartbeat_ms: req Millis = 200, "Heartbeat period";
        handoff_budget_ms: req Millis = 2500, "How long a request waits for a hand-off";
        remote_timeout_ms: req Millis = 3000,
            "Deadline of a routed call: as long as a slow store write may take on the owner (a dead owner \
             fails faster: its session closes)";
        forget_after_seconds: req Seconds = 600,
            "A member unheard this long is forgotten: it no longer counts towards the majority";
        handshake_timeout_ms: req Millis = 2000,
            "A peer that has not finished its TLS handshake by then is disconnected (as long as a dialling \
             node waits for its connection)";
        max_handshakes_per_source: req usize = 16, "TLS handshakes one source address may have in progress at once";
    }
}
