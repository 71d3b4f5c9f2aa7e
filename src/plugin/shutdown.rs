//! One stop signal for the whole plugin, fired by the host's `Shutdown` RPC or by a signal.
//!
//! The host calls `VM.Shutdown`, closes its connections, then sends SIGTERM and kills the
//! process 5 s later. Either event stops every server this process runs (the VM server and the
//! HTTP handler servers) so the process exits well inside that window.

use std::sync::Arc;
use tokio::sync::watch;

/// A cloneable, fire-once stop signal.
#[derive(Clone)]
pub(crate) struct StopSignal {
    sender: Arc<watch::Sender<bool>>,
}

impl StopSignal {
    /// A signal that has not fired.
    pub(crate) fn new() -> Self {
        StopSignal {
            sender: Arc::new(watch::channel(false).0),
        }
    }

    /// Fires the signal (idempotent).
    pub(crate) fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the signal has fired.
    pub(crate) fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once the signal has fired.
    pub(crate) async fn stopped(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we hold it.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }
}

/// Resolves with the signal's name on SIGTERM (what the host sends) or SIGINT (Ctrl-C).
/// If a handler cannot be installed, that signal is simply not awaited.
pub(crate) async fn termination() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            (Ok(mut term), Err(_)) => {
                term.recv().await;
                "SIGTERM"
            }
            (Err(_), Ok(mut int)) => {
                int.recv().await;
                "SIGINT"
            }
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
