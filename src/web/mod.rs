//! The browser shell: a Yew page over the core. It translates DOM events into the core's
//! actions ([`crate::page`]), carries out the effects the core returns, and draws what
//! the core reports; no simulation, task or page logic lives here.

mod app;
pub mod export_worker;
mod crowd_http;
#[cfg(feature = "bench-page")]
mod bench_page;
#[cfg(feature = "webgpu")]
pub mod gpu;
mod render;
mod shell;
mod stage;
mod stage_input;
mod stage_status;
pub mod storage;
mod views;
pub mod worker;

use wasm_bindgen::JsCast;

/// Seconds on this thread's monotonic clock (`performance.now()`, in the page or in a
/// worker), for timings.
pub(crate) fn seconds_now() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now() / 1000.0)
}

/// Offers `bytes` as a file download named `name`.
pub(crate) fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let anchor: web_sys::HtmlAnchorElement =
        gloo::utils::document().create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// A training worker's entry (`amf-worker` on the CPU, `amf-gpu-worker` with WebGPU):
/// serves training and rollout messages; no page code is linked in.
pub fn serve_worker() {
    console_error_panic_hook::set_once();
    worker::serve();
}

/// The LeRobot export worker's entry (no page code is linked in).
pub fn serve_export_worker() {
    export_worker::serve();
}

/// Mounts the page into `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    #[cfg(feature = "bench-page")]
    if crate::page::address::PageAddress::parse(&gloo::utils::window().location().search().unwrap_or_default()).bench {
        yew::Renderer::<bench_page::BenchPage>::new().render();
        return;
    }
    // The training worker's module is not asked for here: the first proposal does not
    // need it (the shipped starts, `crate::opening`), and on a slow link it would share
    // the link with the files the proposal does need. The shell asks for it once those
    // are in.
    yew::Renderer::<app::App>::new().render();
}
