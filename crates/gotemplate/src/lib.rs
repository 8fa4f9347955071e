//! Go's `text/template`, as Prometheus uses it for alerting-rule labels and annotations and
//! for console templates: the same output, byte for byte, and the same error texts.
//!
//! ```
//! use gotemplate::{Struct, Template, Value};
//!
//! // What Prometheus' alerting rules do: variables defined up front, `missingkey=zero`.
//! let defs = "{{$labels := .Labels}}{{$value := .Value}}";
//! let t = Template::new("__alert_HighLoad")
//!     .option("missingkey=zero")?
//!     .parse(&format!("{defs}{{{{ $labels.instance }}}} has load {{{{ $value }}}}{{{{ $labels.nope }}}}"))?;
//! let data = Value::structure(
//!     Struct::new("struct { Labels map[string]string; Value interface {} }")
//!         .field("Labels", Value::labels([("instance", "host:9100")]))
//!         .iface_field("Value", Value::Float(1234567.0)),
//! );
//! assert_eq!(t.execute(&data)?, "host:9100 has load 1.234567e+06");
//! # Ok::<(), gotemplate::Error>(())
//! ```
//!
//! # What is covered
//!
//! * The whole template language: text and actions, `{{-`/`-}}` trimming, comments,
//!   pipelines, variables (`$x :=`, `$x =`, `$`), fields and chains (`.A.B`, `$x.A`,
//!   `(pipeline).A`), every constant form (ints in any base with `_`, floats, hex floats,
//!   characters, `"..."` and `` `...` `` strings, `true`, `false`, `nil`), `if`/`else if`,
//!   `range` (over ints, slices and maps in key order, with `$i, $e :=`, `else`, `break`,
//!   `continue`), `with`/`else with`, `define`, `template`, `block`.
//! * Go's builtins (`and`/`or` short-circuiting, `not`, `len`, `index`, `slice`, `eq` with
//!   several operands, `ne`, `lt`, `le`, `gt`, `ge`, `print`, `printf`, `println`, `html`,
//!   `js`, `urlquery`, `call`) and Go's `fmt` for printing (every verb and flag a template can
//!   reach, `%!d(string=x)` and friends).
//! * Host functions ([`FuncMap`]) with Go-typed [`Signature`]s, so argument checks and their
//!   errors (`wrong type for value; expected string; got int`, `wrong number of args for f:
//!   want 1 got 2`, `error calling f: ...`) match Go's. Unknown function names are refused
//!   when parsing (`function "x" not defined`).
//! * Host objects ([`HostValue`]) with fields, methods taking arguments and `String()`, for
//!   Go types such as `*time.Time` or `time.Duration`.
//! * Template sets: `{{define}}`, `{{block}}`, several parses into one set
//!   ([`Template::parse_associated`] is Go's `t.New(name).Parse`, as `ParseFiles` uses it),
//!   [`Template::execute_template`], the `missingkey` [option](Template::option).
//! * Limits for untrusted templates: [`ParseLimits`] (nesting depth) and [`ExecLimits`]
//!   (template call depth, output size, execution steps, stack use).
//!
//! Error texts are those of Go 1.26 (the Go Prometheus is built with), e.g. `eq`'s
//! `incompatible types for comparison: string and int`.
//!
//! # Known differences from Go
//!
//! * Complex-number constants (`1+2i`) are refused at parse time.
//! * Nested pointers print as the fixed address `0xc000010000` (Go prints the real address).
//! * `index` of a string yields an `int`, where Go's is a `uint8` (only `%T` can tell).
//! * Strings are UTF-8: a `\xff` escape or a `slice` through a multi-byte character gives
//!   U+FFFD where Go keeps the raw byte.
//! * Functions cannot be values (no `call` of a function-valued field); `call` always reports
//!   its argument as a non-function, as Go does for non-function values.
//! * Go's limit on template depth is 100000; [`ExecLimits`] defaults to 100 and adds output,
//!   step and stack limits Go does not have.

mod call;
mod error;
mod exec;
mod fmt;
mod funcs;
mod lex;
mod parse;
mod strconv;
mod template;
mod unicode;
mod value;

pub use error::{Error, ErrorKind};
pub use funcs::{
    html_escape, js_escape, query_escape, ArgKind, ArgType, Func, FuncImpl, FuncMap, Signature,
};
pub use template::{ExecLimits, MissingKey, ParseLimits, Template};
pub use value::{HostValue, List, Struct, Value};

/// Go's `fmt` and `strconv` functions the engine uses, for host functions that must format
/// exactly as Go does (e.g. Prometheus' `humanize` is `fmt.Sprintf("%.4g%s", v, prefix)`).
pub mod go {
    pub use crate::fmt::{sprint, sprintf, sprintln};
    pub use crate::strconv::{format_float, parse_float, quote};
}
