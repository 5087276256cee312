//! The task state machine: statuses, which moves are legal, and the task error codes.
//! Nothing leaves a terminal state; the store enforces the same rule with compare-and-set.

use std::fmt;

/// A task's status as clients see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TaskStatus; 5] = [Self::Queued, Self::Running, Self::Completed, Self::Failed, Self::Cancelled];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Completed, failed and cancelled are final.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// Whether `self → to` is a legal move (docs/api.md §5).
    pub fn can_move_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, to),
            (Queued, Running)
                | (Running, Completed)
                | (Running, Failed)
                | (Queued, Failed)
                | (Queued | Running, Cancelled)
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a task failed or was cancelled (docs/api.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskErrorCode {
    UpstreamError,
    UpstreamOutcomeUnknown,
    ContentFiltered,
    Timeout,
    InvalidResult,
    SourceImageUnreadable,
    Cancelled,
}

impl TaskErrorCode {
    /// Every code.
    pub const ALL: [TaskErrorCode; 7] = [
        Self::UpstreamError,
        Self::UpstreamOutcomeUnknown,
        Self::ContentFiltered,
        Self::Timeout,
        Self::InvalidResult,
        Self::SourceImageUnreadable,
        Self::Cancelled,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpstreamError => "upstream_error",
            Self::UpstreamOutcomeUnknown => "upstream_outcome_unknown",
            Self::ContentFiltered => "content_filtered",
            Self::Timeout => "timeout",
            Self::InvalidResult => "invalid_result",
            Self::SourceImageUnreadable => "source_image_unreadable",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for TaskErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live keys move real money and reach real upstreams; test keys use the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(Mode::Live),
            "test" => Some(Mode::Test),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    #[test]
    fn nothing_leaves_a_terminal_state() {
        for from in [Completed, Failed, Cancelled] {
            for to in TaskStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_documented_moves_are_legal() {
        assert!(Queued.can_move_to(Running));
        assert!(Running.can_move_to(Completed));
        assert!(Running.can_move_to(Failed));
        assert!(Queued.can_move_to(Cancelled));
        assert!(Running.can_move_to(Cancelled));
        assert!(!Queued.can_move_to(Completed));
    }

    #[test]
    fn spellings_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        for c in TaskErrorCode::ALL {
            assert_eq!(TaskErrorCode::parse(c.as_str()), Some(c));
        }
    }
}
