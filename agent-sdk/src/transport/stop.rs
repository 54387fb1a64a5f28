//! Stopping the CLI process, the way each platform can.
//!
//! - Unix: SIGTERM asks the CLI to exit, which lets it end what it started (shells,
//!   stdio MCP servers) itself; SIGKILL if it does not.
//! - Windows: a console process without a window has no polite signal to receive
//!   (`taskkill` without `/F` only posts `WM_CLOSE` to windows), so after the grace
//!   period the CLI is ended by force. Force gives it no chance to end its own
//!   children, so the CLI runs in a Job Object and the whole job is ended: the CLI
//!   and every process it started, also those whose parent already exited (which
//!   `taskkill /T`, walking parent ids, would miss). The job is created with
//!   `KILL_ON_JOB_CLOSE`, so dropping the handle (or the SDK process dying) ends the
//!   tree as well, the Windows counterpart of `kill_on_drop`.

use std::process::ExitStatus;

use tokio::process::Child;

/// Stops one spawned CLI process (and on Windows the processes it started).
pub(super) struct Stopper {
    #[cfg(windows)]
    job: Option<job::Job>,
}

impl Stopper {
    /// Prepares to stop `child`; called right after spawning it.
    pub(super) fn new(child: &Child) -> Self {
        #[cfg(windows)]
        {
            // Adopted before the SDK sends its first frame: the CLI starts shells and MCP
            // servers only once the session runs, so they are inside the job.
            let job = job::Job::adopt(child)
                .inspect_err(|err| {
                    tracing::debug!(%err, "could not put the CLI in a Job Object; only the CLI itself will be ended")
                })
                .ok();
            Stopper { job }
        }
        #[cfg(not(windows))]
        {
            let _ = child;
            Stopper {}
        }
    }

    /// Asks the process to exit. False when the platform has no way to ask, and only
    /// [`force`](Self::force) is left.
    pub(super) fn ask(&self, child: &Child) -> bool {
        #[cfg(unix)]
        {
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
            }
            true
        }
        #[cfg(not(unix))]
        {
            let _ = child;
            false
        }
    }

    /// Ends the process now (Unix: SIGKILL; Windows: the whole job).
    pub(super) fn force(&self, child: &mut Child) {
        #[cfg(windows)]
        if let Some(job) = &self.job {
            match job.terminate() {
                Ok(()) => return,
                Err(err) => tracing::debug!(%err, "could not end the CLI's Job Object"),
            }
        }
        let _ = child.start_kill();
    }
}

/// The exit code and, on Unix, the signal that ended the process.
pub(super) fn exit_parts(status: &ExitStatus) -> (Option<i32>, Option<i32>) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        (status.code(), status.signal())
    }
    #[cfg(not(unix))]
    {
        (status.code(), None)
    }
}

#[cfg(windows)]
mod job {
    use std::ffi::c_void;
    use std::io;

    use tokio::process::Child;
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_BREAKAWAY_OK,
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
        JobObjectExtendedLimitInformation, SetInformationJobObject, TerminateJobObject,
    };

    /// The exit code the CLI and its processes get when the job is ended.
    const TERMINATED: u32 = 1;

    /// An owned Job Object handle, closed on drop (which ends the processes in it).
    pub(super) struct Job(HANDLE);

    // SAFETY: a job handle names a kernel object; it may be used and closed from any thread.
    unsafe impl Send for Job {}
    // SAFETY: as above; the calls made through `&Job` are thread-safe kernel calls.
    unsafe impl Sync for Job {}

    impl Job {
        /// A new job that ends its processes when closed, with `child` assigned to it.
        /// `BREAKAWAY_OK` lets a program the CLI runs opt out on purpose
        /// (`CREATE_BREAKAWAY_FROM_JOB`), as a detached server would.
        pub(super) fn adopt(child: &Child) -> io::Result<Job> {
            let process = child
                .raw_handle()
                .ok_or_else(|| io::Error::other("the CLI has already exited"))?;
            // SAFETY: no security attributes and no name: an anonymous job; the result is checked.
            let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            if handle.is_null() {
                return Err(io::Error::last_os_error());
            }
            let job = Job(handle);
            let mut limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
            limits.BasicLimitInformation.LimitFlags =
                JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
            // SAFETY: `limits` is the structure this information class names, with its size.
            let set = unsafe {
                SetInformationJobObject(
                    job.0,
                    JobObjectExtendedLimitInformation,
                    (&raw const limits).cast::<c_void>(),
                    size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                )
            };
            if set == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: both handles are open: the job's is ours, the process's belongs to `child`.
            if unsafe { AssignProcessToJobObject(job.0, process as HANDLE) } == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(job)
        }

        /// Ends every process in the job.
        pub(super) fn terminate(&self) -> io::Result<()> {
            // SAFETY: the handle is open until drop.
            if unsafe { TerminateJobObject(self.0, TERMINATED) } == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }

    impl Drop for Job {
        fn drop(&mut self) {
            // SAFETY: the handle is ours and closed once.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }
}
