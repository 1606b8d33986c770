//! A chromedriver with headless Chromium for the console tests (`console.rs`,
//! `console_hardening.rs`). `scripts/test.sh` installs the Debian packages `chromium` and
//! `chromium-driver` when they are missing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
    /// WebDriver sessions opened, ended when the driver is dropped: a test that panics before
    /// closing its browser must not leave Chromium running after chromedriver is gone.
    sessions: std::sync::Mutex<Vec<String>>,
}

impl Driver {
    pub fn start() -> Driver {
        let program = ["chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|candidate| Command::new(candidate).arg("--version").output().is_ok())
            .expect("chromedriver is not installed; scripts/test.sh installs the Debian package chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        // Ready when its status endpoint answers.
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{url}/status")).send() {
                if response.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url,
            sessions: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A new browser with its own profile (a fresh context: no cookies, no storage).
    pub async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1440,900",
                    "--lang=en-US",
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver starts a headless chromium");
        if let Ok(Some(id)) = client.session_id().await {
            if let Ok(mut sessions) = self.sessions.lock() {
                sessions.push(id);
            }
        }
        client
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let client = reqwest::blocking::Client::new();
        let sessions = self
            .sessions
            .lock()
            .map(|ids| ids.clone())
            .unwrap_or_default();
        for id in sessions {
            let _ = client.delete(format!("{}/session/{id}", self.url)).send();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
