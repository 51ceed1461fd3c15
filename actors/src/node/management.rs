//! The management operations of a node: MAS, apps, tools and their embeddings.

use super::*;

impl Node {
    pub async fn create_mas(&self, input: NewMas) -> Result<MasView> {
        let id = Uuid::now_v7();
        let Some(cluster) = &self.cluster else {
            return self.registry_call(|port| RegistryMsg::Create(id, input, port)).await;
        };
        let input = &input;
        self.routed(cluster, id, |route| async move {
            match route {
                Owner::Local => self.registry_call(|port| RegistryMsg::Create(id, input.clone(), port)).await,
                Owner::Remote(owner) => cluster.create_remote(&owner, id, input.clone()).await,
            }
        })
        .await
    }

    pub async fn get_mas(&self, id: Uuid) -> Result<MasView> {
        self.call_mas(id, MasMsg::Get).await
    }

    /// Straight from the store: listing must not start an actor per MAS.
    pub async fn list_mas(&self, name_contains: Option<&str>, page: PageRequest) -> Result<Page<MasView>> {
        let records = self.store.list_mas(name_contains, page).await?;
        let mut items = Vec::with_capacity(records.items.len());
        for mas in records.items {
            let keys = self.store.realm_keys(mas.id).await?;
            let active_kid = crate::realm::Keyring::new(keys).map(|k| k.active().kid.clone()).unwrap_or_default();
            items.push(MasView { mas, active_kid });
        }
        Ok(Page { items, total: records.total, page: records.page, page_size: records.page_size })
    }

    pub async fn update_mas(&self, id: Uuid, patch: MasPatch) -> Result<MasView> {
        self.call_mas(id, |port| MasMsg::Update(Wire(patch.clone()), port)).await
    }

    pub async fn delete_mas(&self, id: Uuid) -> Result<()> {
        self.call_mas(id, MasMsg::Delete).await?;
        // Until the registry has retired it, the actor answers NotFound.
        if let Ok(registry) = self.registry.actor() {
            let _ = registry.cast(RegistryMsg::Retire(id));
        }
        Ok(())
    }

    pub async fn rotate_key(&self, id: Uuid) -> Result<String> {
        self.call_mas(id, MasMsg::RotateKey).await
    }

    pub async fn jwks(&self, id: Uuid) -> Result<serde_json::Value> {
        self.call_mas(id, MasMsg::Jwks).await
    }

    pub async fn list_tools(&self, mas_id: Uuid) -> Result<Vec<ToolEntry>> {
        self.call_mas(mas_id, MasMsg::ListTools).await
    }

    pub async fn create_app(&self, input: NewApp) -> Result<AppWithSecret> {
        // Validated here too, so that only valid tools cost model time.
        let mut input = crate::validate::new_app(input)?;
        self.embed_tools(input.mas_id, &mut input.tools).await?;
        self.call_mas(input.mas_id, |port| MasMsg::CreateApp(Wire(input.clone()), port)).await
    }

    /// Attaches each tool's embedding, for a MAS that runs the semantic check
    /// (others get theirs on first need, if they ever turn it on).
    pub(super) async fn embed_tools(&self, mas_id: Uuid, tools: &mut [ToolDef]) -> Result<()> {
        if self.ai.embedder.is_none() || tools.is_empty() {
            return Ok(());
        }
        let runs = self.store.get_mas(mas_id).await?.is_some_and(|m| m.settings.runs(CheckName::SemanticIntentMatch));
        if !runs {
            return Ok(());
        }
        let texts = tools.iter().map(|t| (intent::tool_digest(t), intent::tool_text(t))).collect();
        for (tool, embedding) in tools.iter_mut().zip(self.tool_embeddings(texts).await?) {
            tool.embedding = Some(embedding);
        }
        Ok(())
    }

    /// Embeddings of tool texts by their definition's digest, from the node's
    /// cache where it has them: a tool offered by many MAS is embedded once.
    pub(super) async fn tool_embeddings(&self, tools: Vec<(String, String)>) -> Result<Vec<intent::Embedding>> {
        if tools.is_empty() {
            return Ok(Vec::new());
        }
        let Some(embedder) = &self.ai.embedder else {
            return Err(CoreError::unavailable("this node has no embedder"));
        };
        let model = embedder.model().to_string();
        let key = |digest: &str| (model.clone(), digest.to_string());
        let mut vectors: Vec<Option<Arc<[f32]>>> =
            tools.iter().map(|(digest, _)| self.tool_vectors.get(&key(digest))).collect();
        let missing: Vec<usize> = (0..tools.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let computed = embedder
                .embed(missing.iter().map(|&i| tools[i].1.clone()).collect())
                .await
                .map_err(|e| CoreError::unavailable(Cause::because("embedding the tools", &e)))?;
            for (&i, vector) in missing.iter().zip(computed) {
                let vector: Arc<[f32]> = vector.into();
                self.tool_vectors.insert(key(&tools[i].0), vector.clone());
                vectors[i] = Some(vector);
            }
        }
        Ok(vectors
            .into_iter()
            .map(|v| intent::Embedding { model: model.clone(), vector: v.expect("every tool embedded").to_vec() })
            .collect())
    }

    pub async fn get_user_input(&self, id: Uuid) -> Result<crate::session::UserInput> {
        let not_found = || CoreError::not_found("user input", id);
        let mas = self.store.user_input_mas(id).await?.ok_or_else(not_found)?;
        self.store.get_user_input(mas, id).await?.ok_or_else(not_found)
    }

    pub async fn get_app(&self, id: Uuid) -> Result<AppRecord> {
        self.store.get_app(id).await?.ok_or_else(|| CoreError::not_found("app", id))
    }

    pub async fn list_apps(&self, mas_id: Option<Uuid>, page: PageRequest) -> Result<Page<AppRecord>> {
        if let Some(id) = mas_id {
            if self.store.get_mas(id).await?.is_none() {
                return Err(CoreError::not_found("MAS", id));
            }
        }
        Ok(self.store.list_apps(mas_id, page).await?)
    }

    pub async fn update_app(&self, id: Uuid, mut patch: AppPatch) -> Result<AppRecord> {
        let current = self.get_app(id).await?;
        let mas_id = current.mas_id;
        if patch.tools.is_some() {
            let mut tools =
                crate::validate::patch_app(&current, AppPatch { tools: patch.tools.take(), ..Default::default() })?
                    .tools;
            self.embed_tools(mas_id, &mut tools).await?;
            patch.tools = Some(tools);
        }
        self.call_mas(mas_id, |port| MasMsg::UpdateApp(AppUpdate { app_id: id, patch: patch.clone() }, port)).await
    }

    pub async fn delete_app(&self, id: Uuid) -> Result<()> {
        let mas_id = self.get_app(id).await?.mas_id;
        self.call_mas(mas_id, |port| MasMsg::DeleteApp(AppId(id), port)).await
    }

    pub async fn rotate_secret(&self, id: Uuid) -> Result<AppWithSecret> {
        let mas_id = self.get_app(id).await?.mas_id;
        self.call_mas(mas_id, |port| MasMsg::RotateSecret(AppId(id), port)).await
    }
}
