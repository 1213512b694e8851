//! A headless Chromium for one test, driven over WebDriver, with axe-core and screenshots.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// axe-core as `.ci/run` installs it (`npm install --prefix target/web-tools axe-core`).
fn axe_path() -> PathBuf {
    root().join("target/web-tools/node_modules/axe-core/axe.min.js")
}

/// Whether the browser tests can run here; under CI a missing tool fails the suite.
pub fn available(test: &str) -> bool {
    let missing: Vec<String> = [
        PathBuf::from(CHROMIUM),
        PathBuf::from(CHROMEDRIVER),
        axe_path(),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the browser tests lack {}",
        missing.join(", ")
    );
    crate::helpers::say(&format!(
        "SKIPPED {test}: no {} (install chromium and chromium-driver, and \
         `npm install --prefix target/web-tools axe-core`)",
        missing.join(", ")
    ));
    false
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    axe: String,
    shots: PathBuf,
    prefix: String,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile.
    /// Screenshots go to `target/screenshots/<prefix>-<name>.png`.
    pub async fn start(prefix: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        let mut client = None;
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let client = client.unwrap_or_else(|| panic!("WebDriver session: {last:?}"));
        let shots = root().join("target/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            client,
            driver,
            _profile: profile,
            axe: std::fs::read_to_string(axe_path()).expect("axe-core"),
            shots,
            prefix: prefix.to_string(),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.client.find(Locator::Css(css)).await.expect(css);
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Presses keys as a person at the keyboard would, on whatever has the focus.
    pub async fn keys(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut seq = KeyActions::new("keyboard".into());
        for value in keys.chars() {
            seq = seq
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client.perform_actions(seq).await.expect("keys");
    }

    /// Presses Tab until `css` has the focus (at most 100 times) and checks that the focus
    /// can be seen: a keyboard user reaches it and knows where they are.
    pub async fn tab_to(&self, css: &str) {
        let tab = char::from(fantoccini::key::Key::Tab).to_string();
        for _ in 0..100 {
            let here = self
                .client
                .execute(
                    "return !!document.activeElement && document.activeElement.matches(arguments[0]);",
                    vec![css.into()],
                )
                .await
                .expect("focus");
            if here == serde_json::Value::Bool(true) {
                let visible = self
                    .client
                    .execute(
                        "const s = getComputedStyle(document.activeElement); \
                         return s.outlineStyle !== 'none' && s.outlineWidth !== '0px';",
                        vec![],
                    )
                    .await
                    .expect("focus style");
                assert_eq!(
                    visible,
                    serde_json::Value::Bool(true),
                    "no visible focus on {css}"
                );
                return;
            }
            self.keys(&tab).await;
        }
        panic!("{css} cannot be reached with the Tab key");
    }

    /// Whether the element with the focus matches `css`.
    pub async fn focused(&self, css: &str) -> bool {
        self.client
            .execute(
                "return !!document.activeElement && document.activeElement.matches(arguments[0]);",
                vec![css.into()],
            )
            .await
            .expect("focus")
            == serde_json::Value::Bool(true)
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .text()
            .await
            .expect("text")
    }

    /// Waits (up to 10 s) until an element's text contains `needle`: after sending a form
    /// that comes back as the same kind of page, the old page's element is found first and
    /// goes stale when the new one arrives.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waiting for {needle:?} in {css}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) for an element: after a click, the next page loads on its own time.
    pub async fn wait_for(&self, css: &str) {
        // Polled by hand: a find that meets a navigation in progress ("aborted by
        // navigation") is tried again, as one that finds nothing yet is.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(_) => return,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("waiting for {css}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Waits (up to 10 s) until the page's path and query start with `prefix`.
    pub async fn wait_for_path(&self, prefix: &str) {
        for _ in 0..100 {
            if self.path().await.starts_with(prefix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still at {} instead of {prefix}", self.path().await);
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The page as a person sees it: a screenshot to look at, and axe-core's WCAG 2.2 AA
    /// rules, which must find nothing.
    pub async fn check(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
        self.client
            .execute(&self.axe, vec![])
            .await
            .expect("axe-core loads");
        let script = r"
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
              .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                  help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})),
                  incomplete: r.incomplete.map(v => v.id)}))
              .catch(e => done({error: String(e)}));";
        let result: Value = self
            .client
            .execute_async(script, vec![])
            .await
            .expect("axe-core runs");
        assert!(
            result.get("error").is_none(),
            "axe-core on {name}: {result}"
        );
        assert_eq!(
            result["violations"],
            json!([]),
            "accessibility violations on {name}: {:#}",
            result["violations"]
        );
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
