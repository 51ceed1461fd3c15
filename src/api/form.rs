//! `FormBody<T>`: an `application/x-www-form-urlencoded` body (the OAuth
//! endpoints), parsed strictly: a repeated parameter, or one that is not
//! UTF-8 once decoded, is `invalid_request` (RFC 6749 section 3.2).

use std::borrow::Cow;

use poem::{Request, RequestBody};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;
use crate::config::DEFAULT_MAX_BODY_BYTES;

pub struct FormBody<T>(pub T);

const FORM: &str = "application/x-www-form-urlencoded";

impl<T: Type> Payload for FormBody<T> {
    const CONTENT_TYPE: &'static str = FORM;

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.essence_str() == FORM)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for FormBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: FORM, schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        if !request.content_type().is_some_and(Self::check_content_type) {
            return Err(ApiError::bad_request(None, format!("the body must be {FORM}")).into());
        }
        let limit = request.data::<AppState>().map_or(DEFAULT_MAX_BODY_BYTES, |s| s.max_body_bytes);
        let bytes = super::body::read_limited(body, limit).await?;
        let fields = parse(&bytes)?;
        let value = serde_json::Value::Object(fields);
        serde_path_to_error::deserialize(value).map(FormBody).map_err(|e| {
            let field = e.path().to_string();
            ApiError::bad_request(Some(field.clone()), format!("{field}: {}", e.into_inner())).into()
        })
    }
}

fn decode(raw: &[u8], what: &str) -> Result<String, ApiError> {
    let plus_as_space: Cow<[u8]> = if raw.contains(&b'+') {
        Cow::Owned(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| ApiError::bad_request(None, format!("{what} is not valid UTF-8")))
}

/// Decodes the pairs of a form, refusing repeated names and non-UTF-8.
pub fn parse(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let mut fields = serde_json::Map::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode(name, "a parameter name")?;
        let value = decode(value, &format!("parameter {name:?}"))?;
        if fields.contains_key(&name) {
            return Err(ApiError::bad_request(Some(name.clone()), format!("parameter {name:?} is repeated")));
        }
        fields.insert(name, serde_json::Value::String(value));
    }
    Ok(fields)
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
    }
}
