//! The crate's error: Go's error text, plus what kind of failure it was.

use std::fmt;

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text does not parse (`template: NAME:LINE: ...`).
    Parse,
    /// Execution failed (`template: NAME:LINE:COL: executing "NAME" at <...>: ...`), or the
    /// template to execute does not exist.
    Exec,
    /// Execution stopped at one of the [`ExecLimits`](crate::ExecLimits) (same format as
    /// `Exec`; the message names the limit).
    Limit,
    /// A bad [`Template::option`](crate::Template::option) string.
    Option,
}

/// A template error. `Display` is exactly the text Go's `err.Error()` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
