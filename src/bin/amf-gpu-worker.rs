//! The WebGPU training worker (built with the `webgpu` feature). The page loads it only
//! when a round may train on WebGPU, so the shipped page stays small.

#[cfg(target_arch = "wasm32")]
fn main() {
    amf_studio::web::serve_worker();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("amf-gpu-worker is a browser worker: trunk builds it beside the page (see the README).");
}
