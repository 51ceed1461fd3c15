//! Judging one request seen on the wire against what casa issued:
//! SHA-256 of the token → verdict cache (until `exp`) → strict verification
//! with the realm's public keys → revocation rules → the registry
//! (audience, destination, tools). Findings become `wire_*` trace events;
//! the raw token never leaves this module.
//!
//! About 370 lines of logic; the rest (over ~600 in all) is its unit tests,
//! one per verdict and finding.
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use foldhash::HashMap;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::directory::{Destination, Directory};
use super::event::WireDetail;
use crate::model::AppType;
use crate::token::{self, Claims, TokenError};
use crate::trace::{EventKind, TraceEvent};

/// A credential's text, zeroed when dropped. A boxed `str`, not a `String`:
/// zeroize clears a slice with one memset but a `Vec` byte by byte, and that
/// byte loop was 6 % of the collector's time at 10,000 requests/s.
pub type Secret = Zeroizing<Box<str>>;

/// A request as the collector saw it.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    /// The connection's addresses; None for a libssl write (no socket there).
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    /// Identity used to tell senders apart (cgroup, else source address).
    pub sender_key: Arc<str>,
    /// Human-readable sender (pid, comm, cgroup or address).
    pub sender: Arc<str>,
    /// Borrowed from the request line: most observations raise no event.
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
    pub host: Option<String>,
    /// `Authorization: Bearer` credential.
    pub token: Option<Secret>,
    /// An `access_token` query parameter.
    pub query_token: Option<Secret>,
    /// `Some(name)` for a JSON-RPC `tools/call` (name None when unreadable).
    pub tool_call: Option<Option<String>>,
    pub truncated: bool,
}

impl Observation<'_> {
    /// Whether this went where an earlier observation with `dst` and `host`
    /// went (what [`Self::destination`] names), without naming it.
    fn same_destination_as(&self, dst: Option<SocketAddr>, host: Option<&str>) -> bool {
        self.dst == dst && (dst.is_some() || self.host.as_deref() == host)
    }

    /// The destination address, or for a libssl write its `tls:` Host.
    fn destination(&self) -> String {
        match (self.dst, &self.host) {
            (Some(d), _) => d.to_string(),
            (None, Some(h)) => format!("tls:{h}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
enum Verdict {
    Valid { mas_id: Uuid, claims: Arc<Claims> },
    Expired { mas_id: Uuid, claims: Arc<Claims> },
    Unverifiable { mas_id: Option<Uuid>, reason: &'static str },
}

/// Kinds a 2xx answer turns into wire_invalid_token_accepted.
fn is_invalid(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::WireTokenUnverifiable(_)
            | EventKind::WireTokenExpired(_)
            | EventKind::WireTokenRevoked(_)
            | EventKind::WireAudienceMismatch(_)
            | EventKind::WireTokenPassthrough(_)
            | EventKind::WireToolNotInToken(_)
            | EventKind::WireUnauthenticatedToolCall(_)
    )
}

const CACHE_MAX: usize = 100_000;
/// The port a libssl write's Host implies when it names none.
const TLS_PORT: u16 = 443;
const FLOWS_MAX: usize = 65_536;
const PENDING_PER_FLOW: usize = 64;
/// Flows whose last token is remembered with its digest, and the longest
/// token remembered: at most 8 MiB of tokens, in memory only.
const MEMO_FLOWS: usize = 4096;
const MEMO_TOKEN_MAX: usize = 2048;

/// SHA-256 of a token, as caches key it (hex only in the events).
type Digest = [u8; 32];

/// A window's sightings of one token from one sender at one destination.
struct Sighting {
    /// The first observation's sender and destination, which later ones match.
    sender_key: Arc<str>,
    dst: Option<SocketAddr>,
    host: Option<String>,
    event: TraceEvent,
}

pub struct Judge {
    node: String,
    /// token digest → (verdict, unix second it holds until); a full cache evicts its cold entries.
    cache: quick_cache::unsync::Cache<Digest, (Verdict, i64)>,
    /// jti → (first sender key, its label, until exp).
    first_sender: HashMap<String, (Arc<str>, Arc<str>, i64)>,
    /// token digest → its aggregated wire_token_seen per (sender key, destination).
    /// Keyed by digest so that a repeated sighting, the common case, is
    /// counted without building a key: a valid token's digest names its jti.
    seen: HashMap<Digest, Vec<Sighting>>,
    /// (client, server) → per pipelined request, the invalid finding if any.
    flows: HashMap<(SocketAddr, SocketAddr), VecDeque<Option<TraceEvent>>>,
    /// (client, server) → the last token sent on it and its digest.
    last_token: HashMap<(SocketAddr, SocketAddr), (Secret, Digest)>,
    pub cache_hits: u64,
    pub verifications: u64,
}

fn expired_claims(token: &str) -> Option<Claims> {
    // Only called after the signature verified: the payload is the realm's.
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

impl Judge {
    pub fn new(node: impl Into<String>) -> Self {
        Judge {
            node: node.into(),
            cache: quick_cache::unsync::Cache::new(CACHE_MAX),
            first_sender: HashMap::default(),
            seen: HashMap::default(),
            flows: HashMap::default(),
            last_token: HashMap::default(),
            cache_hits: 0,
            verifications: 0,
        }
    }

    /// The keys or registry changed: verdicts that rested on not knowing a
    /// key or issuer are dropped (valid and expired ones still hold).
    pub fn directory_changed(&mut self) {
        self.cache.retain(|_, (v, _)| !matches!(v, Verdict::Unverifiable { .. }));
    }

    /// SHA-256 of the token. A connection mostly sends one token again and
    /// again, so each flow's last token is remembered with its digest and
    /// compared byte for byte: hashing every request was a tenth of the
    /// collector's time at 10,000 requests/s.
    fn digest_of(&mut self, o: &Observation, t: &str) -> Digest {
        let (Some(src), Some(dst)) = (o.src, o.dst) else { return token::digest_bytes(t) };
        if let Some((last, digest)) = self.last_token.get(&(src, dst)) {
            if last.as_bytes() == t.as_bytes() {
                return *digest;
            }
        }
        let digest = token::digest_bytes(t);
        if t.len() <= MEMO_TOKEN_MAX {
            if self.last_token.len() >= MEMO_FLOWS {
                self.last_token.clear();
            }
            self.last_token.insert((src, dst), (Zeroizing::new(t.into()), digest));
        }
        digest
    }

    fn verdict(&mut self, token: &str, digest: &Digest, dir: &Directory, now: i64) -> Verdict {
        if let Some((v, until)) = self.cache.get(digest) {
            if now < *until {
                self.cache_hits += 1;
                return v.clone();
            }
        }
        self.verifications += 1;
        let (v, until) = Self::verify(token, dir, now);
        self.cache.insert(*digest, (v.clone(), until));
        v
    }

    fn verify(token: &str, dir: &Directory, now: i64) -> (Verdict, i64) {
        let unverifiable = |mas_id, reason| (Verdict::Unverifiable { mas_id, reason }, now + 60);
        if token.bytes().filter(|&b| b == b'.').count() != 2 {
            return unverifiable(None, "opaque");
        }
        let Some(iss) = token::claimed_issuer(token) else { return unverifiable(None, "malformed") };
        let Some(realm) = dir.realms.get(&iss) else { return unverifiable(None, "unknown_issuer") };
        let mas = Some(realm.mas_id);
        match token::verify_with(token, |kid| realm.keys.get(kid).copied(), &iss, now) {
            Ok(c) => {
                let exp = c.exp;
                (Verdict::Valid { mas_id: realm.mas_id, claims: Arc::new(c) }, exp)
            }
            Err(TokenError::Expired) => match expired_claims(token) {
                Some(c) => (Verdict::Expired { mas_id: realm.mas_id, claims: Arc::new(c) }, i64::MAX),
                None => unverifiable(mas, "malformed"),
            },
            Err(TokenError::UnknownKey) => unverifiable(mas, "unknown_kid"),
            Err(TokenError::BadSignature) => unverifiable(mas, "bad_signature"),
            Err(TokenError::WrongIssuer) => unverifiable(mas, "unknown_issuer"),
            Err(TokenError::NotYetValid) => unverifiable(mas, "not_yet_valid"),
            Err(TokenError::Malformed | TokenError::BadHeader | TokenError::TooLarge | TokenError::TooLong) => {
                unverifiable(mas, "malformed")
            }
        }
    }

    fn detail(&self, o: &Observation, dest: &Destination) -> WireDetail {
        WireDetail {
            node: self.node.clone(),
            sender: o.sender.to_string(),
            source: o.src.map(|a| a.to_string()).unwrap_or_default(),
            destination: o.destination(),
            destination_app: match dest {
                Destination::Casa => Some("casa".into()),
                Destination::App(a) => Some(a.client_id.clone()),
                Destination::Unknown => None,
            },
            method: o.method.map(str::to_string),
            path: o.path.map(str::to_string),
            host: o.host.clone(),
            count: 1,
            truncated: o.truncated,
            ..Default::default()
        }
    }

    fn event(mas_id: Uuid, kind: EventKind, digest: Option<&Digest>, claims: Option<&Claims>) -> TraceEvent {
        let mut e = TraceEvent::new(mas_id, kind);
        e.token_digest = digest.map(hex::encode);
        if let Some(c) = claims {
            e.jti = Some(c.jti.clone());
            e.parent = c.parent.clone();
            e.user_input_id = Some(c.uiid.clone());
            let mut apps = vec![c.sub.clone()];
            for a in [&c.client_id, &c.aud] {
                if !apps.contains(a) {
                    apps.push(a.clone());
                }
            }
            e.app_ids = apps;
        }
        e
    }

    /// Judges one request: anomalies are returned at once; plain sightings
    /// are aggregated until [`Judge::flush`].
    pub fn observe(&mut self, o: &Observation, dir: &Directory, now: i64) -> Vec<TraceEvent> {
        let dest = match o.dst {
            Some(d) => dir.classify(d, o.host.as_deref()),
            // A TLS write has no socket: its Host is all there is.
            None => dir.classify_host(o.host.as_deref(), TLS_PORT),
        };
        let mut out = Vec::new();
        if let Some(q) = &o.query_token {
            let digest = token::digest_bytes(q);
            let (mas, claims) = match self.verdict(q, &digest, dir, now) {
                Verdict::Valid { mas_id, claims } | Verdict::Expired { mas_id, claims } => (mas_id, Some(claims)),
                Verdict::Unverifiable { mas_id, .. } => (mas_id.unwrap_or_else(|| dest_mas(&dest)), None),
            };
            out.push(Self::event(
                mas,
                EventKind::WireTokenInQuery(self.detail(o, &dest)),
                Some(&digest),
                claims.as_deref(),
            ));
        }
        match &o.token {
            None => {
                if let (Some(tool), Destination::App(app)) = (&o.tool_call, &dest) {
                    if app.app_type == AppType::McpServer {
                        let mut d = self.detail(o, &dest);
                        d.tool = tool.clone();
                        out.push(Self::event(app.mas_id, EventKind::WireUnauthenticatedToolCall(d), None, None));
                    }
                }
            }
            Some(t) => self.judge_token(o, t, &dest, dir, now, &mut out),
        }
        if let (Some(src), Some(dst)) = (o.src, o.dst) {
            if self.flows.len() >= FLOWS_MAX {
                self.flows.clear();
            }
            let q = self.flows.entry((src, dst)).or_default();
            if q.len() >= PENDING_PER_FLOW {
                q.pop_front();
            }
            q.push_back(out.iter().find(|e| is_invalid(&e.kind)).cloned());
        }
        out
    }

    fn judge_token(
        &mut self,
        o: &Observation,
        t: &str,
        dest: &Destination,
        dir: &Directory,
        now: i64,
        out: &mut Vec<TraceEvent>,
    ) {
        let digest = self.digest_of(o, t);
        let verdict = self.verdict(t, &digest, dir, now);
        // casa judges the credentials sent to it itself (admin tokens,
        // introspection of dead tokens); a token casa cannot place, sent
        // where casa has no app, is none of its business.
        match (&verdict, dest) {
            (Verdict::Unverifiable { .. } | Verdict::Expired { .. }, Destination::Casa) => return,
            (Verdict::Unverifiable { mas_id: None, .. }, Destination::Unknown) => return,
            _ => {}
        }
        let (mas_id, claims) = match verdict {
            Verdict::Unverifiable { mas_id, reason } => {
                let mut d = self.detail(o, dest);
                d.reason = Some(reason.into());
                let mas = mas_id.unwrap_or_else(|| dest_mas(dest));
                out.push(Self::event(mas, EventKind::WireTokenUnverifiable(d), Some(&digest), None));
                return;
            }
            Verdict::Expired { mas_id, claims } => {
                let d = self.claims_detail(o, dest, &claims);
                out.push(Self::event(mas_id, EventKind::WireTokenExpired(d), Some(&digest), Some(&claims)));
                return;
            }
            Verdict::Valid { mas_id, claims } => (mas_id, claims),
        };
        let c = &*claims;
        let ev =
            |kind: fn(WireDetail) -> EventKind, d: WireDetail| Self::event(mas_id, kind(d), Some(&digest), Some(c));
        let revoked = dir.realms.get(&c.iss).and_then(|r| r.revocations.revoked_by(c));
        if let Some(by) = revoked.filter(|_| *dest != Destination::Casa) {
            let mut d = self.claims_detail(o, dest, c);
            d.reason = Some(by.as_str().into());
            out.push(ev(EventKind::WireTokenRevoked, d));
        }
        match dest {
            Destination::Casa => {}
            Destination::App(app) if app.client_id == c.aud => {}
            Destination::App(app) if c.parent.is_none() && app.app_type == AppType::McpServer => {
                out.push(ev(EventKind::WireTokenPassthrough, self.claims_detail(o, dest, c)));
            }
            Destination::App(_) => out.push(ev(EventKind::WireAudienceMismatch, self.claims_detail(o, dest, c))),
            Destination::Unknown => out.push(ev(EventKind::WireTokenExfiltration, self.claims_detail(o, dest, c))),
        }
        if let Some(Some(tool)) = &o.tool_call {
            if !c.tools.contains(tool) {
                let mut d = self.claims_detail(o, dest, c);
                d.tool = Some(tool.clone());
                out.push(ev(EventKind::WireToolNotInToken, d));
            }
        }
        match self.first_sender.get(&c.jti) {
            Some((key, label, _)) if *key != o.sender_key => {
                let mut d = self.claims_detail(o, dest, c);
                d.reason = Some(format!("first seen from {label}"));
                out.push(ev(EventKind::WireTokenReplayedElsewhere, d));
            }
            Some(_) => {}
            None => {
                if self.first_sender.len() >= CACHE_MAX {
                    self.first_sender.retain(|_, (_, _, exp)| now < *exp);
                }
                self.first_sender.insert(c.jti.clone(), (o.sender_key.clone(), o.sender.clone(), c.exp));
            }
        }
        let same = |s: &&mut Sighting| s.sender_key == o.sender_key && o.same_destination_as(s.dst, s.host.as_deref());
        if let Some(s) = self.seen.get_mut(&digest).and_then(|all| all.iter_mut().find(same)) {
            if let EventKind::WireTokenSeen(d) = &mut s.event.kind {
                d.count += 1;
                d.truncated |= o.truncated;
            }
            return;
        }
        let event = ev(EventKind::WireTokenSeen, self.claims_detail(o, dest, c));
        let sighting = Sighting { sender_key: o.sender_key.clone(), dst: o.dst, host: o.host.clone(), event };
        self.seen.entry(digest).or_default().push(sighting);
    }

    fn claims_detail(&self, o: &Observation, dest: &Destination, c: &Claims) -> WireDetail {
        let mut d = self.detail(o, dest);
        d.tools = c.tools.clone();
        d.audience = Some(c.aud.clone());
        d.actors = c.act.as_ref().map(|a| a.subjects().into_iter().map(str::to_owned).collect()).unwrap_or_default();
        d
    }

    /// A response on a flow: a 2xx to a request with an invalid finding is
    /// wire_invalid_token_accepted.
    pub fn response(&mut self, server: SocketAddr, client: SocketAddr, status: u16) -> Option<TraceEvent> {
        let q = self.flows.get_mut(&(client, server))?;
        let finding = q.pop_front()??;
        if !(200..300).contains(&status) {
            return None;
        }
        let mut e = finding.clone();
        e.id = Uuid::now_v7();
        e.at = time::OffsetDateTime::now_utc();
        let (name, mut d) = (finding.type_name(), wire_detail(&finding.kind)?.clone());
        d.reason = Some(name.into());
        d.status = Some(status);
        e.kind = EventKind::WireInvalidTokenAccepted(d);
        Some(e)
    }

    /// The aggregated wire_token_seen events of the window, which restarts.
    pub fn flush(&mut self) -> Vec<TraceEvent> {
        self.seen.drain().flat_map(|(_, s)| s.into_iter().map(|s| s.event)).collect()
    }

    pub fn pending_sightings(&self) -> usize {
        self.seen.values().map(Vec::len).sum()
    }
}

/// The MAS of the app at the destination, else none (nil).
fn dest_mas(dest: &Destination) -> Uuid {
    match dest {
        Destination::App(a) => a.mas_id,
        _ => Uuid::nil(),
    }
}

pub fn wire_detail(kind: &EventKind) -> Option<&WireDetail> {
    use EventKind::*;
    match kind {
        WireTokenSeen(d)
        | WireTokenUnverifiable(d)
        | WireTokenExpired(d)
        | WireTokenRevoked(d)
        | WireAudienceMismatch(d)
        | WireTokenPassthrough(d)
        | WireToolNotInToken(d)
        | WireUnauthenticatedToolCall(d)
        | WireTokenReplayedElsewhere(d)
        | WireTokenExfiltration(d)
        | WireTokenInQuery(d)
        | WireInvalidTokenAccepted(d) => Some(d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::directory::{AppView, RealmView};
    use super::*;
    use crate::realm::{Keyring, RealmKey};
    use crate::revocation::{Revocation, RevocationSet, RevocationTarget};
    use crate::token::Act;

    const NOW: i64 = 1_900_000_000;
    const ISS: &str = "https://casa.test/mas/r";
    const TOOLS: &str = "127.0.0.1:9001";
    const OTHER_TOOLS: &str = "127.0.0.1:9002";
    const CASA: &str = "127.0.0.1:8080";

    struct World {
        dir: Directory,
        ring: Keyring,
        mas: Uuid,
    }

    fn world() -> World {
        let ring = Keyring::new(vec![RealmKey::generate(time::OffsetDateTime::now_utc())]).unwrap();
        let mas = Uuid::now_v7();
        let mut dir = Directory::default();
        dir.realms.insert(
            ISS.into(),
            RealmView {
                mas_id: mas,
                issuer: ISS.into(),
                keys: ring.keys().iter().map(|k| (k.kid.clone(), k.verifying_key())).collect(),
                revocations: RevocationSet::default(),
            },
        );
        for (addr, id, ty) in [(TOOLS, "tools-app", AppType::McpServer), (OTHER_TOOLS, "other-app", AppType::McpServer)]
        {
            dir.apps_by_addr.insert(addr.parse().unwrap(), AppView { mas_id: mas, client_id: id.into(), app_type: ty });
        }
        dir.apps_by_authority.insert(
            "agent.test:80".into(),
            AppView { mas_id: mas, client_id: "agent-app".into(), app_type: AppType::Agent },
        );
        dir.casa_addrs.insert(CASA.parse().unwrap());
        World { dir, ring, mas }
    }

    fn claims(exchanged: bool) -> Claims {
        Claims {
            iss: ISS.into(),
            sub: "client-app".into(),
            aud: if exchanged { "tools-app".into() } else { ISS.into() },
            client_id: if exchanged { "agent-app".into() } else { "client-app".into() },
            iat: NOW - 10,
            nbf: NOW - 10,
            exp: NOW + 60,
            jti: token::new_jti(),
            scope: "tools".into(),
            uiid: "session-1".into(),
            tools: vec!["search".into()],
            act: exchanged.then(|| Act { sub: "agent-app".into(), act: None }),
            parent: exchanged.then(|| "root-jti".into()),
            lineage: if exchanged { vec!["root-jti".into()] } else { vec![] },
        }
    }

    fn obs(dst: &str, token: Option<&str>) -> Observation<'static> {
        Observation {
            src: Some("127.0.0.1:40000".parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            sender_key: "cgroup 7".into(),
            sender: "pid 1 (agent) cgroup 7".into(),
            method: Some("POST"),
            path: Some("/mcp"),
            token: token.map(|t| Zeroizing::new(t.into())),
            ..Default::default()
        }
    }

    fn kinds(events: &[TraceEvent]) -> Vec<&'static str> {
        events.iter().map(|e| e.type_name()).collect()
    }

    #[test]
    fn sightings_of_one_token_are_counted_apart_per_sender_and_destination() {
        let w = world();
        let mut j = Judge::new("n1");
        let t = token::sign(&claims(true), w.ring.active());
        let mut other_sender = obs(TOOLS, Some(&t));
        (other_sender.sender_key, other_sender.sender) = ("cgroup 8".into(), "pid 2 (agent) cgroup 8".into());
        let tls = |host: &str| {
            let mut o = obs(TOOLS, Some(&t));
            (o.src, o.dst, o.host) = (None, None, Some(host.into()));
            o
        };
        let (tls_a, tls_b) = (tls("a.example"), tls("b.example"));
        let plan =
            [(obs(TOOLS, Some(&t)), 3), (obs(OTHER_TOOLS, Some(&t)), 2), (other_sender, 1), (tls_a, 4), (tls_b, 5)];
        for (o, n) in &plan {
            for _ in 0..*n {
                j.observe(o, &w.dir, NOW);
            }
        }
        assert_eq!(j.pending_sightings(), 5);
        let mut counts: Vec<(String, String, u64)> = j
            .flush()
            .iter()
            .map(|e| {
                let d = wire_detail(&e.kind).unwrap();
                (d.sender.clone(), d.destination.clone(), d.count)
            })
            .collect();
        counts.sort();
        let label = "pid 1 (agent) cgroup 7".to_string();
        assert_eq!(
            counts,
            [
                (label.clone(), TOOLS.into(), 3),
                (label.clone(), OTHER_TOOLS.into(), 2),
                (label.clone(), "tls:a.example".into(), 4),
                (label, "tls:b.example".into(), 5),
                ("pid 2 (agent) cgroup 8".into(), TOOLS.into(), 1),
            ]
        );
        assert_eq!(j.pending_sightings(), 0, "a flush starts a new window");
    }

    #[test]
    fn a_valid_exchanged_token_to_its_audience_is_only_seen_and_counted() {
        let w = world();
        let mut j = Judge::new("n1");
        let c = claims(true);
        let t = token::sign(&c, w.ring.active());
        let mut o = obs(TOOLS, Some(&t));
        o.tool_call = Some(Some("search".into()));
        for _ in 0..1000 {
            assert!(j.observe(&o, &w.dir, NOW).is_empty());
        }
        assert_eq!((j.verifications, j.cache_hits), (1, 999), "verified once, then the cache");
        let seen = j.flush();
        assert_eq!(kinds(&seen), ["wire_token_seen"]);
        let e = &seen[0];
        let d = wire_detail(&e.kind).unwrap();
        assert_eq!(d.count, 1000);
        assert_eq!((e.jti.as_deref(), e.mas_id), (Some(c.jti.as_str()), w.mas));
        assert_eq!(e.token_digest.as_deref(), Some(token::digest(&t).as_str()));
        assert_eq!(
            (d.tools.clone(), d.audience.as_deref(), d.actors.clone()),
            (c.tools, Some("tools-app"), vec!["agent-app".to_string()])
        );
        assert_eq!(e.user_input_id.as_deref(), Some("session-1"));
        let json = serde_json::to_string(&seen).unwrap();
        assert!(!json.contains(&t), "the raw token never reaches an event");
        let back: TraceEvent = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
        assert_eq!(&back, e, "wire events round-trip through the store's encoding");
    }

    #[test]
    fn unverifiable_reasons() {
        let w = world();
        let mut j = Judge::new("n1");
        let c = claims(true);
        let good = token::sign(&c, w.ring.active());
        let other_ring = Keyring::new(vec![RealmKey::generate(time::OffsetDateTime::now_utc())]).unwrap();
        let unknown_kid = token::sign(&c, other_ring.active());
        // A changed signature byte (the last character's spare bits would make it malformed).
        let mut forged = good.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let mut stranger = c.clone();
        stranger.iss = "https://elsewhere.test".into();
        let unknown_issuer = token::sign(&stranger, w.ring.active());
        let cases = [
            ("ghp_opaque0123456789", "opaque"),
            ("a.b.c", "malformed"),
            (unknown_kid.as_str(), "unknown_kid"),
            (forged.as_str(), "bad_signature"),
            (unknown_issuer.as_str(), "unknown_issuer"),
        ];
        for (t, reason) in cases {
            let out = j.observe(&obs(TOOLS, Some(t)), &w.dir, NOW);
            assert_eq!(kinds(&out), ["wire_token_unverifiable"], "{reason}");
            assert_eq!(wire_detail(&out[0].kind).unwrap().reason.as_deref(), Some(reason));
            assert_eq!(out[0].mas_id, w.mas, "charged to the realm or the destination's MAS");
        }
    }

    #[test]
    fn a_flow_that_changes_its_token_is_judged_on_each_token() {
        let w = world();
        let mut j = Judge::new("n1");
        let good = token::sign(&claims(true), w.ring.active());
        // One byte of the signature changed: the same length, the same flow.
        let mut forged = good.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let long = token::sign(&Claims { tools: vec!["x".repeat(MEMO_TOKEN_MAX)], ..claims(true) }, w.ring.active());
        for round in 0..2 {
            assert!(j.observe(&obs(TOOLS, Some(&good)), &w.dir, NOW).is_empty(), "round {round}");
            let out = j.observe(&obs(TOOLS, Some(&forged)), &w.dir, NOW);
            assert_eq!(kinds(&out), ["wire_token_unverifiable"], "round {round}");
            assert_eq!(out[0].token_digest.as_deref(), Some(token::digest(&forged).as_str()));
            assert!(j.observe(&obs(TOOLS, Some(&good)), &w.dir, NOW).is_empty(), "round {round}");
            // Too long to be remembered: hashed each time, judged the same.
            assert!(j.observe(&obs(TOOLS, Some(&long)), &w.dir, NOW).is_empty(), "round {round}");
        }
        let seen = j.flush();
        let mut digests: Vec<_> = seen.iter().filter_map(|e| e.token_digest.clone()).collect();
        digests.sort();
        let mut want = vec![token::digest(&good), token::digest(&long)];
        want.sort();
        assert_eq!(digests, want, "each token's sightings under its own digest");
    }

    #[test]
    fn casa_judges_its_own_traffic_and_strangers_tokens_elsewhere_are_ignored() {
        let w = world();
        let mut j = Judge::new("n1");
        let mut c = claims(true);
        c.exp = NOW - 1;
        let expired = token::sign(&c, w.ring.active());
        for t in ["admin-token-0123456789", expired.as_str()] {
            assert!(j.observe(&obs(CASA, Some(t)), &w.dir, NOW).is_empty(), "to casa itself");
        }
        assert!(j.observe(&obs("127.0.0.1:7777", Some("ghp_someone_elses")), &w.dir, NOW).is_empty());
        assert_eq!(kinds(&j.observe(&obs("127.0.0.1:7777", Some(&expired)), &w.dir, NOW)), ["wire_token_expired"]);
    }

    #[test]
    fn expired_and_revoked_tokens() {
        let mut w = world();
        let mut j = Judge::new("n1");
        let c = claims(true);
        let t = token::sign(&c, w.ring.active());
        let out = j.observe(&obs(TOOLS, Some(&t)), &w.dir, NOW + 61);
        assert_eq!(kinds(&out), ["wire_token_expired"]);
        assert_eq!(out[0].jti.as_deref(), Some(c.jti.as_str()));

        // Time only moves on: a fresh judge for the uses before `exp`.
        let mut j = Judge::new("n1");
        let rule = |target| Revocation { target, revoked_at: NOW, expires_at: NOW + 3600 };
        for (target, reason) in [
            (RevocationTarget::Token(c.jti.clone()), "token"),
            (RevocationTarget::Token("root-jti".into()), "lineage"),
            (RevocationTarget::Session("session-1".into()), "session"),
            (RevocationTarget::App("agent-app".into()), "app"),
        ] {
            let realm = w.dir.realms.get_mut(ISS).unwrap();
            realm.revocations = RevocationSet::new([rule(target)], NOW);
            // The verdict is cached; revocation is checked on every sighting.
            let out = j.observe(&obs(TOOLS, Some(&t)), &w.dir, NOW);
            assert_eq!(kinds(&out), ["wire_token_revoked"], "{reason}");
            assert_eq!(wire_detail(&out[0].kind).unwrap().reason.as_deref(), Some(reason));
        }
    }

    #[test]
    fn destinations_audience_passthrough_and_exfiltration() {
        let w = world();
        let mut j = Judge::new("n1");
        let exchanged = token::sign(&claims(true), w.ring.active());
        let initial = token::sign(&claims(false), w.ring.active());
        assert!(j.observe(&obs(CASA, Some(&initial)), &w.dir, NOW).is_empty(), "to casa: fine");
        assert_eq!(kinds(&j.observe(&obs(OTHER_TOOLS, Some(&exchanged)), &w.dir, NOW)), ["wire_audience_mismatch"]);
        assert_eq!(kinds(&j.observe(&obs(TOOLS, Some(&initial)), &w.dir, NOW)), ["wire_token_passthrough"]);
        assert_eq!(
            kinds(&j.observe(&obs("127.0.0.1:7777", Some(&exchanged)), &w.dir, NOW)),
            ["wire_token_exfiltration"]
        );
        // by Host when the address is not known: the agent app's authority
        let mut o = obs("127.0.0.1:7778", Some(&exchanged));
        o.host = Some("Agent.Test".into());
        let o = Observation { dst: Some("127.0.0.1:80".parse().unwrap()), ..o };
        let out = j.observe(&o, &w.dir, NOW);
        assert_eq!(kinds(&out), ["wire_audience_mismatch"]);
        assert_eq!(wire_detail(&out[0].kind).unwrap().destination_app.as_deref(), Some("agent-app"));
    }

    #[test]
    fn tools_unauthenticated_calls_replay_and_query_tokens() {
        let w = world();
        let mut j = Judge::new("n1");
        let t = token::sign(&claims(true), w.ring.active());
        let mut o = obs(TOOLS, Some(&t));
        o.tool_call = Some(Some("delete_everything".into()));
        let out = j.observe(&o, &w.dir, NOW);
        assert_eq!(kinds(&out), ["wire_tool_not_in_token"]);
        assert_eq!(wire_detail(&out[0].kind).unwrap().tool.as_deref(), Some("delete_everything"));

        let mut o = obs(TOOLS, None);
        o.tool_call = Some(Some("search".into()));
        assert_eq!(kinds(&j.observe(&o, &w.dir, NOW)), ["wire_unauthenticated_tool_call"]);
        o.tool_call = None;
        assert!(j.observe(&o, &w.dir, NOW).is_empty(), "a request without a token or a tool call is not a finding");

        let mut o = obs(TOOLS, Some(&t));
        o.sender_key = "cgroup 99".into();
        let out = j.observe(&o, &w.dir, NOW);
        assert_eq!(kinds(&out), ["wire_token_replayed_elsewhere"]);
        assert!(wire_detail(&out[0].kind).unwrap().reason.as_deref().unwrap().contains("cgroup 7"));

        let mut o = obs(CASA, None);
        o.query_token = Some(Zeroizing::new(t.as_str().into()));
        let out = j.observe(&o, &w.dir, NOW);
        assert_eq!(kinds(&out), ["wire_token_in_query"]);
        assert!(out[0].jti.is_some());
    }

    #[test]
    fn a_2xx_to_an_invalid_token_is_flagged_and_pipelined_answers_pair_in_order() {
        let w = world();
        let mut j = Judge::new("n1");
        let good = token::sign(&claims(true), w.ring.active());
        let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = TOOLS.parse().unwrap();
        j.observe(&obs(TOOLS, Some(&good)), &w.dir, NOW);
        j.observe(&obs(TOOLS, Some("opaque-junk")), &w.dir, NOW);
        j.observe(&obs(TOOLS, Some("opaque-junk")), &w.dir, NOW);
        assert!(j.response(server, client, 200).is_none(), "the valid request's answer");
        let e = j.response(server, client, 200).expect("the junk token's 200");
        assert_eq!(e.type_name(), "wire_invalid_token_accepted");
        let d = wire_detail(&e.kind).unwrap();
        assert_eq!((d.reason.as_deref(), d.status), (Some("wire_token_unverifiable"), Some(200)));
        assert!(j.response(server, client, 401).is_none(), "refused: fine");
        assert!(j.response(server, client, 200).is_none(), "nothing pending");
    }
}
