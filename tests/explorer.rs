//! The explorer page at `/ext/bc/<chainID>/explorer`: its HTTP contract (headers, a policy whose
//! hashes match the served inline script and style, 405, 404) on the dev chain, and what a real
//! headless Chromium renders from it against a dev chain with a few transfers, including
//! markup-shaped input that must stay text.
//!
//! The browser test needs Chromium (`chromium`, `chromium-browser` or `google-chrome` on PATH,
//! or `TRANSFERVM_CHROMIUM=/path/to/binary`); `scripts/test.sh` installs Debian's `chromium`
//! when none is found. Without one the test prints `SKIPPED: …` and passes. It saves a
//! screenshot of the front page to `<target dir>/explorer-screenshot.png` and prints the path.

#[path = "common/dev_process.rs"]
mod dev_process;
#[path = "common/http_client.rs"]
mod http_client;

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use transfervm::chain::{Address, SignedTx};
use transfervm::cli::rpc_client::RpcClient;
use transfervm::cli::wallet;
use transfervm::keys::dev_key;
use transfervm::test_utils::start_dev_chain;

/// The text between `<tag>` and `</tag>`.
fn inline<'a>(html: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = html.find(&open).unwrap_or_else(|| panic!("no <{tag}>")) + open.len();
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .expect("closing tag");
    &html[start..start + end]
}

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_strict_policy_on_exact_paths_only() {
    let dir = tempfile::tempdir().unwrap();
    let chain = start_dev_chain(dir.path()).await;
    let client = http_client::Client::new();
    let page_url = chain.explorer_url();
    let alias_url = format!("http://{}/ext/bc/transfervm/explorer", chain.local_addr);
    assert_eq!(page_url, chain.rpc_url().replace("/rpc", "/explorer"));

    for url in [&page_url, &alias_url] {
        let page = client.send("GET", url, None, vec![]).await;
        assert_eq!(page.status, 200, "{url}");
        let header = |name: &str| page.headers[name].to_str().unwrap().to_string();
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("cache-control"), "no-cache");
        let csp = header("content-security-policy");
        // The hashes are of exactly the inline text the browser will see.
        let script = csp_hash(inline(&page.body, "script"));
        let style = csp_hash(inline(&page.body, "style"));
        for directive in [
            "default-src 'none'".to_string(),
            format!("script-src {script}"),
            format!("style-src {style}"),
            "connect-src 'self'".into(),
            "base-uri 'none'".into(),
            "form-action 'none'".into(),
            "frame-ancestors 'none'".into(),
        ] {
            assert!(
                csp.split("; ").any(|d| d == directive),
                "{directive} in {csp}"
            );
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        // It talks to the chain only through the relative `rpc` beside it.
        assert!(page.body.contains("const RPC = 'rpc';"));
    }
    let head = client.send("HEAD", &page_url, None, vec![]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for method in ["POST", "PUT", "DELETE"] {
        let refused = client
            .send(method, &page_url, Some("text/html"), vec![])
            .await;
        assert_eq!(refused.status, 405, "{method}");
        assert_eq!(refused.headers["allow"], "GET, HEAD");
    }
    // Exactly the path, as the node's router mounts it: no sub-paths.
    for path in [
        "/explorer/",
        "/explorer/app.js",
        "/explorer.html",
        "/Explorer",
    ] {
        let url = chain.rpc_url().replace("/rpc", path);
        assert_eq!(
            client.send("GET", &url, None, vec![]).await.status,
            404,
            "{path}"
        );
    }
    chain.stop().await;
}

/// The Chromium binary to drive: `TRANSFERVM_CHROMIUM`, else the first known name on PATH.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRANSFERVM_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Headless Chromium on `url` with `extra` arguments; its stdout (the DOM for `--dump-dom`).
async fn chromium(binary: &Path, profile: &Path, extra: &[&str], url: &str) -> String {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["--headless=new", "--no-sandbox", "--disable-gpu"])
        .args([
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--virtual-time-budget=5000")
        .args(extra)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("chromium finishes within two minutes")
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text inside the element with `id` in a serialized DOM (tags inside it dropped).
fn text_of(dom: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no element #{id} in the DOM:\n{dom}"));
    let open = dom[..at].rfind('<').expect("tag start");
    let tag: String = dom[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let content = at + dom[at..].find('>').expect("tag end") + 1;
    let end = content + dom[content..].find(&format!("</{tag}>")).expect("close");
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom[content..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Digits grouped by thousands, as the page shows amounts.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How the DOM serializer writes text: `&`, `<`, `>` escaped.
fn as_dom_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Three accepted transfers of `amount` from dev key 0 to `to`; the last one.
async fn three_transfers(rpc: &RpcClient, to: Address, amount: u64) -> SignedTx {
    let facts = wallet::chain_facts(rpc).await.unwrap();
    let txs: Vec<SignedTx> = (0..3)
        .map(|nonce| {
            let expiry = wallet::now_secs() + 600;
            wallet::sign_transfer(
                &dev_key(0),
                &facts,
                to,
                amount,
                facts.min_fee,
                nonce,
                expiry,
            )
        })
        .collect();
    for tx in &txs {
        wallet::submit(rpc, tx).await.unwrap();
    }
    for tx in &txs {
        let status = wallet::wait_final(rpc, &tx.id(), Duration::from_secs(30), |_| {})
            .await
            .unwrap();
        assert_eq!(status["status"], "accepted", "{status}");
    }
    txs[2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_renders_the_chain_and_never_runs_injected_markup() {
    let Some(binary) = find_chromium() else {
        println!(
            "SKIPPED: explorer browser test: no chromium, chromium-browser or google-chrome on \
             PATH and TRANSFERVM_CHROMIUM unset (scripts/test.sh installs Debian's chromium)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let node = dev_process::start(&dir.path().join("data"), &dir.path().join("dev.log")).await;
    let explorer = node.url.replace("/rpc", "/explorer");
    let recipient = Address([7; 32]);
    let last = three_transfers(&node.rpc, recipient, 1_234_567).await;
    let height = node
        .rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .unwrap()["height"]
        .as_u64()
        .unwrap();
    assert!(height >= 1);
    let profile = dir.path().join("chromium-profile");
    let dump = |view: String| {
        let (binary, profile) = (binary.clone(), profile.clone());
        let url = format!("{explorer}#{view}");
        async move { chromium(&binary, &profile, &["--dump-dom"], &url).await }
    };

    // The front page: the tip's height, in the header and in the page.
    let home = dump(String::new()).await;
    assert_eq!(text_of(&home, "tip-height"), grouped(height), "{home}");
    assert_eq!(text_of(&home, "home-height"), grouped(height));
    // A transfer by its ID, with its status.
    let tx_view = dump(format!("tx/{}", last.id())).await;
    assert_eq!(text_of(&tx_view, "tx-status"), "accepted", "{tx_view}");
    // An account by its address: the balance, and a history or the line saying there is none.
    let account = dump(format!("account/{recipient}")).await;
    assert_eq!(
        text_of(&account, "account-balance"),
        grouped(3 * 1_234_567),
        "{account}"
    );
    assert!(
        account.contains("id=\"history-unavailable\"") || account.matches("<table").count() >= 2,
        "{account}"
    );
    // The search view goes to the right view for a height, a block ID and an address.
    let by_height = dump(format!("search/{height}")).await;
    assert_eq!(text_of(&by_height, "block-height"), grouped(height));
    let by_address = dump(format!("search/{recipient}")).await;
    assert_eq!(
        text_of(&by_address, "account-balance"),
        grouped(3 * 1_234_567)
    );

    // Markup in the URL is shown as text and creates no element, whichever view it reaches.
    for payload in [
        "<img src=x onerror=alert(1)>",
        "\"><script>alert(1)</script>",
        "'><svg onload=alert(1)>",
    ] {
        for view in ["search", "tx", "account", "block"] {
            let dom = dump(format!("{view}/{}", percent_encoded(payload))).await;
            let message = text_of(&dom, "search-message");
            assert!(message.contains(&as_dom_text(payload)), "{view}: {message}");
            assert!(
                !dom.contains("<img"),
                "{view}: an <img> was created:\n{dom}"
            );
            assert!(
                !dom.contains("<svg"),
                "{view}: an <svg> was created:\n{dom}"
            );
            assert_eq!(
                dom.matches("<script").count(),
                1,
                "{view}: a script was added"
            );
        }
    }

    // What a newcomer sees first, kept as an artifact.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).unwrap();
    let screenshot = target.join("explorer-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    chromium(
        &binary,
        &profile,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,900",
        ],
        &explorer,
    )
    .await;
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    println!("explorer screenshot saved to {}", screenshot.display());
    node.kill9().await;
}
