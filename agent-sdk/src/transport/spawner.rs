//! Spawning CLI processes that die with this process, even when it is SIGKILLed.
//!
//! On Linux a child asks the kernel for `PR_SET_PDEATHSIG(SIGKILL)` between `fork`
//! and `exec`. The signal follows the *thread* that forked it, not the process: a
//! child spawned from a tokio worker or blocking-pool thread would be killed when
//! that thread retires. So every bound child is forked by one spawner thread that
//! lives as long as the process. Elsewhere there is no such signal; the best
//! available remains `kill_on_drop` (and the Job Object on Windows).

use std::io;

use tokio::process::{Child, Command};

/// Spawns `command`, bound to this process's life where the platform allows it.
pub(super) fn spawn_bound(command: Command) -> io::Result<Child> {
    platform::spawn_bound(command)
}

#[cfg(target_os = "linux")]
mod platform {
    use std::io;
    use std::sync::OnceLock;
    use std::sync::mpsc::{Sender, channel};

    use tokio::process::{Child, Command};

    /// One spawn request: the command, the runtime the child's reaper registers
    /// with, and where the outcome goes.
    type Job = (Command, tokio::runtime::Handle, Sender<io::Result<Child>>);

    static SPAWNER: OnceLock<Sender<Job>> = OnceLock::new();

    /// The spawner thread, started on first use; it never ends, so the death
    /// signal it arms fires only when the whole process dies.
    fn spawner() -> &'static Sender<Job> {
        SPAWNER.get_or_init(|| {
            let (jobs, incoming) = channel::<Job>();
            std::thread::Builder::new()
                .name("agent-sdk-spawner".into())
                .spawn(move || {
                    for (mut command, runtime, reply) in incoming {
                        let _entered = runtime.enter();
                        let _ = reply.send(command.spawn());
                    }
                })
                .expect("the spawner thread starts");
            jobs
        })
    }

    pub(super) fn spawn_bound(mut command: Command) -> io::Result<Child> {
        // SAFETY: getpid(2) is always safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs between fork and exec and calls only
        // async-signal-safe functions (prctl, getppid, kill, getpid).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before the prctl: then nobody would signal us.
                if libc::getppid() != parent {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
                Ok(())
            });
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|err| io::Error::other(format!("no tokio runtime to spawn in: {err}")))?;
        let (reply, outcome) = channel();
        spawner()
            .send((command, runtime, reply))
            .map_err(|_| io::Error::other("the spawner thread is gone"))?;
        outcome
            .recv()
            .map_err(|_| io::Error::other("the spawner thread is gone"))?
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use std::io;

    use tokio::process::{Child, Command};

    /// No parent-death signal here: `kill_on_drop` (and the Windows Job Object,
    /// closed when this process dies) is the best available.
    pub(super) fn spawn_bound(mut command: Command) -> io::Result<Child> {
        command.spawn()
    }
}
