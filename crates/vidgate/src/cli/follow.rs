//! Following a task to its end for `generate` and `tasks wait`: a progress bar with the
//! status and elapsed time when stdout is a terminal, one line per change otherwise (on
//! stderr with `--json`, so stdout stays JSON). Ctrl-C asks whether to cancel the task or
//! leave it running; without a terminal to ask on, it is left running.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vidgate_client::{Client, Task, TaskStatus};

/// How progress is shown.
enum Display {
    Bar(ProgressBar),
    Lines { start: Instant, stderr: bool, last: Option<(TaskStatus, u8)> },
}

impl Display {
    fn new(task: &Task, json: bool) -> Display {
        if json || !std::io::stdout().is_terminal() {
            return Display::Lines { start: Instant::now(), stderr: json, last: None };
        }
        let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stdout());
        // Narrow enough for an 80-column terminal: the task id goes on its own line.
        let style = ProgressStyle::with_template("[{elapsed_precise}] [{bar:30}] {pos:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.println(format!("task {}", task.task_id));
        bar.enable_steady_tick(Duration::from_millis(200));
        Display::Bar(bar)
    }

    fn show(&mut self, task: &Task) {
        match self {
            Display::Bar(bar) => {
                bar.set_position(u64::from(task.progress));
                bar.set_message(task.status.as_str());
            }
            Display::Lines { start, stderr, last } => {
                if *last == Some((task.status, task.progress)) {
                    return;
                }
                *last = Some((task.status, task.progress));
                let line = format!(
                    "[{:>7.1}s] {} {} {}%",
                    start.elapsed().as_secs_f64(),
                    task.task_id,
                    task.status.as_str(),
                    task.progress
                );
                if *stderr { eprintln!("{line}") } else { println!("{line}") }
            }
        }
    }

    fn finish(&self, task: Option<&Task>) {
        if let Display::Bar(bar) = self {
            match task {
                Some(t) if t.status == TaskStatus::Completed => {
                    bar.set_position(100);
                    bar.finish_with_message("completed");
                }
                Some(t) => bar.abandon_with_message(t.status.as_str()),
                None => bar.abandon(),
            }
        }
    }

    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Display::Bar(bar) => bar.suspend(f),
            Display::Lines { .. } => f(),
        }
    }
}

/// Follows `task` until it is terminal; the terminal task. An interrupted run is an error
/// that says what became of the task.
pub async fn follow(client: &Client, task: &Task, json: bool) -> anyhow::Result<Task> {
    let mut display = Display::new(task, json);
    display.show(task);
    if task.status.is_terminal() {
        display.finish(Some(task));
        return Ok(task.clone());
    }
    let mut latest = task.clone();
    let outcome = {
        let following = client.follow(&task.task_id, |t| {
            display.show(t);
            latest = t.clone();
        });
        tokio::pin!(following);
        tokio::select! {
            done = &mut following => Some(done),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    match outcome {
        Some(Ok(done)) => {
            display.finish(Some(&done));
            Ok(done)
        }
        Some(Err(e)) => {
            display.finish(None);
            Err(e.into())
        }
        None => {
            display.finish(Some(&latest));
            interrupted(client, &latest.task_id, &display).await
        }
    }
}

/// After Ctrl-C: cancel or leave running, as the user answers.
async fn interrupted(client: &Client, task_id: &str, display: &Display) -> anyhow::Result<Task> {
    let cancel = std::io::stdin().is_terminal() && ask_cancel(task_id, display).await;
    if cancel {
        let t = client.cancel(task_id).await?;
        bail!("interrupted: task {task_id} is now {}", t.status.as_str());
    }
    bail!("interrupted: task {task_id} is still running; follow it with `vidgate tasks wait {task_id}`")
}

/// Asks on the terminal; a second Ctrl-C means no.
async fn ask_cancel(task_id: &str, display: &Display) -> bool {
    display.suspend(|| {
        eprint!("\nCancel task {task_id}? [y/N] (no leaves it running) ");
        let _ = std::io::stderr().flush();
    });
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        line = answer => matches!(line, Ok(Ok(l)) if l.trim().eq_ignore_ascii_case("y") || l.trim().eq_ignore_ascii_case("yes")),
        _ = tokio::signal::ctrl_c() => false,
    }
}

/// Ok for a completed task; otherwise the error with the task's code and message.
pub fn require_completed(task: &Task) -> anyhow::Result<()> {
    if task.status == TaskStatus::Completed {
        return Ok(());
    }
    let (code, message) = task.error.as_ref().map_or(("unknown", ""), |e| (e.code.as_str(), e.message.as_str()));
    bail!("task {} {}: {code}: {message}", task.task_id, task.status.as_str())
}
