//! Crowdsourced collection, the parts that are plain Rust: what an upload is and how it
//! is verified by replay (`upload`). The service that runs them is `crate::service`.

pub mod upload;
