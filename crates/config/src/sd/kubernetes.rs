//! `kubernetes_sd_configs`: nodes, pods, services, endpoints, endpoint slices or ingresses
//! of a Kubernetes cluster (Go's `discovery/kubernetes`), with the checks upstream makes
//! on roles, API access, namespaces and field/label selectors.

use std::collections::BTreeSet;
use std::path::Path;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::GoUrl;

/// The kind of Kubernetes object discovered (or selected, in `selectors`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KubernetesRole {
    /// Not set (Go's empty `Role`).
    #[default]
    Unset,
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl KubernetesRole {
    /// The role as written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Node => "node",
            Self::Pod => "pod",
            Self::Service => "service",
            Self::Endpoints => "endpoints",
            Self::EndpointSlice => "endpointslice",
            Self::Ingress => "ingress",
        }
    }

    /// The selector roles a discovery of this role accepts (upstream's
    /// `allowedSelectors`), `None` for no valid role.
    fn allowed_selectors(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Self::Unset => return None,
            Self::Pod => &["pod", "node"],
            Self::Service => &["service"],
            Self::EndpointSlice => &["pod", "service", "endpointslice"],
            Self::Endpoints => &["pod", "service", "endpoints"],
            Self::Node => &["node"],
            Self::Ingress => &["ingress"],
        })
    }
}

impl std::fmt::Display for KubernetesRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for KubernetesRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Decode for KubernetesRole {
    /// Go's `Role.UnmarshalYAML`: a string naming one of the six roles.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "node" => Self::Node,
            "pod" => Self::Pod,
            "service" => Self::Service,
            "endpoints" => Self::Endpoints,
            "endpointslice" => Self::EndpointSlice,
            "ingress" => Self::Ingress,
            _ => {
                return Err(Fatal(format!(
                    "unknown Kubernetes SD role {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "kubernetes.Role".into()
    }
}

/// `namespaces`: which namespaces to watch (all of them when empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceDiscovery {
    /// Also watch the namespace Prometheus runs in.
    pub own_namespace: bool,
    pub names: Vec<String>,
}
goyaml::fields!(NamespaceDiscovery as "kubernetes.plain" {
    "own_namespace" => own_namespace,
    "names" => names,
});

impl Decode for NamespaceDiscovery {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::default();
        d.unmarshal_fields(node, self)
    }
    fn go_type() -> String {
        "kubernetes.NamespaceDiscovery".into()
    }
}

/// One `selectors` entry: a label and/or field selector applied when listing objects of
/// `role`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SelectorConfig {
    #[serde(skip_serializing_if = "is_unset")]
    pub role: KubernetesRole,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
}
goyaml::fields!(SelectorConfig as "kubernetes.SelectorConfig" {
    "role" => role,
    "label" => label,
    "field" => field,
});
goyaml::plain!(SelectorConfig);

fn is_unset(role: &KubernetesRole) -> bool {
    *role == KubernetesRole::Unset
}

/// Which pod-related metadata to attach (inlined in `attach_metadata`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodMetadataConfig {
    pub deployment: bool,
    pub job: bool,
    pub cronjob: bool,
}
goyaml::fields!(PodMetadataConfig as "kubernetes.PodMetadataConfig" {
    "deployment" => deployment,
    "job" => job,
    "cronjob" => cronjob,
});
goyaml::plain!(PodMetadataConfig);

/// `attach_metadata`: metadata of the node or namespace (and owning workloads) to attach
/// to targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttachMetadataConfig {
    pub node: bool,
    pub namespace: bool,
    #[serde(flatten)]
    pub pod_metadata: PodMetadataConfig,
}
goyaml::fields!(AttachMetadataConfig as "kubernetes.AttachMetadataConfig" {
    "node" => node,
    "namespace" => namespace,
} inline pod_metadata);
goyaml::plain!(AttachMetadataConfig);

/// One `kubernetes_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KubernetesSdConfig {
    /// The API server; `None` means in-cluster (or `kubeconfig_file`) access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_server: Option<GoUrl>,
    pub role: KubernetesRole,
    pub kubeconfig_file: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub namespaces: NamespaceDiscovery,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<SelectorConfig>,
    #[serde(skip_serializing_if = "is_default")]
    pub attach_metadata: AttachMetadataConfig,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

goyaml::fields!(KubernetesSdConfig as "kubernetes.plain" {
    "api_server" => api_server,
    "role" => role,
    "kubeconfig_file" => kubeconfig_file,
    "namespaces" => namespaces,
    "selectors" => selectors,
    "attach_metadata" => attach_metadata,
} inline http);

impl KubernetesSdConfig {
    /// Upstream's `DefaultSDConfig`: only the default HTTP client.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names (HTTP client files, `kubeconfig_file`) with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
        crate::join_dir(dir, &mut self.kubeconfig_file);
    }

    /// Upstream's checks, in its order, after the fields are read.
    fn check(&mut self) -> Result<(), Fatal> {
        let fail = |m: &str| Err(Fatal::new(m));
        if self.role == KubernetesRole::Unset {
            return fail(
                "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)",
            );
        }
        self.http.validate()?;
        let api_server = self.api_server.is_some();
        let kubeconfig = !self.kubeconfig_file.is_empty();
        let custom_http = self.http != HttpClientConfig::defaults();
        if api_server && kubeconfig {
            return fail("cannot use 'kubeconfig_file' and 'api_server' simultaneously");
        }
        if kubeconfig && custom_http {
            return fail(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
            );
        }
        if !api_server && custom_http {
            return fail("to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
        }
        if api_server && self.namespaces.own_namespace {
            return fail("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
        }
        if kubeconfig && self.namespaces.own_namespace {
            return fail(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
            );
        }

        let mut found: BTreeSet<KubernetesRole> = BTreeSet::new();
        for selector in &self.selectors {
            if !found.insert(selector.role) {
                return Err(Fatal(format!(
                    "duplicated selector role: {}",
                    selector.role
                )));
            }
            let Some(allowed) = self.role.allowed_selectors() else {
                return Err(Fatal(format!(
                    "invalid role: {}, expecting one of: pod, service, endpoints, endpointslice, node or ingress",
                    goyaml::go_quote(self.role.name())
                )));
            };
            if !allowed.contains(&selector.role.name()) {
                return Err(Fatal(format!(
                    "{} role supports only {} selectors",
                    self.role,
                    allowed.join(", ")
                )));
            }
            selectors::parse_field_selector(&selector.field).map_err(Fatal)?;
            selectors::parse_label_selector(&selector.label).map_err(Fatal)?;
        }
        Ok(())
    }
}

impl Decode for KubernetesSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.check()?;
        Ok(true)
    }
    fn go_type() -> String {
        "kubernetes.SDConfig".into()
    }
}

/// The syntax checks of Kubernetes field selectors (apimachinery's `fields.ParseSelector`)
/// and label selectors (`labels.Parse`), with their error texts.
pub mod selectors {
    use std::collections::BTreeSet;

    /// `fields.ParseSelector`: comma-separated `field=value`, `field==value` or
    /// `field!=value` terms, with `\` escaping `\`, `,` and `=` in values.
    pub fn parse_field_selector(selector: &str) -> Result<(), String> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((_field, _op, value)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                ));
            };
            unescape_value(value)?;
        }
        Ok(())
    }

    /// Splits at commas not escaped by a backslash.
    fn split_terms(selector: &str) -> Vec<&str> {
        if selector.is_empty() {
            return Vec::new();
        }
        let mut terms = Vec::new();
        let mut start = 0;
        let mut in_slash = false;
        for (i, c) in selector.char_indices() {
            if in_slash {
                in_slash = false;
            } else if c == '\\' {
                in_slash = true;
            } else if c == ',' {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
        }
        terms.push(&selector[start..]);
        terms
    }

    /// Splits a term at the first operator (`!=`, `==` or `=`).
    fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
        for (i, _) in term.char_indices() {
            let rest = &term[i..];
            for op in ["!=", "==", "="] {
                if let Some(value) = rest.strip_prefix(op) {
                    return Some((&term[..i], op, value));
                }
            }
        }
        None
    }

    /// `fields.UnescapeValue`.
    fn unescape_value(value: &str) -> Result<String, String> {
        if !value.contains(['\\', ',', '=']) {
            return Ok(value.to_string());
        }
        let mut out = String::with_capacity(value.len());
        let mut in_slash = false;
        for c in value.chars() {
            if in_slash {
                match c {
                    '\\' | ',' | '=' => out.push(c),
                    _ => {
                        return Err(format!(
                            "invalid field selector: invalid escape sequence: \\{c}"
                        ))
                    }
                }
                in_slash = false;
                continue;
            }
            match c {
                '\\' => in_slash = true,
                ',' | '=' => {
                    return Err(format!(
                        "invalid field selector: unescaped character in value: {}",
                        c as u32
                    ))
                }
                _ => out.push(c),
            }
        }
        if in_slash {
            return Err("invalid field selector: invalid escape sequence: \\".into());
        }
        Ok(out)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Token {
        Error,
        End,
        ClosedPar,
        Comma,
        DoesNotExist,
        DoubleEquals,
        Equals,
        GreaterThan,
        Identifier,
        In,
        LessThan,
        NotEquals,
        NotIn,
        OpenPar,
    }

    fn keyword(text: &[u8]) -> Option<Token> {
        Some(match text {
            b")" => Token::ClosedPar,
            b"," => Token::Comma,
            b"!" => Token::DoesNotExist,
            b"==" => Token::DoubleEquals,
            b"=" => Token::Equals,
            b">" => Token::GreaterThan,
            b"in" => Token::In,
            b"<" => Token::LessThan,
            b"!=" => Token::NotEquals,
            b"notin" => Token::NotIn,
            b"(" => Token::OpenPar,
            _ => return None,
        })
    }

    fn is_whitespace(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\r' | b'\n')
    }

    fn is_special(b: u8) -> bool {
        matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
    }

    /// The label selector lexer; a NUL byte ends the input, as upstream's does.
    struct Lexer<'a> {
        s: &'a [u8],
        pos: usize,
    }

    impl Lexer<'_> {
        fn read(&mut self) -> u8 {
            match self.s.get(self.pos) {
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => 0,
            }
        }

        fn unread(&mut self) {
            self.pos = self.pos.saturating_sub(1);
        }

        fn scan_id_or_keyword(&mut self) -> (Token, String) {
            let mut buffer = Vec::new();
            loop {
                let ch = self.read();
                if ch == 0 {
                    break;
                }
                if is_special(ch) || is_whitespace(ch) {
                    self.unread();
                    break;
                }
                buffer.push(ch);
            }
            let text = String::from_utf8_lossy(&buffer).into_owned();
            match keyword(&buffer) {
                Some(tok) => (tok, text),
                None => (Token::Identifier, text),
            }
        }

        fn scan_special_symbol(&mut self) -> (Token, String) {
            let mut last: Option<(Token, String)> = None;
            let mut buffer = Vec::new();
            loop {
                let ch = self.read();
                if ch == 0 {
                    break;
                }
                if !is_special(ch) {
                    self.unread();
                    break;
                }
                buffer.push(ch);
                if let Some(tok) = keyword(&buffer) {
                    last = Some((tok, String::from_utf8_lossy(&buffer).into_owned()));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            }
            last.unwrap_or_else(|| {
                (
                    Token::Error,
                    format!(
                        "error expected: keyword found '{}'",
                        String::from_utf8_lossy(&buffer)
                    ),
                )
            })
        }

        fn lex(&mut self) -> (Token, String) {
            let mut ch = self.read();
            while is_whitespace(ch) {
                ch = self.read();
            }
            if ch == 0 {
                return (Token::End, String::new());
            }
            self.unread();
            if is_special(ch) {
                self.scan_special_symbol()
            } else {
                self.scan_id_or_keyword()
            }
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Op {
        DoesNotExist,
        Exists,
        In,
        NotIn,
        Equals,
        DoubleEquals,
        NotEquals,
        GreaterThan,
        LessThan,
    }

    struct Parser {
        items: Vec<(Token, String)>,
        pos: usize,
    }

    impl Parser {
        /// The current token; in a value context `in` and `notin` are identifiers.
        fn lookahead(&self, values: bool) -> (Token, String) {
            let (mut tok, lit) = self.items[self.pos.min(self.items.len() - 1)].clone();
            if values && matches!(tok, Token::In | Token::NotIn) {
                tok = Token::Identifier;
            }
            (tok, lit)
        }

        fn consume(&mut self, values: bool) -> (Token, String) {
            let item = self.lookahead(values);
            self.pos += 1;
            item
        }

        fn parse(&mut self) -> Result<(), String> {
            loop {
                let (tok, lit) = self.lookahead(true);
                match tok {
                    Token::Identifier | Token::DoesNotExist => {
                        self.parse_requirement()
                            .map_err(|e| format!("unable to parse requirement: {e}"))?;
                        let (t, l) = self.consume(true);
                        match t {
                            Token::End => return Ok(()),
                            Token::Comma => {
                                let (t2, l2) = self.lookahead(true);
                                if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                    return Err(format!(
                                        "found '{l2}', expected: identifier after ','"
                                    ));
                                }
                            }
                            _ => {
                                return Err(format!(
                                    "found '{l}', expected: ',' or 'end of string'"
                                ))
                            }
                        }
                    }
                    Token::End => return Ok(()),
                    _ => {
                        return Err(format!(
                            "found '{lit}', expected: !, identifier, or 'end of string'"
                        ))
                    }
                }
            }
        }

        fn parse_requirement(&mut self) -> Result<(), String> {
            let (key, op) = self.parse_key_and_infer_operator()?;
            if let Some(op @ (Op::Exists | Op::DoesNotExist)) = op {
                return new_requirement(&key, op, &[]);
            }
            let op = self.parse_operator()?;
            let values = match op {
                Op::In | Op::NotIn => self.parse_values()?,
                _ => self.parse_exact_value()?,
            };
            let values: Vec<String> = values.into_iter().collect();
            new_requirement(&key, op, &values)
        }

        fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Op>), String> {
            let mut op = None;
            let (mut tok, mut lit) = self.consume(true);
            if tok == Token::DoesNotExist {
                op = Some(Op::DoesNotExist);
                (tok, lit) = self.consume(true);
            }
            if tok != Token::Identifier {
                return Err(format!("found '{lit}', expected: identifier"));
            }
            let errs = is_label_key(&lit);
            if !errs.is_empty() {
                return Err(invalid("<nil>", &lit, &errs.join("; ")));
            }
            let (next, _) = self.lookahead(true);
            if matches!(next, Token::End | Token::Comma) && op != Some(Op::DoesNotExist) {
                op = Some(Op::Exists);
            }
            Ok((lit, op))
        }

        fn parse_operator(&mut self) -> Result<Op, String> {
            let (tok, lit) = self.consume(false);
            Ok(match tok {
                Token::In => Op::In,
                Token::Equals => Op::Equals,
                Token::DoubleEquals => Op::DoubleEquals,
                Token::GreaterThan => Op::GreaterThan,
                Token::LessThan => Op::LessThan,
                Token::NotIn => Op::NotIn,
                Token::NotEquals => Op::NotEquals,
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                    ))
                }
            })
        }

        fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
            let (tok, lit) = self.consume(true);
            if tok != Token::OpenPar {
                return Err(format!("found '{lit}' expected: '('"));
            }
            let (tok, lit) = self.lookahead(true);
            match tok {
                Token::Identifier | Token::Comma => {
                    let set = self.parse_identifiers_list()?;
                    if self.consume(true).0 != Token::ClosedPar {
                        return Err(format!("found '{lit}', expected: ')'"));
                    }
                    Ok(set)
                }
                Token::ClosedPar => {
                    self.consume(true);
                    Ok(BTreeSet::from([String::new()]))
                }
                _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
            }
        }

        fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
            let mut set = BTreeSet::new();
            loop {
                let (tok, lit) = self.consume(true);
                match tok {
                    Token::Identifier => {
                        set.insert(lit);
                        let (tok2, lit2) = self.lookahead(true);
                        match tok2 {
                            Token::Comma => continue,
                            Token::ClosedPar => return Ok(set),
                            _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                        }
                    }
                    Token::Comma => {
                        if set.is_empty() {
                            set.insert(String::new());
                        }
                        let (tok2, _) = self.lookahead(true);
                        if tok2 == Token::ClosedPar {
                            set.insert(String::new());
                            return Ok(set);
                        }
                        if tok2 == Token::Comma {
                            set.insert(String::new());
                        }
                    }
                    _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
                }
            }
        }

        fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
            let (tok, _) = self.lookahead(true);
            if matches!(tok, Token::End | Token::Comma) {
                return Ok(BTreeSet::from([String::new()]));
            }
            let (tok, lit) = self.consume(true);
            if tok == Token::Identifier {
                return Ok(BTreeSet::from([lit]));
            }
            Err(format!("found '{lit}', expected: identifier"))
        }
    }

    /// `labels.Parse`: comma-separated requirements (`key`, `!key`, `key=value`,
    /// `key!=value`, `key in (a,b)`, `key notin (a)`, `key>1`, `key<1`).
    pub fn parse_label_selector(selector: &str) -> Result<(), String> {
        let mut lexer = Lexer {
            s: selector.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Token::End;
            items.push(item);
            if end {
                break;
            }
        }
        Parser { items, pos: 0 }.parse()
    }

    /// apimachinery's `field.Invalid(path, value, detail).Error()` for a string value.
    fn invalid(path: &str, value: &str, detail: &str) -> String {
        format!(
            "{path}: Invalid value: {}: {detail}",
            goyaml::go_quote(value)
        )
    }

    /// `labels.NewRequirement`'s checks, as an aggregated error.
    fn new_requirement(key: &str, op: Op, values: &[String]) -> Result<(), String> {
        let mut errs: Vec<String> = Vec::new();
        let key_errs = is_label_key(key);
        if !key_errs.is_empty() {
            errs.push(invalid("key", key, &key_errs.join("; ")));
        }
        let list = || {
            let quoted: Vec<String> = values.iter().map(|v| goyaml::go_quote(v)).collect();
            format!("[{}]", quoted.join(","))
        };
        let invalid_list = |detail: &str| format!("values: Invalid value: {}: {detail}", list());
        match op {
            Op::In | Op::NotIn => {
                if values.is_empty() {
                    errs.push(invalid_list(
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Op::Equals | Op::DoubleEquals | Op::NotEquals => {
                if values.len() != 1 {
                    errs.push(invalid_list(
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Op::Exists | Op::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(invalid_list(
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Op::GreaterThan | Op::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid_list(
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("values[{i}]"),
                            v,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let value_errs = is_label_value(v);
            if !value_errs.is_empty() {
                errs.push(invalid(
                    &format!("values[{i}][{key}]"),
                    v,
                    &value_errs.join("; "),
                ));
            }
        }
        let mut unique: Vec<String> = Vec::new();
        for e in errs {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        match unique.len() {
            0 => Ok(()),
            1 => Err(unique.remove(0)),
            _ => Err(format!("[{}]", unique.join(", "))),
        }
    }

    const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
    const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    const DNS1123_SUBDOMAIN_FMT: &str =
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
    const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

    /// apimachinery's `RegexError`.
    fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
        if examples.is_empty() {
            return format!("{msg} (regex used for validation is '{re}')");
        }
        let mut out = format!("{msg} (e.g. ");
        for (i, example) in examples.iter().enumerate() {
            if i > 0 {
                out.push_str(" or ");
            }
            out.push_str(&format!("'{example}', "));
        }
        out.push_str(&format!("regex used for validation is '{re}')"));
        out
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, anchored.
    fn is_label_key_name(s: &str) -> bool {
        let b = s.as_bytes();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && b.iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            }
            _ => false,
        }
    }

    /// The lowercase RFC 1123 subdomain pattern, anchored.
    fn is_dns1123_subdomain_match(s: &str) -> bool {
        s.split('.').all(|label| {
            let b = label.as_bytes();
            let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    edge(first) && edge(last) && b.iter().all(|c| edge(c) || *c == b'-')
                }
                _ => false,
            }
        })
    }

    /// apimachinery's `IsDNS1123Subdomain`.
    fn is_dns1123_subdomain(value: &str) -> Vec<String> {
        let mut errs = Vec::new();
        if value.len() > 253 {
            errs.push("must be no more than 253 bytes".to_string());
        }
        if !is_dns1123_subdomain_match(value) {
            errs.push(regex_error(
                DNS1123_SUBDOMAIN_ERR,
                DNS1123_SUBDOMAIN_FMT,
                &["example.com"],
            ));
        }
        errs
    }

    /// apimachinery's `IsLabelKey` (`IsQualifiedName`).
    fn is_label_key(value: &str) -> Vec<String> {
        let mut errs = Vec::new();
        let parts: Vec<&str> = value.split('/').collect();
        let name = match parts[..] {
            [name] => name,
            [prefix, name] => {
                if prefix.is_empty() {
                    errs.push("prefix part must be non-empty".to_string());
                } else {
                    errs.extend(
                        is_dns1123_subdomain(prefix)
                            .into_iter()
                            .map(|m| format!("prefix part {m}")),
                    );
                }
                name
            }
            _ => {
                errs.push(format!(
                    "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                    regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
                ));
                return errs;
            }
        };
        if name.is_empty() {
            errs.push("name part must be non-empty".to_string());
        } else if name.len() > 63 {
            errs.push("name part must be no more than 63 bytes".to_string());
        }
        if !is_label_key_name(name) {
            errs.push(format!(
                "name part {}",
                regex_error(
                    LABEL_KEY_ERR,
                    LABEL_KEY_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
        }
        errs
    }

    /// apimachinery's `IsValidLabelValue`.
    fn is_label_value(value: &str) -> Vec<String> {
        let mut errs = Vec::new();
        if value.len() > 63 {
            errs.push("must be no more than 63 bytes".to_string());
        }
        if !value.is_empty() && !is_label_key_name(value) {
            errs.push(regex_error(
                LABEL_VALUE_ERR,
                LABEL_VALUE_FMT,
                &["MyValue", "my_value", "12345"],
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<KubernetesSdConfig, String> {
        let mut c = KubernetesSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults() {
        let c = decode("role: endpoints\n").unwrap();
        assert_eq!(c.role, KubernetesRole::Endpoints);
        assert_eq!(c.http, HttpClientConfig::defaults());
        assert!(c.api_server.is_none());
        let c = decode(
            "role: endpoints\napi_server: https://localhost:1234\nnamespaces:\n  names: [default]\nattach_metadata: {node: true, cronjob: true}\n",
        )
        .unwrap();
        assert_eq!(c.api_server.unwrap().host, "localhost:1234");
        assert_eq!(c.namespaces.names, vec!["default"]);
        assert!(c.attach_metadata.node && c.attach_metadata.pod_metadata.cronjob);
        let c = decode("role: pod\nkubeconfig_file: kc\n").unwrap();
        assert_eq!(c.kubeconfig_file, "kc");
    }

    #[test]
    fn errors() {
        let cases = [
            ("api_server: kubernetes:443\n", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"),
            ("role: vacation\n", "unknown Kubernetes SD role \"vacation\""),
            (
                "role: endpoints\napi_server: kubernetes:443\nnamespaces:\n  foo: bar\n",
                "yaml: unmarshal errors:\n  line 4: field foo not found in type kubernetes.plain",
            ),
            ("role: pod\nfoo: 1\n", "yaml: unmarshal errors:\n  line 2: field foo not found in type kubernetes.plain"),
            ("role: pod\nattach_metadata: {pod: true}\n", "yaml: unmarshal errors:\n  line 2: field pod not found in type kubernetes.AttachMetadataConfig"),
            ("role: pod\nselectors: [{rol: pod}]\n", "yaml: unmarshal errors:\n  line 2: field rol not found in type kubernetes.SelectorConfig"),
            (
                "role: endpoints\napi_server: https://localhost:1234\nkubeconfig_file: /x\n",
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
            ),
            (
                "role: endpoints\nkubeconfig_file: /x\nbasic_auth: {username: u}\n",
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
            ),
            (
                "role: pod\nauthorization: {credentials: x}\n",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
            ),
            (
                "role: pod\nfollow_redirects: false\n",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
            ),
            (
                "role: endpoints\napi_server: https://x\nnamespaces: {own_namespace: true}\n",
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
            ),
            (
                "role: endpoints\nkubeconfig_file: /x\nnamespaces: {own_namespace: true}\n",
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
            ),
            (
                "role: node\napi_server: https://x\nbearer_token: a\nbearer_token_file: b\n",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
            (
                "role: endpoints\nselectors: [{role: pod, label: a=b}, {role: pod}]\n",
                "duplicated selector role: pod",
            ),
            (
                "role: endpoints\nselectors: [{role: node}]\n",
                "endpoints role supports only pod, service, endpoints selectors",
            ),
            ("role: pod\nselectors: [{role: service}]\n", "pod role supports only pod, node selectors"),
            ("role: pod\nselectors: [{label: a}]\n", "pod role supports only pod, node selectors"),
            (
                "role: endpoints\nselectors: [{role: pod, field: metadata.status-Running}]\n",
                "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(decode(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn field_selectors() {
        use selectors::parse_field_selector as parse;
        for ok in [
            "",
            "metadata.status=Running",
            "a==b,c!=d",
            "a=",
            "a=x\\,y",
            ",,a=b",
        ] {
            assert_eq!(parse(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            parse("b=1,a").unwrap_err(),
            "invalid selector: 'b=1,a'; can't understand 'a'"
        );
        assert_eq!(
            parse("a=b=c").unwrap_err(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            parse("a=b\\x").unwrap_err(),
            "invalid field selector: invalid escape sequence: \\x"
        );
        assert_eq!(
            parse("a=b\\").unwrap_err(),
            "invalid field selector: invalid escape sequence: \\"
        );
    }

    #[test]
    fn label_selectors() {
        use selectors::parse_label_selector as parse;
        for ok in [
            "",
            "foo=bar",
            "foo in (bar,baz)",
            "foo in (bar,,baz),y,z notin ()",
            "!a, b!=c, d==e",
            "example.com/app=x",
            "x>1,y<2",
            "a=",
            "in in (in)",
        ] {
            assert_eq!(parse(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("foo=bar baz", "found 'baz', expected: ',' or 'end of string'"),
            ("=x", "found '=', expected: !, identifier, or 'end of string'"),
            ("a,", "found '', expected: identifier after ','"),
            ("a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
            ("a in b", "unable to parse requirement: found 'b' expected: '('"),
            ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
            ("a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"),
            ("a=(", "unable to parse requirement: found '(', expected: identifier"),
            ("!", "unable to parse requirement: found '', expected: identifier"),
            (
                "a>x",
                "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            (
                "a=-x",
                "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
            (
                "-a=b",
                "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ),
            (
                "/a",
                "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
        let err = parse("a>-x").unwrap_err();
        assert!(
            err.starts_with(
                "unable to parse requirement: [values[0]: Invalid value: \"-x\": for 'Gt'"
            ),
            "{err}"
        );
        assert!(
            err.contains(", values[0][a]: Invalid value: \"-x\": a valid label"),
            "{err}"
        );
    }
}
