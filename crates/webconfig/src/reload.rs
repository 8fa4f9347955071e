//! Noticing that web.yml changed, and deciding when the new file may take over.
//!
//! An editor or config manager that rewrites web.yml in place leaves it empty or half
//! written for a moment, and an empty (or half-written) web.yml is a valid file with no
//! users: adopting it would serve requests without authentication. So a changed file is
//! adopted only once it has kept the same stamp for a settle period, reads within its size
//! cap, loads and validates, and is not blank (blank is how a file being rewritten looks;
//! `{}`, or a file of comments only, drops every setting on purpose). Until then, and
//! whenever it is refused (a missing file too), the configuration already in force keeps
//! serving.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::{read_file, WebConfig, WEB_CONFIG_CAP};
use crate::live::Snapshot;

/// How long a changed web.yml must stay unchanged before it is adopted, by default.
pub(crate) const DEFAULT_SETTLE: Duration = Duration::from_secs(1);

/// What identifies a version of a file on disk without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
}

/// The stamp of the file `path` leads to (symlinks followed), or `None` when it cannot be
/// looked at (missing, or mid-rename).
pub(crate) fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
        ctime: m.ctime(),
        ctime_nsec: m.ctime_nsec(),
    })
}

/// Refuses a pipe or socket as web.yml. Its contents cannot be read a second time, so a
/// check at start-up and the handle would see different files (the second one empty:
/// no users), and opening a pipe that has no writer blocks the reading thread for good.
/// A missing file passes: reading it gives Go's error text.
pub(crate) fn check_rereadable(path: &Path) -> Result<(), String> {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(());
    };
    let kind = metadata.file_type();
    if kind.is_fifo() || kind.is_socket() {
        return Err(format!(
            "web config file {:?} is a pipe or socket: it must be a file that can be read again",
            path.display().to_string()
        ));
    }
    Ok(())
}

/// A file version seen on disk but not yet decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    stamp: Option<FileStamp>,
    first_seen: Instant,
}

/// The settle bookkeeping, kept apart from I/O so that it can be tested with made-up
/// stamps and instants.
#[derive(Debug)]
struct Watch {
    /// The version whose configuration is in force.
    adopted: Option<FileStamp>,
    /// The last version tried and refused; not read again until the stamp changes.
    rejected: Option<Option<FileStamp>>,
    /// The newest version seen that is neither adopted nor rejected.
    pending: Option<Pending>,
    /// One request is reading the file; the others keep the configuration in force
    /// instead of all reading it at once.
    loading: bool,
}

/// What a request should do about the file version it saw.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Serve with the configuration in force.
    KeepCurrent,
    /// Read and try this version (the caller now owns `loading`).
    Load,
}

/// How an attempt to take over a file version ended.
enum Outcome {
    /// The version is in force now (its configuration may equal the previous one).
    Adopted,
    /// The version cannot be used; the previous configuration stays.
    Rejected,
    /// The file changed while it was read: what was read may be a mix of two versions.
    ChangedWhileReading(Option<FileStamp>),
}

impl Watch {
    fn new(adopted: Option<FileStamp>) -> Self {
        Self {
            adopted,
            rejected: None,
            pending: None,
            loading: false,
        }
    }

    /// Whether `seen` is already decided on, so that a request needs no write lock.
    fn is_decided(&self, seen: Option<FileStamp>) -> bool {
        seen == self.adopted || self.rejected == Some(seen)
    }

    /// Records that a request saw `seen` at `now`, and says whether it should load it:
    /// only when the same version has been seen for at least `settle` and no other
    /// request is loading.
    fn observe(&mut self, seen: Option<FileStamp>, now: Instant, settle: Duration) -> Step {
        if self.is_decided(seen) {
            // A version that came back (a rewrite undone) needs no more settling.
            self.pending = None;
            return Step::KeepCurrent;
        }
        let first_seen = match self.pending {
            Some(p) if p.stamp == seen => p.first_seen,
            _ => {
                self.pending = Some(Pending {
                    stamp: seen,
                    first_seen: now,
                });
                now
            }
        };
        if self.loading || now.saturating_duration_since(first_seen) < settle {
            return Step::KeepCurrent;
        }
        self.loading = true;
        Step::Load
    }

    /// Ends the load of `tried` that [`Self::observe`] started.
    fn finish(&mut self, tried: Option<FileStamp>, outcome: &Outcome, now: Instant) {
        self.loading = false;
        // A newer version seen meanwhile keeps its own settle clock.
        if self.pending.is_some_and(|p| p.stamp == tried) {
            self.pending = None;
        }
        match outcome {
            Outcome::Adopted => {
                self.adopted = tried;
                self.rejected = None;
            }
            Outcome::Rejected => self.rejected = Some(tried),
            Outcome::ChangedWhileReading(newer) => {
                if self.pending.is_none_or(|p| p.stamp != *newer) {
                    self.pending = Some(Pending {
                        stamp: *newer,
                        first_seen: now,
                    });
                }
            }
        }
    }
}

/// The configuration in force and what is known about the file on disk.
struct State {
    snapshot: Arc<Snapshot>,
    watch: Watch,
    /// The error of the last refused version, while no later version has been adopted.
    last_error: Option<String>,
}

/// web.yml (or no file) as it is in force for requests, re-read when it changed and
/// settled.
pub(crate) struct ReloadingFile {
    path: Option<PathBuf>,
    settle: Duration,
    state: RwLock<State>,
    /// Numbers snapshots, so that caches keyed on a configuration can tell them apart.
    generations: AtomicU64,
}

impl ReloadingFile {
    /// Starts with `snapshot` (generation 1), loaded from `path` when its stamp was
    /// `adopted`.
    pub(crate) fn new(
        path: Option<PathBuf>,
        adopted: Option<FileStamp>,
        snapshot: Snapshot,
        settle: Duration,
    ) -> Self {
        Self {
            path,
            settle,
            state: RwLock::new(State {
                snapshot: Arc::new(snapshot),
                watch: Watch::new(adopted),
                last_error: None,
            }),
            generations: AtomicU64::new(1),
        }
    }

    /// The configuration in force for this request, after adopting a changed file if it
    /// has settled and is usable. The file is stat'ed on every call but read only when a
    /// new version has settled, by one caller at a time, with no lock held while reading.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        let Some(path) = self.path.as_deref() else {
            return self.read_state().snapshot.clone();
        };
        let seen = stamp(path);
        {
            let state = self.read_state();
            if state.watch.is_decided(seen) {
                return state.snapshot.clone();
            }
        }
        let previous = {
            let mut state = self.write_state();
            match state.watch.observe(seen, Instant::now(), self.settle) {
                Step::KeepCurrent => return state.snapshot.clone(),
                Step::Load => state.snapshot.clone(),
            }
        };
        // A panic while decoding must not leave `loading` set for good (no reload would
        // ever happen again): it counts as a refused file.
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.attempt(path, seen, &previous)
        }))
        .unwrap_or_else(|_| Attempt::Refused("internal error while loading the file".into()));
        let mut state = self.write_state();
        let outcome = match attempt {
            Attempt::Usable(snapshot) => {
                if snapshot.config != state.snapshot.config || state.last_error.is_some() {
                    tracing::info!(file = %path.display(), "web config file reloaded");
                }
                // An unchanged configuration (a touched file) keeps its snapshot, and with
                // it the caches keyed on its generation.
                if snapshot.config != state.snapshot.config {
                    state.snapshot = snapshot;
                }
                state.last_error = None;
                Outcome::Adopted
            }
            Attempt::Refused(error) => {
                // Logged once per distinct error: a file that stays broken is seen on
                // every request. The texts name no secret (upstream's parse and
                // validation errors, which never quote a hash or key).
                if state.last_error.as_deref() != Some(error.as_str()) {
                    tracing::error!(
                        file = %path.display(),
                        err = %error,
                        "web config file cannot be used: the previous configuration stays in force"
                    );
                }
                state.last_error = Some(error);
                Outcome::Rejected
            }
            Attempt::Changed(newer) => Outcome::ChangedWhileReading(newer),
        };
        state.watch.finish(seen, &outcome, Instant::now());
        state.snapshot.clone()
    }

    /// The file, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the last version of the file tried was refused, while no later version has
    /// been adopted.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.read_state().last_error.clone()
    }

    /// Reads, decodes and validates the version stamped `tried`.
    fn attempt(&self, path: &Path, tried: Option<FileStamp>, previous: &Snapshot) -> Attempt {
        if let Err(e) = check_rereadable(path) {
            return Attempt::Refused(e);
        }
        let shown = path.display().to_string();
        let read = read_file(&shown, WEB_CONFIG_CAP);
        // Checked before the read's own error too: a file still growing past the cap is
        // not an error yet.
        let after = stamp(path);
        if after != tried {
            return Attempt::Changed(after);
        }
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) => return Attempt::Refused(e.to_string()),
        };
        // Blank is how a file being rewritten in place looks; only a blank file replacing
        // a blank (default) configuration is taken, as it changes nothing.
        if bytes.iter().all(u8::is_ascii_whitespace) && previous.config != WebConfig::default() {
            return Attempt::Refused(format!(
                "web config file {shown:?} is empty; taken as being rewritten (write {{}} to remove every setting)"
            ));
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        match WebConfig::from_bytes(path, bytes).and_then(|c| Snapshot::new(c, generation)) {
            Ok(snapshot) => Attempt::Usable(Arc::new(snapshot)),
            Err(e) => Attempt::Refused(e.to_string()),
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What reading one version of the file gave.
enum Attempt {
    Usable(Arc<Snapshot>),
    Refused(String),
    Changed(Option<FileStamp>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: u64) -> Option<FileStamp> {
        Some(FileStamp {
            dev: 1,
            ino: n,
            size: n,
            mtime: 0,
            mtime_nsec: 0,
            ctime: 0,
            ctime_nsec: 0,
        })
    }

    const SETTLE: Duration = Duration::from_secs(1);

    #[test]
    fn a_version_loads_only_after_it_settled() {
        let t0 = Instant::now();
        let mut w = Watch::new(version(1));
        assert_eq!(w.observe(version(1), t0, SETTLE), Step::KeepCurrent);
        assert_eq!(w.observe(version(2), t0, SETTLE), Step::KeepCurrent);
        let half = t0 + SETTLE / 2;
        assert_eq!(w.observe(version(2), half, SETTLE), Step::KeepCurrent);
        // A further change restarts the clock.
        assert_eq!(w.observe(version(3), half, SETTLE), Step::KeepCurrent);
        assert_eq!(
            w.observe(version(3), t0 + SETTLE, SETTLE),
            Step::KeepCurrent
        );
        let settled = half + SETTLE;
        assert_eq!(w.observe(version(3), settled, SETTLE), Step::Load);
        // Only one caller loads.
        assert_eq!(w.observe(version(3), settled, SETTLE), Step::KeepCurrent);
        w.finish(version(3), &Outcome::Adopted, settled);
        assert!(w.is_decided(version(3)));
        assert!(!w.is_decided(version(1)));
    }

    #[test]
    fn zero_settle_loads_on_first_sight() {
        let mut w = Watch::new(version(1));
        assert_eq!(
            w.observe(version(2), Instant::now(), Duration::ZERO),
            Step::Load
        );
    }

    #[test]
    fn a_refused_version_is_not_read_again_until_it_changes() {
        let t0 = Instant::now();
        let mut w = Watch::new(version(1));
        w.observe(version(2), t0, SETTLE);
        assert_eq!(w.observe(version(2), t0 + SETTLE, SETTLE), Step::Load);
        w.finish(version(2), &Outcome::Rejected, t0 + SETTLE);
        assert!(w.is_decided(version(2)));
        let later = t0 + 10 * SETTLE;
        assert_eq!(w.observe(version(2), later, SETTLE), Step::KeepCurrent);
        // A missing file is a version too: refused once settled, then left alone.
        assert_eq!(w.observe(None, later, SETTLE), Step::KeepCurrent);
        assert_eq!(w.observe(None, later + SETTLE, SETTLE), Step::Load);
        w.finish(None, &Outcome::Rejected, later + SETTLE);
        assert!(w.is_decided(None));
        assert_eq!(w.adopted, version(1));
        // Going back to the version in force cancels the pending one.
        w.observe(version(4), later, SETTLE);
        assert_eq!(w.observe(version(1), later, SETTLE), Step::KeepCurrent);
        assert_eq!(w.pending, None);
    }

    #[test]
    fn a_change_during_the_read_settles_again() {
        let t0 = Instant::now();
        let mut w = Watch::new(version(1));
        w.observe(version(2), t0, SETTLE);
        assert_eq!(w.observe(version(2), t0 + SETTLE, SETTLE), Step::Load);
        let done = t0 + SETTLE + Duration::from_millis(5);
        w.finish(version(2), &Outcome::ChangedWhileReading(version(3)), done);
        assert_eq!(w.adopted, version(1));
        assert_eq!(w.observe(version(3), done, SETTLE), Step::KeepCurrent);
        assert_eq!(w.observe(version(3), done + SETTLE, SETTLE), Step::Load);
    }

    #[test]
    fn a_newer_version_seen_during_a_load_keeps_its_clock() {
        let t0 = Instant::now();
        let mut w = Watch::new(version(1));
        w.observe(version(2), t0, SETTLE);
        assert_eq!(w.observe(version(2), t0 + SETTLE, SETTLE), Step::Load);
        let meanwhile = t0 + SETTLE + Duration::from_millis(1);
        assert_eq!(w.observe(version(3), meanwhile, SETTLE), Step::KeepCurrent);
        w.finish(version(2), &Outcome::Adopted, meanwhile);
        assert_eq!(
            w.pending,
            Some(Pending {
                stamp: version(3),
                first_seen: meanwhile
            })
        );
        assert_eq!(
            w.observe(version(3), meanwhile + SETTLE, SETTLE),
            Step::Load
        );
    }
}
