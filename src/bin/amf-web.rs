//! The web page's entry point (built by trunk for wasm32).

#[cfg(target_arch = "wasm32")]
fn main() {
    amf_studio::web::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("amf-web is the browser build: run `trunk serve` (see the README).");
}
