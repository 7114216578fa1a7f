// SPDX-License-Identifier: GPL-2.0

//! Errors of `markctl` and the exit code of each.
//!
//! | code | meaning                                                        |
//! |------|----------------------------------------------------------------|
//! | 0    | success                                                        |
//! | 1    | any other error (the kernel refused a batch, bad listing, I/O) |
//! | 2    | usage error (bad arguments, a malformed name or site spec)     |
//! | 3    | markers.ko is not loaded (the root directory is missing)       |
//! | 4    | permission denied (EACCES or EPERM)                            |
//! | 5    | not found (unknown marker or site, a selector matched nothing) |

use std::fmt;
use std::io;
use std::path::Path;

/// Exit code of a usage error (also clap's).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when markers.ko is not loaded.
pub const EXIT_NOT_LOADED: u8 = 3;
/// Exit code when permission is denied.
pub const EXIT_PERMISSION: u8 = 4;
/// Exit code for an unknown marker or site.
pub const EXIT_NOT_FOUND: u8 = 5;
/// Exit code of any other error.
pub const EXIT_OTHER: u8 = 1;

/// An error: a one-line message and the exit code it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The exit code of the process.
    pub code: u8,
    /// The message, one line, without the `markctl: ` prefix.
    pub message: String,
}

/// The result type of `markctl`'s functions.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with exit code `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }

    /// An unknown marker or site (exit code 5).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(EXIT_NOT_FOUND, message)
    }

    /// Any other error (exit code 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(EXIT_OTHER, message)
    }

    /// markers.ko is not loaded: `root` does not exist (exit code 3).
    pub fn not_loaded(root: &Path) -> Self {
        Self::new(
            EXIT_NOT_LOADED,
            format!(
                "markers.ko is not loaded ({} does not exist): load it with insmod markers.ko",
                root.display()
            ),
        )
    }

    /// A failed read of `path`.
    pub fn read(path: &Path, err: &io::Error) -> Self {
        let code = match err.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => EXIT_PERMISSION,
            Some(libc::ENOENT) => EXIT_NOT_FOUND,
            _ => EXIT_OTHER,
        };
        Self::new(code, format!("cannot read {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// What the process may say about an `EPERM`: who it runs as and whether the
/// kernel is locked down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privilege {
    /// The process runs with effective user ID 0.
    pub root: bool,
    /// `/sys/kernel/security/lockdown` selects `confidentiality`.
    pub locked_down: bool,
}

impl Privilege {
    /// The privilege of the running process.
    pub fn current() -> Self {
        // SAFETY: geteuid() takes no arguments, cannot fail and touches no
        // memory of ours.
        let root = unsafe { libc::geteuid() } == 0;
        let locked_down = std::fs::read_to_string("/sys/kernel/security/lockdown")
            .map(|s| lockdown_is_confidentiality(&s))
            .unwrap_or(false);
        Privilege { root, locked_down }
    }
}

/// Whether the contents of `/sys/kernel/security/lockdown` (for example
/// `none integrity [confidentiality]`) select the confidentiality level.
pub fn lockdown_is_confidentiality(contents: &str) -> bool {
    contents
        .split_whitespace()
        .any(|w| w == "[confidentiality]")
}

/// Maps the error of the `open(2)` or `write(2)` of a batch on `control` to
/// a one-line message and an exit code.
pub fn write_error(err: &io::Error, privilege: Privilege) -> Error {
    match err.raw_os_error() {
        Some(libc::EACCES) => Error::new(
            EXIT_PERMISSION,
            "permission denied writing control: run as root",
        ),
        Some(libc::EPERM) => Error::new(EXIT_PERMISSION, eperm_message(privilege)),
        Some(libc::EINVAL) => Error::other(
            "the kernel refused the batch, see dmesg: nothing was changed",
        ),
        Some(libc::ENOENT) => Error::not_found(
            "no such marker, module or site: a selector matched nothing, see dmesg: nothing was changed",
        ),
        Some(libc::E2BIG) => Error::other(
            "the batch is too long (a batch must be shorter than 4096 bytes): nothing was changed",
        ),
        Some(libc::ENOMEM) => Error::other("the kernel ran out of memory: nothing was changed"),
        Some(libc::EIO) => Error::other(
            "some sites could not be patched, see dmesg (the others were; the next pass retries them)",
        ),
        _ => Error::other(format!("writing control failed: {err}")),
    }
}

/// The message of an `EPERM` on a write.
fn eperm_message(privilege: Privilege) -> String {
    match privilege {
        Privilege {
            locked_down: true, ..
        } => "operation not permitted: the kernel is locked down (lockdown=confidentiality); \
              markers cannot be switched from user space"
            .to_string(),
        Privilege { root: false, .. } => {
            "operation not permitted: run as root (writes need CAP_SYS_ADMIN)".to_string()
        }
        Privilege { root: true, .. } => "operation not permitted: CAP_SYS_ADMIN is needed, \
              or the kernel is locked down (lockdown=confidentiality)"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(e: i32) -> io::Error {
        io::Error::from_raw_os_error(e)
    }

    #[test]
    fn write_errors_map_to_codes() {
        let p = Privilege::default();
        assert_eq!(write_error(&errno(libc::EACCES), p).code, EXIT_PERMISSION);
        assert_eq!(write_error(&errno(libc::EPERM), p).code, EXIT_PERMISSION);
        assert_eq!(write_error(&errno(libc::ENOENT), p).code, EXIT_NOT_FOUND);
        assert_eq!(write_error(&errno(libc::EINVAL), p).code, EXIT_OTHER);
        assert!(write_error(&errno(libc::EINVAL), p)
            .message
            .contains("see dmesg"));
        assert!(write_error(&errno(libc::E2BIG), p)
            .message
            .contains("too long"));
        assert!(write_error(&errno(libc::EIO), p)
            .message
            .contains("could not be patched"));
        assert!(write_error(&errno(libc::EACCES), p)
            .message
            .contains("run as root"));
    }

    #[test]
    fn eperm_names_the_cause() {
        let user = Privilege {
            root: false,
            locked_down: false,
        };
        let locked = Privilege {
            root: true,
            locked_down: true,
        };
        assert!(write_error(&errno(libc::EPERM), user)
            .message
            .contains("run as root"));
        assert!(write_error(&errno(libc::EPERM), locked)
            .message
            .contains("lockdown=confidentiality"));
    }

    #[test]
    fn lockdown_levels() {
        assert!(lockdown_is_confidentiality(
            "none integrity [confidentiality]\n"
        ));
        assert!(!lockdown_is_confidentiality(
            "none [integrity] confidentiality\n"
        ));
        assert!(!lockdown_is_confidentiality(
            "[none] integrity confidentiality\n"
        ));
    }
}
