//! The CPU training worker: rounds (fine-tuning, evaluation, selection), the live
//! comparison, imports and the policy rollouts the stage plays, on a module of its own.
//! The page's module links no network, so the first screen downloads none of it.

#[cfg(target_arch = "wasm32")]
fn main() {
    amf_studio::web::serve_worker();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("amf-worker is a browser worker: trunk builds it beside the page (see the README).");
}
