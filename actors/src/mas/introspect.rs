//! Token introspection (RFC 7662): what a caller may learn of a token.

use std::time::Instant;

use super::tokens::now;
use super::{CoreResult, MasState};
use crate::oauth::{IntrospectRequest, Introspection, Introspector};
use crate::token::{self, Claims};
use crate::trace::EventKind;

/// The answer for a valid token: active with its claims if the caller may
/// see it (the admin, its audience or its subject) and it has every tool
/// asked about; otherwise inactive, indistinguishable from an unknown token.
pub fn answer(claims: &Claims, caller: Option<&str>, wanted: Option<&[String]>, mas_id: &str) -> Introspection {
    let visible = caller.is_none_or(|c| c == claims.aud || c == claims.sub);
    let has_tools = wanted.is_none_or(|want| want.iter().all(|t| claims.tools.contains(t)));
    if !visible || !has_tools {
        return Introspection::default();
    }
    let c = claims.clone();
    Introspection {
        active: true,
        sub: Some(c.sub),
        client_id: Some(c.client_id),
        scope: Some(c.scope),
        tools: Some(c.tools),
        act: c.act,
        aud: Some(c.aud),
        iss: Some(c.iss),
        exp: Some(c.exp),
        iat: Some(c.iat),
        nbf: Some(c.nbf),
        jti: Some(c.jti),
        uiid: Some(c.uiid),
        mas_id: Some(mas_id.to_string()),
        parent: c.parent,
    }
}

impl MasState {
    pub(crate) fn introspect(&mut self, req: IntrospectRequest) -> CoreResult<Introspection> {
        let started = Instant::now();
        let caller = match &req.caller {
            Introspector::Admin => None,
            Introspector::App(creds) => Some(self.authenticate(creds)?.client_id.clone()),
            Introspector::Foreign => return Ok(Introspection::default()),
        };
        let inactive = Introspection::default();
        let Ok(claims) = self.validate(&req.token, now()) else {
            return Ok(self.traced_introspection(inactive, &req.token, started));
        };
        let answer = answer(&claims, caller.as_deref(), req.tools.as_deref(), &self.mas.id.to_string());
        Ok(self.traced_introspection(answer, &req.token, started))
    }

    fn traced_introspection(&self, answer: Introspection, token: &str, started: Instant) -> Introspection {
        let mut event = self.event(EventKind::Introspection { active: answer.active });
        event.jti = answer.jti.clone();
        event.user_input_id = answer.uiid.clone();
        event.token_digest = Some(token::digest(token));
        self.emit(event, started);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "http://casa.test/realms/m".into(),
            sub: "client".into(),
            aud: "server".into(),
            client_id: "agent".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            jti: "jti".into(),
            scope: "tool-scoped".into(),
            uiid: "session".into(),
            tools: vec!["fs:read".into(), "fs:write".into()],
            act: None,
            parent: Some("parent".into()),
            lineage: vec!["parent".into()],
        }
    }

    /// (case, caller, tools asked about, active)
    type Case<'a> = (&'a str, Option<&'a str>, Option<Vec<String>>, bool);

    #[test]
    fn only_the_admin_the_audience_and_the_subject_see_a_token_with_the_tools_asked() {
        let tools = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: [Case; 8] = [
            ("admin", None, None, true),
            ("audience", Some("server"), None, true),
            ("subject", Some("client"), None, true),
            ("the actor itself is neither", Some("agent"), None, false),
            ("another app", Some("other"), None, false),
            ("tools it has", Some("server"), Some(tools(&["fs:read"])), true),
            ("all its tools", None, Some(tools(&["fs:write", "fs:read"])), true),
            ("a tool it lacks", Some("server"), Some(tools(&["fs:read", "web:search"])), false),
        ];
        for (case, caller, wanted, active) in cases {
            let a = answer(&claims(), caller, wanted.as_deref(), "mas");
            assert_eq!(a.active, active, "{case}");
            if active {
                assert_eq!(a.jti.as_deref(), Some("jti"), "{case}");
                assert_eq!(a.mas_id.as_deref(), Some("mas"), "{case}");
                assert_eq!(a.parent.as_deref(), Some("parent"), "{case}");
                assert_eq!(a.tools.as_deref(), Some(&claims().tools[..]), "{case}");
            } else {
                assert_eq!(a, Introspection::default(), "{case}: an inactive answer says nothing more");
            }
        }
    }
}
