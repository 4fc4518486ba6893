//! The fixture-scope plan for a per-test PostgreSQL schema and roles (seed 002's pattern, the
//! backend demo's): the bundled `backend-demo` plan without its pytest-xdist phase, so that the
//! apply measures the one change suggest predicted (roles and schema once per session, each
//! test in a transaction rolled back) against its throwaway server, held to the prediction.
//! Pure: text in, text out.

/// The bundled plan the written one comes from.
pub const PLAN: &str = "backend-demo";

/// Its templates the written plan uses (the worker databases belong to the xdist phase).
pub fn wanted_template(rel: &str) -> bool {
    !rel.contains("worker-databases")
}

/// The templates whose imports and fixtures must fit the target: the conftests it writes.
pub fn conftest_template(rel: &str) -> bool {
    wanted_template(rel) && rel.ends_with(".py")
}

/// Modules the backend conftests import that are the suite's dependencies, not its own.
pub const KNOWN_MODULES: &[&str] = &["os", "pytest", "sqlalchemy"];

/// The bundled backend plan's text (already pointed at the target) without its parallel phase,
/// its speed gate at `ratio` of the baseline (the prediction's pessimistic end), and the leak
/// check without `-n 0` (pytest-xdist is not installed by this plan). Fails, naming what, when
/// the bundled text no longer has the pieces it edits (a test guards that).
pub fn fixtures_only(text: &str, ratio: f64, speedup: f64) -> Result<String, String> {
    let start = text
        .find("[[phase]]\nid = \"parallel\"")
        .ok_or("the bundled backend plan has no `parallel` phase")?;
    let end = text[start..]
        .find("[[phase]]\nid = \"verify\"")
        .map(|i| start + i)
        .ok_or("the bundled backend plan has no `verify` phase after `parallel`")?;
    let mut out = String::with_capacity(text.len());
    for line in text[..start].lines() {
        if line.starts_with("description = ") {
            out.push_str("description = \"Session-scoped roles and schema and a rolled-back transaction per test for a FastAPI + async SQLAlchemy suite on PostgreSQL (the backend demo's fixtures, without its pytest-xdist step); keep it only if every test still passes, as many, never flaky, as fast as `planrun suggest` predicted, and nothing leaks between tests.\"");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(&text[end..]);
    let edits: [(&str, String); 5] = [
        (
            "needs = [\"parallel\"]",
            "needs = [\"fixtures\"]".to_string(),
        ),
        (
            "${python} -m pytest -n 0 --reverse ${tests}",
            "${python} -m pytest --reverse ${tests}".to_string(),
        ),
        (
            "max_time_ratio = \"0.5\"",
            format!("max_time_ratio = \"{ratio:.2}\""),
        ),
        (
            "# The rewritten suite's median may take at most this share of the baseline's: 0.5 is the\n# goal of \"at least 50% faster\".",
            "# The rewritten suite's median may take at most this share of the baseline's: the\n# pessimistic end of the prediction of `planrun suggest`.".to_string(),
        ),
        (
            "why = \"at least 50% faster (50-70% is expected), or the rewrite is not worth its risk\"",
            format!("why = \"the prediction of `planrun suggest`: at least {speedup:.2}x faster\""),
        ),
    ];
    for (from, to) in edits {
        if !out.contains(from) {
            return Err(format!("the bundled backend plan no longer has `{from}`"));
        }
        out = out.replace(from, &to);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel phase and every mention of xdist's workers go; the verify phase follows the
    /// fixtures; the gate is the prediction's.
    #[test]
    fn the_parallel_phase_goes_and_the_gate_is_the_prediction() {
        let plan = crate::plan::bundled::find(PLAN).unwrap();
        let text = fixtures_only(plan.text, 0.62, 1.61).unwrap();
        for gone in [
            "id = \"parallel\"",
            "pytest-xdist==",
            "worker-databases",
            "-n auto",
            "-n 0",
            "needs = [\"parallel\"]",
        ] {
            assert!(!text.contains(gone), "{gone}\n{text}");
        }
        assert!(text.contains("id = \"verify\"\ntitle"), "{text}");
        assert!(text.contains("needs = [\"fixtures\"]"), "{text}");
        assert!(text.contains("max_time_ratio = \"0.62\""), "{text}");
        assert!(text.contains("at least 1.61x faster"), "{text}");
        assert!(fixtures_only("name = \"x\"\n", 0.5, 2.0).is_err());
        assert!(!wanted_template(
            "templates/backend/conftest.4-worker-databases.py"
        ));
        assert!(wanted_template("templates/backend/postgres.sh"));
        assert!(!conftest_template("templates/backend/postgres.sh"));
    }
}
