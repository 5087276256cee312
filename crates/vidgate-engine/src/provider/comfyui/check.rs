//! `upstreams check` on a ComfyUI pool: every server's `/object_info` is read (through the
//! reverse proxy's credential, if any) and the workflow checked against it, as before a
//! server's first job (docs/upstreams.md §15.8). A 401 or 403 refuses the credential; a
//! workflow whose nodes, inputs or model files a server lacks makes the "model" (the
//! workflow) bad; a server that does not answer leaves both unknown.

use super::ComfyuiProvider;
use crate::provider::ProviderError;
use crate::provider::check::{Check, Verdict};

impl ComfyuiProvider {
    pub(super) async fn check_live(&self) -> Check {
        let mut refused_key = Vec::new();
        let mut unfit = Vec::new();
        let mut silent = Vec::new();
        for server in &self.servers {
            match self.ensure_fits(server).await {
                Ok(()) => {}
                Err(ProviderError::Refused(why)) if why.starts_with("401") || why.starts_with("403") => {
                    refused_key.push(format!("{server}: {why}"))
                }
                Err(ProviderError::Refused(why)) => unfit.push(why),
                Err(e) => silent.push(format!("{server}: {e}")),
            }
        }
        let n = self.servers.len();
        let credentials = if !refused_key.is_empty() {
            Verdict::Bad(refused_key.join("; "))
        } else if !silent.is_empty() {
            Verdict::Unknown(silent.join("; "))
        } else {
            Verdict::Good(format!("{n} server(s) answered /object_info"))
        };
        let model = if !unfit.is_empty() {
            Verdict::Bad(unfit.join("; "))
        } else if !refused_key.is_empty() || !silent.is_empty() {
            Verdict::Unknown("not every server could be asked".into())
        } else {
            Verdict::Good(format!("the workflow {:?} fits every server", self.config.workflow))
        };
        Check { credentials, model }
    }
}
