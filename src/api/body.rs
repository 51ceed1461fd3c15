//! Request bodies read with a size limit and decoded with serde, so that
//! every decoding error names the exact field at fault (poem-openapi's own
//! payloads only name the type): [`JsonBody`] for the management API,
//! [`FormBody`] for the OAuth endpoints.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::{form, AppState};

/// How a body format is recognised and decoded.
pub trait BodyFormat: Send + Sync + 'static {
    const CONTENT_TYPE: &'static str;
    fn accepts(content_type: &mime::Mime) -> bool;
    /// The error for a body of another content type.
    fn wrong_type(got: &str) -> ApiError;
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError>;
}

/// A decoded body of format `F`.
pub struct Body<T, F>(pub T, PhantomData<F>);

pub type JsonBody<T> = Body<T, Json>;
pub type FormBody<T> = Body<T, Form>;

pub struct Json;

impl BodyFormat for Json {
    const CONTENT_TYPE: &'static str = "application/json";

    fn accepts(m: &mime::Mime) -> bool {
        m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
    }

    fn wrong_type(got: &str) -> ApiError {
        ApiError::unsupported_media_type(format!("expected application/json, got {got}"))
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        // Every JSON body of the API is an object.
        let value = serde_path_to_error::deserialize(ObjectOnly(&mut de)).map_err(field_error)?;
        de.end().map_err(|e| ApiError::bad_request(None, format!("invalid JSON body: {e}")))?;
        Ok(value)
    }
}

/// `application/x-www-form-urlencoded`, parsed strictly (see [`form::parse`]).
pub struct Form;

impl BodyFormat for Form {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn accepts(m: &mime::Mime) -> bool {
        m.essence_str() == Self::CONTENT_TYPE
    }

    /// OAuth clients expect `invalid_request` here (RFC 6749), not a 415.
    fn wrong_type(got: &str) -> ApiError {
        ApiError::bad_request(None, format!("the body must be {}, got {got}", Self::CONTENT_TYPE))
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
        let fields = serde_json::Value::Object(form::parse(bytes)?);
        serde_path_to_error::deserialize(fields).map_err(field_error)
    }
}

/// For an optional member: present means a value; `null` is refused like any
/// other wrong type (the document says absent or a value, never null).
/// `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// As [`present`], for a member that is an object: serde would also take a struct
/// from an array of its fields, which the document does not allow.
pub fn present_object<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    struct Object<T>(PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_map(Object(PhantomData))
}

/// Deserializes from a JSON object only: serde would also take a struct from an array.
struct ObjectOnly<D>(D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// A decoding error naming its field (`semantic.threshold`, `tools[2].name`).
fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let field = (path != ".").then_some(path);
    let message = e.into_inner().to_string();
    let description = match &field {
        Some(f) => format!("{f}: {message}"),
        None => format!("invalid body: {message}"),
    };
    ApiError::bad_request(field, description)
}

impl<T: Type, F: BodyFormat> Payload for Body<T, F> {
    const CONTENT_TYPE: &'static str = F::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime::Mime>().is_ok_and(|m| F::accepts(&m))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type + DeserializeOwned + Send, F: BodyFormat> ApiExtractor<'a> for Body<T, F> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: F::CONTENT_TYPE, schema: T::schema_ref() }],
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
            Some(ct) => return Err(F::wrong_type(&format!("{ct:?}")).into()),
            None => return Err(F::wrong_type("no content type").into()),
        }
        // Without the node's state (a route mounted alone), the default limit.
        static DEFAULT_LIMIT: std::sync::LazyLock<usize> =
            std::sync::LazyLock::new(|| crate::config::Settings::default().max_body_bytes);
        let limit = request.data::<AppState>().map_or(*DEFAULT_LIMIT, |s| s.max_body_bytes);
        let bytes = read_limited(body, limit).await?;
        Ok(Body(F::decode(&bytes)?, PhantomData))
    }
}

/// Reads the whole body, refusing more than `limit` bytes (declared or not).
async fn read_limited(body: &mut RequestBody, limit: usize) -> Result<bytes::Bytes, ApiError> {
    body.take().map_err(|e| ApiError::bad_request(None, e.to_string()))?.into_bytes_limit(limit).await.map_err(|e| {
        match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::payload_too_large(limit),
            other => ApiError::bad_request(None, format!("reading the body: {other}")),
        }
    })
}
