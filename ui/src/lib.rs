//! Chiral's page: thin Leptos components over plain data from `web-node`.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`share`] | the Share view: choose or drop a file, watch it hash, copy its links |
//! | [`hashing`] | the data side of Share: one async fn over `web_node::browser` |
//! | [`units`] | human-readable sizes, rates and durations |
//! | [`clipboard`] | copy to the clipboard |

pub mod clipboard;
pub mod hashing;
pub mod share;
pub mod units;

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <header class="top">
            <div class="brand"><span class="logo">"◐"</span>" Chiral"</div>
            <nav><a class="active" href="#share">"Share"</a></nav>
        </header>
        <main>
            <share::Share />
        </main>
        <footer>"Files are hashed in this tab; nothing leaves your machine until you share it."</footer>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
