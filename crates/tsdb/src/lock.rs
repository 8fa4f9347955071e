//! The data directory's lock, and the guard that keeps a Prometheus out of it.
//!
//! The lock is `flock(LOCK_EX | LOCK_NB)` on `<dir>/lock` (std's `File::try_lock` is
//! `flock(2)` on Linux): the file and the call Prometheus's `tsdb/fileutil` uses
//! (`flock_unix.go`), so a Prometheus that takes its lock and Promethium exclude each
//! other, whichever starts first. Upstream Prometheus locks by default
//! (`--storage.tsdb.no-lockfile` turns it off); Debian's build only with
//! `--storage.tsdb.use-lockfile`.
//!
//! A Prometheus that takes no lock, or one started while Promethium is not running, would
//! still read our WAL as corrupt and "repair" it. The guard against that is a directory
//! named `queries.active` in ours: Prometheus (server mode) opens
//! `<storage path>/queries.active` for its active query log (`O_CREATE|O_RDWR|O_TRUNC`)
//! before it opens its TSDB, and with a directory there it stops (upstream exits,
//! 2.x panics with "Unable to create mmap-ed active query log") before it reads or
//! changes anything else. A file in it says why it is there.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{io as io_err, DbError};

/// The name of the guard directory (see the module docs).
const GUARD: &str = "queries.active";

const GUARD_NOTE: &str = "This directory belongs to Promethium. It is here so that a \
Prometheus server started on this data directory by mistake stops at once (it needs a file \
of this name for its active query log) instead of reading Promethium's files as its own and \
truncating them as corrupt. Promethium and Prometheus cannot share a data directory.\n";

/// A held lock on a data directory; released when dropped.
pub(crate) struct DirLock {
    _file: File,
}

/// What looking for the lock found.
pub(crate) enum Existing {
    /// No lock file yet.
    None,
    Taken(DirLock),
    /// Another process holds the lock on this file.
    Held(PathBuf),
}

/// Takes the lock on an open lock file. A lock can outlive its holder by a moment: a child
/// process forked by anyone in this process holds a copy of the descriptor until it
/// execs. So a held lock is retried for a second before it counts as another server's.
fn take(file: File, path: &Path) -> Result<Existing, DbError> {
    let mut attempts = 0;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Existing::Taken(DirLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) if attempts < 20 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => return Ok(Existing::Held(path.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(format!("locking {}", path.display()))(e))
            }
        }
    }
}

impl DirLock {
    /// Takes the lock if `<dir>/lock` exists, opening it read-only so that nothing is
    /// created or changed before the directory has been looked at.
    pub fn existing(dir: &Path) -> Result<Existing, DbError> {
        let path = dir.join("lock");
        match File::open(&path) {
            Ok(file) => take(file, &path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::None),
            Err(e) => Err(io_err(format!("opening {}", path.display()))(e)),
        }
    }

    /// Creates `<dir>/lock` and takes the lock (`Taken` or `Held`).
    pub fn create(dir: &Path) -> Result<Existing, DbError> {
        let path = dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        take(file, &path)
    }
}

/// Makes sure the guard directory is there (see the module docs). Not fatal: without it
/// only the protection from a Prometheus that takes no lock is missing.
pub(crate) fn guard_against_prometheus(dir: &Path) {
    let guard = dir.join(GUARD);
    let note = guard.join("PROMETHIUM-README.txt");
    let made = fs::create_dir_all(&guard).and_then(|()| {
        if note.exists() {
            Ok(())
        } else {
            fs::write(&note, GUARD_NOTE)
        }
    });
    if let Err(e) = made {
        tracing::warn!(dir = %guard.display(), err = %e, "could not create the directory that stops a Prometheus from starting on this data directory");
    }
}
