//! `/metrics` describes every metric: a `# HELP` line with each `# TYPE`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_on_the_metrics_page_has_a_help_line() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key.clone(), json!({})).await;
    app.wait_terminal(&app.test_key.clone(), task["task_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let typed: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    for name in ["vidgate_http_requests_total", "vidgate_task_transitions_total", "vidgate_provider_jobs_total"] {
        assert!(typed.contains(&name), "{name} not on the page:\n{text}");
    }
    for name in &typed {
        let help = text.lines().find_map(|l| l.strip_prefix(&format!("# HELP {name} ")));
        assert!(help.is_some_and(|h| h.len() > 10), "no # HELP for {name}:\n{text}");
    }
    assert!(
        text.contains(
            "# HELP vidgate_task_transitions_total Task status changes, by model, provider and the new status."
        ),
        "{text}"
    );
}
