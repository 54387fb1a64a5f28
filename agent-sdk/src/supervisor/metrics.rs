//! Counters a caller exports to its own metrics system (the library installs no recorder).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares the counters once: the atomic set and its public snapshot come from one table.
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        #[derive(Default)]
        pub(super) struct Counters {
            $(pub(super) $name: AtomicU64,)*
            cost_usd: Mutex<f64>,
        }

        /// The supervisor's counters at one moment, from
        /// [`counters`](super::Supervisor::counters).
        ///
        /// ```no_run
        /// # fn export(supervisor: &agent_sdk::supervisor::Supervisor<String>) {
        /// let counters = supervisor.counters();
        /// println!("live={} restarts={} cost={}", counters.sessions_live, counters.restarts, counters.cost_usd);
        /// # }
        /// ```
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct CounterSnapshot {
            $($(#[doc = $doc])* pub $name: u64,)*
            /// Sessions holding a CLI process now (a gauge).
            pub sessions_live: u64,
            /// Cost of all turns, from the CLI's results.
            pub cost_usd: f64,
        }

        impl Counters {
            pub(super) fn snapshot(&self, sessions_live: usize) -> CounterSnapshot {
                CounterSnapshot {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                    sessions_live: sessions_live as u64,
                    cost_usd: *self.cost_usd.lock().unwrap_or_else(|e| e.into_inner()),
                }
            }
        }
    };
}

counters! {
    /// Sessions started.
    sessions_created,
    /// CLIs given back after the idle timeout.
    evicted_idle,
    /// CLIs given back to make room (least recently used).
    evicted_capacity,
    /// CLIs given back on request.
    evicted_requested,
    /// Sessions given up after too many restarts.
    sessions_failed,
    /// CLI restarts.
    restarts,
    /// Turns run.
    turns,
    /// Warm spares taken by new sessions.
    spares_taken,
}

impl Counters {
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_cost(&self, usd: f64) {
        *self.cost_usd.lock().unwrap_or_else(|e| e.into_inner()) += usd;
    }
}
