//! The library's state: what this page shares across reloads and restarts. The records are
//! `web_node::browser::library` (IndexedDB), the bytes `web_node::browser::kept_file`
//! (a copy in OPFS, or the user's file by its handle). At load every record is checked
//! and seeded again, and its DHT record republished (at once, on every reconnect, and every
//! TTL/3); upload totals are written back every few seconds. The view is
//! [`crate::library_view`].

use std::time::Duration;

use leptos::prelude::*;

use crate::i18n::t_args;
use leptos::task::spawn_local;
use web_node::browser::kept_file::{self, Check, Permission};
use web_node::browser::library::{Kept, Library as Store, LibraryEntry, Location};
use web_node::browser::p2p::Connection;
use web_node::file_record::DEFAULT_TTL_SECS;
use web_sys::{File, FileSystemFileHandle};

use crate::hashing::Hashed;
use crate::network::Network;
use crate::publish::{publish_file, WITHDRAWN_TTL_SECS};
use crate::transfers::Transfers;
use crate::wallet::Wallet;

/// How often upload totals are written back.
const SAVE_EVERY: Duration = Duration::from_secs(5);

/// Where a kept file stands; `as_str` is its `data-state`.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Being checked or started.
    Starting,
    /// Being copied into this browser's storage: bytes done.
    Copying { done: u64 },
    Seeding,
    /// The browser forgot its permission to read the user's file: a click grants it again.
    NeedsAccess,
    /// The file (or its copy) is gone.
    Missing,
    /// The file is not the one that was shared any more.
    Changed { why: String },
    Failed { why: String },
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Copying { .. } => "copying",
            Status::Seeding => "seeding",
            Status::NeedsAccess => "needs-access",
            Status::Missing => "missing",
            Status::Changed { .. } => "changed",
            Status::Failed { .. } => "error",
        }
    }
}

/// One kept file, as the view shows it (plain data; the handle stays in [`Library`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub entry: LibraryEntry,
    pub status: Status,
    /// Bytes uploaded in earlier visits (this visit's come from the transfer).
    pub uploaded_before: u64,
    /// When the DHT record was last stored (ms since the epoch), and whether beyond the relay.
    pub published: Option<(f64, bool)>,
    /// The upload total the stored record holds.
    pub saved_uploaded: u64,
}

impl Row {
    pub fn info_hash(&self) -> &str {
        &self.entry.file.infohash
    }
}

/// Shared through context.
#[derive(Clone, Copy)]
pub struct Library {
    pub rows: RwSignal<Vec<Row>>,
    /// The records were read (whatever they held): for tests and the empty state.
    pub loaded: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    store: StoredValue<Option<Store>, LocalStorage>,
    kept: StoredValue<Vec<Kept>, LocalStorage>,
    // Held, not looked up: resumes and saves run in tasks, outside any reactive owner.
    transfers: Transfers,
    network: Network,
    wallet: Wallet,
    /// The app's owner, so work in tasks sees its context (`Transfers::seed` reads the wallet).
    owner: StoredValue<Option<Owner>, LocalStorage>,
}

impl Library {
    pub fn new(transfers: Transfers, network: Network, wallet: Wallet) -> Self {
        Self {
            transfers,
            network,
            wallet,
            owner: StoredValue::new_local(Owner::current()),
            rows: RwSignal::new(Vec::new()),
            loaded: RwSignal::new(false),
            error: RwSignal::new(None),
            store: StoredValue::new_local(None),
            kept: StoredValue::new_local(Vec::new()),
        }
    }

    fn set_status(self, info_hash: &str, status: Status) {
        self.rows.update(|rows| {
            if let Some(r) = rows.iter_mut().find(|r| r.info_hash() == info_hash) {
                r.status = status;
            }
        });
    }

    fn kept(self, info_hash: &str) -> Option<Kept> {
        self.kept.with_value(|k| k.iter().find(|k| k.key() == info_hash).cloned())
    }

    pub fn contains(self, info_hash: &str) -> bool {
        self.kept.with_value(|k| k.iter().any(|k| k.key() == info_hash))
    }

    /// Opens the store, seeds every record again, and keeps records and DHT fresh. Call
    /// once, inside the app (it makes effects and intervals).
    pub fn start(self) {
        let network = self.network;
        spawn_local(async move {
            let store = match Store::open().await {
                Ok(s) => s,
                Err(e) => {
                    self.error.set(Some(t_args("lib-cannot-open", &[("error", e.to_string().into())])));
                    self.loaded.set(true);
                    return;
                }
            };
            self.store.set_value(Some(store.clone()));
            match store.list().await {
                Ok(records) => {
                    for record in records {
                        match record {
                            Ok(kept) => self.add(kept),
                            Err(e) => self.error.set(Some(t_args("lib-record-skipped", &[("error", e.to_string().into())]))),
                        }
                    }
                }
                Err(e) => self.error.set(Some(t_args("lib-cannot-read", &[("error", e.to_string().into())]))),
            }
            self.loaded.set(true);
            let keys: Vec<String> = self.kept.with_value(|k| k.iter().map(|k| k.key().to_string()).collect());
            for key in keys {
                self.resume(key, false).await;
            }
        });
        // Payments for kept files, as the wallet finds them (once the records are read).
        // The wallet's list only grows: each payment is looked at once per visit (and
        // counted once ever, by its tx hash).
        let wallet = self.wallet;
        let seen = StoredValue::new(0usize);
        Effect::new(move |_| {
            let loaded = self.loaded.get();
            wallet.earnings.with(|e| {
                let from = seen.get_value().min(e.len());
                if loaded && from < e.len() {
                    seen.set_value(e.len());
                    self.count_earnings(&e[from..]);
                }
            });
        });
        // Republish on every (re)connect and every TTL/3, like the Share view.
        let was_connected = StoredValue::new(false);
        Effect::new(move |_| {
            let connected = network.status.get().is_some_and(|s| s.connection == Connection::Connected);
            if connected && !was_connected.get_value() {
                self.publish_all();
            }
            was_connected.set_value(connected);
        });
        if let Ok(handle) = set_interval_with_handle(move || self.publish_all(), Duration::from_secs(DEFAULT_TTL_SECS / 3)) {
            on_cleanup(move || handle.clear());
        }
        if let Ok(handle) = set_interval_with_handle(move || self.save_totals(), SAVE_EVERY) {
            on_cleanup(move || handle.clear());
        }
    }

    fn add(self, kept: Kept) {
        let row = Row {
            entry: kept.entry.clone(),
            status: Status::Starting,
            uploaded_before: kept.entry.uploaded,
            published: None,
            saved_uploaded: kept.entry.uploaded,
        };
        self.kept.update_value(|k| {
            k.retain(|x| x.key() != kept.key());
            k.push(kept);
        });
        self.rows.update(|rows| {
            rows.retain(|r| r.info_hash() != row.info_hash());
            rows.push(row);
        });
    }

    /// Checks a record's bytes and seeds them. `clicked`: called from a click, so read
    /// permission on a handle may be requested (the browser prompts).
    async fn resume(self, info_hash: String, clicked: bool) {
        let Some(kept) = self.kept(&info_hash) else { return };
        self.set_status(&info_hash, Status::Starting);
        let file = match (&kept.entry.location, &kept.handle) {
            (Location::OpfsCopy, _) => kept_file::open_copy(&info_hash).await,
            (Location::Handle, Some(handle)) => {
                let permission = if clicked { kept_file::request_permission(handle).await } else { kept_file::permission(handle).await };
                match permission {
                    Ok(Permission::Granted) => kept_file::handle_file(handle).await,
                    Ok(_) => return self.set_status(&info_hash, Status::NeedsAccess),
                    Err(e) => Err(e),
                }
            }
            (Location::Handle, None) => Err(kept_file::KeptFileError::Missing),
        };
        let file = match file {
            Ok(f) => f,
            Err(kept_file::KeptFileError::Missing) => return self.set_status(&info_hash, Status::Missing),
            Err(e) => return self.set_status(&info_hash, Status::Failed { why: e.to_string() }),
        };
        if let Check::Changed { why } = kept_file::check(&kept.entry, &file) {
            return self.set_status(&info_hash, Status::Changed { why });
        }
        let ed2k = hex::decode(&kept.entry.file.ed2k).ok().and_then(|b| b.try_into().ok());
        let seed = || self.transfers.seed(file, kept.info_bytes.clone(), kept.chunk_hashes.clone(), kept.entry.file.cid.clone(), ed2k);
        let started = match self.owner.get_value() {
            Some(owner) => owner.with(seed),
            None => seed(),
        };
        match started {
            Ok(()) => {
                self.set_status(&info_hash, Status::Seeding);
                self.publish(info_hash);
            }
            Err(why) => self.set_status(&info_hash, Status::Failed { why }),
        }
    }

    /// Grants read access again (from a click) and seeds.
    pub fn regrant(self, info_hash: String) {
        spawn_local(async move { self.resume(info_hash, true).await });
    }

    fn publish(self, info_hash: String) {
        let network = self.network;
        let Some(kept) = self.kept(&info_hash) else { return };
        if network.node.get_untracked().is_none() || network.keypair.get_value().is_none() {
            return; // The connect effect publishes it.
        }
        let terms = self.wallet.pay_to();
        spawn_local(async move {
            match publish_file(network, &kept.entry.file, DEFAULT_TTL_SECS, terms).await {
                Ok(report) => self.rows.update(|rows| {
                    if let Some(r) = rows.iter_mut().find(|r| r.info_hash() == info_hash) {
                        r.published = Some((js_sys::Date::now(), report.record_stored_remotely));
                    }
                }),
                Err(e) => tracing_warn(&format!("republishing {info_hash} failed: {e}")),
            }
        });
    }

    fn publish_all(self) {
        let seeding: Vec<String> = self.rows.with_untracked(|rows| rows.iter().filter(|r| r.status == Status::Seeding).map(|r| r.info_hash().to_string()).collect());
        for info_hash in seeding {
            self.publish(info_hash);
        }
    }

    /// Uploaded bytes of a seeding row: earlier visits plus this one's transfer.
    pub fn uploaded(self, row: &Row) -> u64 {
        let now = self.transfers.list.with(|l| l.iter().find(|s| s.info_hash == row.info_hash()).map(|s| s.uploaded));
        row.uploaded_before + now.unwrap_or(0)
    }

    /// Writes back upload totals that moved.
    fn save_totals(self) {
        let Some(store) = self.store.get_value() else { return };
        let transfers = self.transfers;
        let mut changed = Vec::new();
        // A file still being copied has no record yet: it is written when the copy is done.
        for row in self.rows.get_untracked().into_iter().filter(|r| !matches!(r.status, Status::Copying { .. })) {
            let session = transfers.list.with_untracked(|l| l.iter().find(|s| s.info_hash == row.info_hash()).map_or(0, |s| s.uploaded));
            let total = row.uploaded_before + session;
            if let Some(mut kept) = self.kept(row.info_hash()).filter(|k| k.entry.uploaded != total) {
                kept.entry.uploaded = total;
                changed.push(kept);
            }
        }
        for kept in &changed {
            self.kept.update_value(|k| {
                if let Some(slot) = k.iter_mut().find(|x| x.key() == kept.key()) {
                    slot.entry.uploaded = kept.entry.uploaded;
                }
            });
        }
        spawn_local(async move {
            for kept in changed {
                match store.put(&kept).await {
                    Ok(()) => self.rows.update(|rows| {
                        if let Some(r) = rows.iter_mut().find(|r| r.info_hash() == kept.key()) {
                            r.saved_uploaded = kept.entry.uploaded;
                        }
                    }),
                    Err(e) => tracing_warn(&format!("saving the upload total of {} failed: {e}", kept.key())),
                }
            }
        });
    }

    /// Counts new payments that name a kept file's CID in its entry, and stores them.
    fn count_earnings(self, earnings: &[web_node::browser::settle::Earning]) {
        let mut changed = Vec::new();
        let copying: Vec<String> =
            self.rows.with_untracked(|rows| rows.iter().filter(|r| matches!(r.status, Status::Copying { .. })).map(|r| r.info_hash().to_string()).collect());
        self.kept.update_value(|all| {
            for kept in all.iter_mut().filter(|k| !copying.iter().any(|c| c == k.key())) {
                let mut moved = false;
                let cid = kept.entry.file.cid.clone();
                for e in earnings.iter().filter(|e| e.file.as_deref() == Some(cid.as_str())) {
                    moved |= kept.entry.add_earning(&e.tx, e.wei);
                }
                if moved {
                    changed.push(kept.clone());
                }
            }
        });
        if changed.is_empty() {
            return;
        }
        self.rows.update(|rows| {
            for kept in &changed {
                if let Some(r) = rows.iter_mut().find(|r| r.info_hash() == kept.key()) {
                    r.entry.earned_wei = kept.entry.earned_wei;
                    r.entry.earned_txs = kept.entry.earned_txs.clone();
                }
            }
        });
        let Some(store) = self.store.get_value() else { return };
        spawn_local(async move {
            for kept in changed {
                // The whole record goes back, with the upload total last saved.
                if let Err(e) = store.put(&kept).await {
                    tracing_warn(&format!("saving the earnings of {} failed: {e}", kept.key()));
                }
            }
        });
    }

    /// Keeps a shared file: by its handle (nothing copied), or by streaming a copy of
    /// `source` into this browser's storage. The file is already seeding; from now on it
    /// seeds again after a reload.
    pub async fn keep(self, hashed: &Hashed, handle: Option<FileSystemFileHandle>, source: &File) -> Result<(), String> {
        let store = self.store.get_value().ok_or_else(|| self.error.get_untracked().unwrap_or_else(|| "the library is not open yet".into()))?;
        let location = if handle.is_some() { Location::Handle } else { Location::OpfsCopy };
        let kept = Kept {
            entry: LibraryEntry {
                file: hashed.file.clone(),
                location,
                added_at: web_node::browser::now_secs(),
                uploaded: 0,
                last_modified_ms: source.last_modified(),
                earned_wei: 0,
                earned_txs: Vec::new(),
            },
            info_bytes: hashed.info_bytes.clone(),
            chunk_hashes: hashed.chunk_hashes.clone(),
            handle,
        };
        let info_hash = kept.key().to_string();
        self.add(kept.clone());
        if location == Location::OpfsCopy {
            self.set_status(&info_hash, Status::Copying { done: 0 });
            kept_file::request_persistence().await;
            let mut last = 0.0;
            let copied = kept_file::copy_to_opfs(source, &info_hash, |done, total| {
                let now = js_sys::Date::now();
                if now - last >= 100.0 || done == total {
                    last = now;
                    self.set_status(&info_hash, Status::Copying { done });
                }
            })
            .await;
            if let Err(e) = copied {
                self.forget(&info_hash);
                return Err(e.to_string());
            }
            if !self.contains(&info_hash) {
                // "Stop sharing" was pressed while it copied.
                let _ = kept_file::delete_copy(&info_hash).await;
                return Err(crate::i18n::t("lib-stopped-while-copying"));
            }
        }
        if let Err(e) = store.put(&kept).await {
            self.forget(&info_hash);
            let _ = kept_file::delete_copy(&info_hash).await;
            return Err(e.to_string());
        }
        // This visit's seeding runs from the chosen file already.
        self.set_status(&info_hash, Status::Seeding);
        self.publish(info_hash);
        Ok(())
    }

    fn forget(self, info_hash: &str) {
        self.kept.update_value(|k| k.retain(|x| x.key() != info_hash));
        self.rows.update(|rows| rows.retain(|r| r.info_hash() != info_hash));
    }

    /// Stop sharing: stops seeding, withdraws the DHT record (replaced by one that expires
    /// within [`WITHDRAWN_TTL_SECS`]), deletes the copy and the record.
    pub fn stop_sharing(self, info_hash: String) {
        let Some(kept) = self.kept(&info_hash) else { return };
        let was_seeding = self.rows.with_untracked(|rows| rows.iter().any(|r| r.info_hash() == info_hash && r.status == Status::Seeding));
        self.transfers.remove(info_hash.clone());
        self.forget(&info_hash);
        let network = self.network;
        let terms = self.wallet.pay_to();
        let store = self.store.get_value();
        spawn_local(async move {
            if was_seeding {
                if let Err(e) = publish_file(network, &kept.entry.file, WITHDRAWN_TTL_SECS, terms).await {
                    tracing_warn(&format!("withdrawing {info_hash} from the DHT failed (its record expires by itself): {e}"));
                }
            }
            let mut problems = Vec::new();
            if kept.entry.location == Location::OpfsCopy {
                if let Err(e) = kept_file::delete_copy(&info_hash).await {
                    problems.push(t_args("lib-copy-not-deleted", &[("error", e.to_string().into())]));
                }
            }
            if let Some(store) = store {
                if let Err(e) = store.remove(&info_hash).await {
                    problems.push(t_args("lib-record-not-deleted", &[("error", e.to_string().into())]));
                }
            }
            if !problems.is_empty() {
                self.error.set(Some(t_args("lib-stopped-but", &[("name", (&kept.entry.file.name).into()), ("problems", problems.join("; ").into())])));
            }
        });
    }
}

fn tracing_warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}
