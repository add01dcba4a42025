//! Proves the collection service serves the page's files gzipped where the build left a
//! gzipped copy beside them (scripts/serve.sh does), and as they are to a client that
//! does not take gzip: the first screen's wait is its compressed size.
#![cfg(all(not(target_arch = "wasm32"), feature = "service"))]

mod common;

use common::{sqlite_url, Service};

#[tokio::test]
async fn page_files_are_served_gzipped_when_a_gzipped_copy_exists() {
    let dist = tempfile::Builder::new().prefix("amf-served-page-").tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html><head></head><body></body></html>").unwrap();
    let module: Vec<u8> = (0..4096u32).map(|i| (i % 7) as u8).collect();
    // What the client must get back unchanged, whatever it holds: the service does not
    // compress on the fly, it picks the file.
    let gzipped = b"\x1f\x8b stands in for the gzipped module".to_vec();
    std::fs::write(dist.path().join("page_bg.wasm"), &module).unwrap();
    std::fs::write(dist.path().join("page_bg.wasm.gz"), &gzipped).unwrap();
    std::fs::write(dist.path().join("style.css"), "body {}").unwrap();
    let (_db_dir, db) = sqlite_url("served-page-db");
    let service = Service::serving_page(&db, dist.path());
    let client = reqwest::Client::new();

    let get = |path: &str, gzip: bool| {
        let request = client.get(service.page_url(path));
        if gzip { request.header("accept-encoding", "gzip") } else { request }
    };
    let response = get("/page_bg.wasm", true).send().await.unwrap();
    assert_eq!(response.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    assert_eq!(response.headers().get("content-type").map(|v| v.to_str().unwrap()), Some("application/wasm"));
    assert_eq!(response.bytes().await.unwrap().to_vec(), gzipped);

    let response = get("/page_bg.wasm", false).send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap().to_vec(), module);

    // A file without a gzipped copy is served as it is, to either client.
    let response = get("/style.css", true).send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.text().await.unwrap(), "body {}");
    // The page itself carries the marker that tells it a service is here.
    let page = get("/", true).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(amf_studio::service::SERVICE_MARKER), "{page}");
}
