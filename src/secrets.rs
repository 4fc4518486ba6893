//! Secret variables and masking: which variables are secret, and one function that replaces their
//! values with `***` in everything planrun writes for people (reports, annotations, the dry run,
//! its own log lines). Commands still receive the real values; only what is shown is masked.
//!
//! A variable is secret when the plan marks it (`token = { value = "...", secret = true }`) or
//! when its name contains `token`, `secret`, `password` or `key` in any case, as CI systems guess.
//! Values shorter than three characters are not masked inside other text: masking every `1` or
//! `on` would make reports unreadable and hide nothing worth hiding.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret value is replaced with.
pub const MASK: &str = "***";

/// The shortest value masked inside other text.
pub const MIN_MASKED_LEN: usize = 3;

/// The name fragments that make a variable secret (matched case-insensitively).
pub const SECRET_NAME_PARTS: [&str; 4] = ["token", "secret", "password", "key"];

/// Whether a variable named `name` is secret by its name alone.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| lower.contains(part))
}

/// The secret values of one run, longest first so a value that contains another is masked whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// The set of `values` worth masking (at least [`MIN_MASKED_LEN`] characters), deduplicated.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v| v.chars().count() >= MIN_MASKED_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        out
    }

    /// Masks `text` in place.
    pub fn mask_in_place(&self, text: &mut String) {
        if let Cow::Owned(masked) = self.mask(text) {
            *text = masked;
        }
    }

    /// Masks every string in a JSON value (object keys are names and stay).
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.mask_in_place(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            serde_json::Value::Object(entries) => {
                entries.values_mut().for_each(|v| self.mask_json(v))
            }
            _ => {}
        }
    }
}

/// The secrets of the run in this process, for output that has no run at hand: log lines and
/// terminal messages. Set once per run by [`install`]; everything else passes a [`Secrets`].
static INSTALLED: RwLock<Secrets> = RwLock::new(Secrets { values: Vec::new() });

/// Makes `secrets` the ones [`mask_output`] hides.
pub fn install(secrets: &Secrets) {
    let mut installed = INSTALLED.write().unwrap_or_else(|p| p.into_inner());
    *installed = secrets.clone();
    // Command logs are written by the process layer, which hides them (and their base64 forms)
    // as the output arrives.
    crate::process::redact::set(&secrets.values);
}

/// `text` with the installed secrets masked: for planrun's own log lines and terminal output.
pub fn mask_output(text: &str) -> Cow<'_, str> {
    let installed = INSTALLED.read().unwrap_or_else(|p| p.into_inner());
    if installed.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(installed.mask(text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret_are_secret() {
        for name in [
            "token",
            "GITHUB_TOKEN",
            "api_key",
            "db-Password",
            "client_secret",
            "KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["python", "runs", "target", "kee"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn values_are_masked_longest_first_and_short_ones_kept() {
        let secrets = Secrets::new(["abc", "abcdef", "x1", "abc"]);
        assert_eq!(secrets.mask("k=abcdef; j=abc; n=x1"), "k=***; j=***; n=x1");
        assert!(matches!(secrets.mask("nothing here"), Cow::Borrowed(_)));
        assert!(Secrets::new(["ab"]).is_empty());
    }

    #[test]
    fn json_strings_are_masked_at_any_depth() {
        let secrets = Secrets::new(["hunter2"]);
        let mut value = serde_json::json!({
            "command": "curl -u me:hunter2 x",
            "runs": [{ "log": "hunter2.log", "n": 3 }],
            "hunter2": true,
        });
        secrets.mask_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "command": "curl -u me:*** x",
                "runs": [{ "log": "***.log", "n": 3 }],
                "hunter2": true,
            })
        );
    }
}
