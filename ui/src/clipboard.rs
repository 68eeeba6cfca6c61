//! Copy text with the async Clipboard API (reached through JS reflection, since web-sys
//! gates it behind unstable APIs in this version).

use wasm_bindgen::{JsCast, JsValue};

pub async fn copy(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
        .map_err(|_| "the clipboard is not available here")?;
    let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("the clipboard is not available here")?;
    let promise = write
        .call1(&clipboard, &JsValue::from_str(text))
        .map_err(|_| "copy failed")?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| "copy failed")?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_| "the browser refused the copy (the page needs focus)".to_string())
}
