//! The token operations of a node: issue, exchange, introspect, revoke, and
//! the embeddings and verdicts an exchange needs from outside the MAS actor.

use super::*;

impl Node {
    /// The MAS of an app, by client id; `invalid_client` for an unknown one.
    /// The app and its MAS are named on the request's span (the HTTP layer
    /// opens it; elsewhere this records nothing).
    pub(super) async fn client_mas(&self, client_id: &str) -> Result<Uuid> {
        let id = Uuid::parse_str(client_id).map_err(|_| OAuthError::InvalidClient)?;
        let mas = match self.client_mas.get(&id) {
            Some(ClientMas::Known(mas)) => mas,
            Some(ClientMas::Unknown(since)) if since.elapsed() < UNKNOWN_CLIENT_TTL => {
                return Err(OAuthError::InvalidClient.into())
            }
            _ => match self.store.get_app(id).await? {
                Some(app) => {
                    self.client_mas.insert(id, ClientMas::Known(app.mas_id));
                    app.mas_id
                }
                None => {
                    self.client_mas.insert(id, ClientMas::Unknown(Instant::now()));
                    return Err(OAuthError::InvalidClient.into());
                }
            },
        };
        let span = tracing::Span::current();
        span.record("client_id", tracing::field::display(id)).record("mas_id", tracing::field::display(mas));
        Ok(mas)
    }

    /// The MAS whose realm a token claims to come from (to be verified there).
    pub(super) fn token_mas(&self, token: &str) -> Option<Uuid> {
        let iss = token::claimed_issuer(token)?;
        let rest = iss.strip_prefix(&self.config.public_url)?.strip_prefix("/realms/")?;
        Uuid::parse_str(rest).ok()
    }

    /// A call on the MAS of `mas_id` where a vanished MAS is the OAuth error `gone`.
    pub(super) async fn call_realm<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
        &self,
        mas_id: Uuid,
        gone: OAuthError,
        build: impl Fn(ractor::RpcReplyPort<Reply<T>>) -> MasMsg,
    ) -> Result<T> {
        self.call_mas(mas_id, build).await.map_err(|e| match e {
            CoreError::NotFound { .. } => gone.into(),
            other => other,
        })
    }

    /// The task of a user input and, when `embed` and the node has an embedder, its intent.
    pub(super) async fn derive_intent(&self, content: &UserInputContent, embed: bool) -> Result<SessionIntent> {
        let extracted = match (&self.ai.extractor, content) {
            (Some(x), UserInputContent::Turns(_)) => match x.extract(content).await {
                Ok(task) => Some(task),
                Err(e) => {
                    tracing::warn!(error = %e, "task extraction failed; using the user turns");
                    None
                }
            },
            _ => None,
        };
        let Some(embedder) = self.ai.embedder.as_ref().filter(|_| embed) else {
            return Ok(SessionIntent::new(extracted.unwrap_or_else(|| intent::task_text(content)), None));
        };
        let (task, embedding) = intent::embed_intent(embedder.as_ref(), content, extracted)
            .await
            .map_err(|e| CoreError::unavailable(Cause::because("embedding the user input", &e)))?;
        Ok(SessionIntent::new(task, Some(embedding)))
    }

    pub async fn issue_token(&self, mut req: IssueRequest) -> Result<IssuedToken> {
        let mas = self.client_mas(&req.client.client_id).await?;
        // The realm asks for the intent only after authenticating the client
        // (strangers get no model time), and only if its checks read it.
        for _ in 0..2 {
            match self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::IssueToken(Wire(req.clone()), p)).await? {
                IssueOutcome::Issued(token) => return Ok(token),
                IssueOutcome::NeedsIntent { embed } => {
                    let raw = req.user_input.as_deref().unwrap_or_default();
                    let content =
                        UserInputContent::parse(raw).map_err(|e| OAuthError::InvalidRequest(e.to_string()))?;
                    req.intent = Some(self.derive_intent(&content, embed).await?);
                }
            }
        }
        Err(CoreError::internal("the issuance asked for the intent twice"))
    }

    /// Computes what the semantic check of an exchange lacks (outside the MAS actor).
    pub(super) async fn embeddings_for(&self, mas_id: Uuid, ask: EmbeddingRequest) -> Result<SuppliedEmbeddings> {
        let intent = match ask.user_input_id {
            Some(id) => Some((id, self.embed_session(mas_id, id).await?)),
            None => None,
        };
        let texts: Vec<(String, String)> = ask.tools.iter().map(|t| (t.digest.clone(), t.text.clone())).collect();
        let vectors = self.tool_embeddings(texts).await?;
        Ok(SuppliedEmbeddings { intent, tools: ask.tools.into_iter().zip(vectors).collect() })
    }

    /// A stored session's task and intent, derived now and stored with it
    /// (best effort: a session whose write failed is embedded again on its next need).
    pub(super) async fn embed_session(&self, mas_id: Uuid, id: Uuid) -> Result<SessionIntent> {
        let started = Instant::now();
        let input =
            self.store.get_user_input(mas_id, id).await?.ok_or_else(|| CoreError::not_found("user input", id))?;
        let intent = self.derive_intent(&input.content, true).await?;
        let updated =
            crate::session::UserInput { task: Some(intent.task.clone()), intent: intent.embedding.clone(), ..input };
        if let Err(e) = self.store.put_user_input(&updated).await {
            tracing::warn!(mas_id = %mas_id, error = %e, "could not store a session's intent");
        }
        metrics::histogram!(crate::telemetry::FIRST_NEED_INTENT.name).record(started.elapsed().as_secs_f64());
        Ok(intent)
    }

    /// The judge's verdict on each tool, from the cache where it has one.
    pub(super) async fn judge_all(&self, req: &JudgeRequest) -> Vec<ToolJudgement> {
        let ttl = self.ai.judge_cache_ttl;
        let ask = req.tools.iter().map(|tool| async move {
            let key = (req.intent_digest.clone(), tool.digest.clone());
            let cached = self.verdicts.get(&key).filter(|(_, at)| at.elapsed() < ttl);
            let verdict = match (cached, &self.ai.judge) {
                (Some((j, _)), _) => Ok(j),
                (None, None) => Err(AiError::Unavailable("no LLM verifier is configured on this node".into())),
                (None, Some(judge)) => {
                    let verdict = judge.judge(&req.task, &tool.name, &tool.description).await;
                    if let Ok(j) = &verdict {
                        self.verdicts.insert(key, (j.clone(), Instant::now()));
                    }
                    verdict
                }
            };
            ToolJudgement { tool: tool.name.clone(), verdict }
        });
        futures::future::join_all(ask).await
    }

    pub async fn exchange(
        &self,
        client: ClientCredentials,
        subject_token: String,
        actor_token: Option<String>,
        tools: Vec<String>,
        audience: Option<String>,
    ) -> Result<IssuedToken> {
        let client_mas = self.client_mas(&client.client_id).await?;
        let not_ours = || OAuthError::InvalidGrant("subject_token: not a token of this server".into());
        let token_mas = self.token_mas(&subject_token).ok_or_else(not_ours)?;
        let actor = if client_mas == token_mas {
            ExchangeActor::Local(client)
        } else {
            // Authenticated by its own MAS; the token's realm then refuses it as foreign.
            let client_id = self
                .call_realm(client_mas, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(client.clone()), p))
                .await?;
            ExchangeActor::Foreign { client_id, mas_id: client_mas }
        };
        let mut req =
            ExchangeRequest { actor, subject_token, actor_token, tools, audience, judgements: None, embeddings: None };
        // At most three rounds: embeddings missing (first need), the judge's verdicts, the decision.
        // One more in case a tool changed between them.
        for _ in 0..4 {
            match self.call_realm(token_mas, not_ours(), |p| MasMsg::Exchange(Wire(req.clone()), p)).await? {
                ExchangeOutcome::Issued(token) => return Ok(token),
                ExchangeOutcome::NeedsJudgement(ask) => req.judgements = Some(self.judge_all(&ask).await),
                ExchangeOutcome::NeedsEmbeddings(ask) => {
                    req.embeddings = Some(self.embeddings_for(token_mas, ask).await?);
                }
            }
        }
        Err(CoreError::unavailable("the exchange kept asking for embeddings"))
    }

    /// `caller`: `None` for the admin, else the app's credentials.
    pub async fn introspect(
        &self,
        caller: Option<ClientCredentials>,
        token: String,
        tools: Option<Vec<String>>,
    ) -> Result<Introspection> {
        let caller_mas = match &caller {
            Some(c) => Some(self.client_mas(&c.client_id).await?),
            None => None,
        };
        let Some(token_mas) = self.token_mas(&token) else {
            if let (Some(c), Some(m)) = (&caller, caller_mas) {
                self.call_realm(m, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(c.clone()), p)).await?;
            }
            return Ok(Introspection::default());
        };
        let caller = match (caller, caller_mas) {
            (None, _) => Introspector::Admin,
            (Some(c), Some(m)) if m == token_mas => Introspector::App(c),
            (Some(c), Some(m)) => {
                self.call_realm(m, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(c.clone()), p)).await?;
                Introspector::Foreign
            }
            (Some(_), None) => unreachable!("an app caller always has a MAS"),
        };
        let req = IntrospectRequest { caller, token, tools };
        match self.call_mas(token_mas, |p| MasMsg::Introspect(Wire(req.clone()), p)).await {
            Err(CoreError::NotFound { .. }) => Ok(Introspection::default()),
            other => other,
        }
    }

    pub async fn revoke(&self, client: ClientCredentials, token: String) -> Result<()> {
        let mas = self.client_mas(&client.client_id).await?;
        let req = RevokeRequest { client, token };
        self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::Revoke(Wire(req.clone()), p)).await
    }

    pub async fn admin_revoke(&self, mas_id: Uuid, req: AdminRevokeRequest) -> Result<AdminRevoked> {
        self.call_mas(mas_id, |p| MasMsg::AdminRevoke(Wire(req.clone()), p)).await
    }

    /// Evidence of an LLM call, from an app of the session's MAS (which authenticates it first).
    pub async fn record_llm_call(&self, report: LlmCallReport) -> Result<LlmCallRecorded> {
        let mas = self.client_mas(&report.client.client_id).await?;
        self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::RecordLlmCall(Wire(report.clone()), p)).await
    }
}
