//! AMF Studio's core: the simulated tabletop, its task suite, the policy and the task
//! selectors. Plain Rust, no browser: everything here builds and is tested natively, and
//! the web shell and the command-line runner are thin layers over it.

pub mod assessment;
pub mod bench;
pub mod crowd;
pub mod curation;
pub mod demo_file;
pub mod experiment;
pub mod export;
pub mod integrator;
pub mod opening;
pub mod policy;
pub mod page;
pub mod quality;
pub mod record;
pub mod round;
pub mod select;
pub mod session;
pub mod sim;
pub mod tasks;
pub mod teleop;
pub mod terms;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(all(not(target_arch = "wasm32"), feature = "service"))]
pub mod service;

#[cfg(target_arch = "wasm32")]
pub mod web;
