//! The tab's one [`Reputation`]: loaded from `localStorage["chiral.reputation"]` at first
//! use, fed by every torrent's [`Swarm::take_evidence`] on its tick, handed back to each
//! swarm when it changed ([`Swarm::use_standings`]), and saved at most every
//! [`SAVE_EVERY_MS`] while it has unsaved evidence.
//!
//! Two clocks: the store runs on wall-clock ms (`Date.now()`, so decay and avoid periods
//! survive reloads), the swarms on `performance.now()`; standings are taken on the first
//! and handed to the swarm with its own time.

use std::cell::RefCell;

use crate::reputation::{Reputation, ReputationConfig, Standing, Subject};
use crate::swarm::Swarm;
use crate::tracker::Id20;

/// Where the store is kept between visits.
pub const STORAGE_KEY: &str = "chiral.reputation";
/// Unsaved evidence is written at most this often (ms).
pub const SAVE_EVERY_MS: f64 = 10_000.0;

struct Store {
    rep: Reputation,
    /// Bumped on new evidence; a swarm that saw an older one is handed the view again.
    generation: u64,
    dirty: bool,
    saved_at: f64,
}

thread_local! {
    static STORE: RefCell<Option<Store>> = const { RefCell::new(None) };
}

fn wall_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn with<R>(f: impl FnOnce(&mut Store) -> R) -> R {
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let store = s.get_or_insert_with(|| {
            let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
            let (rep, error) = Reputation::load_or_empty(stored.as_deref(), ReputationConfig::default());
            if let Some(e) = error {
                tracing::warn!("reputation starts empty: {e}");
            }
            Store { rep, generation: 1, dirty: false, saved_at: wall_ms() }
        });
        f(store)
    })
}

/// Drains `swarm`'s evidence into the store, hands the swarm the store's view when it
/// changed since `seen` (the generation it last had; 0 for never), saves when due, and
/// returns the generation the swarm now has. `swarm_now`: the swarm's clock.
pub(super) fn exchange(swarm: &mut Swarm, seen: u64, swarm_now: u64) -> u64 {
    let evidence = swarm.take_evidence();
    with(|store| {
        let now = wall_ms();
        if !evidence.is_empty() {
            for (subject, e) in &evidence {
                store.rep.record(subject, *e, now as u64);
            }
            store.generation += 1;
            store.dirty = true;
        }
        if seen != store.generation {
            swarm.use_standings(store.rep.standings(now as u64), swarm_now);
        }
        if store.dirty && now - store.saved_at >= SAVE_EVERY_MS {
            if let Some(s) = storage() {
                if let Err(e) = s.set_item(STORAGE_KEY, &store.rep.to_json()) {
                    tracing::warn!("cannot save reputation: {}", crate::browser::js_message(&e));
                }
            }
            store.dirty = false;
            store.saved_at = now;
        }
        store.generation
    })
}

/// What the tab thinks of a BitTorrent peer id now.
pub(super) fn standing(id: &Id20) -> Standing {
    with(|store| store.rep.standing(&Subject::peer_id20(id), wall_ms() as u64))
}
