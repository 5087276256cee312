//! `vidgate tasks ls|show|wait|cancel|download`: the caller's own tasks, with an API key.
//! The listing is `GET /v1/videos` (the listing API keys have), filtered here by status
//! and model, so `--json` prints OpenAI video objects; the other commands print task
//! objects.

use std::path::PathBuf;

use clap::Subcommand;
use vidgate_client::{List, Task, Video};

use super::follow::{follow, require_completed};
use super::generate::{billed, download_all};
use super::{Global, output};

/// The page size used to walk `GET /v1/videos` (its maximum).
const PAGE: u32 = 100;

#[derive(Subcommand)]
pub enum Action {
    /// Your tasks, newest first.
    Ls {
        /// queued, running, completed, failed or cancelled.
        #[arg(long, value_parser = ["queued", "running", "completed", "failed", "cancelled"])]
        status: Option<String>,
        /// A model id.
        #[arg(long)]
        model: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// One task.
    Show { task_id: String },
    /// Follow a task until it ends; exit 0 when it completed.
    Wait { task_id: String },
    /// Cancel a task (a finished one is left as it is).
    Cancel { task_id: String },
    /// Download a completed task's video, audio and poster.
    Download {
        task_id: String,
        /// Where to write the video (default TASK_ID.mp4).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs `vidgate tasks …`.
pub async fn run(g: &Global, action: Action) -> anyhow::Result<()> {
    let client = g.client()?;
    match action {
        Action::Ls { status, model, limit } => {
            let videos = list(&client, status.as_deref(), model.as_deref(), limit).await?;
            if g.json {
                let list = List { data: videos, has_more: false, last_id: None, extra: Default::default() };
                return output::json(&list);
            }
            let rows: Vec<Vec<String>> = videos.iter().map(video_row).collect();
            output::table(&["ID", "STATUS", "MODEL", "SECONDS", "SIZE", "PROGRESS", "CREATED"], &rows);
            Ok(())
        }
        Action::Show { task_id } => print_task(g, &client.task(&task_id).await?),
        Action::Wait { task_id } => {
            let done = follow(&client, &client.task(&task_id).await?, g.json).await?;
            print_task(g, &done)?;
            require_completed(&done)
        }
        Action::Cancel { task_id } => print_task(g, &client.cancel(&task_id).await?),
        Action::Download { task_id, output } => {
            let task = client.task(&task_id).await?;
            require_completed(&task)?;
            let target = output.unwrap_or_else(|| PathBuf::from(format!("{}.mp4", task.task_id)));
            let files = download_all(&client, &task, &target).await?;
            if g.json {
                return output::json(&task);
            }
            let lines: Vec<(&str, String)> = files.into_iter().map(|(k, p)| (k, p.display().to_string())).collect();
            output::fields(&lines);
            Ok(())
        }
    }
}

/// Walks the pages until `limit` tasks match or there are no more.
async fn list(
    client: &vidgate_client::Client,
    status: Option<&str>,
    model: Option<&str>,
    limit: u32,
) -> anyhow::Result<Vec<Video>> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = client.videos(PAGE, after.as_deref()).await?;
        let matches = |v: &Video| status.is_none_or(|s| v.task_status() == s) && model.is_none_or(|m| v.model == m);
        found.extend(page.data.iter().filter(|v| matches(v)).cloned());
        after = page.data.last().map(|v| v.id.clone());
        if found.len() >= limit as usize || !page.has_more || after.is_none() {
            found.truncate(limit as usize);
            return Ok(found);
        }
    }
}

fn video_row(v: &Video) -> Vec<String> {
    let created = time_of(v.created_at);
    let field = |k: &str| v.extra.get(k).map(output::cell).unwrap_or_else(|| "-".into());
    vec![
        v.id.clone(),
        v.task_status().to_owned(),
        v.model.clone(),
        field("seconds"),
        field("size"),
        format!("{}%", v.progress),
        created,
    ]
}

/// Unix seconds as RFC 3339 UTC, to match the task object's times.
fn time_of(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// A task as JSON, or its main fields.
pub fn print_task(g: &Global, t: &Task) -> anyhow::Result<()> {
    if g.json {
        return output::json(t);
    }
    let extra = |k: &str| t.extra.get(k).map(output::cell).unwrap_or_else(|| "-".into());
    let mut lines = vec![
        ("task", t.task_id.clone()),
        ("status", t.status.as_str().to_owned()),
        ("progress", format!("{}%", t.progress)),
        ("model", t.model.clone()),
        ("prompt", extra("prompt")),
        ("seconds", t.duration_seconds.to_string()),
        ("size", extra("size")),
        ("audio", extra("audio")),
        ("created", extra("created_at")),
        ("completed", extra("completed_at")),
        ("estimated", format!("{} USD", t.estimated_credits)),
        ("billed", billed(t)),
    ];
    if let Some(e) = &t.error {
        lines.push(("error", format!("{}: {}", e.code, e.message)));
    }
    for (label, url) in [("video", &t.result_url), ("audio url", &t.audio_url), ("poster", &t.thumbnail_url)] {
        if let Some(url) = url {
            lines.push((label, url.clone()));
        }
    }
    output::fields(&lines);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::time_of;

    #[test]
    fn unix_seconds_print_as_rfc3339_utc() {
        assert_eq!(time_of(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_of(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(time_of(951_827_696), "2000-02-29T12:34:56Z");
    }
}
