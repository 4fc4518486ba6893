//! Requirement strings taken apart (name, extras, version, marker) and written back in the
//! form `uv add` writes them, so an entry planrun records reads like one uv would have added.

use super::requirements::normalize;

/// The parts of a PEP 508 requirement, borrowed from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement<'a> {
    /// The project name as written (`Pytest_Xdist`).
    pub name: &'a str,
    /// The extras as written, in order.
    pub extras: Vec<&'a str>,
    /// The version specifiers with the spaces between them, empty when there are none.
    pub version: &'a str,
    /// The URL after ` @ `, when the requirement is a direct reference.
    pub url: Option<&'a str>,
    /// The environment marker after `;`, trimmed.
    pub marker: Option<&'a str>,
}

impl<'a> Requirement<'a> {
    /// Parses `text`; `None` when it does not start with a project name (options, paths, URLs).
    pub fn parse(text: &'a str) -> Option<Self> {
        let req = text.trim();
        let end = req
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(req.len());
        let name = req[..end].trim_end_matches(['-', '_', '.']);
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return None;
        }
        let rest = req[name.len()..].trim_start();
        let (rest, marker) = match rest.split_once(';') {
            Some((spec, marker)) => (spec.trim(), Some(marker.trim())),
            None => (rest.trim(), None),
        };
        let (extras, rest) = match rest.strip_prefix('[') {
            Some(inner) => {
                let (extras, after) = inner.split_once(']')?;
                let extras = extras
                    .split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .collect();
                (extras, after.trim())
            }
            None => (Vec::new(), rest),
        };
        let (version, url) = match rest.strip_prefix('@') {
            Some(url) => ("", Some(url.trim())),
            None => (rest, None),
        };
        let bare = version.trim_start_matches('(').trim_start();
        let ok = bare.is_empty() || bare.starts_with(['<', '>', '=', '!', '~']) || url.is_some();
        ok.then_some(Requirement {
            name,
            extras,
            version,
            url,
            marker: marker.filter(|m| !m.is_empty()),
        })
    }

    /// The normalized project name (`pytest-xdist`).
    pub fn key(&self) -> String {
        normalize(self.name)
    }

    /// The version specifiers without spaces or parentheses (`>=3.5,<4`), empty when none.
    pub fn specifiers(&self) -> String {
        self.version
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|s| s.split_whitespace().collect::<String>())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The requirement as `uv add` writes it: the name and extras normalized, specifiers joined
    /// by `,` without spaces, ` @ url` for a direct reference, and ` ; marker` (the marker kept as
    /// written: uv would also rewrite it to its own canonical form).
    pub fn uv_form(&self) -> String {
        let mut out = self.key();
        if !self.extras.is_empty() {
            let extras: Vec<String> = self.extras.iter().map(|e| normalize(e)).collect();
            out.push_str(&format!("[{}]", extras.join(",")));
        }
        match self.url {
            Some(url) => out.push_str(&format!(" @ {url}")),
            None => out.push_str(&self.specifiers()),
        }
        if let Some(marker) = self.marker {
            out.push_str(&format!(" ; {marker}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parts_are_found_and_written_as_uv_writes_them() {
        let r = Requirement::parse(
            "Pytest_Xdist[PSUtil, setproctitle] >= 3.5, < 4 ; python_version >= '3.9'",
        )
        .unwrap();
        assert_eq!(r.name, "Pytest_Xdist");
        assert_eq!(r.extras, ["PSUtil", "setproctitle"]);
        assert_eq!(r.marker, Some("python_version >= '3.9'"));
        assert_eq!(
            r.uv_form(),
            "pytest-xdist[psutil,setproctitle]>=3.5,<4 ; python_version >= '3.9'"
        );
        assert_eq!(
            Requirement::parse("pytest-xdist").unwrap().uv_form(),
            "pytest-xdist"
        );
        assert_eq!(Requirement::parse("x (>=1.0)").unwrap().uv_form(), "x>=1.0");
        assert_eq!(
            Requirement::parse("pkg @ https://e.org/pkg.whl")
                .unwrap()
                .uv_form(),
            "pkg @ https://e.org/pkg.whl"
        );
    }

    #[test]
    fn options_paths_and_urls_are_not_requirements() {
        for text in [
            "-r base.txt",
            "./local",
            "git+https://x/y",
            "",
            "[x]",
            "a b",
        ] {
            assert_eq!(Requirement::parse(text), None, "{text}");
        }
    }

    proptest! {
        /// Any text: never a panic, and the uv form of a requirement is a fixed point.
        #[test]
        fn the_uv_form_is_stable(text in any::<String>()) {
            if let Some(r) = Requirement::parse(&text) {
                let once = r.uv_form();
                let again = Requirement::parse(&once).map(|r| r.uv_form());
                prop_assert_eq!(again.as_deref(), Some(once.as_str()));
            }
        }
    }
}
