//! The LeRobot export worker: the Parquet and zip writers on a module of their own, which
//! the page loads only when a person exports (see `web::export_worker`).

#[cfg(target_arch = "wasm32")]
fn main() {
    amf_studio::web::serve_export_worker();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("amf-export-worker is a browser worker: trunk builds it beside the page (see the README).");
}
