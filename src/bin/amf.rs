//! `amf`: the native command-line runner (headless rollouts and benchmarks).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    amf_studio::cli::run()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
