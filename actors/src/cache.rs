//! Caches bounded in bytes: quick_cache (CLOCK-Pro eviction) weighted by each
//! entry's approximate footprint, so a cache stays within its budget whatever
//! its entries hold (a task may be 64 KiB), and a full cache evicts its cold
//! entries instead of emptying itself.

use std::hash::Hash;

use quick_cache::unsync::Cache;
use quick_cache::Weighter;

/// Roughly how many bytes a cached value holds.
pub trait Footprint {
    fn footprint(&self) -> usize;
}

impl<T: Footprint + ?Sized> Footprint for std::sync::Arc<T> {
    fn footprint(&self) -> usize {
        (**self).footprint()
    }
}

impl<T: Footprint> Footprint for Vec<T> {
    fn footprint(&self) -> usize {
        24 + self.iter().map(Footprint::footprint).sum::<usize>()
    }
}

/// A value with its footprint, computed once (the weigher runs on eviction).
#[derive(Clone)]
struct Weighed<V> {
    value: V,
    bytes: u64,
}

impl<V: Footprint> Weighed<V> {
    fn of(value: V) -> Self {
        let bytes = (value.footprint() as u64).max(1);
        Self { value, bytes }
    }
}

#[derive(Clone, Default)]
struct ByFootprint;

impl<K, V> Weighter<K, Weighed<V>> for ByFootprint {
    fn weight(&self, _: &K, v: &Weighed<V>) -> u64 {
        v.bytes
    }
}

/// A single-owner cache (an actor's) of at most `budget` bytes.
pub struct Bounded<K, V> {
    entries: Cache<K, Weighed<V>, ByFootprint>,
    budget: u64,
}

impl<K: Eq + Hash + Clone, V: Footprint + Clone> Bounded<K, V> {
    /// `typical` is an entry's usual footprint: it sizes the index, not the bound.
    pub fn new(budget: usize, typical: usize) -> Self {
        let budget = budget as u64;
        Self { entries: Cache::with_weighter((budget as usize / typical.max(1)).max(16), budget, ByFootprint), budget }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|w| &w.value)
    }

    pub fn insert(&mut self, key: K, value: V) {
        self.entries.insert(key, Weighed::of(value));
    }

    /// The bytes held now (never more than the budget).
    pub fn bytes(&self) -> u64 {
        self.entries.weight()
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }
}

/// [`Bounded`], shared: an actor and the tasks it hands work to (a MAS's
/// tokens are signed off its actor and remembered as verified from there).
pub struct SharedBounded<K, V> {
    entries: quick_cache::sync::Cache<K, Weighed<V>, ByFootprint>,
}

impl<K: Eq + Hash + Clone, V: Footprint + Clone> SharedBounded<K, V> {
    /// `typical` is an entry's usual footprint: it sizes the index, not the bound.
    pub fn new(budget: usize, typical: usize) -> Self {
        let items = (budget / typical.max(1)).max(16);
        Self { entries: quick_cache::sync::Cache::with_weighter(items, budget as u64, ByFootprint) }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.entries.get(key).map(|w| w.value)
    }

    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, Weighed::of(value));
    }

    /// The bytes held now (never more than the budget).
    pub fn bytes(&self) -> u64 {
        self.entries.weight()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Blob(usize);
    impl Footprint for Blob {
        fn footprint(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn a_full_cache_keeps_its_budget_and_its_hot_entries() {
        let mut cache = Bounded::new(10_000, 100);
        cache.insert(0, Blob(100));
        for i in 1..1_000 {
            cache.insert(i, Blob(100));
            assert!(cache.get(&0).is_some(), "the hot entry was evicted at {i}");
            assert!(cache.bytes() <= cache.budget());
        }
        assert!(cache.len() > 50, "a full cache emptied itself: {} entries", cache.len());
        cache.insert(5_000, Blob(20_000));
        assert!(cache.bytes() <= cache.budget(), "an entry over the budget is not kept");
    }
}
