//! File service discovery's files, shared by scrape jobs and Alertmanager discovery:
//! expanding a pattern, reading a file of target groups, and telling when files changed.

use std::path::Path;
use std::time::SystemTime;

use promconfig::{SdConfigs, TargetGroup};

/// Files matching a file SD pattern (`*` only in the last path element).
pub fn expand(pattern: &str) -> Vec<String> {
    let path = Path::new(pattern);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains('*') {
        return vec![pattern.to_string()];
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (prefix, suffix) = name.split_once('*').unwrap_or((name, ""));
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            (n.starts_with(prefix) && n.ends_with(suffix) && n.len() >= prefix.len() + suffix.len())
                .then(|| dir.join(n).display().to_string())
        })
        .collect();
    out.sort();
    out
}

/// A file SD file: a JSON or YAML list of `{targets: [...], labels: {...}}`, read with
/// the same rules as the configuration (yaml.v2; JSON is YAML).
pub fn read_groups(path: &str) -> Result<Vec<TargetGroup>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("reading {path}: {e}"))?
        .len();
    if size > promconfig::MAX_CONFIG_BYTES {
        return Err(format!(
            "reading {path}: {size} bytes is more than the {} a file SD file may have",
            promconfig::MAX_CONFIG_BYTES
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    let mut groups: Vec<Option<TargetGroup>> = Vec::new();
    goyaml::from_str(&text, &mut groups).map_err(|e| format!("parsing {path}: {e}"))?;
    if groups.iter().any(Option::is_none) {
        return Err(format!("parsing {path}: nil target group item found"));
    }
    Ok(groups.into_iter().flatten().collect())
}

pub type Fingerprint = Vec<(String, Option<SystemTime>, u64)>;

/// What identifies the current contents of the file SD files of `sd` without reading
/// them (paths, modification times, sizes): compared to tell when to read them again.
pub fn fingerprint(sd: &SdConfigs) -> Fingerprint {
    sd.file_sd_configs
        .iter()
        .flatten()
        .flat_map(|c| c.files.iter().flat_map(|p| expand(p)))
        .map(|f| {
            let meta = std::fs::metadata(&f).ok();
            let mtime = meta.as_ref().and_then(|m| m.modified().ok());
            let size = meta.map(|m| m.len()).unwrap_or(0);
            (f, mtime, size)
        })
        .collect()
}
