//! A folder torrent's files in its transfer card: choose which to download, watch each
//! one's progress, save one, or save them all into a folder the user picks (File System
//! Access `showDirectoryPicker`, Chromium), keeping the torrent's layout.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_node::browser::torrent::{FileRow, Torrent};

use crate::transfers::Transfers;
use crate::i18n::{t, t_args};
use crate::units;

#[component]
pub fn FileTable(info_hash: String, name: String, files: Vec<FileRow>) -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let (total, chosen) = (files.len(), files.iter().filter(|f| f.chosen).count());
    let complete: Vec<(usize, String)> = files.iter().filter(|f| f.sha256.is_some()).map(|f| (f.index, f.path.clone())).collect();
    let can_pick_folder = web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"showDirectoryPicker".into()).unwrap_or(false));
    let save_all = {
        let (hash, name, complete) = (info_hash.clone(), name.clone(), complete.clone());
        move |_| transfers.save_folder(&hash, complete.clone(), name.clone())
    };
    let rows = files
        .into_iter()
        .map(|f| {
            let fraction = if f.length == 0 { if f.sha256.is_some() { 1.0 } else { 0.0 } } else { f.have_bytes as f64 / f.length as f64 };
            let (choose_hash, save_hash) = (info_hash.clone(), info_hash.clone());
            let index = f.index;
            view! {
                <tr class="file-row" data-index=f.index.to_string() data-path=f.path.clone() data-length=f.length.to_string()
                    data-have-bytes=f.have_bytes.to_string() data-chosen=f.chosen.to_string() data-sha256=f.sha256.clone().unwrap_or_default()>
                    <td><input type="checkbox" class="choose" title=move || t("folder-download-file") prop:checked=f.chosen
                        on:change=move |ev| transfers.choose_file(&choose_hash, index, event_target_checked(&ev)) /></td>
                    <td class="path"><code>{f.path.clone()}</code></td>
                    <td class="size">{units::bytes(f.length)}</td>
                    <td class="progress">
                        <div class="bar small"><div class="fill" class:done={fraction >= 1.0} style:width=format!("{:.2}%", fraction * 100.0)></div></div>
                        <span class="pct">{move || if f.chosen { units::percent(fraction, 0) } else { t("folder-skipped") }}</span>
                    </td>
                    <td><button class="save-file" disabled=f.sha256.is_none() title=f.sha256.clone().map(|h| format!("SHA-256 {h}")).unwrap_or_default()
                        on:click=move |_| transfers.save_file(&save_hash, index)>{move || t("save")}</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="folder">
            <div class="folder-head">
                <span>{move || t_args("folder-files-chosen", &[("count", total.into()), ("chosen", chosen.into())])}</span>
                {can_pick_folder.then(|| view! {
                    <button class="save-folder" disabled=complete.is_empty() on:click=save_all>{move || t("folder-save-all")}</button>
                })}
            </div>
            <table class="files">
                <thead><tr><th></th><th>{move || t("col-file")}</th><th>{move || t("col-size")}</th><th>{move || t("col-progress")}</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: js_sys::Function = js_sys::Reflect::get(target, &method.into()).map_err(|_| format!("no {method}"))?.dyn_into().map_err(|_| format!("{method} is not a function"))?;
    let array: js_sys::Array = args.iter().collect();
    let promise: js_sys::Promise = f.apply(target, &array).map_err(|e| web_node::browser::piece_store::js_value_error(e))?.dyn_into().map_err(|_| format!("{method} returned no promise"))?;
    JsFuture::from(promise).await.map_err(web_node::browser::piece_store::js_value_error)
}

/// Asks for a folder, makes `NAME/` in it, and writes each complete file at its path below.
pub async fn save_into_picked_folder(t: &Torrent, name: &str, files: &[(usize, String)]) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"mode".into(), &"readwrite".into());
    let picked = call(&window, "showDirectoryPicker", &[options.into()]).await?;
    let create = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&create, &"create".into(), &true.into());
    let top = call(&picked, "getDirectoryHandle", &[name.into(), create.clone().into()]).await?;
    for (index, path) in files {
        let (blob, _) = t.file_blob(*index).await.map_err(|e| e.to_string())?;
        let parts: Vec<&str> = path.split('/').collect();
        let mut dir = top.clone();
        for part in &parts[..parts.len() - 1] {
            dir = call(&dir, "getDirectoryHandle", &[(*part).into(), create.clone().into()]).await?;
        }
        let file = call(&dir, "getFileHandle", &[parts[parts.len() - 1].into(), create.clone().into()]).await?;
        let writable = call(&file, "createWritable", &[]).await?;
        call(&writable, "write", &[blob.into()]).await?;
        call(&writable, "close", &[]).await?;
    }
    Ok(())
}
