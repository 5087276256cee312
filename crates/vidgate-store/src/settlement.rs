//! The money of one terminal transition, decided once for every backend: what is captured
//! (the rest of the hold is released) and the milliseconds that capture pays for. The
//! backends write it; they must not decide it.

use vidgate_domain::Usd;
use vidgate_domain::task::TaskStatus;

use crate::model::{Task, Terminal};

/// What a terminal transition settles.
pub(crate) struct Settlement {
    pub(crate) status: TaskStatus,
    pub(crate) capture: Usd,
    pub(crate) billed_ms: i64,
}

impl Settlement {
    /// The settlement of `task` ending as `end`.
    pub(crate) fn of(task: &Task, end: &Terminal) -> Settlement {
        let requested_ms = i64::from(task.params.duration_seconds) * 1000;
        match end {
            Terminal::Completed { credits_used, result, .. } => Settlement {
                status: TaskStatus::Completed,
                capture: (*credits_used).min(task.estimated).max(Usd::ZERO),
                billed_ms: (result.billed_ms.min(i64::MAX as u64) as i64).min(requested_ms),
            },
            Terminal::Failed { .. } => Settlement { status: TaskStatus::Failed, capture: Usd::ZERO, billed_ms: 0 },
            Terminal::Cancelled { charge_if_running } => {
                let charge = *charge_if_running && task.status == TaskStatus::Running;
                Settlement {
                    status: TaskStatus::Cancelled,
                    capture: if charge { task.estimated } else { Usd::ZERO },
                    billed_ms: if charge { requested_ms } else { 0 },
                }
            }
        }
    }
}
