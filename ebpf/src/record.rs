//! Decoding of the ring-buffer records laid out in `bpf/collector.h`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const F_AUTH: u8 = 0x01;
pub const F_TRUNCATED: u8 = 0x02;
pub const F_CONTINUED: u8 = 0x04;
pub const F_HEADERS_END: u8 = 0x08;
pub const F_EGRESS: u8 = 0x10;
pub const F_ATTRIBUTED: u8 = 0x20;
pub const F_NON_BEARER: u8 = 0x40;
pub const F_MORE: u8 = 0x80;

const KIND_REQUEST: u8 = 1;
const KIND_RESPONSE: u8 = 2;
const KIND_TLS: u8 = 3;

// Where struct casa_record's packed fields (data[]) start.
const OFF_DATA: usize = 104;
pub const LINE_MAX: usize = 256;
const HOST_MAX: usize = 128;
const BODY_MAX: usize = 512;
pub const TOKEN_MAX: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

/// The process that opened the sending socket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sender {
    pub pid: u32,
    pub comm: Comm,
    pub cgroup_id: u64,
}

/// A task's command name as the kernel keeps it: at most 15 bytes, held
/// inline, so attributing a record allocates nothing.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Comm([u8; 16]);

impl Comm {
    /// The bytes before the first NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&c| c == 0).unwrap_or(self.0.len());
        &self.0[..end]
    }
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

impl From<&[u8]> for Comm {
    /// Cut at a NUL or at 15 bytes, as the kernel does.
    fn from(b: &[u8]) -> Self {
        let mut c = [0u8; 16];
        let b = &b[..b.iter().position(|&x| x == 0).unwrap_or(b.len()).min(15)];
        c[..b.len()].copy_from_slice(b);
        Comm(c)
    }
}

impl From<&str> for Comm {
    fn from(s: &str) -> Self {
        Comm::from(s.as_bytes())
    }
}

impl PartialEq<&str> for Comm {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::fmt::Display for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Request { line: Vec<u8>, host: Vec<u8>, body: Vec<u8>, token: Vec<u8> },
    Response { status: u16 },
}

/// One record as the kernel sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub ts_ns: u64,
    pub cookie: u64,
    pub ifindex: u32,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub flags: u8,
    /// Set when the sock_ops program saw this socket's connect(), and for TLS.
    pub sender: Option<Sender>,
    pub kind: Kind,
    /// Seen by a libssl SSL_write uprobe: no addresses (src and dst are
    /// 0.0.0.0:0), the sender is the writing process.
    pub tls: bool,
}

impl Record {
    pub fn direction(&self) -> Direction {
        if self.flags & F_EGRESS != 0 {
            Direction::Egress
        } else {
            Direction::Ingress
        }
    }
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed collector record: {0}")]
pub struct DecodeError(&'static str);

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_ne_bytes(b[o..o + 8].try_into().unwrap())
}

fn addr(family: u8, raw: &[u8], port_be: u16) -> Result<SocketAddr, DecodeError> {
    let port = u16::from_be(port_be);
    let ip = match family {
        4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&raw[..16]).unwrap())),
        _ => return Err(DecodeError("address family")),
    };
    Ok(SocketAddr::new(ip, port))
}

/// The next packed field of `len` bytes (at most `max`) at `*at`.
fn field(b: &[u8], at: &mut usize, len: usize, max: usize) -> Result<Vec<u8>, DecodeError> {
    if len > max || *at + len > b.len() {
        return Err(DecodeError("field length"));
    }
    let f = b[*at..*at + len].to_vec();
    *at += len;
    Ok(f)
}

/// Decodes one ring-buffer sample. Every length is checked against both its
/// cap and the sample's size: a record is never trusted to be well formed.
pub fn decode(b: &[u8]) -> Result<Record, DecodeError> {
    if b.len() < OFF_DATA {
        return Err(DecodeError("short header"));
    }
    let family = b[33];
    let flags = b[34];
    let tls = b[32] == KIND_TLS;
    let (src, dst) = if tls {
        let none = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        (none, none)
    } else {
        (addr(family, &b[40..56], u16_at(b, 36))?, addr(family, &b[56..72], u16_at(b, 38))?)
    };
    let pid = u32_at(b, 24);
    let sender =
        (flags & F_ATTRIBUTED != 0).then(|| Sender { pid, comm: Comm::from(&b[88..104]), cgroup_id: u64_at(b, 16) });
    let kind = match b[32] {
        KIND_REQUEST | KIND_TLS => {
            let mut at = OFF_DATA;
            Kind::Request {
                line: field(b, &mut at, u16_at(b, 76) as usize, LINE_MAX)?,
                host: field(b, &mut at, u16_at(b, 78) as usize, HOST_MAX)?,
                body: field(b, &mut at, u16_at(b, 80) as usize, BODY_MAX)?,
                token: field(b, &mut at, u16_at(b, 82) as usize, TOKEN_MAX)?,
            }
        }
        KIND_RESPONSE => Kind::Response { status: u16_at(b, 84) },
        _ => return Err(DecodeError("kind")),
    };
    Ok(Record {
        ts_ns: u64_at(b, 0),
        cookie: u64_at(b, 8),
        ifindex: u32_at(b, 28),
        src,
        dst,
        seq: u32_at(b, 72),
        flags,
        sender,
        kind,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(token: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; OFF_DATA + 3 + token.len()];
        b[32] = KIND_REQUEST;
        b[33] = 4;
        b[34] = F_AUTH | F_EGRESS;
        b[36..38].copy_from_slice(&40000u16.to_be_bytes());
        b[38..40].copy_from_slice(&8080u16.to_be_bytes());
        b[40..44].copy_from_slice(&[127, 0, 0, 1]);
        b[56..60].copy_from_slice(&[127, 0, 0, 2]);
        b[76..78].copy_from_slice(&3u16.to_ne_bytes());
        b[OFF_DATA..OFF_DATA + 3].copy_from_slice(b"GET");
        b[82..84].copy_from_slice(&(token.len() as u16).to_ne_bytes());
        b[OFF_DATA + 3..].copy_from_slice(token);
        b
    }

    #[test]
    fn decodes_a_request() {
        let r = decode(&sample(b"abc")).unwrap();
        assert_eq!(r.src, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(r.dst, "127.0.0.2:8080".parse().unwrap());
        assert_eq!(r.direction(), Direction::Egress);
        let Kind::Request { line, token, .. } = r.kind else { panic!() };
        assert_eq!((line.as_slice(), token.as_slice()), (&b"GET"[..], &b"abc"[..]));
    }

    #[test]
    fn packed_fields_follow_each_other() {
        let mut b = vec![0u8; OFF_DATA];
        b[32] = KIND_REQUEST;
        b[33] = 6;
        for (at, f) in [(76, &b"POST /mcp HTTP/1.1"[..]), (78, b"tools:9"), (80, b"{}"), (82, b"tok")] {
            b[at..at + 2].copy_from_slice(&(f.len() as u16).to_ne_bytes());
        }
        b.extend_from_slice(b"POST /mcp HTTP/1.1tools:9{}tok");
        let Kind::Request { line, host, body, token } = decode(&b).unwrap().kind else { panic!() };
        assert_eq!(
            (line.as_slice(), host.as_slice(), body.as_slice(), token.as_slice()),
            (&b"POST /mcp HTTP/1.1"[..], &b"tools:9"[..], &b"{}"[..], &b"tok"[..])
        );
        // one byte short: the last field runs past the sample
        b.pop();
        assert!(decode(&b).is_err());
    }

    #[test]
    fn decodes_a_tls_write() {
        let mut b = sample(b"abc");
        b[32] = KIND_TLS;
        b[33] = 0; // no address family: a uprobe has no socket
        b[34] |= F_ATTRIBUTED;
        b[24..28].copy_from_slice(&42u32.to_ne_bytes());
        b[88..92].copy_from_slice(b"curl");
        let r = decode(&b).unwrap();
        assert!(r.tls && r.dst.port() == 0 && r.dst.ip().is_unspecified());
        assert_eq!(r.sender.as_ref().map(|s| (s.pid, s.comm)), Some((42, "curl".into())));
    }

    #[test]
    fn a_comm_is_cut_as_the_kernel_cuts_it() {
        assert_eq!(Comm::from("a-very-long-command-name"), "a-very-long-com");
        assert_eq!(Comm::from(&b"curl\0junk"[..]), "curl");
        assert_eq!(Comm::from(&[0xffu8, b'x'][..]).to_string(), "\u{fffd}x");
        assert!(Comm::from("").is_empty() && !Comm::from("x").is_empty());
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut b = sample(b"abc");
        b[82..84].copy_from_slice(&9000u16.to_ne_bytes());
        assert!(decode(&b).is_err());
        let mut b = sample(b"abc");
        b[82..84].copy_from_slice(&4u16.to_ne_bytes()); // past the sample's end
        assert!(decode(&b).is_err());
        let mut b = sample(b"abc");
        b[78..80].copy_from_slice(&129u16.to_ne_bytes()); // Host over its cap
        assert!(decode(&b).is_err());
        let mut b = sample(b"abc");
        b[33] = 5;
        assert!(decode(&b).is_err());
        assert!(decode(&[0u8; 10]).is_err());
        let mut b = sample(b"");
        b[32] = 9;
        assert!(decode(&b).is_err());
    }
}
