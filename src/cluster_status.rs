//! `casa cluster status`: a node's view of the cluster, as the admin sees it.
//! (Apart from `cluster`, whose settings the HTTP layer reads: this reads the
//! HTTP layer's report.)

use std::time::Duration;

use crate::api::cluster::ClusterReport;

/// `casa cluster status`: one node's view, as a table.
pub async fn print_status(url: &str, admin_token: &str, json: bool) -> anyhow::Result<()> {
    let url = format!("{}/cluster", url.trim_end_matches('/'));
    // reqwest's TLS is built without a default crypto provider.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .get(&url)
        .bearer_auth(admin_token)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let status = response.status();
    let body = response.text().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status}: {body}");
    if json {
        println!("{body}");
        return Ok(());
    }
    let r: ClusterReport = serde_json::from_str(&body).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let serving = match &r.reason {
        None => "serving".to_string(),
        Some(why) => format!("NOT serving: {why}"),
    };
    println!("node {} · view epoch {} · {serving}", r.node, r.epoch);
    println!(
        "{:<20} {:<22} {:<8} {:<8} {:>9} {:>7} {:>7}",
        "MEMBER", "ADDRESS", "STATE", "SERVING", "SEEN_MS", "ACTIVE", "OWNS"
    );
    for m in &r.members {
        println!(
            "{:<20} {:<22} {:<8} {:<8} {:>9} {:>7} {:>7}",
            m.name, m.addr, m.state, m.serving, m.last_seen_ms, m.active_mas, m.owned_mas
        );
    }
    Ok(())
}
