//! A session: the requests one user prompt causes. The client gets a token
//! for the prompt (issue); agents exchange it for tool tokens (exchange); the
//! tool server introspects each token it receives (introspect). Each driver
//! connection runs sessions one after another, so every request has what it
//! needs from the ones before it.

use bytes::{BufMut, Bytes, BytesMut};
use hyper::Method;

use crate::http::{self, Conn, Failure};
use crate::world::World;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Issue = 0,
    Exchange = 1,
    Introspect = 2,
}

pub const OPS: [Op; 3] = [Op::Issue, Op::Exchange, Op::Introspect];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Issue => "issue",
            Op::Exchange => "exchange",
            Op::Introspect => "introspect",
        }
    }
}

/// How many requests of each kind one session makes.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Mix {
    pub issues: u32,
    pub exchanges: u32,
    pub introspections: u32,
}

impl Mix {
    /// The order of a session: its issues, then exchanges and introspections
    /// alternating (an agent gets a tool token, the tool server checks it).
    /// With no issues, sessions reuse one session token per connection and
    /// realm (issued on first use): the exchange and introspection paths alone.
    pub fn plan(&self) -> Vec<Op> {
        let mut plan = vec![Op::Issue; self.issues as usize];
        for k in 0..self.exchanges.max(self.introspections) {
            if k < self.exchanges {
                plan.push(Op::Exchange);
            }
            if k < self.introspections {
                plan.push(Op::Introspect);
            }
        }
        if plan.is_empty() {
            plan.push(Op::Issue);
        }
        plan
    }
}

/// What became of a request.
pub enum Outcome {
    Ok,
    /// An HTTP answer that is not the expected success, with its reason.
    Status(u16, String),
    /// No HTTP answer at all.
    Failed(Failure),
}

/// One connection's sessions.
pub struct Sessions {
    plan: Vec<Op>,
    step: usize,
    /// Which session this is, and on which connection.
    n: usize,
    conn: usize,
    conns: usize,
    realm: usize,
    domain: usize,
    subject: Option<Bytes>,
    exchanged: Option<Bytes>,
    rr: usize,
    /// With `issues = 0`: the session token of each realm, reused.
    reuse: Option<Vec<Option<(Bytes, usize)>>>,
}

impl Sessions {
    pub fn new(mix: Mix, conn: usize, conns: usize, realms: usize) -> Sessions {
        let reuse = (mix.issues == 0).then(|| vec![None; realms]);
        Sessions {
            reuse,
            plan: mix.plan(),
            step: 0,
            n: 0,
            conn,
            conns,
            realm: 0,
            domain: 0,
            subject: None,
            exchanged: None,
            rr: conn,
        }
    }

    /// Sends the next request of the current session.
    pub async fn next(&mut self, conn: &mut Conn, world: &World) -> (Op, Outcome) {
        if self.step == 0 {
            // A new session, on the next realm in turn (connections interleave).
            self.realm = (self.conn + self.n * self.conns) % world.realms.len();
            self.n += 1;
            self.exchanged = None;
            self.subject = None;
            if let Some(Some((token, domain))) = self.reuse.as_ref().map(|r| &r[self.realm]) {
                self.subject = Some(token.clone());
                self.domain = *domain;
            }
        }
        let mut op = self.plan[self.step];
        if self.reuse.is_some() && self.subject.is_none() {
            op = Op::Issue; // this realm's session token, once; the plan resumes after it
        } else {
            self.step = (self.step + 1) % self.plan.len();
        }
        let realm = &world.realms[self.realm];
        self.rr = self.rr.wrapping_add(1);
        let (uri, auth, body) = match op {
            Op::Issue => {
                let (body, domain) = &realm.issue_bodies[self.rr % realm.issue_bodies.len()];
                self.domain = *domain;
                (&realm.issue_uri, &realm.client_auth, body.clone())
            }
            Op::Exchange => {
                let Some(subject) = &self.subject else {
                    return (op, self.abandon(Outcome::Status(0, "no_session_token".into())));
                };
                let suffixes = realm.suffixes(self.domain, world.semantic);
                let suffix = &suffixes[self.rr % suffixes.len()];
                let mut b = BytesMut::with_capacity(realm.exchange_prefix.len() + subject.len() + suffix.len());
                b.put_slice(&realm.exchange_prefix);
                b.put_slice(subject);
                b.put_slice(suffix);
                (&realm.exchange_uri, &realm.agents[self.rr % realm.agents.len()], b.freeze())
            }
            Op::Introspect => {
                let Some(token) = self.exchanged.as_ref().or(self.subject.as_ref()) else {
                    return (op, self.abandon(Outcome::Status(0, "no_session_token".into())));
                };
                let mut b = BytesMut::with_capacity(6 + token.len());
                b.put_slice(b"token=");
                b.put_slice(token);
                (&realm.introspect_uri, &realm.server_auth, b.freeze())
            }
        };
        let outcome = match conn.send(Method::POST, uri, Some(auth), Some(&http::FORM), body).await {
            Err(f) => Outcome::Failed(f),
            Ok((200, resp)) => match op {
                Op::Issue | Op::Exchange => match http::json_str(&resp, "access_token") {
                    Some(t) => {
                        let t = resp.slice_ref(t.as_bytes());
                        if op == Op::Issue {
                            if let Some(reuse) = &mut self.reuse {
                                reuse[self.realm] = Some((t.clone(), self.domain));
                            }
                            self.subject = Some(t);
                        } else {
                            self.exchanged = Some(t);
                        }
                        Outcome::Ok
                    }
                    None => Outcome::Status(200, "no_access_token".into()),
                },
                Op::Introspect if http::json_true(&resp, "active") => Outcome::Ok,
                Op::Introspect => Outcome::Status(200, "inactive".into()),
            },
            Ok((status, resp)) => {
                let reason = http::json_str(&resp, "error").unwrap_or("no_error_code");
                Outcome::Status(status, reason.chars().take(64).collect())
            }
        };
        if op == Op::Issue && !matches!(outcome, Outcome::Ok) && self.reuse.is_none() {
            // Without a session token the rest of the session cannot run.
            return (op, self.abandon(outcome));
        }
        (op, outcome)
    }

    /// Moves past the next request without sending it (a slot that was never sent).
    pub fn skip(&mut self) -> Op {
        let op = self.plan[self.step];
        self.step = (self.step + 1) % self.plan.len();
        op
    }

    fn abandon(&mut self, outcome: Outcome) -> Outcome {
        self.step = 0;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_alternates() {
        let plan = Mix { issues: 1, exchanges: 5, introspections: 5 }.plan();
        assert_eq!(plan.len(), 11);
        assert_eq!(plan[0], Op::Issue);
        assert_eq!(plan[1], Op::Exchange);
        assert_eq!(plan[2], Op::Introspect);
        let plan = Mix { issues: 1, exchanges: 3, introspections: 0 }.plan();
        assert_eq!(plan, vec![Op::Issue, Op::Exchange, Op::Exchange, Op::Exchange]);
        let plan = Mix { issues: 0, exchanges: 2, introspections: 1 }.plan();
        assert_eq!(plan, vec![Op::Exchange, Op::Introspect, Op::Exchange]);
    }
}
