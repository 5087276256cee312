//! How a `dashscope`, `minimax` (v2) or `luma` (Dream Machine) entry looks a lost create up
//! in the upstream's task list (docs/upstreams.md §9.6, §11.6, §14.6): the
//! `task_list_lookup` table of an `[[upstreams]]` entry. The list's item shape, order and time zone are UNCONFIRMED upstream, so every knob
//! the lookup depends on is here. It is on by default for DashScope and Luma Dream Machine,
//! which match the exact prompt, and off by default for MiniMax, whose list carries no prompt: there a task of
//! the same model, resolution and ratio made by another client of the same key in the same
//! seconds would be taken for ours, so an operator turns it on (`enabled = true`) only for a
//! key that vidgate alone uses. Off, a lost create fails `upstream_outcome_unknown`.

use serde::{Deserialize, Serialize};

use crate::upstream::{UpstreamConfig, UpstreamKind, minimax_is_v1};

/// The `task_list_lookup` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskListLookup {
    /// Whether a lost create is looked up at all (default: on for DashScope and Luma Dream
    /// Machine, off for MiniMax; see the module docs). [`TaskListLookup::of`] fills it in.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Seconds a listed task's creation time may lie before the send or after the lost
    /// answer (clock skew between vidgate and the upstream); default 30.
    #[serde(default = "default_slack_secs")]
    pub slack_secs: u64,
    /// Items asked per page (`page_size`); default 50.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Pages read at most; a window not read to its end is an unknown outcome. Default 10.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// DashScope: the zone of the list's `start_time`/`end_time` (`YYYYMMDDhhmmss`) and of
    /// the answers' times, in minutes east of UTC; default 480 (UTC+8, §9.5).
    #[serde(default = "default_utc_offset_minutes")]
    pub utc_offset_minutes: i32,
}

fn default_slack_secs() -> u64 {
    30
}
fn default_page_size() -> u32 {
    50
}
fn default_max_pages() -> u32 {
    10
}
fn default_utc_offset_minutes() -> i32 {
    480
}

impl Default for TaskListLookup {
    fn default() -> Self {
        Self {
            enabled: None,
            slack_secs: default_slack_secs(),
            page_size: default_page_size(),
            max_pages: default_max_pages(),
            utc_offset_minutes: default_utc_offset_minutes(),
        }
    }
}

impl TaskListLookup {
    /// The entry's table, or the defaults, with `enabled` decided for the entry's kind.
    pub fn of(u: &UpstreamConfig) -> TaskListLookup {
        let mut t = u.task_list_lookup.clone().unwrap_or_default();
        t.enabled = Some(t.enabled.unwrap_or(u.kind == UpstreamKind::Dashscope || is_dream_machine(u)));
        t
    }

    /// Whether lost creates are looked up (after [`TaskListLookup::of`]).
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }
}

/// Whether the entry is a Luma one on the Dream Machine API (the Agents API has no list, §14.6).
fn is_dream_machine(u: &UpstreamConfig) -> bool {
    u.kind == UpstreamKind::Luma && crate::luma::api(&u.model) == Some(crate::luma::LumaApi::DreamMachine)
}

/// `task_list_lookup` only on the kinds that have a list (DashScope, MiniMax v2, Luma Dream
/// Machine; MiniMax v1 and Luma Agents have none, §11.6, §14.6), with sane bounds.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    let Some(t) = &u.task_list_lookup else { return Ok(()) };
    let n = &u.name;
    let listed = u.kind == UpstreamKind::Dashscope
        || (u.kind == UpstreamKind::Minimax && !minimax_is_v1(&u.model))
        || is_dream_machine(u);
    if !listed {
        return Err(format!(
            "upstream {n}: task_list_lookup applies to kinds dashscope, minimax (v2 models) and luma (Dream Machine \
             models) only"
        ));
    }
    if !(1..=100).contains(&t.page_size) || !(1..=100).contains(&t.max_pages) {
        return Err(format!("upstream {n}: task_list_lookup page_size and max_pages must be 1 to 100"));
    }
    if t.slack_secs > 3600 || t.utc_offset_minutes.abs() > 14 * 60 {
        return Err(format!(
            "upstream {n}: task_list_lookup slack_secs must be at most 3600 and utc_offset_minutes within ±840"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> UpstreamConfig {
        toml::from_str(text).expect("entry parses")
    }

    #[test]
    fn the_table_is_taken_by_dashscope_and_minimax_v2_only_and_defaults_fill_it() {
        let wan = entry("name = \"w\"\nkind = \"dashscope\"\n[task_list_lookup]\nslack_secs = 5\n");
        assert_eq!(check(&wan), Ok(()));
        assert_eq!(
            TaskListLookup::of(&wan),
            TaskListLookup { slack_secs: 5, enabled: Some(true), ..TaskListLookup::default() }
        );
        let h3_default = entry("name = \"m\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3\"\n");
        assert!(!TaskListLookup::of(&h3_default).is_enabled(), "MiniMax matches no prompt: off unless asked");
        let h3_on =
            entry("name = \"m\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3\"\n[task_list_lookup]\nenabled = true\n");
        assert!(TaskListLookup::of(&h3_on).is_enabled());
        let h3 =
            entry("name = \"m\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3\"\n[task_list_lookup]\nenabled = false\n");
        assert_eq!(check(&h3), Ok(()));
        let v1 = entry("name = \"m\"\nkind = \"minimax\"\nmodel = \"MiniMax-Hailuo-02\"\n[task_list_lookup]\n");
        assert!(check(&v1).unwrap_err().contains("v2 models"));
        let dream = entry("name = \"l\"\nkind = \"luma\"\nmodel = \"ray-2\"\n");
        assert!(TaskListLookup::of(&dream).is_enabled(), "Dream Machine matches the prompt: on");
        let agents = entry("name = \"l\"\nkind = \"luma\"\nmodel = \"ray-3.2\"\n[task_list_lookup]\n");
        assert!(check(&agents).unwrap_err().contains("Dream Machine"));
        let kling = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v3\"\n[task_list_lookup]\n");
        assert!(check(&kling).is_err());
        let wide = entry("name = \"w\"\nkind = \"dashscope\"\n[task_list_lookup]\npage_size = 0\n");
        assert!(check(&wide).unwrap_err().contains("page_size"));
    }
}
