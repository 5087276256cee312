//! Extension chains on the Gemini API (docs/upstreams.md §1.2, §1.3): a task whose plan has
//! extensions runs its 8 s base clip, then each extension as a new `predictLongRunning` on
//! the previous output's Files-API URI; only the last, stitched output is fetched.
//!
//! Owns the chain's state on the task (`upstream_state.chain`: which job of the chain is in
//! progress and, between jobs, the output the next one continues) and the chain's progress.
//! The engine moves the task between jobs (`PollOutcome::Continue`); it must not send.

use serde::{Deserialize, Serialize};

/// The key in a task's upstream state.
const KEY: &str = "chain";

/// Where a chain is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The job in progress: 0 the base clip, k the k-th extension.
    pub step: u32,
    /// Between jobs: the output the next extension continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_uri: Option<String>,
}

impl Chain {
    /// The chain of a task's upstream state (`None`: not a chain, or its base not yet sent).
    pub fn of(state: &serde_json::Value) -> Option<Chain> {
        serde_json::from_value(state.get(KEY)?.clone()).ok()
    }

    /// The extension to submit next, when the task is between two jobs of its chain.
    pub fn pending(state: &serde_json::Value) -> Option<Chain> {
        Chain::of(state).filter(|c| c.video_uri.is_some())
    }

    /// `state` with this chain in it.
    pub fn put(&self, mut state: serde_json::Value) -> serde_json::Value {
        if !state.is_object() {
            state = serde_json::json!({});
        }
        state[KEY] = serde_json::to_value(self).expect("a chain serializes");
        state
    }

    /// The state between this job, done with output `video_uri`, and the next one.
    pub fn next(&self, video_uri: String) -> serde_json::Value {
        Chain { step: self.step + 1, video_uri: Some(video_uri) }.put(serde_json::json!({}))
    }

    /// The chain's progress once this job is done.
    pub fn next_progress(&self, jobs: u32) -> u8 {
        Chain { step: self.step + 1, video_uri: None }.progress(jobs, 0)
    }

    /// The chain's progress (at most 90) when its current job is at `job_progress` (0..=90)
    /// and it has `jobs` jobs in all: each job is an equal share.
    pub fn progress(&self, jobs: u32, job_progress: u8) -> u8 {
        let done = self.step.min(jobs) * 90 + u32::from(job_progress.min(90));
        (done / jobs.max(1)).min(90) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_chain_rides_on_the_upstream_state_and_a_pending_one_names_the_output_to_extend() {
        let accepted = Chain { step: 0, video_uri: None }.put(json!({"submitted_at": 5}));
        assert_eq!(accepted, json!({"submitted_at": 5, "chain": {"step": 0}}));
        assert_eq!(Chain::of(&accepted), Some(Chain::default()));
        assert_eq!(Chain::pending(&accepted), None);
        let between = Chain::default().next("https://x/v1beta/files/f1:download?alt=media".into());
        assert_eq!(between, json!({"chain": {"step": 1, "video_uri": "https://x/v1beta/files/f1:download?alt=media"}}));
        assert_eq!(Chain::pending(&between).map(|c| c.step), Some(1));
        assert_eq!(Chain::of(&json!({"submitted_at": 5})), None);
    }

    #[test]
    fn progress_gives_each_job_of_the_chain_an_equal_share() {
        let base = Chain::default();
        assert_eq!(base.progress(2, 0), 0);
        assert_eq!(base.progress(2, 90), 45);
        let ext = Chain { step: 1, video_uri: None };
        assert_eq!(ext.progress(2, 0), 45);
        assert_eq!(ext.progress(2, 60), 75);
        assert_eq!(ext.progress(2, 90), 90);
    }
}
