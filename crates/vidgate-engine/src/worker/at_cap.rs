//! The providers the engine's last claim left with no free slot. A submit to one of them
//! has nothing to claim until a slot frees, so it does not wake the engine; a step of such a
//! provider that may have ended its job does (the claim then sees whether a slot freed).
//! Only a hint for wake-ups: the store's claim alone decides what runs, and the idle poll
//! catches whatever a stale hint delays (another replica freeing a slot, a cancel).
//!
//! Must not: count slots; the store does.

use std::sync::Mutex;

/// Providers at their cap as of the last claim.
#[derive(Debug, Default)]
pub struct AtCap(Mutex<Vec<String>>);

impl AtCap {
    /// Records what the last claim reported.
    pub fn set(&self, providers: Vec<String>) {
        *self.0.lock().expect("at-cap lock") = providers;
    }

    /// Whether `provider` had no free slot at the last claim.
    pub fn contains(&self, provider: &str) -> bool {
        self.0.lock().expect("at-cap lock").iter().any(|p| p == provider)
    }

    /// Forgets `provider` (one of its jobs may have ended); whether it was at its cap.
    pub fn take(&self, provider: &str) -> bool {
        let mut full = self.0.lock().expect("at-cap lock");
        let before = full.len();
        full.retain(|p| p != provider);
        full.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_at_its_cap_until_one_of_its_steps_ends() {
        let at_cap = AtCap::default();
        at_cap.set(vec!["sandbox".into(), "veo".into()]);
        assert!(at_cap.contains("sandbox") && !at_cap.contains("openai"));
        assert!(at_cap.take("sandbox"), "it was at its cap: the engine is woken");
        assert!(!at_cap.contains("sandbox"));
        assert!(!at_cap.take("sandbox"), "no second wake-up for it");
        assert!(at_cap.contains("veo"));
    }
}
