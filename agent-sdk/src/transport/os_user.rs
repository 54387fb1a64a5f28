//! Running the CLI as another OS user (the `user` option): the account's
//! uid, primary gid, supplementary groups and home, looked up by name before
//! the spawn, and switched to in the child between `fork` and `exec`.

use std::path::PathBuf;

use crate::error::Result;

/// Who the CLI runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary one included), as `initgroups` would set.
    pub groups: Vec<u32>,
    pub home: PathBuf,
}

/// Looks `name` up in the user database: `Error::UnknownUser` when there is
/// no such account; `Error::UnsupportedOnPlatform` where users cannot be switched.
pub(crate) fn lookup(name: &str) -> Result<RunAs> {
    platform::lookup(name)
}

#[cfg(unix)]
pub(crate) use platform::switch_in_child;

#[cfg(unix)]
mod platform {
    use std::ffi::{CStr, CString, OsStr};
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    use super::RunAs;
    use crate::error::{Error, Result};

    /// The type `getgrouplist` fills: `int` on Apple platforms, `gid_t` elsewhere.
    #[cfg(target_vendor = "apple")]
    type ListedGroup = libc::c_int;
    #[cfg(not(target_vendor = "apple"))]
    type ListedGroup = libc::gid_t;

    /// Past this many supplementary groups the lookup gives up (the kernel's
    /// own limit, NGROUPS_MAX, is 65536 on Linux).
    const MAX_GROUPS: usize = 65_536;

    pub(super) fn lookup(name: &str) -> Result<RunAs> {
        let unknown = || Error::UnknownUser {
            name: name.to_owned(),
        };
        let c_name = CString::new(name).map_err(|_| unknown())?;
        // SAFETY: a zeroed passwd is a valid out-parameter for getpwnam_r.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let mut buffer = vec![0 as libc::c_char; 1024];
        loop {
            // SAFETY: every pointer is valid for the call; the buffer's length is passed.
            let status = unsafe {
                libc::getpwnam_r(
                    c_name.as_ptr(),
                    &mut entry,
                    buffer.as_mut_ptr(),
                    buffer.len(),
                    &mut found,
                )
            };
            match status {
                0 => break,
                libc::ERANGE if buffer.len() < 1 << 20 => buffer.resize(buffer.len() * 2, 0),
                errno => return Err(Error::Io(io::Error::from_raw_os_error(errno))),
            }
        }
        if found.is_null() {
            return Err(unknown());
        }
        // SAFETY: on success pw_dir points into `buffer`, NUL-terminated.
        let home = unsafe { CStr::from_ptr(entry.pw_dir) };
        let home = PathBuf::from(OsStr::from_bytes(home.to_bytes()));
        let (uid, gid) = (entry.pw_uid, entry.pw_gid);
        Ok(RunAs {
            name: name.to_owned(),
            uid,
            gid,
            groups: groups_of(&c_name, gid)?,
            home,
        })
    }

    /// The account's groups from the group database (`getgrouplist`).
    // The casts are the identity on Linux, `int` <-> `gid_t` on Apple platforms.
    #[allow(clippy::unnecessary_cast)]
    fn groups_of(name: &CString, gid: libc::gid_t) -> Result<Vec<u32>> {
        let mut capacity: usize = 64;
        loop {
            let mut groups: Vec<ListedGroup> = vec![0; capacity];
            let mut count = libc::c_int::try_from(capacity).unwrap_or(libc::c_int::MAX);
            // SAFETY: `groups` holds `count` entries; the name is NUL-terminated.
            let status = unsafe {
                libc::getgrouplist(
                    name.as_ptr(),
                    gid as ListedGroup,
                    groups.as_mut_ptr(),
                    &mut count,
                )
            };
            if status >= 0 {
                groups.truncate(usize::try_from(count).unwrap_or(0));
                return Ok(groups.into_iter().map(|g| g as u32).collect());
            }
            if capacity >= MAX_GROUPS {
                return Err(Error::Io(io::Error::other(
                    "the account is in more groups than the lookup allows",
                )));
            }
            // Linux says how many it needs; others only that there are more.
            capacity = usize::try_from(count)
                .unwrap_or(0)
                .max(capacity * 2)
                .min(MAX_GROUPS);
        }
    }

    /// Switches the calling (child) process to `run_as`: supplementary groups,
    /// then the gid, then the uid, in that order since each needs the
    /// privilege the next one drops. A no-op when already that user.
    ///
    /// # Safety
    /// Runs between `fork` and `exec`: only async-signal-safe calls (no
    /// allocation; `groups` was built before the fork).
    pub(crate) unsafe fn switch_in_child(
        uid: u32,
        gid: u32,
        groups: &[libc::gid_t],
    ) -> io::Result<()> {
        // SAFETY: plain system calls on the child's own credentials.
        unsafe {
            if libc::geteuid() == uid && libc::getegid() == gid {
                return Ok(());
            }
            if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setgid(gid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod platform {
    use super::RunAs;
    use crate::error::{Error, Result};

    pub(super) fn lookup(_name: &str) -> Result<RunAs> {
        Err(Error::UnsupportedOnPlatform { option: "user" })
    }
}

/// The environment the CLI gets as `run_as`: its own home and names, unless
/// the options set them.
pub(crate) fn identity_env(run_as: &RunAs) -> [(&'static str, std::ffi::OsString); 3] {
    [
        ("HOME", run_as.home.clone().into_os_string()),
        ("USER", run_as.name.clone().into()),
        ("LOGNAME", run_as.name.clone().into()),
    ]
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::Error;

    /// What `id` says about an account: uid, gid, all group ids.
    fn id_of(name: &str) -> (u32, u32, Vec<u32>) {
        let id = |flag: &str| {
            let out = std::process::Command::new("id")
                .arg(flag)
                .arg(name)
                .output()
                .unwrap();
            assert!(out.status.success(), "id {flag} {name}");
            String::from_utf8(out.stdout).unwrap()
        };
        let mut groups: Vec<u32> = id("-G")
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect();
        groups.sort_unstable();
        (
            id("-u").trim().parse().unwrap(),
            id("-g").trim().parse().unwrap(),
            groups,
        )
    }

    #[test]
    fn accounts_resolve_as_id_reports_them() {
        for name in ["root", "nobody"] {
            let run_as = lookup(name).unwrap();
            let (uid, gid, groups) = id_of(name);
            assert_eq!((run_as.uid, run_as.gid), (uid, gid), "{name}");
            let mut looked_up = run_as.groups.clone();
            looked_up.sort_unstable();
            looked_up.dedup();
            assert_eq!(looked_up, groups, "{name}");
            assert!(run_as.home.is_absolute(), "{name}: {:?}", run_as.home);
        }
        assert_eq!(lookup("root").unwrap().uid, 0);
    }

    #[test]
    fn unknown_accounts_are_a_typed_error() {
        for name in ["no-such-user-agent-sdk", "", "nul\0byte"] {
            match lookup(name) {
                Err(Error::UnknownUser { name: got }) => assert_eq!(got, name),
                other => panic!("{name:?}: {other:?}"),
            }
        }
    }
}
