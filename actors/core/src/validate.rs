//! Input validation: every rule names the field it guards, so API errors can
//! tell the caller exactly what to fix.

use std::collections::BTreeSet;

use crate::error::CoreError;
use crate::model::*;

type Result<T> = std::result::Result<T, CoreError>;

pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_TOOL_NAME_CHARS: usize = 128;
pub const MAX_TOOLS_PER_LIST: usize = 1024;
pub const MAX_TTL_SECONDS: u32 = 86_400;
pub const MAX_DELEGATION_DEPTH: u32 = 32;
pub const MAX_SESSIONS_PER_APP_PER_SECOND: u32 = 1_000_000;
pub const MAX_TOP_K: u32 = 1000;
pub const MAX_INPUT_SCHEMA_BYTES: usize = 64 * 1024;
pub const MAX_LLM_EVIDENCE_APPS: usize = 64;

/// A display name: trimmed, 1–128 characters, no control characters.
pub fn name(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(CoreError::invalid(field, format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(CoreError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

fn description(field: &str, value: Option<String>) -> Result<Option<String>> {
    match value {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            Err(CoreError::invalid(field, format!("must be at most {MAX_DESCRIPTION_CHARS} characters")))
        }
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Tool names: 1–128 characters of letters, digits and `_ - . : /`.
pub fn is_tool_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_TOOL_NAME_CHARS
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b))
}

fn tool_names(field: &str, names: Vec<String>) -> Result<Vec<String>> {
    if names.len() > MAX_TOOLS_PER_LIST {
        return Err(CoreError::invalid(field, format!("at most {MAX_TOOLS_PER_LIST} entries")));
    }
    let mut seen = BTreeSet::new();
    for (i, n) in names.iter().enumerate() {
        if !is_tool_name(n) {
            return Err(CoreError::invalid(
                &format!("{field}[{i}]"),
                "tool names are 1-128 characters of letters, digits and _ - . : /",
            ));
        }
        seen.insert(n.clone());
    }
    // Keep the caller's order, drop repeats.
    let mut out = Vec::with_capacity(seen.len());
    for n in names {
        if seen.remove(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

fn checks(field: &str, enabled: Vec<CheckName>, caps: Capabilities) -> Result<Vec<CheckName>> {
    let set: BTreeSet<CheckName> = enabled.into_iter().collect();
    for check in &set {
        let missing = match check {
            CheckName::SemanticIntentMatch if !caps.embedder => Some("an embedding model"),
            CheckName::AiPoweredToolMatch if !caps.llm_verifier => Some("an LLM verifier"),
            _ => None,
        };
        if let Some(what) = missing {
            return Err(CoreError::invalid(
                field,
                format!("{} needs {what}, and none is configured on this node", check.as_str()),
            ));
        }
    }
    Ok(set.into_iter().collect())
}

fn semantic(input: SemanticInput) -> Result<SemanticSettings> {
    let threshold = input.threshold.unwrap_or(DEFAULT_SEMANTIC_THRESHOLD);
    if !threshold.is_finite() || !(-1.0..=1.0).contains(&threshold) {
        return Err(CoreError::invalid("semantic.threshold", "must be between -1.0 and 1.0"));
    }
    if let Some(k) = input.top_k {
        if k == 0 || k > MAX_TOP_K {
            return Err(CoreError::invalid("semantic.top_k", format!("must be between 1 and {MAX_TOP_K}")));
        }
    }
    if let Some(p) = input.min_probability {
        if !p.is_finite() || !(0.0..=1.0).contains(&p) {
            return Err(CoreError::invalid("semantic.min_probability", "must be between 0.0 and 1.0"));
        }
    }
    Ok(SemanticSettings { threshold, top_k: input.top_k, min_probability: input.min_probability })
}

fn bounded(field: &str, value: u32, min: u32, max: u32) -> Result<u32> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(CoreError::invalid(field, format!("must be between {min} and {max}")))
    }
}

pub fn new_mas(input: NewMas, caps: Capabilities) -> Result<MasSettings> {
    let defaults = MasPatch {
        name: Some(input.name),
        description: input.description,
        enabled_checks: Some(input.enabled_checks.unwrap_or_else(|| vec![CheckName::DeterministicToolSelected])),
        shadow_checks: input.shadow_checks,
        llm_evidence_apps: input.llm_evidence_apps,
        semantic: Some(input.semantic.unwrap_or_default()),
        token_ttl_seconds: Some(input.token_ttl_seconds.unwrap_or(DEFAULT_TOKEN_TTL_SECONDS)),
        exchanged_token_ttl_seconds: Some(
            input.exchanged_token_ttl_seconds.unwrap_or(DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS),
        ),
        max_delegation_depth: Some(input.max_delegation_depth.unwrap_or(DEFAULT_MAX_DELEGATION_DEPTH)),
        sessions_per_app_per_second: Some(
            input.sessions_per_app_per_second.unwrap_or(DEFAULT_SESSIONS_PER_APP_PER_SECOND),
        ),
    };
    let blank = MasSettings {
        name: String::new(),
        description: None,
        enabled_checks: Vec::new(),
        shadow_checks: Vec::new(),
        llm_evidence_apps: Vec::new(),
        semantic: SemanticSettings::default(),
        token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
        exchanged_token_ttl_seconds: DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS,
        max_delegation_depth: DEFAULT_MAX_DELEGATION_DEPTH,
        sessions_per_app_per_second: DEFAULT_SESSIONS_PER_APP_PER_SECOND,
    };
    patch_mas(&blank, defaults, caps)
}

pub fn patch_mas(current: &MasSettings, patch: MasPatch, caps: Capabilities) -> Result<MasSettings> {
    let mut next = current.clone();
    if let Some(n) = patch.name {
        next.name = name("name", &n)?;
    }
    if patch.description.is_some() {
        next.description = description("description", patch.description)?;
    }
    if let Some(c) = patch.enabled_checks {
        next.enabled_checks = checks("enabled_checks", c, caps)?;
    }
    if let Some(c) = patch.shadow_checks {
        next.shadow_checks = checks("shadow_checks", c, caps)?;
    }
    if let Some(apps) = patch.llm_evidence_apps {
        if apps.len() > MAX_LLM_EVIDENCE_APPS {
            return Err(CoreError::invalid("llm_evidence_apps", format!("at most {MAX_LLM_EVIDENCE_APPS} apps")));
        }
        let mut seen = BTreeSet::new();
        next.llm_evidence_apps = apps.into_iter().filter(|a| seen.insert(*a)).collect();
    }
    if let Some(s) = patch.semantic {
        next.semantic = semantic(s)?;
    }
    if let Some(both) = next.shadow_checks.iter().find(|c| next.enabled_checks.contains(c)) {
        return Err(CoreError::invalid(
            "shadow_checks",
            format!("{} is also in enabled_checks: a check is enforced or shadowed, not both", both.as_str()),
        ));
    }
    if next.shadow_checks.contains(&CheckName::DeterministicToolSelected) {
        return Err(CoreError::invalid(
            "shadow_checks",
            "DETERMINISTIC_TOOL_SELECTED cannot be shadowed: an exchange never grants a tool outside its subject token",
        ));
    }
    if let Some(t) = patch.token_ttl_seconds {
        next.token_ttl_seconds = bounded("token_ttl_seconds", t, 1, MAX_TTL_SECONDS)?;
    }
    if let Some(t) = patch.exchanged_token_ttl_seconds {
        next.exchanged_token_ttl_seconds = bounded("exchanged_token_ttl_seconds", t, 1, MAX_TTL_SECONDS)?;
    }
    if let Some(d) = patch.max_delegation_depth {
        next.max_delegation_depth = bounded("max_delegation_depth", d, 1, MAX_DELEGATION_DEPTH)?;
    }
    if let Some(q) = patch.sessions_per_app_per_second {
        next.sessions_per_app_per_second =
            bounded("sessions_per_app_per_second", q, 1, MAX_SESSIONS_PER_APP_PER_SECOND)?;
    }
    if next.name.is_empty() {
        return Err(CoreError::invalid("name", "is required"));
    }
    Ok(next)
}

/// An app's base URL: absolute http(s), no credentials, no fragment.
pub fn base_url(value: Option<String>) -> Result<Option<String>> {
    let Some(raw) = value else { return Ok(None) };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > 2048 {
        return Err(CoreError::invalid("base_url", "must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| CoreError::invalid("base_url", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(CoreError::invalid("base_url", "must be an absolute http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(CoreError::invalid("base_url", "must not contain credentials or a fragment"));
    }
    Ok(Some(url.to_string()))
}

fn tools(app_type: AppType, defs: Vec<ToolDef>) -> Result<Vec<ToolDef>> {
    if defs.is_empty() {
        return Ok(defs);
    }
    if app_type != AppType::McpServer {
        return Err(CoreError::invalid("tools", "only an app of type mcp_server serves tools"));
    }
    if defs.len() > MAX_TOOLS_PER_LIST {
        return Err(CoreError::invalid("tools", format!("at most {MAX_TOOLS_PER_LIST} entries")));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(defs.len());
    for (i, def) in defs.into_iter().enumerate() {
        if !is_tool_name(&def.name) {
            return Err(CoreError::invalid(
                &format!("tools[{i}].name"),
                "tool names are 1-128 characters of letters, digits and _ - . : /",
            ));
        }
        if !seen.insert(def.name.clone()) {
            return Err(CoreError::invalid(&format!("tools[{i}].name"), format!("{} is listed twice", def.name)));
        }
        let description = def.description.trim().to_string();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(CoreError::invalid(
                &format!("tools[{i}].description"),
                format!("must be 1 to {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if let Some(schema) = &def.input_schema {
            if !schema.is_object() {
                return Err(CoreError::invalid(&format!("tools[{i}].input_schema"), "must be a JSON object"));
            }
            if serde_json::to_vec(schema).map_or(true, |b| b.len() > MAX_INPUT_SCHEMA_BYTES) {
                return Err(CoreError::invalid(
                    &format!("tools[{i}].input_schema"),
                    format!("must be at most {MAX_INPUT_SCHEMA_BYTES} bytes"),
                ));
            }
        }
        out.push(ToolDef { name: def.name, description, ..def });
    }
    Ok(out)
}

/// The validated parts of a new app (everything but ids and the secret).
pub fn new_app(input: NewApp) -> Result<NewApp> {
    Ok(NewApp {
        mas_id: input.mas_id,
        name: name("name", &input.name)?,
        app_type: input.app_type,
        base_url: base_url(input.base_url)?,
        allowed_tools: tool_names("allowed_tools", input.allowed_tools)?,
        tools: tools(input.app_type, input.tools)?,
    })
}

pub fn patch_app(current: &AppRecord, patch: AppPatch) -> Result<AppRecord> {
    let mut next = current.clone();
    if let Some(n) = patch.name {
        next.name = name("name", &n)?;
    }
    if patch.base_url.is_some() {
        next.base_url = base_url(patch.base_url)?;
    }
    if let Some(t) = patch.allowed_tools {
        next.allowed_tools = tool_names("allowed_tools", t)?;
    }
    if let Some(t) = patch.tools {
        next.tools = tools(next.app_type, t)?;
    }
    Ok(next)
}

pub fn page(page: Option<u32>, page_size: Option<u32>) -> Result<PageRequest> {
    let page = page.unwrap_or(1);
    if page == 0 || page > 1_000_000 {
        return Err(CoreError::invalid("page", "must be between 1 and 1000000"));
    }
    let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(CoreError::invalid("page_size", format!("must be between 1 and {MAX_PAGE_SIZE}")));
    }
    Ok(PageRequest { page, page_size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_contract() {
        for ok in ["filesystem:read", "triangle_properties.get", "a", "x/y-z", &"t".repeat(128)] {
            assert!(is_tool_name(ok), "{ok}");
        }
        for bad in ["", "with space", "émoji", "semi;colon", &"t".repeat(129), "a\nb"] {
            assert!(!is_tool_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn new_mas_takes_documented_defaults() {
        let s = new_mas(NewMas { name: " demo ".into(), ..Default::default() }, Capabilities::default()).unwrap();
        assert_eq!(s.name, "demo");
        assert_eq!(s.enabled_checks, vec![CheckName::DeterministicToolSelected]);
        assert_eq!(s.token_ttl_seconds, DEFAULT_TOKEN_TTL_SECONDS);
        assert_eq!(s.exchanged_token_ttl_seconds, DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS);
        assert_eq!(s.max_delegation_depth, DEFAULT_MAX_DELEGATION_DEPTH);
        assert_eq!(s.semantic, SemanticSettings::default());
    }

    #[test]
    fn semantic_checks_without_an_embedder_are_refused() {
        let input = NewMas {
            name: "m".into(),
            enabled_checks: Some(vec![CheckName::SemanticIntentMatch]),
            ..Default::default()
        };
        let err = new_mas(input.clone(), Capabilities::default()).unwrap_err();
        assert!(matches!(err, CoreError::Invalid { ref field, .. } if field == "enabled_checks"), "{err}");
        let caps = Capabilities { embedder: true, llm_verifier: false };
        assert!(new_mas(input, caps).is_ok());
    }

    #[test]
    fn a_check_is_enforced_or_shadowed_not_both() {
        let caps = Capabilities::default();
        let base = new_mas(NewMas { name: "m".into(), ..Default::default() }, caps).unwrap();
        let llm = CheckName::DeterministicLlmSelectedTools;
        let tool = CheckName::DeterministicToolSelected;
        // (case, enabled, shadowed)
        let refused = [
            ("both lists", Some(vec![tool]), Some(vec![tool])),
            ("shadowing an enforced check", None, Some(vec![tool])),
            ("enforcing a shadowed one", Some(vec![llm]), Some(vec![llm])),
            ("the structural tool check in shadow", Some(vec![]), Some(vec![tool])),
        ];
        for (case, enabled_checks, shadow_checks) in refused {
            let patch = MasPatch { enabled_checks, shadow_checks, ..Default::default() };
            match patch_mas(&base, patch, caps) {
                Err(CoreError::Invalid { field, .. }) => assert_eq!(field, "shadow_checks", "{case}"),
                other => panic!("{case}: {other:?}"),
            }
        }
        let ok = MasPatch { shadow_checks: Some(vec![llm]), ..Default::default() };
        assert_eq!(patch_mas(&base, ok, caps).unwrap().shadow_checks, [llm]);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: Vec<(NewMas, &str)> = vec![
            (NewMas { name: "".into(), ..Default::default() }, "name"),
            (NewMas { name: "x".repeat(129), ..Default::default() }, "name"),
            (NewMas { name: "a\u{0}b".into(), ..Default::default() }, "name"),
            (NewMas { name: "m".into(), token_ttl_seconds: Some(0), ..Default::default() }, "token_ttl_seconds"),
            (NewMas { name: "m".into(), max_delegation_depth: Some(99), ..Default::default() }, "max_delegation_depth"),
            (
                NewMas {
                    name: "m".into(),
                    semantic: Some(SemanticInput { threshold: Some(f64::NAN), top_k: None, min_probability: None }),
                    ..Default::default()
                },
                "semantic.threshold",
            ),
            (
                NewMas {
                    name: "m".into(),
                    semantic: Some(SemanticInput { threshold: None, top_k: None, min_probability: Some(1.5) }),
                    ..Default::default()
                },
                "semantic.min_probability",
            ),
        ];
        for (input, field) in cases {
            match new_mas(input, Capabilities::default()) {
                Err(CoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected invalid {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn base_urls_must_be_plain_http() {
        assert_eq!(base_url(Some("https://mcp.example/x".into())).unwrap().as_deref(), Some("https://mcp.example/x"));
        for bad in ["ftp://x", "not a url", "https://user:pw@host/", "javascript:alert(1)", "http://h/#frag"] {
            assert!(base_url(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_mcp_servers_serve_tools() {
        let tool = ToolDef { name: "fs:read".into(), description: "Read a file".into(), ..Default::default() };
        let mut app = NewApp {
            mas_id: uuid::Uuid::nil(),
            name: "agent".into(),
            app_type: AppType::Agent,
            base_url: None,
            allowed_tools: vec!["fs:read".into(), "fs:read".into()],
            tools: vec![tool.clone()],
        };
        assert!(new_app(app.clone()).is_err());
        app.app_type = AppType::McpServer;
        let ok = new_app(app.clone()).unwrap();
        assert_eq!(ok.allowed_tools, vec!["fs:read".to_string()]);
        app.tools = vec![tool.clone(), tool];
        assert!(new_app(app).is_err());
    }
}
