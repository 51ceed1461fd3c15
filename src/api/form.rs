//! Strict `application/x-www-form-urlencoded` decoding for the OAuth
//! endpoints: a repeated parameter, or one that is not UTF-8 once decoded,
//! is `invalid_request` (RFC 6749 section 3.2).

use std::borrow::Cow;

use super::error::ApiError;

/// Decodes one name or value; None when it is not UTF-8 once decoded.
fn decode(raw: &[u8]) -> Option<String> {
    let plus_as_space: Cow<[u8]> = if raw.contains(&b'+') {
        Cow::Owned(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    };
    // Borrowed when nothing is percent-encoded (tokens, ids): validated and copied once.
    percent_encoding::percent_decode(&plus_as_space).decode_utf8().ok().map(Cow::into_owned)
}

/// Decodes the pairs of a form, refusing repeated names and non-UTF-8.
pub fn parse(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let mut fields = serde_json::Map::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let not_utf8 = |what: String| ApiError::bad_request(None, format!("{what} is not valid UTF-8"));
        let name = decode(name).ok_or_else(|| not_utf8("a parameter name".into()))?;
        let value = decode(value).ok_or_else(|| not_utf8(format!("parameter {name:?}")))?;
        if fields.contains_key(&name) {
            return Err(ApiError::bad_request(Some(name.clone()), format!("parameter {name:?} is repeated")));
        }
        fields.insert(name, serde_json::Value::String(value));
    }
    Ok(fields)
}

/// One form-encoded value (as in HTTP Basic client credentials, RFC 6749 section 2.3.1).
pub fn decode_value(raw: &str) -> Option<String> {
    decode(raw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_strictly() {
        let f = parse(b"a=1&b=x+y%20z&c=&d&e=%C3%A9").unwrap();
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "x y z");
        assert_eq!(f["c"], "");
        assert_eq!(f["d"], "");
        assert_eq!(f["e"], "é");
        assert!(parse(b"a=1&a=2").is_err());
        assert!(parse(b"a=%FF").is_err());
        assert!(parse(b"a=\xff").is_err());
        assert!(parse(b"%FF=1").is_err());
        assert_eq!(decode_value("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(decode_value("eyJ0.e30.sig-_~").as_deref(), Some("eyJ0.e30.sig-_~"), "nothing to decode");
        assert_eq!(decode_value("%2B+%25").as_deref(), Some("+ %"), "decoded once, never twice");
        let err = parse(b"ok=1&bad=%C3").unwrap_err();
        assert!(format!("{err:?}").contains(r#"parameter \"bad\" is not valid UTF-8"#), "{err:?}");
    }
}
