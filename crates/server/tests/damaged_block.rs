//! A damaged block never makes an answer look complete (issue 11): the real server on a
//! data directory with a healthy block, a block whose chunk fails its checksum (found
//! when a query reads it), a block whose index fails its checksum (left out at open) and
//! samples in the head. Queries, series and label lookups over the damaged ranges answer
//! `success` with what the healthy block and the head hold, plus a warning naming each
//! damaged block by its ULID; the server stays healthy and no byte of the damaged blocks
//! is changed, not even by the maintenance pass that runs shortly after start.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use model::Labels;
use serde_json::Value;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// The start of the data, on a 2 h block boundary (2023-11-14T22:00:00Z).
const T0: i64 = 1_699_999_200_000;
const ROOMS: [&str; 2] = ["a", "b"];

/// Directory name → the ULID of the blocks written.
struct Blocks {
    healthy: String,
    bad_chunk: String,
    bad_index: String,
}

/// Writes `temperature{room}` once a minute: three 2 h blocks over [T0, T0+6h) and head
/// samples (in the WAL) over (T0+6h, T0+6h30m]. Then damages the second block's chunks
/// and the third one's index.
fn write_data(data: &Path) -> Blocks {
    let series: Vec<(Labels, Vec<(i64, f64)>)> = ROOMS
        .iter()
        .map(|room| {
            let samples = (0..6 * 60).map(|i| (T0 + i * MINUTE, 20.0)).collect();
            (
                Labels::from_pairs([("__name__", "temperature"), ("room", room)]),
                samples,
            )
        })
        .collect();
    let metas = tsdb::write_blocks(data, &series, 2 * HOUR).unwrap();
    assert_eq!(metas.len(), 3);
    {
        let db = tsdb::Db::open(data).unwrap();
        let mut head = Vec::new();
        for room in ROOMS {
            for i in 1..=30 {
                let labels = Labels::from_pairs([("__name__", "temperature"), ("room", room)]);
                head.push((labels, T0 + 6 * HOUR + i * MINUTE, 21.0));
            }
        }
        let appended = db.append(&head).unwrap();
        assert_eq!(appended.appended, head.len(), "{appended:?}");
        db.sync().unwrap();
    }
    let blocks = Blocks {
        healthy: metas[0].ulid.clone(),
        bad_chunk: metas[1].ulid.clone(),
        bad_index: metas[2].ulid.clone(),
    };
    // Past the chunk's header: its checksum fails when a query reads it; the block opens.
    flip(&data.join(&blocks.bad_chunk).join("chunks/000001"), 20);
    // The index's checksum fails: the block cannot be opened at all.
    flip(&data.join(&blocks.bad_index).join("index"), 12);
    blocks
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn json(server: &Server, path: &str) -> Value {
    let reply = server.get(path, &[]);
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    let v: Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", reply.text()));
    assert_eq!(v["status"], "success", "{path}: {v}");
    v
}

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|w| w.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The one warning naming `ulid`, which says why and what it means.
fn warning_naming<'a>(list: &'a [String], ulid: &str) -> &'a str {
    let naming: Vec<&String> = list.iter().filter(|w| w.contains(ulid)).collect();
    assert_eq!(naming.len(), 1, "one warning naming {ulid}: {list:?}");
    let w = naming[0].as_str();
    assert!(w.starts_with(&format!("block {ulid} (")), "{w}");
    assert!(w.contains("missing from this result"), "{w}");
    w
}

fn secs(t: i64) -> String {
    format!("{}", t as f64 / 1000.0)
}

fn query(expr: &str, t: i64) -> String {
    format!("/api/v1/query?query={}&time={}", urlencode(expr), secs(t))
}

#[test]
fn damaged_blocks_are_named_in_warnings_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let blocks = write_data(&data);
    let damaged_before: Vec<_> = [&blocks.bad_chunk, &blocks.bad_index]
        .iter()
        .map(|ulid| snapshot(&data.join(ulid)))
        .collect();

    let server = Server::start(dir.path(), &["--storage.tsdb.path=data"]);
    assert_eq!(server.get("/-/healthy", &[]).status, 200);

    // A range query over everything: the healthy block's and the head's samples, and one
    // warning for each damaged block (however many selects and steps touched it).
    let path = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=60",
        urlencode("temperature"),
        secs(T0),
        secs(T0 + 6 * HOUR + 30 * MINUTE)
    );
    let v = json(&server, &path);
    let list = warnings(&v);
    assert_eq!(list.len(), 2, "{list:?}");
    let chunk_warning = warning_naming(&list, &blocks.bad_chunk);
    assert!(
        chunk_warning.contains("fails its checksum"),
        "{chunk_warning}"
    );
    let index_warning = warning_naming(&list, &blocks.bad_index);
    assert!(index_warning.contains("cannot be read"), "{index_warning}");
    assert!(
        !list.iter().any(|w| w.contains(&blocks.healthy)),
        "{list:?}"
    );
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), ROOMS.len(), "{v}");
    for series in result {
        let times: Vec<i64> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap() * 1000.0) as i64)
            .collect();
        // The healthy block's two hours (0..=119 min), the head's half hour (361..=390
        // min), and a lookback's worth of steps after each: nothing else.
        let from_healthy = times.iter().filter(|t| **t < T0 + 2 * HOUR).count();
        let from_head = times.iter().filter(|t| **t > T0 + 6 * HOUR).count();
        assert_eq!(from_healthy, 120, "{times:?}");
        assert_eq!(from_head, 30, "{times:?}");
        let damaged_range = T0 + 2 * HOUR + 5 * MINUTE..=T0 + 6 * HOUR;
        assert!(
            !times.iter().any(|t| damaged_range.contains(t)),
            "{times:?}"
        );
    }

    // Instant queries: in the block that fails to read, empty and warned about; in the
    // healthy block and in the head, answered with no warning.
    let v = json(&server, &query("temperature", T0 + 3 * HOUR));
    assert_eq!(v["data"]["result"], Value::Array(Vec::new()), "{v}");
    let list = warnings(&v);
    assert_eq!(list.len(), 1, "{list:?}");
    warning_naming(&list, &blocks.bad_chunk);
    for t in [T0 + HOUR, T0 + 6 * HOUR + 20 * MINUTE] {
        let v = json(&server, &query("temperature", t));
        assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2, "{v}");
        assert!(v.get("warnings").is_none(), "{v}");
    }
    // A range selector reaching back over both damaged blocks: what is left is counted,
    // and both are named.
    let v = json(
        &server,
        &query(
            "sum(count_over_time(temperature[7h]))",
            T0 + 6 * HOUR + 30 * MINUTE,
        ),
    );
    assert_eq!(v["data"]["result"][0]["value"][1], "300", "{v}");
    let list = warnings(&v);
    assert_eq!(list.len(), 2, "{list:?}");
    warning_naming(&list, &blocks.bad_chunk);
    warning_naming(&list, &blocks.bad_index);

    // Series over the block left out at open: its series may be missing, so it is named.
    // (The block that opened still lists its series from its intact index: nothing is
    // missing from a series list there.)
    let v = json(
        &server,
        &format!(
            "/api/v1/series?match[]=temperature&start={}&end={}",
            secs(T0 + 4 * HOUR),
            secs(T0 + 5 * HOUR)
        ),
    );
    let list = warnings(&v);
    assert_eq!(list.len(), 1, "{list:?}");
    warning_naming(&list, &blocks.bad_index);
    let v = json(
        &server,
        &format!(
            "/api/v1/series?match[]=temperature&start={}&end={}",
            secs(T0),
            secs(T0 + HOUR)
        ),
    );
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
    assert!(v.get("warnings").is_none(), "{v}");

    // Label names and values: with no range, any damaged block; with a range, those in it.
    for path in ["/api/v1/labels", "/api/v1/label/room/values"] {
        let v = json(&server, path);
        warning_naming(&warnings(&v), &blocks.bad_index);
        let v = json(
            &server,
            &format!("{path}?start={}&end={}", secs(T0), secs(T0 + HOUR)),
        );
        assert!(v.get("warnings").is_none(), "{path}: {v}");
    }
    let v = json(&server, "/api/v1/label/room/values?match[]=temperature");
    assert_eq!(v["data"], serde_json::json!(["a", "b"]), "{v}");
    warning_naming(&warnings(&v), &blocks.bad_index);

    // The first maintenance pass runs 5 s after start: let it, then nothing of the damaged
    // blocks may have changed, and the server still answers.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(server.get("/-/healthy", &[]).status, 200);
    for (ulid, before) in [&blocks.bad_chunk, &blocks.bad_index]
        .iter()
        .zip(&damaged_before)
    {
        let after = snapshot(&data.join(ulid));
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "files of {ulid}"
        );
        assert!(after == *before, "a file of {ulid} changed");
    }
    assert!(data.join(&blocks.healthy).is_dir());
}
