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

/// SIGTERM (what the host sends) and SIGINT (Ctrl-C), listened for from the moment this is
/// created: the host may send SIGTERM right after the handshake, before anything awaits it,
/// and a signal without a handler would kill the process instead of stopping it cleanly.
pub(crate) struct Termination {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Termination {
    /// Installs the handlers (a handler that cannot be installed is left out).
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Termination {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Termination {}
        }
    }

    /// Resolves with the signal's name once one arrives.
    pub(crate) async fn received(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = next(&mut self.term) => "SIGTERM",
                _ = next(&mut self.int) => "SIGINT",
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
}
