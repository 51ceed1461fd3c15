//! The OAuth endpoints: token (client credentials and RFC 8693 exchange),
//! exchange, introspection (RFC 7662) and revocation (RFC 7009).
//! Requests are forms; answers and errors are RFC-shaped JSON.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use casa_actors::oauth::*;
use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::body::FormBody;
use super::error::ApiError;
use super::{ApiTags, AppState};

/// Parameters of `POST /oauth/token` and `POST /oauth/token/exchange`.
/// Client authentication: HTTP Basic, or `client_id` + `client_secret` here.
#[derive(Debug, Clone, Default, Object, Deserialize)]
pub struct TokenForm {
    /// `client_credentials` or `urn:ietf:params:oauth:grant-type:token-exchange`.
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The user's prompt: plain text, or a JSON array of `{role, content}` turns.
    pub user_input: Option<String>,
    /// An existing session to issue another token for.
    pub user_input_id: Option<String>,
    /// Space-separated tool names.
    pub tools: Option<String>,
    /// Space-separated; for an exchange, `tool:<name>` entries name tools.
    pub scope: Option<String>,
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    /// RFC 8707: the tool server (its app id or base URL).
    pub resource: Option<String>,
    /// RFC 8693: the tool server (its app id or base URL).
    pub audience: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    /// The session the token serves.
    pub user_input_id: String,
    /// For exchanges: `urn:ietf:params:oauth:token-type:access_token`.
    #[oai(skip_serializing_if_is_none)]
    pub issued_token_type: Option<String>,
    /// For exchanges: the approved tools.
    #[oai(skip_serializing_if_is_none)]
    pub tools: Option<Vec<String>>,
}

#[derive(ApiResponse)]
pub enum TokenIssued {
    /// Not to be cached (RFC 6749 section 5.1).
    #[oai(status = 200)]
    Ok(Json<TokenResponse>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
}

impl TokenIssued {
    fn new(t: IssuedToken, exchanged: bool) -> Self {
        let body = TokenResponse {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
            scope: t.scope,
            user_input_id: t.user_input_id,
            issued_token_type: exchanged.then(|| TOKEN_TYPE_ACCESS_TOKEN.to_string()),
            tools: exchanged.then_some(t.tools),
        };
        Self::Ok(Json(body), "no-store".into(), "no-cache".into())
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
pub struct IntrospectForm {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    /// Space-separated: active only if every one is in the token's `tools`.
    pub tools: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// RFC 7662 answer; an inactive token shows nothing but `active: false`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IntrospectionResponse {
    pub active: bool,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub tools: Option<Vec<String>>,
    /// The actor chain (RFC 8693), newest outermost.
    pub act: Option<serde_json::Value>,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
    pub uiid: Option<String>,
    pub mas_id: Option<String>,
    pub parent: Option<String>,
    /// Always `Bearer` for an active token.
    pub token_type: Option<String>,
}

impl From<Introspection> for IntrospectionResponse {
    fn from(i: Introspection) -> Self {
        Self {
            active: i.active,
            token_type: i.active.then(|| "Bearer".to_string()),
            sub: i.sub,
            client_id: i.client_id,
            scope: i.scope,
            tools: i.tools,
            act: i.act.map(|a| serde_json::to_value(a).expect("act encodes")),
            aud: i.aud,
            iss: i.iss,
            exp: i.exp,
            iat: i.iat,
            nbf: i.nbf,
            jti: i.jti,
            uiid: i.uiid,
            mas_id: i.mas_id,
            parent: i.parent,
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
pub struct RevokeForm {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(ApiResponse)]
pub enum Revoked {
    /// Revoked, or nothing to revoke (RFC 7009 answers 200 for an invalid token too).
    #[oai(status = 200)]
    Ok,
}

/// The `Authorization` header's scheme and value, when there is one.
fn authorization(req: &Request) -> Option<(String, String)> {
    let header = req.header(poem::http::header::AUTHORIZATION)?;
    let (scheme, value) = header.split_once(' ')?;
    Some((scheme.to_ascii_lowercase(), value.trim().to_string()))
}

/// HTTP Basic client credentials (RFC 6749 section 2.3.1: each part form-encoded).
fn basic_credentials(value: &str) -> Result<ClientCredentials, ApiError> {
    let invalid = || ApiError::from(OAuthError::InvalidClient);
    let decoded = STANDARD.decode(value).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| {
        super::form::parse(format!("v={s}").as_bytes()).ok().and_then(|m| m["v"].as_str().map(str::to_string))
    };
    Ok(ClientCredentials {
        client_id: unescape(id).ok_or_else(invalid)?,
        client_secret: unescape(secret).ok_or_else(invalid)?,
    })
}

/// Client authentication: exactly one of HTTP Basic or the form fields.
fn client_credentials(
    req: &Request,
    id: Option<String>,
    secret: Option<String>,
) -> Result<ClientCredentials, ApiError> {
    let basic = match authorization(req) {
        Some((scheme, value)) if scheme == "basic" => Some(basic_credentials(&value)?),
        _ => None,
    };
    match (basic, id, secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            Err(OAuthError::InvalidRequest("use one client authentication method, not two".into()).into())
        }
        (Some(creds), None, None) => Ok(creds),
        (None, Some(client_id), Some(client_secret)) => Ok(ClientCredentials { client_id, client_secret }),
        _ => Err(OAuthError::InvalidClient.into()),
    }
}

fn words(value: Option<&str>) -> Vec<String> {
    value.map(|v| v.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

fn required(value: Option<String>, name: &str) -> Result<String, ApiError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")).into())
}

impl TokenForm {
    fn into_issue(self, client: ClientCredentials) -> IssueRequest {
        let tools = self.tools.as_deref().map(|t| words(Some(t)));
        IssueRequest { client, user_input: self.user_input, user_input_id: self.user_input_id, tools, intent: None }
    }
}

#[derive(Default)]
pub struct OAuthApi;

impl OAuthApi {
    async fn exchange(&self, state: &AppState, req: &Request, form: TokenForm) -> Result<TokenIssued, ApiError> {
        let client = client_credentials(req, form.client_id.clone(), form.client_secret.clone())?;
        let subject_token = required(form.subject_token, "subject_token")?;
        if required(form.subject_token_type, "subject_token_type")? != TOKEN_TYPE_ACCESS_TOKEN {
            return Err(
                OAuthError::InvalidRequest(format!("subject_token_type must be {TOKEN_TYPE_ACCESS_TOKEN}")).into()
            );
        }
        if form.actor_token.is_some() && form.actor_token_type.as_deref() != Some(TOKEN_TYPE_ACCESS_TOKEN) {
            return Err(
                OAuthError::InvalidRequest(format!("actor_token_type must be {TOKEN_TYPE_ACCESS_TOKEN}")).into()
            );
        }
        if form.requested_token_type.as_deref().is_some_and(|t| t != TOKEN_TYPE_ACCESS_TOKEN) {
            return Err(OAuthError::InvalidRequest(format!("only {TOKEN_TYPE_ACCESS_TOKEN} can be requested")).into());
        }
        let mut tools = words(form.tools.as_deref());
        for entry in words(form.scope.as_deref()) {
            match entry.strip_prefix("tool:") {
                Some(tool) => tools.push(tool.to_string()),
                None => {
                    return Err(OAuthError::InvalidScope(format!("{entry:?}: scope entries are tool:<name>")).into())
                }
            }
        }
        let audience = match (form.resource, form.audience) {
            (Some(r), Some(a)) if r != a => {
                return Err(OAuthError::InvalidTarget("resource and audience name different servers".into()).into())
            }
            (r, a) => r.or(a).filter(|v| !v.is_empty()),
        };
        let issued = state.node.exchange(client, subject_token, form.actor_token, tools, audience).await?;
        Ok(TokenIssued::new(issued, true))
    }
}

/// Puts the decision on the request's span, so the request's log line says it.
fn decided(result: Result<TokenIssued, ApiError>, granted: &'static str) -> Result<TokenIssued, ApiError> {
    let decision = match &result {
        Ok(_) => granted,
        Err(ApiError::Forbidden(_)) => "denied",
        Err(_) => "rejected",
    };
    tracing::Span::current().record("decision", decision);
    result
}

#[OpenApi(tag = "ApiTags::OAuth")]
impl OAuthApi {
    /// Token endpoint: `client_credentials` issues an initial token for a user input;
    /// the RFC 8693 token-exchange grant does what `/oauth/token/exchange` does.
    #[oai(path = "/oauth/token", method = "post", operation_id = "token")]
    async fn token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        form: FormBody<TokenForm>,
    ) -> Result<TokenIssued, ApiError> {
        let form = form.0;
        match form.grant_type.as_deref() {
            Some(GRANT_CLIENT_CREDENTIALS) => {
                let client = client_credentials(req, form.client_id.clone(), form.client_secret.clone())?;
                let issued = state.node.issue_token(form.into_issue(client)).await;
                decided(issued.map(|i| TokenIssued::new(i, false)).map_err(Into::into), "issued")
            }
            Some(GRANT_TOKEN_EXCHANGE) => decided(self.exchange(&state, req, form).await, "allowed"),
            Some(other) => Err(OAuthError::UnsupportedGrantType(format!("{other:?} is not supported")).into()),
            None => Err(OAuthError::InvalidRequest("grant_type is required".into()).into()),
        }
    }

    /// Exchange a token for a delegated, tool-scoped one (RFC 8693). The authenticated
    /// app is the actor; 403 `access_denied` lists each refused tool with its reason.
    #[oai(path = "/oauth/token/exchange", method = "post", operation_id = "exchangeToken")]
    async fn token_exchange(
        &self,
        state: Data<&AppState>,
        req: &Request,
        form: FormBody<TokenForm>,
    ) -> Result<TokenIssued, ApiError> {
        match form.0.grant_type.as_deref() {
            None | Some(GRANT_TOKEN_EXCHANGE) => decided(self.exchange(&state, req, form.0).await, "allowed"),
            Some(other) => {
                Err(OAuthError::UnsupportedGrantType(format!("{other:?}: this endpoint only exchanges tokens")).into())
            }
        }
    }

    /// Token introspection (RFC 7662), by an app of the token's MAS (HTTP Basic or form
    /// credentials) or the admin (`Authorization: Bearer <admin token>`).
    #[oai(path = "/oauth/introspect", method = "post", operation_id = "introspect")]
    async fn introspect(
        &self,
        state: Data<&AppState>,
        req: &Request,
        form: FormBody<IntrospectForm>,
    ) -> Result<Json<IntrospectionResponse>, ApiError> {
        let form = form.0;
        let caller = match authorization(req) {
            Some((scheme, token)) if scheme == "bearer" => {
                if !state.admin.verify(&token) {
                    return Err(ApiError::unauthorized());
                }
                None
            }
            _ => Some(client_credentials(req, form.client_id, form.client_secret)?),
        };
        let token = required(form.token, "token")?;
        let tools = form.tools.as_deref().map(|t| words(Some(t)));
        Ok(Json(state.node.introspect(caller, token, tools).await?.into()))
    }

    /// Token revocation (RFC 7009): revokes the token and every token exchanged from it.
    #[oai(path = "/oauth/revoke", method = "post", operation_id = "revoke")]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        req: &Request,
        form: FormBody<RevokeForm>,
    ) -> Result<Revoked, ApiError> {
        let form = form.0;
        let client = client_credentials(req, form.client_id, form.client_secret)?;
        let token = required(form.token, "token")?;
        state.node.revoke(client, token).await?;
        Ok(Revoked::Ok)
    }
}
