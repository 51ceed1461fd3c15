//! The HTTP server's own limits, tried as an attacker would: a slowloris
//! client, more connections than the cap, made-up methods against the
//! metrics, and an anonymous readiness probe.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

fn start(args: &[&str]) -> (Casa, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let extra_args = args.iter().map(|a| a.to_string()).collect();
    let casa = Casa::start_in(tmp.path(), Options { extra_args, ..Options::default() });
    (casa, tmp)
}

fn connect(casa: &Casa) -> TcpStream {
    let s = TcpStream::connect((casa.host.as_str(), casa.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    s
}

/// Has the server closed `s`? Reads until EOF/reset or until `within` passes.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return true,
        }
    }
    false
}

fn healthz_over(s: &mut TcpStream) -> std::io::Result<String> {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn a_slowloris_client_is_cut_off_at_the_header_timeout() {
    let (casa, _tmp) = start(&["--http-header-timeout-seconds", "1"]);
    let mut slow = connect(&casa);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    // One header byte every 200 ms: always "active", never done.
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(6) {
        if slow.write_all(b"X").is_err() || closed_within(&mut slow, Duration::from_millis(200)) {
            cut = true;
            break;
        }
    }
    assert!(cut, "a client dripping its header was still connected after 6 s");
    assert!(started.elapsed() < Duration::from_secs(4), "cut after {:?}", started.elapsed());
    // A silent connection is closed too.
    let mut silent = connect(&casa);
    assert!(closed_within(&mut silent, Duration::from_secs(4)), "a silent connection was kept");
    // Normal clients are served throughout.
    assert_eq!(casa.send(casa.request("GET", "/healthz")).status, 200);
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let (casa, _tmp) = start(&["--http-max-connections", "2", "--http-header-timeout-seconds", "30"]);
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&casa)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = connect(&casa);
    third.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let early = healthz_over(&mut third);
    assert!(
        early.as_ref().is_err_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a third connection was served while two were held at a cap of 2: {early:?}"
    );
    drop(held);
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    third.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[test]
fn made_up_methods_share_one_metrics_label() {
    let (casa, _tmp) = start(&[]);
    for i in 0..20 {
        let mut s = connect(&casa);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "MADEUP{i} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
    }
    let metrics = casa.send(casa.request("GET", "/metrics")).text;
    assert!(!metrics.contains("MADEUP"), "made-up methods became label values");
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
}
