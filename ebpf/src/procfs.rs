//! Sender attribution from /proc, for sockets the sock_ops program did not
//! see open (opened before the collector started, or sock_ops unavailable):
//! the socket's inode from `/proc/<pid>/net/tcp{,6}` of each network
//! namespace, then the process holding `socket:[inode]`.
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::record::Sender;

fn parse_addr(hex: &str, v6: bool) -> Option<SocketAddr> {
    let (ip, port) = hex.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        if ip.len() != 32 {
            return None;
        }
        let mut b = [0u8; 16];
        for (w, chunk) in b.chunks_mut(4).enumerate() {
            // each 32-bit word is printed in host order
            let word = u32::from_str_radix(&ip[w * 8..w * 8 + 8], 16).ok()?;
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?.to_ne_bytes()))
    };
    Some(SocketAddr::new(ip, port))
}

/// The inode of the socket `local` → `remote` in one `net/tcp` table.
pub fn find_inode(table: &str, local: SocketAddr, remote: SocketAddr, v6: bool) -> Option<u64> {
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(lo), Some(re), Some(inode)) = (f.get(1), f.get(2), f.get(9)) else { return None };
        (parse_addr(lo, v6)? == local && parse_addr(re, v6)? == remote).then(|| inode.parse().ok())?
    })
}

fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok())
}

fn holds(pid: u32, target: &str) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target))
}

/// The cgroup v2 id of a process: the inode of its cgroup directory.
fn cgroup_id(pid: u32, cgroup2_root: Option<&Path>) -> u64 {
    let (Some(root), Ok(s)) = (cgroup2_root, std::fs::read_to_string(format!("/proc/{pid}/cgroup"))) else { return 0 };
    s.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .and_then(|p| std::fs::metadata(root.join(p.trim_start_matches('/'))).ok())
        .map_or(0, |m| m.ino())
}

/// The process that holds the TCP socket `local` → `remote`, in any network
/// namespace this process can see. Costs a walk of /proc: callers cache.
pub fn socket_owner(local: SocketAddr, remote: SocketAddr, cgroup2_root: Option<&Path>) -> Option<Sender> {
    let v6 = local.is_ipv6();
    let table = if v6 { "tcp6" } else { "tcp" };
    let mut namespaces = HashSet::new();
    let inode = pids().find_map(|pid| {
        let ns = std::fs::metadata(format!("/proc/{pid}/ns/net")).ok()?.ino();
        if !namespaces.insert(ns) {
            return None;
        }
        find_inode(&std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok()?, local, remote, v6)
    })?;
    let target = format!("socket:[{inode}]");
    let pid = pids().find(|&p| holds(p, &target))?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string();
    Some(Sender { pid, comm: comm.as_str().into(), cgroup_id: cgroup_id(pid, cgroup2_root) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn parses_the_kernel_tables() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0";
        let l = "127.0.0.1:8080".parse().unwrap();
        let r = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(find_inode(t, l, r, false), Some(4242));
        assert_eq!(find_inode(t, r, l, false), None);
        let t6 =
            "h\n 0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:9C40 01 0:0 0:0 0 0 0 77 1";
        assert_eq!(find_inode(t6, "[::1]:8080".parse().unwrap(), "[::1]:40000".parse().unwrap(), true), Some(77));
        assert_eq!(find_inode("h\n 0: zz:1 zz:2 01 0 0 0 0 0 9", l, r, false), None);
    }

    #[test]
    fn finds_this_process_as_the_owner_of_its_socket() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let owner = socket_owner(c.local_addr().unwrap(), c.peer_addr().unwrap(), None).expect("found in /proc");
        assert_eq!(owner.pid, std::process::id());
        assert!(!owner.comm.is_empty());
    }
}
