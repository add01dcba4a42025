//! The browser shell: a Yew page over the core. It translates DOM events into core calls
//! and draws what the core reports; no simulation or task logic lives here.

mod app;
mod render;
mod stage;

/// Mounts the page into `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    yew::Renderer::<app::App>::new().render();
}
