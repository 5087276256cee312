//! Runs one fake: binds 127.0.0.1:0, serves a router on the killable listener, stops on drop.
//!
//! Owns the loopback-only rule: nothing in the kit binds or connects anywhere else. It must not
//! know any protocol.

use std::net::Ipv4Addr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::conn::{ConnHandle, KillableListener};

/// A server running on a loopback port; dropping it stops accepting connections.
#[derive(Debug)]
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Binds `127.0.0.1:0`; the fake learns its base URL before it builds its router.
    pub(crate) async fn bind() -> std::io::Result<(TcpListener, String)> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        Ok((listener, base_url))
    }

    /// Serves `router` on `listener` until dropped.
    pub(crate) fn serve(listener: TcpListener, router: Router) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let service = router.into_make_service_with_connect_info::<ConnHandle>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(KillableListener::new(listener), service)
                .with_graceful_shutdown(async move { drop(stopped.await) });
            let _ = serve.await;
        });
        Self { stop: Some(stop), task }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown would wait for handlers sleeping on a "slow" fault.
        self.task.abort();
    }
}
