//! What a request says, read from the bytes the kernel captured: method,
//! target, a token in the query string, a JSON-RPC `tools/call` name.

/// `METHOD SP target SP HTTP/x.y`; None for anything else. A line cut at the
/// capture's cap (a long target, such as one with a token in its query)
/// yields what was seen of the target.
pub fn request_line(line: &[u8]) -> Option<(&str, &str)> {
    let cut = line.len() >= crate::record::LINE_MAX;
    let s = match std::str::from_utf8(line) {
        Ok(s) => s,
        Err(e) if cut => std::str::from_utf8(&line[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let mut it = s.splitn(3, ' ');
    let (method, target) = (it.next()?, it.next()?);
    let versioned = it.next().is_some_and(|v| v.starts_with("HTTP/"));
    (!method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()) && (versioned || cut))
        .then_some((method, target))
}

/// The path of a request target, without its query.
pub fn path(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or(target)
}

/// An RFC 6750 §2.3 `access_token` query parameter (percent-decoded).
pub fn query_token(target: &str) -> Option<String> {
    let q = target.split_once('?')?.1.split('#').next()?;
    url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "access_token").map(|(_, v)| v.into_owned())
}

/// A JSON-RPC body: `Some(Some(name))` for `tools/call` with a name,
/// `Some(None)` for a `tools/call` whose name cannot be read, None otherwise
/// (not JSON-RPC, another method, or a body cut before its method).
pub fn tool_call(body: &[u8]) -> Option<Option<String>> {
    let v: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        // Cut by the capture window: only say "a tools/call" when it is plain.
        Err(_) => return contains_tools_call(body).then_some(None),
    };
    let calls: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        o => vec![o],
    };
    calls
        .into_iter()
        .find(|c| c.get("method").and_then(|m| m.as_str()) == Some("tools/call"))
        .map(|c| c.pointer("/params/name").and_then(|n| n.as_str()).map(str::to_owned))
}

fn contains_tools_call(body: &[u8]) -> bool {
    let compact: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let needle = br#""method":"tools/call""#;
    compact.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(request_line(b"POST /mcp?x=1 HTTP/1.1"), Some(("POST", "/mcp?x=1")));
        assert_eq!(request_line(b"post /mcp HTTP/1.1"), None);
        assert_eq!(request_line(b"GET /"), None);
        assert_eq!(request_line(&[0xff, b' ', b'/', b' ', b'H']), None);
        assert_eq!(path("/a/b?access_token=x#f"), "/a/b");
        let long = format!("GET /x?access_token={}", "t".repeat(300));
        assert_eq!(request_line(&long.as_bytes()[..256]).map(|(m, _)| m), Some("GET"), "cut at the cap");
        assert_eq!(request_line(b"GET /x"), None, "short and unversioned");
    }

    #[test]
    fn query_tokens() {
        assert_eq!(query_token("/x?a=1&access_token=ab%2Bc").as_deref(), Some("ab+c"));
        assert_eq!(query_token("/x?token=abc"), None);
        assert_eq!(query_token("/x"), None);
    }

    #[test]
    fn tool_calls() {
        let b = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}"#;
        assert_eq!(tool_call(b), Some(Some("search".into())));
        let batch =
            br#"[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}]"#;
        assert_eq!(tool_call(batch), Some(Some("x".into())));
        assert_eq!(tool_call(br#"{"jsonrpc":"2.0","method":"tools/list"}"#), None);
        assert_eq!(tool_call(br#"{"jsonrpc":"2.0", "method": "tools/call", "params": {"na"#), Some(None));
        assert_eq!(tool_call(b"not json"), None);
        assert_eq!(tool_call(br#"{"method":"tools/call","params":{"name":7}}"#), Some(None));
    }
}
