//! The curl examples in scripts/curl work as printed against a dev chain.

use transfervm::test_utils::start_dev_chain;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_curl_example_answers_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let chain = start_dev_chain(dir.path()).await;
    let rpc = format!("http://{}/ext/bc/transfervm/rpc", chain.local_addr);
    let output = tokio::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/curl/all.sh"))
        .env("RPC", &rpc)
        .env("TRANSFERVM", env!("CARGO_BIN_EXE_transfervm"))
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "examples failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all examples answered"));
    assert!(
        stdout.contains(r#""status":"accepted""#),
        "txStatus example did not reach accepted:\n{stdout}"
    );
    // By then dev key 0 has accepted transfers (submitTx, submitTxs, txStatus), so the history
    // example shows some, and a second page through the cursor.
    let history = stdout
        .split("== transfervm.accountTransfers")
        .nth(1)
        .expect("the accountTransfers example ran");
    assert!(
        history.contains(r#""direction":"out""#) && history.contains(r#""id":2"#),
        "accountTransfers example showed no page through its cursor:\n{history}"
    );
    chain.stop().await;
}
