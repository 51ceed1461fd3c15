//! What the judge knows about casa: each realm's public keys and revocation
//! rules, where the registered apps and casa itself listen. Read from the
//! store, which every node of a cluster shares, so one collector judges the
//! tokens of every realm without owning any MAS; no signing key is held.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{SocketAddr, ToSocketAddrs};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::AppType;
use crate::model::PageRequest;
use crate::realm;
use crate::revocation::{Revocation, RevocationSet};
use crate::store::{Store, StoreError};

pub struct RealmView {
    pub mas_id: Uuid,
    pub issuer: String,
    pub keys: HashMap<String, VerifyingKey>,
    pub revocations: RevocationSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppView {
    pub mas_id: Uuid,
    pub client_id: String,
    pub app_type: AppType,
}

/// Where a request went: the app is the directory's own (judging a request
/// copies nothing out of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    Casa,
    App(&'a AppView),
    Unknown,
}

#[derive(Default)]
pub struct Directory {
    /// By issuer URL.
    pub realms: HashMap<String, RealmView>,
    pub apps_by_addr: HashMap<SocketAddr, AppView>,
    /// `host:port` of each app's base URL, lower case.
    pub apps_by_authority: HashMap<String, AppView>,
    pub casa_addrs: HashSet<SocketAddr>,
    pub casa_authorities: HashSet<String>,
}

/// `host:port` of a URL (the scheme's default port when none is given).
pub fn authority(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?.to_ascii_lowercase(), u.port_or_known_default()?))
}

fn resolve(authority: &str) -> Vec<SocketAddr> {
    authority.to_socket_addrs().map(|a| a.collect()).unwrap_or_default()
}

/// The directory as data: what `GET /collector/directory` serves to a
/// `casa collect` process. Public keys only; revocation rules as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub realms: Vec<RealmSnapshot>,
    pub apps: Vec<AppSnapshot>,
    /// casa's own `host:port`s (its public URL and listen addresses).
    pub casa: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealmSnapshot {
    pub mas_id: Uuid,
    pub issuer: String,
    /// kid → Ed25519 public key, hex.
    pub keys: BTreeMap<String, String>,
    pub revocations: Vec<Revocation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSnapshot {
    pub mas_id: Uuid,
    pub client_id: String,
    pub app_type: AppType,
    pub base_url: String,
}

impl Snapshot {
    /// Reads every realm, its public keys, rules and apps from the store.
    pub async fn read(store: &dyn Store, public_url: &str, casa_listen: &[SocketAddr]) -> Result<Self, StoreError> {
        let mut snap = Snapshot::default();
        snap.casa.extend(authority(public_url));
        snap.casa.extend(casa_listen.iter().map(|a| a.to_string()));
        let mut page = PageRequest { page: 1, page_size: 500 };
        loop {
            let p = store.list_mas(None, page).await?;
            for mas in &p.items {
                let keys = store
                    .realm_keys(mas.id)
                    .await?
                    .iter()
                    .map(|k| (k.kid.clone(), hex::encode(k.public_key)))
                    .collect();
                let revocations = store.revocations(mas.id).await?;
                snap.realms.push(RealmSnapshot {
                    mas_id: mas.id,
                    issuer: realm::issuer(public_url, mas.id),
                    keys,
                    revocations,
                });
                for app in store.apps_of_mas(mas.id).await? {
                    if let Some(base_url) = app.base_url {
                        snap.apps.push(AppSnapshot {
                            mas_id: mas.id,
                            client_id: app.client_id,
                            app_type: app.app_type,
                            base_url,
                        });
                    }
                }
            }
            if p.items.len() < page.page_size as usize {
                break;
            }
            page.page += 1;
        }
        Ok(snap)
    }
}

impl Directory {
    /// The judge's indexes over a snapshot. Name resolution of app URLs
    /// blocks (an IP literal costs nothing): call from a blocking task when
    /// apps are named by DNS.
    pub fn from_snapshot(snap: &Snapshot, now: i64) -> Self {
        let mut d = Directory::default();
        for a in &snap.casa {
            d.casa_addrs.extend(resolve(a));
            d.casa_authorities.insert(a.to_ascii_lowercase());
        }
        for r in &snap.realms {
            let keys = r
                .keys
                .iter()
                .filter_map(|(kid, hex_key)| {
                    let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
                    Some((kid.clone(), VerifyingKey::from_bytes(&bytes).ok()?))
                })
                .collect();
            let revocations = RevocationSet::new(r.revocations.iter().cloned(), now);
            d.realms
                .insert(r.issuer.clone(), RealmView { mas_id: r.mas_id, issuer: r.issuer.clone(), keys, revocations });
        }
        for app in &snap.apps {
            let view = AppView { mas_id: app.mas_id, client_id: app.client_id.clone(), app_type: app.app_type };
            if let Some(a) = authority(&app.base_url) {
                for addr in resolve(&a) {
                    d.apps_by_addr.insert(addr, view.clone());
                }
                d.apps_by_authority.insert(a, view);
            }
        }
        d
    }

    /// Replaces one realm's revocation rules (re-read before judging uses of
    /// its tokens, so a use after an acknowledged revocation is flagged).
    pub fn set_revocations(&mut self, issuer: &str, rules: Vec<Revocation>, now: i64) {
        if let Some(r) = self.realms.get_mut(issuer) {
            r.revocations = RevocationSet::new(rules, now);
        }
    }

    /// The destination by address first; by Host only when the address is
    /// not one casa knows (a Host header is the sender's word).
    pub fn classify(&self, dst: SocketAddr, host: Option<&str>) -> Destination<'_> {
        if self.casa_addrs.contains(&dst) || (dst.ip().is_unspecified()) {
            return Destination::Casa;
        }
        if let Some(app) = self.apps_by_addr.get(&dst) {
            return Destination::App(app);
        }
        self.classify_host(host, dst.port())
    }

    /// The destination by Host alone (`port` when it names none).
    pub fn classify_host(&self, host: Option<&str>, port: u16) -> Destination<'_> {
        let Some(host) = host.map(|h| normalise_host(h, port)) else { return Destination::Unknown };
        if self.casa_authorities.contains(&host) {
            return Destination::Casa;
        }
        self.apps_by_authority.get(&host).map_or(Destination::Unknown, Destination::App)
    }
}

/// `Host` as `host:port`, lower case, the connection's port when absent.
fn normalise_host(host: &str, port: u16) -> String {
    let h = host.trim().to_ascii_lowercase();
    let has_port = match h.rfind(']') {
        Some(end) => h[end..].contains(':'),
        None => h.contains(':'),
    };
    if has_port {
        h
    } else {
        format!("{h}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_and_hosts() {
        assert_eq!(authority("http://Tools.Test/mcp").as_deref(), Some("tools.test:80"));
        assert_eq!(authority("https://127.0.0.1:9000").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(authority("not a url"), None);
        assert_eq!(normalise_host("Tools.Test", 80), "tools.test:80");
        assert_eq!(normalise_host("[::1]:81", 80), "[::1]:81");
        assert_eq!(normalise_host("[::1]", 80), "[::1]:80");
    }
}
