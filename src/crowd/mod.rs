//! Crowdsourced collection, the parts that are plain Rust: the service's API as types
//! (`contract`), what an upload is and how it
//! is verified by replay (`upload`), which task the crowd's next visitor is asked
//! for (`assign`), which of the pool a version of the shared policy trains on
//! (`sample`), and the operator's review of the pool's quality (`review`). The service that runs them is `service`; what is collected under which
//! licence is `terms`, below the exports that name it.

pub mod assign;
pub mod contract;
pub mod review;
pub mod sample;
pub mod upload;
