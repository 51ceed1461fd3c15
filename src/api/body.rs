//! `JsonBody<T>`: a JSON request body read with a size limit and decoded with
//! serde, so that every decoding error names the exact field at fault
//! (poem-openapi's own `Json` only names the type).

use poem::{Request, RequestBody};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::config::DEFAULT_MAX_BODY_BYTES;

pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(),
            Ok(m) if m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {}
            other => {
                let got = other.map_or("no content type".to_string(), |c| format!("content type {c:?}"));
                return Err(ApiError::UnsupportedMediaType(poem_openapi::payload::Json(ErrorBody {
                    error: "unsupported_media_type".into(),
                    error_description: format!("expected application/json, got {got}"),
                    field: None,
                    denials: None,
                }))
                .into());
            }
        }
        let limit = request.data::<AppState>().map_or(DEFAULT_MAX_BODY_BYTES, |s| s.max_body_bytes);
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => {
                ApiError::PayloadTooLarge(poem_openapi::payload::Json(ErrorBody {
                    error: "payload_too_large".into(),
                    error_description: format!("the body is larger than {limit} bytes"),
                    field: None,
                    denials: None,
                }))
            }
            other => ApiError::bad_request(None, format!("reading the body: {other}")),
        })?;
        decode(&bytes).map(JsonBody).map_err(Into::into)
    }
}

/// Reads the whole body, refusing more than `limit` bytes (declared or not).
pub async fn read_limited(body: &mut RequestBody, limit: usize) -> Result<bytes::Bytes, ApiError> {
    body.take().map_err(|e| ApiError::bad_request(None, e.to_string()))?.into_bytes_limit(limit).await.map_err(|e| {
        match e {
            poem::error::ReadBodyError::PayloadTooLarge => {
                ApiError::PayloadTooLarge(poem_openapi::payload::Json(ErrorBody {
                    error: "payload_too_large".into(),
                    error_description: format!("the body is larger than {limit} bytes"),
                    field: None,
                    denials: None,
                }))
            }
            other => ApiError::bad_request(None, format!("reading the body: {other}")),
        }
    })
}

/// Decodes a whole JSON document, naming the field of the first error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        let message = e.into_inner().to_string();
        let description = match &field {
            Some(f) => format!("{f}: {message}"),
            None => format!("invalid JSON body: {message}"),
        };
        ApiError::bad_request(field, description)
    })?;
    de.end().map_err(|e| ApiError::bad_request(None, format!("invalid JSON body: {e}")))?;
    Ok(value)
}
