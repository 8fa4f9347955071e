//! The unit test file, decoded as promtool decodes it: yaml.v2's `UnmarshalStrict` into
//! upstream's `unitTestFile` (unknown fields refused, whatever `--ignore-unknown-fields`
//! says: that flag is about the rule files).

use std::collections::BTreeMap;

use goyaml::{Decode, Decoder, Fatal, Node};
use promconfig::PromDuration;

/// `unitTestFile`.
#[derive(Debug, Default)]
pub struct UnitTestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: PromDuration,
    pub group_eval_order: Vec<String>,
    pub tests: Vec<TestGroup>,
    pub fuzzy_compare: bool,
}

/// `testGroup`: input series and the tests run on them.
#[derive(Debug, Default)]
pub struct TestGroup {
    pub interval: PromDuration,
    pub input_series: Vec<InputSeries>,
    pub alert_rule_test: Vec<AlertTestCase>,
    pub promql_expr_test: Vec<PromqlTestCase>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    pub name: String,
    pub start_timestamp: StartTimestamp,
}

/// `series`: a series description and its values in the test language's notation.
#[derive(Debug, Default)]
pub struct InputSeries {
    pub series: String,
    pub values: String,
}

/// `alertTestCase`.
#[derive(Debug, Default)]
pub struct AlertTestCase {
    pub eval_time: PromDuration,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

/// `alert`: an expected firing alert.
#[derive(Debug, Default)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

/// `promqlTestCase`.
#[derive(Debug, Default)]
pub struct PromqlTestCase {
    pub expr: String,
    pub eval_time: PromDuration,
    pub exp_samples: Vec<ExpSample>,
}

/// `sample`: an expected sample; `labels` is a series description.
#[derive(Debug, Default)]
pub struct ExpSample {
    pub labels: String,
    pub value: f64,
    /// A native histogram in the test language's notation (the value is then ignored).
    pub histogram: String,
}

/// `testStartTimestamp`: RFC 3339 or Unix seconds; `None` when not given (the epoch).
#[derive(Debug, Default, Clone, Copy)]
pub struct StartTimestamp(pub Option<i64>);

impl Decode for StartTimestamp {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        match model::time::parse_api_time(&text) {
            Some(ms) => {
                self.0 = Some(ms);
                Ok(true)
            }
            None => Err(Fatal(format!("cannot parse {text:?} to a valid timestamp"))),
        }
    }
    fn go_type() -> String {
        "main.testStartTimestamp".into()
    }
}

goyaml::fields!(UnitTestFile as "main.unitTestFile" {
    "rule_files" => rule_files,
    "evaluation_interval" => evaluation_interval,
    "group_eval_order" => group_eval_order,
    "tests" => tests,
    "fuzzy_compare" => fuzzy_compare,
});
goyaml::fields!(TestGroup as "main.testGroup" {
    "interval" => interval,
    "input_series" => input_series,
    "alert_rule_test" => alert_rule_test,
    "promql_expr_test" => promql_expr_test,
    "external_labels" => external_labels,
    "external_url" => external_url,
    "name" => name,
    "start_timestamp" => start_timestamp,
});
goyaml::fields!(InputSeries as "main.series" {
    "series" => series,
    "values" => values,
});
goyaml::fields!(AlertTestCase as "main.alertTestCase" {
    "eval_time" => eval_time,
    "alertname" => alertname,
    "exp_alerts" => exp_alerts,
});
goyaml::fields!(ExpAlert as "main.alert" {
    "exp_labels" => exp_labels,
    "exp_annotations" => exp_annotations,
});
goyaml::fields!(PromqlTestCase as "main.promqlTestCase" {
    "expr" => expr,
    "eval_time" => eval_time,
    "exp_samples" => exp_samples,
});
goyaml::fields!(ExpSample as "main.sample" {
    "labels" => labels,
    "value" => value,
    "histogram" => histogram,
});
goyaml::plain!(
    UnitTestFile,
    TestGroup,
    InputSeries,
    AlertTestCase,
    ExpAlert,
    PromqlTestCase,
    ExpSample
);

/// Decodes a unit test file's text; the error is yaml.v2's.
pub fn parse(text: &str) -> Result<UnitTestFile, String> {
    let mut file = UnitTestFile::default();
    goyaml::from_str(text, &mut file)?;
    Ok(file)
}
