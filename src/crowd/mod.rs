//! Crowdsourced collection, the parts that are plain Rust: what an upload is and how it
//! is verified by replay (`upload`), and which task the crowd's next visitor is asked
//! for (`assign`). The service that runs them is `crate::service`.

pub mod assign;
pub mod upload;
