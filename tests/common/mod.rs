//! The collection service's test harness: `amf serve` as a child process on loopback,
//! on a throwaway SQLite file or the PostgreSQL database the test script provides.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};

pub const OPERATOR: &str = "operator-token-for-the-tests";

/// A running `amf serve`, killed when dropped.
pub struct Service {
    child: Child,
    base: String,
}

impl Service {
    pub fn start(db: &str) -> Service {
        Service::start_with(db, &[])
    }

    /// Started with more command-line arguments.
    pub fn start_with(db: &str, more: &[&str]) -> Service {
        Service::spawn(db, &[&["--api-only"], more].concat())
    }

    /// Serving the page's files from `dist` besides the API.
    pub fn serving_page(db: &str, dist: &std::path::Path) -> Service {
        Service::spawn(db, &["--dist", dist.to_str().expect("a UTF-8 path")])
    }

    fn spawn(db: &str, more: &[&str]) -> Service {
        // The tests' clients are many on one address: no limit, unless a test sets one.
        let limit: &[&str] = if more.contains(&"--requests-per-minute") { &[] } else { &["--requests-per-minute", "100000"] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_amf"))
            .args(["serve", "--db", db, "--addr", "127.0.0.1:0"])
            .args(limit)
            .args(more)
            .env("AMF_OPERATOR_TOKEN", OPERATOR)
            .stdout(Stdio::piped())
            .spawn()
            .expect("amf serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.split("http://").nth(1).and_then(|s| s.split('/').next()).map(|a| format!("http://{a}")).unwrap_or_else(|| panic!("no address in {line:?}"));
        Service { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api{path}", self.base)
    }

    /// A URL of the page's files (not the API).
    pub fn page_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address it listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// SIGTERM, then the time it took to exit, or `None` if it still ran after `limit`
    /// (it is killed then).
    pub fn terminate_within(&mut self, limit: std::time::Duration) -> Option<std::time::Duration> {
        let asked = std::time::Instant::now();
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        while asked.elapsed() < limit {
            if self.child.try_wait().expect("the child can be waited on").is_some() {
                return Some(asked.elapsed());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `answer` read as the crowd's contract's `T` and written back to the same JSON: the
/// service answers as the contract says, with no field more or fewer.
pub fn per_contract<T: serde::Serialize + serde::de::DeserializeOwned>(answer: &Value) -> T {
    let read: T = serde_json::from_value(answer.clone()).unwrap_or_else(|e| panic!("not as the contract says ({e}): {answer}"));
    assert_eq!(serde_json::to_value(&read).unwrap(), *answer, "the contract writes this answer otherwise");
    read
}

pub async fn contributor(client: &reqwest::Client, service: &Service, name: Option<&str>) -> (String, String) {
    // A visitor who agreed to the licence the service collects under (the default).
    let response = client.post(service.url("/contributors")).json(&json!({ "display_name": name, "licence": "CC-BY-4.0" })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: amf_studio::crowd::contract::Registered = per_contract(&response.json().await.unwrap());
    (registered.id, registered.token)
}

pub fn sqlite_url(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new().prefix(&format!("amf-{name}-")).tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("crowd.db").display());
    (dir, url)
}


/// The PostgreSQL database to test on, emptied first, or `None` to skip.
pub async fn postgres() -> Option<String> {
    let Ok(url) = std::env::var("AMF_TEST_POSTGRES_URL") else {
        assert!(std::env::var("AMF_REQUIRE_POSTGRES").is_err(), "AMF_REQUIRE_POSTGRES is set but AMF_TEST_POSTGRES_URL is not");
        eprintln!("AMF_TEST_POSTGRES_URL is not set: the PostgreSQL cases are skipped");
        return None;
    };
    // A fresh schema each time: drop what an earlier case left.
    let db = amf_studio::service::db::Db::open(&url, 1).await.unwrap();
    db.delete_everything().await.unwrap();
    db.close().await;
    Some(url)
}

