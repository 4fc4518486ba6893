//! What varies from one run to the next, replaced by a placeholder so output can be compared
//! exactly: the target copy's path, the repository, other temp paths, run ids, timestamps and
//! durations. Nothing else is touched; a test adds its own values with [`Normalizer::redact`].

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

/// Literal values first (longest first, so a path inside another is not cut), then patterns.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    literals: Vec<(String, String)>,
}

/// The patterns every output goes through, in order.
fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let tmp = regex::escape(&std::env::temp_dir().display().to_string());
        let tmp = tmp.trim_end_matches('/');
        [
            // tempfile's names: `.tmpXXXXXX`, or a prefix of ours and six random characters.
            (
                format!(r"{tmp}/(?:\.tmp|planrun-[A-Za-z0-9_.-]+-)[A-Za-z0-9]{{6}}"),
                "[TMP]",
            ),
            // journal::state::new_run_id: UTC seconds, milliseconds and a nibble in hex.
            (r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b".to_string(), "[RUN]"),
            (
                r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)".to_string(),
                "[TIME]",
            ),
            // report::github::folded_logs: the token that stops workflow commands in a log.
            (r"\bplanrun-[0-9a-f]{16}\b".to_string(), "[TOKEN]"),
            // A lock's owner: journal::lock names the pid and the host.
            (r"\bpid \d+ on [^\s,()]+".to_string(), "pid [PID] on [HOST]"),
            // `-vv` log lines name the pid of each process group planrun starts.
            (r"\bpid=\d+".to_string(), "pid=[PID]"),
            // exec::words::fmt_duration (`1.23s`, `2m05s`), summaries (`0.1s`, `10 ms`) and
            // the Markdown report (`1.44 s`, `826.3 ms`).
            (
                r"\b(?:\d+m\d\ds|\d+(?:\.\d+)? ?(?:ms|s))\b".to_string(),
                "[DURATION]",
            ),
        ]
        .into_iter()
        .map(|(re, with)| (Regex::new(&re).expect("a valid pattern"), with))
        .collect()
    })
}

impl Normalizer {
    /// Replaces `value` by `placeholder` wherever it appears (and the canonical form of a path).
    pub fn redact(&mut self, value: impl AsRef<str>, placeholder: &str) {
        let value = value.as_ref();
        if value.is_empty() {
            return;
        }
        let mut add = |v: String| {
            if !self.literals.iter().any(|(l, _)| *l == v) {
                self.literals.push((v, placeholder.to_string()));
            }
        };
        if let Ok(canonical) = Path::new(value).canonicalize() {
            add(canonical.display().to_string());
        }
        add(value.to_string());
        self.literals
            .sort_by_key(|(l, _)| std::cmp::Reverse(l.len()));
    }

    /// `text` with every literal and pattern replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (value, placeholder) in &self.literals {
            text = text.replace(value.as_str(), placeholder);
        }
        for (re, placeholder) in patterns() {
            text = re.replace_all(&text, *placeholder).into_owned();
        }
        text
    }
}
