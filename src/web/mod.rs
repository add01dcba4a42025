//! The browser shell: a Yew page over the core. It translates DOM events into core calls
//! and draws what the core reports; no simulation or task logic lives here.

mod app;
mod bench_page;
#[cfg(feature = "webgpu")]
pub mod gpu;
mod policy_panel;
mod render;
mod stage;
pub mod storage;

/// Seconds on the page's monotonic clock (`performance.now()`), for timings.
pub(crate) fn seconds_now() -> f64 {
    gloo::utils::window().performance().map_or(0.0, |p| p.now() / 1000.0)
}

/// Mounts the page into `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    let search = gloo::utils::window().location().search().unwrap_or_default();
    if search.trim_start_matches('?').split('&').any(|p| p == "bench") {
        yew::Renderer::<bench_page::BenchPage>::new().render();
    } else {
        yew::Renderer::<app::App>::new().render();
    }
}
