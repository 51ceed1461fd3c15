//! The MAS actors running on this node, readable by every request without a
//! trip through the registry's mailbox. The registry is the only writer: it
//! publishes an actor when it starts one and withdraws it when it stops it;
//! requests read here and note that they used it, which is what idle
//! eviction goes by. A MAS not listed (cold, loading, unknown, or not ours in
//! a cluster) is the registry's to answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ractor::{ActorId, ActorRef};
use uuid::Uuid;

use crate::mas::MasMsg;

/// One running MAS actor and when a request last used it.
pub struct Published {
    pub actor: ActorRef<MasMsg>,
    /// Milliseconds since the directory's epoch.
    used_ms: AtomicU64,
}

pub struct RunningActors {
    actors: RwLock<HashMap<Uuid, Arc<Published>>>,
    epoch: Instant,
}

impl Default for RunningActors {
    fn default() -> Self {
        Self { actors: RwLock::default(), epoch: Instant::now() }
    }
}

impl RunningActors {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The running actor of `mas`, noted as used now.
    pub fn get(&self, mas: Uuid) -> Option<ActorRef<MasMsg>> {
        let actors = self.actors.read().unwrap_or_else(|p| p.into_inner());
        let published = actors.get(&mas)?;
        published.touch(self.now_ms());
        Some(published.actor.clone())
    }

    /// Lists a started actor (replacing the one it restarts), used now.
    pub fn publish(&self, mas: Uuid, actor: ActorRef<MasMsg>) -> Arc<Published> {
        let published = Arc::new(Published { actor, used_ms: AtomicU64::new(self.now_ms()) });
        self.actors.write().unwrap_or_else(|p| p.into_inner()).insert(mas, published.clone());
        published
    }

    /// Withdraws `mas` if `actor` is the one listed (not a successor started since).
    pub fn withdraw(&self, mas: Uuid, actor: ActorId) {
        let mut actors = self.actors.write().unwrap_or_else(|p| p.into_inner());
        if actors.get(&mas).is_some_and(|p| p.actor.get_id() == actor) {
            actors.remove(&mas);
        }
    }

    /// Withdraws everything (a registry starting afresh knows no actor).
    pub fn clear(&self) {
        self.actors.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How long ago a request last used `published`.
    pub fn idle_for(&self, published: &Published) -> Duration {
        Duration::from_millis(self.now_ms().saturating_sub(published.used_ms.load(Ordering::Relaxed)))
    }

    /// Notes a use of `published` now.
    pub fn touch(&self, published: &Published) {
        published.touch(self.now_ms());
    }
}

impl Published {
    fn touch(&self, now_ms: u64) {
        // A load first: a hot MAS is touched by every request on every core,
        // and most of them find the same millisecond already there.
        if self.used_ms.load(Ordering::Relaxed) != now_ms {
            self.used_ms.store(now_ms, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use ractor::{Actor, ActorProcessingErr};

    use super::*;

    /// An actor that takes MAS messages and does nothing with them.
    struct Silent;

    impl Actor for Silent {
        type Msg = MasMsg;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<MasMsg>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
    }

    async fn actor() -> ActorRef<MasMsg> {
        Actor::spawn(None, Silent, ()).await.unwrap().0
    }

    #[tokio::test]
    async fn withdrawing_a_replaced_actor_keeps_its_successor() {
        let running = RunningActors::default();
        let mas = Uuid::now_v7();
        let (old, new) = (actor().await, actor().await);
        running.publish(mas, old.clone());
        running.publish(mas, new.clone());
        // The old actor's stop is heard after its successor started.
        running.withdraw(mas, old.get_id());
        assert_eq!(running.get(mas).map(|a| a.get_id()), Some(new.get_id()));
        running.withdraw(mas, new.get_id());
        assert!(running.get(mas).is_none());
        assert!(running.get(Uuid::now_v7()).is_none(), "another MAS");
    }

    #[tokio::test]
    async fn a_request_resets_the_idle_time_and_clear_forgets_everything() {
        let running = RunningActors::default();
        let mas = Uuid::now_v7();
        let published = running.publish(mas, actor().await);
        std::thread::sleep(Duration::from_millis(30));
        assert!(running.idle_for(&published) >= Duration::from_millis(30));
        running.get(mas).unwrap();
        assert!(running.idle_for(&published) < Duration::from_millis(30));
        running.clear();
        assert!(running.get(mas).is_none());
    }
}
