//! The membership view: who is alive, whether this node may serve, and who
//! owns each MAS. Pure logic over heartbeats and a clock, so every rule here
//! is unit-tested without a network; the registry (what to stop) and the
//! cluster (where to route) both read it, so it belongs to neither.
//!
//! The rules, and why they keep one owner per MAS:
//! - A node *serves* only while it hears, within `quorum_window`, a strict
//!   majority of the members it knows (itself included) and at least
//!   `min_members`; and not during its first `join_grace`, while it learns
//!   who its peers are. Otherwise it owns nothing and answers 503.
//! - Placement uses the serving members heard within `down_after`, which is
//!   longer than `quorum_window`: a node cut off from the majority stops
//!   serving before the others take its MAS over.
//! - A member unheard for `forget_after` is forgotten (a crashed pod replaced
//!   under a new name must not count towards the majority for ever); a node
//!   cut off that long could then count a majority of itself alone, which is
//!   what `min_members` (a majority of the intended size) prevents.
//! - A node that gains a MAS in a view change waits `settle` before serving
//!   it, time for the previous owner to learn of the change and stop.
//! - A member this node cannot hear stays in the placement while a peer it
//!   hears reports hearing that member: in a partial partition (A and C cut
//!   off from each other, B hearing both) every node keeps the same owners,
//!   and A's requests for C's MAS fail (503) instead of A taking them over.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod placement;

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub heartbeat: Duration,
    pub quorum_window: Duration,
    pub down_after: Duration,
    pub settle: Duration,
    pub join_grace: Duration,
    pub forget_after: Duration,
}

impl Timing {
    /// Every window derived from the heartbeat interval.
    pub fn from_heartbeat(heartbeat: Duration) -> Timing {
        Timing {
            heartbeat,
            quorum_window: heartbeat * 4,
            down_after: heartbeat * 15 / 2,
            settle: heartbeat * 2,
            join_grace: heartbeat * 15 / 2,
            forget_after: Duration::from_secs(600),
        }
    }
}

/// What a node tells its peers every heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub name: String,
    /// Where peers connect to this node.
    pub addr: String,
    pub serving: bool,
    pub leaving: bool,
    /// MAS actors running on this node.
    pub active_mas: usize,
    /// The addresses of the members this node knows, so peers connect to all.
    pub peers: Vec<String>,
    /// The serving members this node hears (within its quorum window).
    #[serde(default)]
    pub hears: Vec<String>,
}

/// Where a request for a MAS goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Local,
    Remote(&'a str),
    /// Nobody may serve it from here right now (no quorum, hand-off).
    Wait(String),
}

/// One node's view of the cluster at one moment; cheap to share.
#[derive(Debug, Clone)]
pub struct View {
    pub epoch: u64,
    pub me: String,
    /// Why this node does not serve, if it does not.
    pub not_serving: Option<String>,
    /// The placement members (name, name hash), sorted by name.
    pub members: Vec<(String, u64)>,
    pub previous: Vec<(String, u64)>,
    pub changed_at: Instant,
    pub settle: Duration,
}

impl View {
    pub fn starting(me: &str, timing: Timing) -> View {
        View {
            epoch: 0,
            me: me.to_string(),
            not_serving: Some("joining the cluster".into()),
            members: Vec::new(),
            previous: Vec::new(),
            changed_at: Instant::now(),
            settle: timing.settle,
        }
    }

    pub fn route(&self, mas: Uuid, now: Instant) -> Route<'_> {
        if let Some(why) = &self.not_serving {
            return Route::Wait(format!("this node does not serve: {why}"));
        }
        match placement::owner(&self.members, mas) {
            None => Route::Wait("no member serves".into()),
            Some(owner) if owner != self.me => Route::Remote(owner),
            Some(_) => {
                let gained = placement::owner(&self.previous, mas) != Some(self.me.as_str());
                if gained && now.duration_since(self.changed_at) < self.settle {
                    Route::Wait("MAS hand-off in progress".into())
                } else {
                    Route::Local
                }
            }
        }
    }

    pub fn owns(&self, mas: Uuid, now: Instant) -> bool {
        self.route(mas, now) == Route::Local
    }

    /// Why this node may not serve `mas` now, if it may not.
    pub fn not_owner(&self, mas: Uuid, now: Instant) -> Option<String> {
        (!self.owns(mas, now)).then(|| format!("node {} does not own MAS {mas} (epoch {})", self.me, self.epoch))
    }
}

#[derive(Debug, Clone)]
struct Peer {
    addr: String,
    last_seen: Instant,
    serving: bool,
    active_mas: usize,
    hears: Vec<String>,
}

/// A member as `casa cluster status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub name: String,
    pub addr: String,
    /// `self`, `alive`, `suspect` (missed heartbeats) or `down`.
    pub state: String,
    pub serving: bool,
    pub last_seen_ms: u64,
    pub active_mas: usize,
}

pub struct Membership {
    me: String,
    addr: String,
    timing: Timing,
    min_members: usize,
    started: Instant,
    leaving: bool,
    /// Peers heard from directly (gossip alone never makes a member: a name
    /// nobody can reach must not count towards the quorum).
    peers: BTreeMap<String, Peer>,
    view: Arc<View>,
}

impl Membership {
    pub fn new(me: &str, addr: &str, timing: Timing, min_members: usize, now: Instant) -> Membership {
        Membership {
            me: me.to_string(),
            addr: addr.to_string(),
            timing,
            min_members: min_members.max(1),
            started: now,
            leaving: false,
            peers: BTreeMap::new(),
            view: Arc::new(View::starting(me, timing)),
        }
    }

    pub fn view(&self) -> Arc<View> {
        self.view.clone()
    }

    /// A peer's heartbeat. A leaving peer is forgotten at once.
    pub fn heard(&mut self, hb: &Heartbeat, now: Instant) {
        if hb.name == self.me {
            return;
        }
        if hb.leaving {
            self.peers.remove(&hb.name);
            return;
        }
        let peer = Peer {
            addr: hb.addr.clone(),
            last_seen: now,
            serving: hb.serving,
            active_mas: hb.active_mas,
            hears: hb.hears.clone(),
        };
        self.peers.insert(hb.name.clone(), peer);
    }

    pub fn leave(&mut self) {
        self.leaving = true;
    }

    pub fn peer_addrs(&self) -> Vec<String> {
        self.peers.values().map(|p| p.addr.clone()).collect()
    }

    /// Where a known peer says it can be reached.
    pub fn peer_addr(&self, name: &str) -> Option<&str> {
        self.peers.get(name).map(|p| p.addr.as_str())
    }

    pub fn heartbeat(&self, active_mas: usize, now: Instant) -> Heartbeat {
        Heartbeat {
            name: self.me.clone(),
            addr: self.addr.clone(),
            serving: self.view.not_serving.is_none(),
            leaving: self.leaving,
            active_mas,
            peers: self.peer_addrs(),
            hears: self
                .peers
                .iter()
                .filter(|(_, p)| p.serving && self.fresh(p, now))
                .map(|(name, _)| name.clone())
                .collect(),
        }
    }

    /// Heard within the quorum window.
    fn fresh(&self, p: &Peer, now: Instant) -> bool {
        now.duration_since(p.last_seen) <= self.timing.quorum_window
    }

    /// In the placement: serving and heard directly, or reported by a peer
    /// this node hears (see the module's rules).
    fn placed(&self, name: &str, p: &Peer, now: Instant) -> bool {
        if p.serving && now.duration_since(p.last_seen) <= self.timing.down_after {
            return true;
        }
        self.peers.iter().any(|(other, q)| other != name && self.fresh(q, now) && q.hears.iter().any(|h| h == name))
    }

    fn not_serving(&self, now: Instant) -> Option<String> {
        if self.leaving {
            return Some("leaving the cluster".into());
        }
        if now.duration_since(self.started) < self.timing.join_grace {
            return Some("joining the cluster".into());
        }
        let known = 1 + self.peers.len();
        let reachable = 1 + self.peers.values().filter(|p| self.fresh(p, now)).count();
        if reachable * 2 <= known {
            return Some(format!("it reaches {reachable} of {known} members, not a majority"));
        }
        if reachable < self.min_members {
            return Some(format!("it reaches {reachable} members; at least {} are required", self.min_members));
        }
        None
    }

    /// Recomputes the view; the new one if it changed.
    pub fn tick(&mut self, now: Instant) -> Option<Arc<View>> {
        let forget_after = self.timing.forget_after;
        self.peers.retain(|name, p| {
            let keep = now.duration_since(p.last_seen) <= forget_after;
            if !keep {
                tracing::warn!(member = %name, "forgetting a member unheard for {forget_after:?}");
            }
            keep
        });
        let not_serving = self.not_serving(now);
        let mut members = Vec::new();
        if not_serving.is_none() {
            members.push((self.me.clone(), placement::name_hash(&self.me)));
            for (name, p) in &self.peers {
                if self.placed(name, p, now) {
                    members.push((name.clone(), placement::name_hash(name)));
                }
            }
            members.sort();
        }
        if members == self.view.members && not_serving == self.view.not_serving {
            return None;
        }
        self.view = Arc::new(View {
            epoch: self.view.epoch + 1,
            me: self.me.clone(),
            not_serving,
            previous: self.view.members.clone(),
            members,
            changed_at: now,
            settle: self.timing.settle,
        });
        Some(self.view.clone())
    }

    pub fn status(&self, now: Instant, active_mas: usize) -> Vec<MemberStatus> {
        let mut out = vec![MemberStatus {
            name: self.me.clone(),
            addr: self.addr.clone(),
            state: "self".into(),
            serving: self.view.not_serving.is_none(),
            last_seen_ms: 0,
            active_mas,
        }];
        for (name, p) in &self.peers {
            let age = now.duration_since(p.last_seen);
            let state = if age <= self.timing.quorum_window {
                "alive"
            } else if age <= self.timing.down_after {
                "suspect"
            } else {
                "down"
            };
            out.push(MemberStatus {
                name: name.clone(),
                addr: p.addr.clone(),
                state: state.into(),
                serving: p.serving,
                last_seen_ms: age.as_millis() as u64,
                active_mas: p.active_mas,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: Duration = Duration::from_millis(200);

    fn hb(name: &str, serving: bool) -> Heartbeat {
        Heartbeat {
            name: name.into(),
            addr: format!("{name}:7400"),
            serving,
            leaving: false,
            active_mas: 0,
            peers: vec![],
            hears: vec![],
        }
    }

    fn started(me: &str, peers: &[&str], t0: Instant) -> Membership {
        let mut m = Membership::new(me, &format!("{me}:7400"), Timing::from_heartbeat(HB), 1, t0);
        let t = t0 + Timing::from_heartbeat(HB).join_grace;
        for p in peers {
            m.heard(&hb(p, true), t);
        }
        m.tick(t);
        m
    }

    #[test]
    fn a_joining_node_serves_nothing_until_its_grace_is_over() {
        let t0 = Instant::now();
        let mut m = Membership::new("a", "a:7400", Timing::from_heartbeat(HB), 1, t0);
        assert!(m.tick(t0 + HB).is_none());
        assert!(matches!(m.view().route(Uuid::new_v4(), t0 + HB), Route::Wait(_)));
        let v = m.tick(t0 + HB * 8).expect("the view changes after the grace");
        assert!(v.not_serving.is_none());
        // Gained everything from nobody: wait out the settle time first.
        assert!(matches!(v.route(Uuid::new_v4(), t0 + HB * 8), Route::Wait(_)));
        assert_eq!(v.route(Uuid::new_v4(), t0 + HB * 11), Route::Local);
    }

    #[test]
    fn an_isolated_node_stops_serving_before_the_majority_takes_over() {
        let t0 = Instant::now();
        let t = t0 + Timing::from_heartbeat(HB).join_grace;
        let mut c = started("c", &["a", "b"], t0);
        let mut a = started("a", &["b", "c"], t0);
        assert!(c.view().not_serving.is_none());
        // The link breaks right after t: c hears nobody, a hears only b.
        let mut c_stopped = None;
        let mut c_gone_from_a = None;
        for step in 1..40u32 {
            let now = t + HB * step / 2;
            a.heard(&hb("b", true), now);
            if c_stopped.is_none() && c.tick(now).is_some_and(|v| v.not_serving.is_some()) {
                c_stopped = Some(now);
            }
            if c_gone_from_a.is_none() && a.tick(now).is_some_and(|v| !v.members.iter().any(|(n, _)| n == "c")) {
                c_gone_from_a = Some(now);
            }
        }
        let (stopped, gone) = (c_stopped.unwrap(), c_gone_from_a.unwrap());
        assert!(gone >= stopped + HB * 3, "the majority took over {:?} after c stopped", gone - stopped);
        assert!(a.view().not_serving.is_none());
    }

    #[test]
    fn a_majority_is_required_and_a_leaving_peer_stops_counting() {
        let t0 = Instant::now();
        let mut a = started("a", &["b", "c", "d"], t0);
        let later = t0 + Duration::from_secs(10);
        a.heard(&hb("b", true), later);
        a.tick(later);
        assert!(a.view().not_serving.as_deref().unwrap().contains("2 of 4"));
        a.heard(&Heartbeat { leaving: true, ..hb("c", true) }, later);
        a.heard(&Heartbeat { leaving: true, ..hb("d", true) }, later);
        a.tick(later);
        assert!(a.view().not_serving.is_none(), "{:?}", a.view().not_serving);
    }

    #[test]
    fn min_members_holds_a_lone_node_back() {
        let t0 = Instant::now();
        let mut m = Membership::new("a", "a:7400", Timing::from_heartbeat(HB), 2, t0);
        m.tick(t0 + Duration::from_secs(5));
        assert!(m.view().not_serving.as_deref().unwrap().contains("at least 2"));
    }

    #[test]
    fn peers_that_do_not_serve_own_nothing() {
        let t0 = Instant::now();
        let mut a = started("a", &["b"], t0);
        let t = t0 + Duration::from_secs(3);
        a.heard(&hb("b", false), t);
        let v = a.tick(t).unwrap();
        assert_eq!(v.members.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["a"]);
    }

    #[test]
    fn the_previous_owner_keeps_nothing_it_lost() {
        let t0 = Instant::now();
        let mut a = started("a", &[], t0);
        let t = t0 + Duration::from_secs(3);
        a.heard(&hb("b", true), t);
        let v = a.tick(t).unwrap();
        let lost = (0..100).map(|_| Uuid::new_v4()).find(|m| matches!(v.route(*m, t), Route::Remote("b"))).unwrap();
        assert!(!v.owns(lost, t));
    }

    #[test]
    fn in_a_partial_partition_a_member_others_still_hear_keeps_its_mas() {
        let t0 = Instant::now();
        let mut a = started("a", &["b", "c"], t0);
        // a no longer hears c; b hears both and says so.
        let names = |v: &View| v.members.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        for step in 1..=20u32 {
            let now = t0 + Duration::from_secs(2) + HB * step;
            a.heard(&Heartbeat { hears: vec!["a".into(), "c".into()], ..hb("b", true) }, now);
            a.tick(now);
        }
        assert_eq!(names(&a.view()), ["a", "b", "c"], "c stays where b vouches for it");
        // Once b stops hearing c too, c leaves the placement.
        let later = t0 + Duration::from_secs(7);
        a.heard(&Heartbeat { hears: vec!["a".into()], ..hb("b", true) }, later);
        a.tick(later);
        assert_eq!(names(&a.view()), ["a", "b"]);
    }

    #[test]
    fn a_member_unheard_for_long_is_forgotten_but_min_members_still_holds() {
        let t0 = Instant::now();
        let timing = Timing { forget_after: Duration::from_secs(60), ..Timing::from_heartbeat(HB) };
        let mut a = Membership::new("a", "a:7400", timing, 2, t0);
        let t = t0 + Duration::from_secs(2);
        a.heard(&hb("b", true), t);
        a.heard(&hb("c", true), t);
        a.tick(t);
        assert!(a.view().not_serving.is_none());
        // c crashed for good: b and a still make a majority of three...
        let later = t + Duration::from_secs(30);
        a.heard(&hb("b", true), later);
        a.tick(later);
        assert!(a.view().not_serving.is_none());
        assert_eq!(a.status(later, 0).len(), 3);
        // ...and after forget_after c no longer counts.
        let much_later = t + Duration::from_secs(90);
        a.heard(&hb("b", true), much_later);
        a.tick(much_later);
        assert_eq!(a.status(much_later, 0).len(), 2);
        // Alone for that long, a forgets b too, but min_members keeps it from serving alone.
        let alone = much_later + Duration::from_secs(61);
        a.tick(alone);
        assert_eq!(a.status(alone, 0).len(), 1);
        assert!(a.view().not_serving.as_deref().unwrap().contains("at least 2"));
    }
}
