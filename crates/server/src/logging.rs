//! `--log.level` and `--log.format` (logfmt or json), as Prometheus offers them.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global logger writing to stderr.
pub fn init(level: &str, format: &str) -> anyhow::Result<()> {
    let level = match level {
        "debug" => Level::DEBUG,
        "info" => Level::INFO,
        "warn" => Level::WARN,
        "error" => Level::ERROR,
        other => anyhow::bail!("unrecognized log level {other:?}: use debug, info, warn or error"),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    match format {
        "logfmt" => builder.event_format(Logfmt).try_init(),
        "json" => builder.json().flatten_event(true).try_init(),
        other => anyhow::bail!("unrecognized log format {other:?}: use logfmt or json"),
    }
    .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

/// `time=... level=info source=module msg="..." key=value ...`, one event a line.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = format!(
            "time={} level={} source={}",
            crate::rfc3339(std::time::SystemTime::now()),
            meta.level().as_str().to_ascii_lowercase(),
            meta.target()
        );
        let mut visitor = LogfmtFields {
            out: String::new(),
            msg: None,
        };
        event.record(&mut visitor);
        if let Some(msg) = visitor.msg {
            line.push_str(" msg=");
            push_value(&mut line, &msg);
        }
        line.push_str(&visitor.out);
        writeln!(writer, "{line}")
    }
}

struct LogfmtFields {
    out: String,
    msg: Option<String>,
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg = Some(value.to_string());
        } else {
            let _ = write!(self.out, " {}=", field.name());
            push_value(&mut self.out, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Appends a logfmt value, quoted and escaped when it has spaces, quotes, `=` or controls.
fn push_value(out: &mut String, value: &str) {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\' || c.is_control());
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_value;

    #[test]
    fn values_are_quoted_when_needed() {
        let mut s = String::new();
        push_value(&mut s, "plain");
        push_value(&mut s, " ");
        push_value(&mut s, "a \"b\"\n");
        assert_eq!(s, "plain\" \"\"a \\\"b\\\"\\n\"");
    }
}
