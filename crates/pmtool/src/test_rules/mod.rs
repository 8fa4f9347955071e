//! `pmtool test rules`: promtool's rule unit tests (`cmd/promtool/unittest.go`), with its
//! output and exit codes.
//!
//! For each file: `  SUCCESS` on stdout, or `  FAILED:` on stderr and then each error on
//! stderr, each followed by a blank line on stdout; then a blank line on stdout. Exit 1 if
//! any file failed.
//!
//! Each test group runs as upstream runs it: its input series are loaded into a fresh
//! TSDB (in a temporary directory) as evaluation reaches their timestamps, all rule groups
//! are evaluated every `evaluation_interval` from the start time to the largest
//! `eval_time` (in `group_eval_order`), firing alerts are compared after the evaluation at
//! or just before each `alert_rule_test`'s `eval_time`, and `promql_expr_test`s are run at
//! the end. The PromQL engine is promtool's: `@` and negative offsets enabled, 10,000
//! samples per query, subqueries without a step use the evaluation interval.
//!
//! Not supported: native histograms (input series with `{{...}}` values fail the test
//! group with an error; an expected `histogram:` never matches), `--junit`, and `--diff`'s
//! coloured JSON diff (with `--diff` failures are reported as without it).

mod file;
mod format;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::Labels;
use promql::series_notation::{expand_items, parse_labels, split_series_line, Item};
use rules::{AlertState, GroupRule};

use file::{TestGroup, UnitTestFile};
use format::{
    alerts_string, go_duration, indent_lines, model_duration, samples_string, LabelsAndAnnotations,
    ParsedSample,
};

/// The options of `test rules`.
pub struct TestRulesOptions {
    /// `--run`: only test groups whose name matches one of these regular expressions.
    pub run: Vec<String>,
    pub diff: bool,
    pub debug: bool,
    pub ignore_unknown_fields: bool,
}

/// Runs the unit test files; the exit code is promtool's.
pub fn run(files: &[String], options: &TestRulesOptions) -> ExitCode {
    let run = if options.run.is_empty() {
        None
    } else {
        match regex::Regex::new(&options.run.join("|")) {
            Ok(re) => Some(re),
            Err(e) => {
                eprintln!("error parsing --run regular expression: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    if options.diff {
        eprintln!("  WARNING: --diff is not supported by pmtool; failures are reported without it");
    }
    let mut failed = false;
    for f in files {
        let errs = rule_unit_test(f, run.as_ref(), options);
        if errs.is_empty() {
            println!("  SUCCESS");
        } else {
            eprintln!("  FAILED:");
            for e in errs {
                eprintln!("{e}");
                println!();
            }
            failed = true;
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One unit test file; the errors of its failed tests (none: success).
fn rule_unit_test(
    filename: &str,
    run: Option<&regex::Regex>,
    options: &TestRulesOptions,
) -> Vec<String> {
    let text = match std::fs::read(filename) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return vec![format!("open {filename}: {}", go_io_reason(&e))],
    };
    let mut file = match file::parse(&text) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let base = Path::new(filename).parent().unwrap_or(Path::new(""));
    file.rule_files = resolve_and_glob(base, &file.rule_files);
    if file.evaluation_interval.0.is_zero() {
        file.evaluation_interval = promconfig::PromDuration(Duration::from_secs(60));
    }
    let mut group_order: BTreeMap<String, usize> = BTreeMap::new();
    for (i, name) in file.group_eval_order.iter().enumerate() {
        if group_order.insert(name.clone(), i).is_some() {
            return vec![format!("group name repeated in evaluation order: {name}")];
        }
    }
    let mut errs = Vec::new();
    let tests = std::mem::take(&mut file.tests);
    for (i, mut tg) in tests.into_iter().enumerate() {
        if let Some(re) = run {
            if !re.is_match(&tg.name) {
                continue;
            }
        }
        let name = if tg.name.is_empty() {
            format!("unnamed#{i}")
        } else {
            tg.name.clone()
        };
        if tg.interval.0.is_zero() {
            tg.interval = file.evaluation_interval;
        }
        let started = Instant::now();
        if options.debug {
            eprintln!("DEBUG: Starting test {name}");
        }
        errs.extend(test_group(&tg, &file, &group_order, options));
        if options.debug {
            eprintln!("DEBUG: Test {name} finished, took {:?}", started.elapsed());
        }
    }
    errs
}

/// Upstream's `resolveAndGlobFilepaths`: relative to the test file's directory, globs
/// expanded (a pattern matching nothing is warned about).
fn resolve_and_glob(base: &Path, patterns: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for rf in patterns {
        let path = if !rf.is_empty() && !Path::new(rf).is_absolute() {
            clean_join(base, rf)
        } else {
            rf.clone()
        };
        let found = promconfig::glob(&path);
        if found.is_empty() {
            eprintln!("  WARNING: no file match pattern {path}");
        }
        out.extend(found.into_iter().map(|p| p.display().to_string()));
    }
    out
}

/// Go's `filepath.Join` for the common cases (`.` and empty bases drop out).
fn clean_join(base: &Path, rel: &str) -> String {
    let joined: PathBuf = base.join(rel);
    let s = joined.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn go_io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// An input sample: labels, time (ms), value.
type InputSample = (Labels, i64, f64);

/// The input series as samples in time order (upstream's `load` command, lazily
/// appended); a later line for the same series replaces an earlier one.
fn input_samples(tg: &TestGroup, mint: i64) -> Result<Vec<InputSample>, String> {
    let interval = tg.interval.0.as_millis() as i64;
    let mut per_series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for is in &tg.input_series {
        let line = format!("{} {}", is.series, is.values);
        let (desc, values) = split_series_line(line.trim());
        let labels = parse_labels(desc)
            .map_err(|e| format!("error parsing input series {:?}: {e}", is.series))?;
        let items = expand_items(values)
            .map_err(|e| format!("error parsing values of input series {:?}: {e}", is.series))?;
        let mut points = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            let t = mint + k as i64 * interval;
            match item {
                Item::Value(v) => points.push((t, v)),
                Item::Stale => points.push((t, model::stale_nan())),
                Item::Omitted => {}
                Item::Histogram(_) => {
                    return Err(format!(
                        "input series {:?}: native histogram samples are not supported by pmtool",
                        is.series
                    ))
                }
            }
        }
        per_series.insert(labels, points);
    }
    let mut samples: Vec<InputSample> = per_series
        .into_iter()
        .flat_map(|(l, pts)| pts.into_iter().map(move |(t, v)| (l.clone(), t, v)))
        .collect();
    samples.sort_by_key(|s| s.1);
    Ok(samples)
}

/// The largest `eval_time` of the group's tests, in ms.
fn max_eval_time(tg: &TestGroup) -> i64 {
    let alerts = tg.alert_rule_test.iter().map(|a| a.eval_time.0);
    let exprs = tg.promql_expr_test.iter().map(|p| p.eval_time.0);
    alerts
        .chain(exprs)
        .max()
        .map_or(0, |d| d.as_millis() as i64)
}

/// Float comparison, fuzzy (one ULP either way) when `fuzzy_compare` is set.
fn floats_equal(x: f64, y: f64, fuzzy: bool) -> bool {
    if x == y {
        return true;
    }
    fuzzy && (next_toward(x, f64::NEG_INFINITY) == y || next_toward(x, f64::INFINITY) == y)
}

/// Go's `math.Nextafter(x, toward)` for infinite `toward`.
fn next_toward(x: f64, toward: f64) -> f64 {
    if x.is_nan() || x == toward {
        return x;
    }
    if x == 0.0 {
        let tiny = f64::from_bits(1);
        return if toward > 0.0 { tiny } else { -tiny };
    }
    let bits = x.to_bits();
    let up = (toward > x) == (x > 0.0);
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

/// Runs one test group; its errors, in upstream's wording.
fn test_group(
    tg: &TestGroup,
    file: &UnitTestFile,
    group_order: &BTreeMap<String, usize>,
    options: &TestRulesOptions,
) -> Vec<String> {
    let eval_interval = file.evaluation_interval.0.as_millis() as i64;
    let mint = tg.start_timestamp.0.unwrap_or(0);
    let samples = match input_samples(tg, mint) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return vec![format!("creating a temporary directory: {e}")],
    };
    let db = match tsdb::Db::open(&dir.path().join("data")) {
        Ok(db) => db,
        Err(e) => return vec![format!("opening the test storage: {e}")],
    };
    let engine = promql::Engine::new(promql::EngineOptions {
        max_samples: 10_000,
        timeout: Some(Duration::from_secs(100)),
        subquery_step_ms: eval_interval,
        ..Default::default()
    });

    // The rule groups.
    let external_labels = Labels::from_pairs(tg.external_labels.clone());
    let opts = Arc::new(rules::EvalOptions {
        default_interval: tg.interval.0,
        external_labels,
        external_url: tg.external_url.clone(),
        ..Default::default()
    });
    let parse_options = rules::ParseOptions {
        ignore_unknown_fields: options.ignore_unknown_fields,
        name_validation: rules::NameValidation::Utf8,
    };
    let mut groups = Vec::new();
    let mut load_errs = Vec::new();
    for rf in &file.rule_files {
        match rules::parse_file_with(Path::new(rf), &parse_options) {
            Ok(parsed) => {
                for spec in &parsed.groups {
                    // `false`: nothing to restore; alerts write `ALERTS` from the start,
                    // as upstream's `SetRestored(true)`.
                    match rules::Group::new(rf, spec, opts.clone(), false) {
                        Ok(g) => groups.push(g),
                        Err(e) => load_errs.push(e),
                    }
                }
            }
            Err(errors) => load_errs.extend(errors.iter().map(ToString::to_string)),
        }
    }
    if !load_errs.is_empty() {
        return load_errs;
    }
    // Upstream sorts by the group's place in `group_eval_order` (0 when not listed).
    groups.sort_by_key(|g| group_order.get(g.name()).copied().unwrap_or(0));

    let expander = rules::GoTemplates::new();
    let env = rules::Env {
        engine: &engine,
        storage: &db,
        appender: &db,
        expander: &expander,
        cancel: None,
        concurrency: None,
    };

    // Alert tests by eval_time.
    let mut alert_tests: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, at) in tg.alert_rule_test.iter().enumerate() {
        if at.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                model_duration(at.eval_time.0.as_millis() as i64)
            )];
        }
        alert_tests
            .entry(at.eval_time.0.as_millis() as i64)
            .or_default()
            .push(i);
    }
    let alert_times: Vec<i64> = alert_tests.keys().copied().collect();
    let mut curr = 0;

    let maxt = mint + max_eval_time(tg);
    let fuzzy = file.fuzzy_compare;
    let test_name = if tg.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", tg.name)
    };
    let mut errs = Vec::new();
    let mut next_sample = 0;
    let mut ts = mint;
    while ts <= maxt {
        // Input samples up to `ts`, then the rules.
        let end = next_sample + samples[next_sample..].partition_point(|s| s.1 <= ts);
        if end > next_sample {
            if let Err(e) = db.append(&samples[next_sample..end]) {
                errs.push(format!("appending input series: {e}"));
                return errs;
            }
            next_sample = end;
        }
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(&env, ts);
            for r in g.rules() {
                if let Some(err) = &r.status().last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {err}",
                        r.name(),
                        go_duration(ts)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }

        while curr < alert_times.len()
            && ts - mint <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval - mint
        {
            let t = alert_times[curr];
            let cases = &alert_tests[&t];
            let wanted: BTreeSet<&str> = cases
                .iter()
                .map(|&i| tg.alert_rule_test[i].alertname.as_str())
                .collect();
            let mut got: BTreeMap<&str, Vec<LabelsAndAnnotations>> = BTreeMap::new();
            for g in &groups {
                for r in g.rules() {
                    let GroupRule::Alerting(ar) = r else {
                        continue;
                    };
                    if !wanted.contains(ar.name()) {
                        continue;
                    }
                    let firing = ar
                        .active_alerts()
                        .filter(|a| a.state == AlertState::Firing)
                        .map(|a| LabelsAndAnnotations {
                            labels: a.labels.clone(),
                            annotations: Labels::from_pairs(a.annotations.clone()),
                        });
                    got.entry(wanted.get(ar.name()).copied().unwrap_or_default())
                        .or_default()
                        .extend(firing);
                }
            }
            for &i in cases {
                let case = &tg.alert_rule_test[i];
                let mut got_alerts = got
                    .get(case.alertname.as_str())
                    .cloned()
                    .unwrap_or_default();
                let mut exp_alerts: Vec<LabelsAndAnnotations> = case
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut labels = a.exp_labels.clone();
                        labels.insert("alertname".to_string(), case.alertname.clone());
                        LabelsAndAnnotations {
                            labels: Labels::from_pairs(labels),
                            annotations: Labels::from_pairs(a.exp_annotations.clone()),
                        }
                    })
                    .collect();
                got_alerts.sort();
                exp_alerts.sort();
                if exp_alerts != got_alerts {
                    errs.push(format!(
                        "{test_name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        model_duration(t),
                        indent_lines(&alerts_string(&exp_alerts), "            "),
                        indent_lines(&alerts_string(&got_alerts), "            "),
                    ));
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }

    // The PromQL tests.
    'cases: for case in &tg.promql_expr_test {
        let eval_time = case.eval_time.0.as_millis() as i64;
        let got = match instant_query(&engine, &db, &case.expr, mint + eval_time) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!(
                    "    expr: {}, time: {}, err: {e}",
                    goyaml::go_quote(&case.expr),
                    model_duration(eval_time)
                ));
                continue;
            }
        };
        let mut got: Vec<ParsedSample> = got
            .into_iter()
            .map(|s| ParsedSample {
                labels: s.labels,
                value: s.v,
                histogram: String::new(),
            })
            .collect();
        let mut exp = Vec::new();
        for s in &case.exp_samples {
            let labels = if s.labels.trim().is_empty() {
                Ok(Labels::default())
            } else {
                parse_labels(&s.labels)
            };
            match labels {
                Ok(labels) => exp.push(ParsedSample {
                    labels,
                    value: s.value,
                    histogram: s.histogram.clone(),
                }),
                Err(e) => {
                    errs.push(format!(
                        "    expr: {}, time: {}, err: labels {}: {e}",
                        goyaml::go_quote(&case.expr),
                        model_duration(eval_time),
                        goyaml::go_quote(&s.labels)
                    ));
                    continue 'cases;
                }
            }
        }
        exp.sort_by(|a, b| a.labels.cmp(&b.labels));
        got.sort_by(|a, b| a.labels.cmp(&b.labels));
        let equal = exp.len() == got.len()
            && exp.iter().zip(&got).all(|(e, g)| {
                e.labels == g.labels
                    && floats_equal(e.value, g.value, fuzzy)
                    && e.histogram == g.histogram
            });
        if !equal {
            errs.push(format!(
                "    expr: {}, time: {},\n        exp: {}\n        got: {}",
                goyaml::go_quote(&case.expr),
                model_duration(eval_time),
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }

    if options.debug {
        debug_dump(&engine, &db, tg, mint);
    }
    errs
}

/// promtool's `query`: an instant query whose result is a vector (a scalar becomes one
/// sample without labels).
fn instant_query(
    engine: &promql::Engine,
    db: &tsdb::Db,
    text: &str,
    t: i64,
) -> Result<Vec<promql::Sample>, String> {
    let expr = promql::parse(text).map_err(|e| e.to_string())?;
    let result = engine
        .exec(db, &expr, text, t, t, 0, &promql::QueryOptions::default())
        .map_err(|e| e.to_string())?;
    match result.value {
        promql::Value::Vector(v) => Ok(v),
        promql::Value::Scalar { t, v } => Ok(vec![promql::Sample {
            labels: Labels::default(),
            t,
            v,
            h: None,
        }]),
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

/// `--debug`: every series (input and rule output) up to the last evaluation.
fn debug_dump(engine: &promql::Engine, db: &tsdb::Db, tg: &TestGroup, mint: i64) {
    // Rounded up to the next whole second, as upstream does.
    let ts = (max_eval_time(tg) + 1000) / 1000 * 1000;
    let expr_text = format!("{{__name__=~\".+\"}}[{}]", model_duration(ts));
    let result = promql::parse(&expr_text)
        .map_err(|e| e.to_string())
        .and_then(|expr| {
            engine
                .exec(
                    db,
                    &expr,
                    &expr_text,
                    mint + ts,
                    mint + ts,
                    0,
                    &promql::QueryOptions::default(),
                )
                .map_err(|e| e.to_string())
        });
    match result {
        Err(e) => eprintln!("DEBUG: Failed query exec, expr: {expr_text:?}, err: {e}"),
        Ok(res) => match res.value {
            promql::Value::Matrix(series) => {
                eprintln!(
                    "DEBUG: Dump of all data (input_series and rules) at {}:",
                    go_duration(ts)
                );
                let text: Vec<String> = series
                    .iter()
                    .map(|s| {
                        let points: Vec<String> = s
                            .points
                            .iter()
                            .map(|(t, v)| format!("{} @[{t}]", promql::format_float_f(*v)))
                            .collect();
                        format!("{} =>\n{}", s.labels, points.join("\n"))
                    })
                    .collect();
                eprintln!("{}", text.join("\n"));
            }
            _ => eprintln!("DEBUG: Got unexpected type"),
        },
    }
}
