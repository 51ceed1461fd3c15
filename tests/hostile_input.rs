//! Hostile input: malformed JSON, wrong types, huge strings, unicode, unknown
//! fields, wrong content types, odd paths. Every answer is a JSON 4xx naming
//! the problem; nothing answers 5xx, panics, or changes state.

mod common;

use common::*;
use serde_json::{json, Value};

fn assert_json_4xx(r: &Resp, context: &str) {
    assert!((400..500).contains(&r.status), "{context}: expected 4xx, got {r:?}");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{context}: content type {ct:?} for {r:?}");
    let body = r.json();
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{context}: no error code in {r:?}");
    assert!(body["error_description"].is_string(), "{context}: {r:?}");
}

/// Sends a body over a bare socket, with a Content-Length or chunked. The
/// server may answer (and close) before the body is through, which an HTTP
/// client library reports as an error.
fn raw_post(port: u16, path: &str, body: &str, chunked: bool) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let framing =
        if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {}", body.len()) };
    write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n").unwrap();
    for chunk in body.as_bytes().chunks(64 * 1024) {
        if !chunked {
            if s.write_all(chunk).is_err() {
                break;
            }
            continue;
        }
        if write!(s, "{:x}\r\n", chunk.len())
            .and_then(|_| s.write_all(chunk))
            .and_then(|_| s.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn raw(casa: &Casa, method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
    let mut req = casa.admin(method, path).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    casa.send(req)
}

#[test]
fn malformed_and_mistyped_bodies_get_json_errors_naming_the_field() {
    let casa = Casa::start();
    let mas_id = casa.create_mas(json!({"name": "target"}))["id"].as_str().unwrap().to_string();
    let app_id = casa.create_app(agent(&mas_id, "a", &[]))["id"].as_str().unwrap().to_string();

    let malformed: Vec<&[u8]> = vec![
        b"",
        b"{",
        b"}",
        b"{\"name\":}",
        b"[]",
        b"null",
        b"\"\"",
        b"123",
        b"{\"name\":\"a\"} trailing",
        b"{\"name\":\"a\",}",
        b"\x00\x01\x02",
        b"\xff\xfe{\"name\":\"a\"}",
        b"{\"name\":\"\xc3\x28\"}",
        b"{\"name\":\"\\ud800\"}",
        b"{\"name\" \"a\"}",
        b"{'name':'a'}",
    ];
    for (path, method) in [
        ("/mas".to_string(), "POST"),
        (format!("/mas/{mas_id}"), "PATCH"),
        ("/apps".to_string(), "POST"),
        (format!("/apps/{app_id}"), "PATCH"),
    ] {
        for body in &malformed {
            let r = raw(&casa, method, &path, Some("application/json"), body.to_vec());
            assert_json_4xx(&r, &format!("{method} {path} {:?}", String::from_utf8_lossy(body)));
            assert_eq!(r.status, 400, "{method} {path} {:?}: {r:?}", String::from_utf8_lossy(body));
        }
    }

    // (body, status, field)
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": 123}), 400, "name"),
        (json!({"name": null}), 400, "name"),
        (json!({}), 400, "."),
        (json!({"name": "x", "enabled_checks": "DETERMINISTIC_TOOL_SELECTED"}), 400, "enabled_checks"),
        (json!({"name": "x", "enabled_checks": ["NOPE"]}), 400, "enabled_checks[0]"),
        (json!({"name": "x", "enabled_checks": ["deterministic_tool_selected"]}), 400, "enabled_checks[0]"),
        (json!({"name": "x", "semantic": []}), 400, "semantic"),
        (json!({"name": "x", "semantic": {"threshold": "high"}}), 400, "semantic.threshold"),
        (json!({"name": "x", "semantic": {"threshold": 2.5}}), 422, "semantic.threshold"),
        (json!({"name": "x", "semantic": {"top_k": 0}}), 422, "semantic.top_k"),
        (json!({"name": "x", "semantic": {"extra": 1}}), 400, "semantic.extra"),
        (json!({"name": "x", "token_ttl_seconds": -1}), 400, "token_ttl_seconds"),
        (json!({"name": "x", "token_ttl_seconds": 4294967296u64}), 400, "token_ttl_seconds"),
        (json!({"name": "x", "token_ttl_seconds": 1e99}), 400, "token_ttl_seconds"),
        (json!({"name": "x", "token_ttl_seconds": "300"}), 400, "token_ttl_seconds"),
        (json!({"name": "x", "token_ttl_seconds": 86401}), 422, "token_ttl_seconds"),
        (json!({"name": "x", "max_delegation_depth": 1.5}), 400, "max_delegation_depth"),
        (json!({"name": "x", "is_admin": true}), 400, "is_admin"),
        (json!({"name": ""}), 422, "name"),
        (json!({"name": "   "}), 422, "name"),
        (json!({"name": "x".repeat(129)}), 422, "name"),
        (json!({"name": "a\u{0}b"}), 422, "name"),
        (json!({"name": "line\nbreak"}), 422, "name"),
        (json!({"name": "x", "description": "d".repeat(100_000)}), 422, "description"),
    ];
    for (body, status, field) in cases {
        let r = casa.post("/mas", body.clone());
        assert_json_4xx(&r, &body.to_string()[..body.to_string().len().min(120)]);
        assert_eq!(r.status, status, "{body}: {r:?}");
        if field == "." {
            assert!(r.json()["error_description"].as_str().unwrap().contains("name"), "{r:?}");
        } else {
            assert_eq!(r.json()["field"], field, "{r:?}");
        }
    }

    let app_cases: Vec<(Value, u16, &str)> = vec![
        (json!({"mas_id": mas_id, "name": "x", "type": "robot"}), 400, "type"),
        (json!({"mas_id": "not-a-uuid", "name": "x", "type": "agent"}), 400, "mas_id"),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "agent", "allowed_tools": ["has space"]}),
            422,
            "allowed_tools[0]",
        ),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "agent", "allowed_tools": ["t".repeat(129)]}),
            422,
            "allowed_tools[0]",
        ),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "agent", "allowed_tools": ["ok", "émoji"]}),
            422,
            "allowed_tools[1]",
        ),
        (json!({"mas_id": mas_id, "name": "x", "type": "agent", "allowed_tools": "fs:read"}), 400, "allowed_tools"),
        (json!({"mas_id": mas_id, "name": "x", "type": "mcp_server", "tools": [{"name": "t"}]}), 400, "tools[0]"),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "mcp_server", "tools": [{"name": "t", "description": ""}]}),
            422,
            "tools[0].description",
        ),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "mcp_server", "tools": [{"name": "t", "description": "d", "input_schema": "string"}]}),
            422,
            "tools[0].input_schema",
        ),
        (
            json!({"mas_id": mas_id, "name": "x", "type": "mcp_server", "tools": [{"name": "t;drop", "description": "d"}]}),
            422,
            "tools[0].name",
        ),
        (json!({"mas_id": mas_id, "name": "x", "type": "agent", "base_url": "javascript:alert(1)"}), 422, "base_url"),
        (json!({"mas_id": mas_id, "name": "x", "type": "agent", "base_url": "http://user:pw@host/"}), 422, "base_url"),
        (json!({"mas_id": mas_id, "name": "x", "type": "agent", "client_secret": "mine"}), 400, "client_secret"),
    ];
    for (body, status, field) in app_cases {
        let r = casa.post("/apps", body.clone());
        assert_json_4xx(&r, &body.to_string());
        assert_eq!((r.status, r.json()["field"].as_str().unwrap_or("")), (status, field), "{body}: {r:?}");
    }

    // Nesting deeper than the decoder allows is refused, not a stack overflow.
    let deep = format!("{{\"name\":\"x\",\"semantic\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let r = raw(&casa, "POST", "/mas", Some("application/json"), deep.into_bytes());
    assert_json_4xx(&r, "deep nesting");

    // Nothing above changed anything.
    assert_eq!(casa.get("/mas").json()["total"], 1);
    assert_eq!(casa.get("/apps").json()["total"], 1);
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json()["name"], "target");
}

#[test]
fn unicode_is_kept_exactly() {
    let casa = Casa::start();
    for name in
        ["日本語のエージェント 🚀", "Ünïcödé \u{202e}rtl\u{202c}", "zero\u{200b}width", "😀".repeat(128).as_str()]
    {
        let mas = casa.create_mas(json!({"name": name, "description": "emoji 🧪 and \"quotes\" and \\backslashes"}));
        assert_eq!(mas["name"], name);
        let again = casa.get(&format!("/mas/{}", mas["id"].as_str().unwrap())).json();
        assert_eq!(again["name"], name);
        assert_eq!(again["description"], "emoji 🧪 and \"quotes\" and \\backslashes");
    }
    assert_eq!(
        casa.post("/mas", json!({"name": "😀".repeat(129)})).status,
        422,
        "the limit counts characters, not bytes"
    );
}

#[test]
fn oversized_bodies_and_wrong_content_types_are_refused() {
    let casa = Casa::start();
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, text) = raw_post(casa.port, "/mas", &big, false);
    assert_eq!(status, 413, "2 MiB body: {text}");
    assert!(text.contains("payload_too_large") && text.contains("application/json"), "{text}");

    // The same without a Content-Length (chunked): still cut off at the limit.
    let (status, text) = raw_post(casa.port, "/mas", &big, true);
    assert_eq!(status, 413, "chunked 2 MiB body: {text}");
    assert!(text.contains("payload_too_large"), "{text}");

    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
        Some("application/jsonx"),
        Some("garbage/;;;"),
        None,
    ] {
        let r = raw(&casa, "POST", "/mas", ct, br#"{"name":"x"}"#.to_vec());
        assert_json_4xx(&r, &format!("content type {ct:?}"));
        assert_eq!(r.status, 415, "content type {ct:?}: {r:?}");
    }
    let r = raw(&casa, "POST", "/mas", Some("application/json; charset=utf-8"), br#"{"name":"ok"}"#.to_vec());
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = raw(
        &casa,
        "PATCH",
        &format!("/mas/{id}"),
        Some("application/merge-patch+json"),
        br#"{"name":"patched"}"#.to_vec(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(casa.get("/mas").json()["total"], 1);
}

#[test]
fn odd_paths_methods_and_parameters_get_json_errors() {
    let casa = Casa::start();
    let long = format!("/mas/{}", "a".repeat(10_000));
    let paths = [
        "/mas/not-a-uuid",
        "/mas/%00",
        "/mas/..%2F..%2Fetc%2Fpasswd",
        "/apps/%F0%9F%9A%80",
        long.as_str(),
        "/mas/01a22222-0000-7000-8000-000000000000",
        "/apps/01a22222-0000-7000-8000-000000000000",
        "/mas/01a22222-0000-7000-8000-000000000000/tools",
        "/nope",
        "/mas/x/y/z",
        "/realms/not-a-uuid/.well-known/jwks.json",
        "/realms/01a22222-0000-7000-8000-000000000000/.well-known/jwks.json",
        "/mas?page=abc",
        "/mas?page_size=1e3",
        "/mas?page=4294967296",
        "/apps?mas_id=bad",
    ];
    for path in paths {
        let r = casa.get(path);
        assert_json_4xx(&r, path);
    }
    let r = casa.get(&format!("/mas?q={}", "q".repeat(10_000)));
    assert_json_4xx(&r, "long q");
    assert_eq!(casa.get("/mas/not-a-uuid").json()["field"], "path");
    assert_eq!(casa.get("/mas?page=abc").json()["field"], "page");
    assert_eq!(casa.get("/apps?mas_id=bad").json()["field"], "mas_id");
    for (method, path) in [("PUT", "/mas"), ("DELETE", "/mas"), ("TRACE", "/healthz"), ("POST", "/healthz")] {
        let r = casa.send(casa.admin(method, path));
        assert_json_4xx(&r, &format!("{method} {path}"));
    }
}

#[test]
fn random_bytes_never_break_the_server() {
    let casa = Casa::start();
    let mas_id = casa.create_mas(json!({"name": "m"}))["id"].as_str().unwrap().to_string();
    // xorshift: deterministic, so a failure reproduces.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let fragments: [&[u8]; 12] =
        [b"{", b"}", b"[", b"]", b"\"name\"", b":", b",", b"\"", b"null", b"1e308", b"\\u0000", b"\"mas_id\""];
    for i in 0..300 {
        let mut body = Vec::new();
        for _ in 0..(next() % 40) {
            if next() % 3 == 0 {
                body.push((next() % 256) as u8);
            } else {
                body.extend_from_slice(fragments[(next() % fragments.len() as u64) as usize]);
            }
        }
        let path = if i % 2 == 0 { "/apps".to_string() } else { format!("/mas/{mas_id}") };
        let method = if i % 2 == 0 { "POST" } else { "PATCH" };
        let r = raw(&casa, method, &path, Some("application/json"), body.clone());
        assert!(r.status < 500, "{method} {path} {:?}: {r:?}", String::from_utf8_lossy(&body));
    }
    assert_eq!(casa.send(casa.request("GET", "/readyz")).status, 200);
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json()["name"], "m");
}
