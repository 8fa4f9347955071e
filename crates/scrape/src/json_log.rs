//! JSON-lines log files as Prometheus writes them for `scrape_failure_log_file` and
//! `query_log_file` (promslog's JSON format: `time`, `level`, `source`, `msg`, then the
//! record's own fields), opened for appending and reopened on every configuration load
//! so that log rotation works.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

/// One open JSON-lines log file. Writes are whole lines, serialized by a lock.
#[derive(Debug)]
pub struct JsonLogFile {
    path: String,
    file: Mutex<File>,
}

impl JsonLogFile {
    /// Opens `path` for appending, creating it (Prometheus's `NewJSONFileLogger`).
    pub fn open(path: &str) -> Result<Self, String> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("can't create json log file: open {path}: {e}"))?;
        Ok(Self {
            path: path.to_string(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes one record: `level` and `msg`, then `fields` (already JSON values) in order.
    /// A failed write is logged, never fatal.
    pub fn write(&self, level: &str, source: &str, msg: &str, fields: &[(&str, String)]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut line = format!(
            "{{\"time\":{},\"level\":{},\"source\":{},\"msg\":{}",
            json_string(&model::time::format_rfc3339_ms(now)),
            json_string(level),
            json_string(source),
            json_string(msg)
        );
        for (key, value) in fields {
            line.push(',');
            line.push_str(&json_string(key));
            line.push(':');
            line.push_str(value);
        }
        line.push_str("}\n");
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::error!(file = %self.path, err = %e, "writing a JSON log line");
        }
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_promslog_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let log = JsonLogFile::open(path.to_str().unwrap()).unwrap();
        log.write(
            "ERROR",
            "scrape.go",
            "boom \"x\"",
            &[("job_name", json_string("node"))],
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(value["msg"], "boom \"x\"");
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["job_name"], "node");
        assert!(value["time"].as_str().unwrap().ends_with('Z'));
    }
}
