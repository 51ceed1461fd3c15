//! Joins the records of one request that the kernel saw in several packets
//! (a header split over writes): a record flagged MORE waits for the flow's
//! next one. A request that never gets its rest is still reported, marked
//! truncated: never a silent miss.
use std::net::SocketAddr;

use foldhash::HashMap;

use crate::record::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub ts_ns: u64,
    pub ifindex: u32,
    pub direction: Direction,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub cookie: u64,
    pub sender: Option<Sender>,
    pub line: Vec<u8>,
    pub host: Vec<u8>,
    pub body: Vec<u8>,
    /// The bearer credential, when an `Authorization: Bearer` header was seen.
    pub token: Option<Vec<u8>>,
    /// An Authorization header with another scheme (Basic, DPoP, ...).
    pub other_scheme: bool,
    /// Part of the request was not seen (scan window, 8 KiB cap, lost part).
    pub truncated: bool,
    /// The kernel saw this request in more than one packet.
    pub joined: bool,
    /// Plaintext of a libssl SSL_write (uprobe): no addresses, the exact sender.
    pub tls: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Request(Request),
    Response { ts_ns: u64, direction: Direction, src: SocketAddr, dst: SocketAddr, status: u16 },
}

type FlowKey = (u32, Direction, SocketAddr, SocketAddr);

#[derive(Default)]
pub struct Reassembler {
    pending: HashMap<FlowKey, Request>,
}

fn request(r: &mut Record, line: Vec<u8>, host: Vec<u8>, body: Vec<u8>, token: Vec<u8>) -> Request {
    Request {
        ts_ns: r.ts_ns,
        ifindex: r.ifindex,
        direction: r.direction(),
        src: r.src,
        dst: r.dst,
        cookie: r.cookie,
        sender: r.sender.take(),
        line,
        host,
        body,
        token: r.has(F_AUTH).then_some(token),
        other_scheme: r.has(F_NON_BEARER),
        truncated: r.has(F_TRUNCATED),
        joined: false,
        tls: r.tls,
    }
}

impl Reassembler {
    pub fn push(&mut self, mut r: Record, out: &mut Vec<Event>) {
        let key = (r.ifindex, r.direction(), r.src, r.dst);
        // The fields move into the request: a record is 1 KiB or more with its token.
        let (line, host, body, token) = match std::mem::replace(&mut r.kind, Kind::Response { status: 0 }) {
            Kind::Response { status } => {
                out.push(Event::Response { ts_ns: r.ts_ns, direction: r.direction(), src: r.src, dst: r.dst, status });
                return;
            }
            Kind::Request { line, host, body, token } => (line, host, body, token),
        };
        let req = match (r.has(F_CONTINUED), self.pending.remove(&key)) {
            (true, Some(mut p)) => {
                p.line.extend_from_slice(&line);
                p.host.extend_from_slice(&host);
                p.body = body;
                if r.has(F_AUTH) {
                    let t = p.token.get_or_insert_with(Vec::new);
                    t.extend_from_slice(&token);
                    if t.len() > TOKEN_MAX {
                        t.truncate(TOKEN_MAX);
                        p.truncated = true;
                    }
                }
                p.other_scheme |= r.has(F_NON_BEARER);
                p.truncated |= r.has(F_TRUNCATED);
                p.sender = p.sender.or(r.sender.take());
                p.joined = true;
                p
            }
            (true, None) => {
                // The start of this request was not seen.
                let mut q = request(&mut r, line, host, body, token);
                q.truncated = true;
                q
            }
            (false, prev) => {
                if let Some(mut p) = prev {
                    // The flow moved on before the rest of the last request arrived.
                    p.truncated = true;
                    out.push(Event::Request(p));
                }
                request(&mut r, line, host, body, token)
            }
        };
        if r.has(F_MORE) {
            self.pending.insert(key, req);
        } else {
            out.push(Event::Request(req));
        }
    }

    /// Emits, marked truncated, every request still waiting after `max_age_ns`.
    pub fn expire(&mut self, now_ns: u64, max_age_ns: u64, out: &mut Vec<Event>) {
        let old: Vec<FlowKey> =
            self.pending.iter().filter(|(_, p)| now_ns.saturating_sub(p.ts_ns) > max_age_ns).map(|(k, _)| *k).collect();
        for k in old {
            if let Some(mut p) = self.pending.remove(&k) {
                p.truncated = true;
                out.push(Event::Request(p));
            }
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(flags: u8, line: &str, token: &str) -> Record {
        Record {
            ts_ns: 1,
            cookie: 0,
            ifindex: 1,
            src: "127.0.0.1:5000".parse().unwrap(),
            dst: "127.0.0.1:80".parse().unwrap(),
            seq: 0,
            flags,
            sender: None,
            kind: Kind::Request { line: line.into(), host: vec![], body: vec![], token: token.into() },
            tls: false,
        }
    }

    #[test]
    fn a_token_split_over_two_packets_is_joined() {
        let mut a = Reassembler::default();
        let mut out = vec![];
        a.push(rec(F_AUTH | F_MORE, "GET / HTTP/1.1", "abc"), &mut out);
        assert!(out.is_empty());
        a.push(rec(F_AUTH | F_CONTINUED | F_HEADERS_END, "", "def"), &mut out);
        let Event::Request(r) = &out[0] else { panic!() };
        assert_eq!(r.token.as_deref(), Some(&b"abcdef"[..]));
        assert!(r.joined && !r.truncated);
    }

    #[test]
    fn a_lost_rest_is_reported_truncated() {
        let mut a = Reassembler::default();
        let mut out = vec![];
        a.push(rec(F_MORE, "GET / HT", ""), &mut out);
        a.push(rec(F_HEADERS_END, "GET /next HTTP/1.1", ""), &mut out);
        assert_eq!(out.len(), 2);
        let Event::Request(first) = &out[0] else { panic!() };
        assert!(first.truncated);
        a.push(rec(F_MORE, "GET / HT", ""), &mut out);
        a.expire(10, 5, &mut out);
        let Event::Request(last) = &out[2] else { panic!() };
        assert!(last.truncated && a.pending() == 0);
        a.push(rec(F_CONTINUED | F_AUTH, "", "xyz"), &mut out);
        let Event::Request(orphan) = &out[3] else { panic!() };
        assert!(orphan.truncated);
    }
}
