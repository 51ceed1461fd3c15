//! What the semantic check needs embedded, on first need: a session whose MAS
//! turned the check on after it began has no intent embedding, and tools
//! registered while the MAS did not use the check (or under another model)
//! have none of this node's model. The exchange asks the node for them
//! (`ExchangeOutcome::NeedsEmbeddings`), which runs the model outside this
//! actor; the realm then keeps them. Until they are given it ranks nothing,
//! so a missing embedding is never a silent allow.

use std::collections::BTreeSet;
use std::sync::Arc;

use uuid::Uuid;

use super::{CoreResult, MasState};
use crate::intent;
use crate::oauth::{EmbeddingRequest, SessionIntent, SuppliedEmbeddings, ToolToEmbed};

impl MasState {
    /// What the semantic check lacks for this session; `None` when it has it
    /// all (or this node has no embedder: then the check fails closed).
    pub(super) fn missing_embeddings(&self, uiid: &str, session: Option<&SessionIntent>) -> Option<EmbeddingRequest> {
        let model = self.embedding_model()?;
        let stale = |e: Option<&intent::Embedding>| e.is_none_or(|e| e.model != model);
        // Without a stored session there is nothing to embed: the check fails closed.
        let user_input_id = session.filter(|s| stale(s.embedding.as_ref())).and_then(|_| Uuid::parse_str(uiid).ok());
        let tools: Vec<ToolToEmbed> = self
            .apps
            .values()
            .flat_map(|a| &a.tools)
            .filter(|t| stale(t.embedding.as_ref()))
            .map(|t| ToolToEmbed { name: t.name.clone(), digest: intent::tool_digest(t), text: intent::tool_text(t) })
            .collect();
        (user_input_id.is_some() || !tools.is_empty()).then_some(EmbeddingRequest { user_input_id, tools })
    }

    /// Keeps the embeddings the node computed: a tool's only if its definition
    /// is still the one embedded, the intent only for this session.
    pub(super) async fn accept_embeddings(&mut self, supplied: SuppliedEmbeddings, uiid: &str) -> CoreResult<()> {
        let Some(model) = self.embedding_model().map(str::to_string) else { return Ok(()) };
        let mut changed = BTreeSet::new();
        for (tool, embedding) in supplied.tools.into_iter().filter(|(_, e)| e.model == model) {
            let Some(app) = self.apps.values_mut().find(|a| a.tools.iter().any(|t| t.name == tool.name)) else {
                continue;
            };
            let def = app.tools.iter_mut().find(|t| t.name == tool.name).expect("found above");
            if intent::tool_digest(def) == tool.digest && def.embedding.as_ref() != Some(&embedding) {
                def.embedding = Some(embedding);
                changed.insert(app.id);
            }
        }
        // Stored, so a restart does not embed them again.
        for id in &changed {
            self.store.put_app(&self.apps[id]).await?;
        }
        if !changed.is_empty() {
            self.reindex_tools();
        }
        if let Some((id, intent)) = supplied.intent.filter(|(id, _)| Uuid::parse_str(uiid).ok() == Some(*id)) {
            if intent.embedding.as_ref().is_some_and(|e| e.model == model) {
                self.sessions.insert(id, Arc::new(intent));
            }
        }
        Ok(())
    }
}
