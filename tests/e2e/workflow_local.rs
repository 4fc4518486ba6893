//! Runs a workflow `planrun ci github` wrote, locally: its matrix expanded, each job on a fresh
//! git checkout of a copy of the project, each `run:` block executed in order with bash as GitHub
//! runs it (`bash --noprofile --norc -eo pipefail`), its `if:` decided and its `${{ }}` expressions
//! substituted by the small evaluator below (the few contexts the workflow uses; anything else
//! panics, so a new expression in the workflow fails here until it is understood). `uses:` steps
//! are not run (they are GitHub's actions); the run lists them as skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

/// A value of the expression language: strings, booleans, null.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    S(String),
    B(bool),
    Null,
}

impl V {
    fn truthy(&self) -> bool {
        match self {
            V::S(s) => !s.is_empty(),
            V::B(b) => *b,
            V::Null => false,
        }
    }

    fn text(&self) -> String {
        match self {
            V::S(s) => s.clone(),
            V::B(b) => b.to_string(),
            V::Null => String::new(),
        }
    }
}

/// The contexts the expressions read.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub github: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub inputs: BTreeMap<String, V>,
    pub matrix: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub steps: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether a step of the job failed so far.
    pub failed: bool,
}

impl Ctx {
    fn lookup(&self, path: &str) -> V {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        let s = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().map_or(V::Null, V::S);
        match head {
            "github" => s(&self.github, rest),
            "secrets" => s(&self.secrets, rest),
            "matrix" => s(&self.matrix, rest),
            "env" => s(&self.env, rest),
            "inputs" => self.inputs.get(rest).cloned().unwrap_or(V::Null),
            "steps" => {
                let (id, out) = rest
                    .split_once(".outputs.")
                    .expect("steps.<id>.outputs.<x>");
                self.steps.get(id).map_or(V::Null, |o| s(o, out))
            }
            _ => panic!("the local evaluator does not know the context of `{path}`"),
        }
    }

    /// Evaluates one expression (the text inside `${{ }}`, or an `if:`).
    pub fn eval(&self, expr: &str) -> V {
        let tokens = tokenize(expr);
        let mut p = Parser {
            t: &tokens,
            i: 0,
            ctx: self,
        };
        let v = p.or();
        assert_eq!(p.i, tokens.len(), "trailing tokens in `{expr}`");
        v
    }

    /// `text` with each `${{ expr }}` replaced by its value.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("unclosed ${{") + start;
            out.push_str(&self.eval(&rest[start + 3..end]).text());
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether a step with condition `cond` runs: GitHub adds `success() &&` unless the
    /// condition calls a status function itself.
    pub fn runs(&self, cond: Option<&str>) -> bool {
        let Some(cond) = cond else {
            return !self.failed;
        };
        let cond = cond.trim();
        let cond = cond
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(cond);
        let status = ["always()", "success()", "failure()", "cancelled()"];
        let v = self.eval(cond).truthy();
        if status.iter().any(|f| cond.contains(f)) {
            v
        } else {
            !self.failed && v
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Op(&'static str),
}

fn tokenize(expr: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let b: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                assert!(i < b.len(), "unclosed string in `{expr}`");
                if b[i] == '\'' {
                    if b.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(b[i]);
                i += 1;
            }
            out.push(Tok::Str(s));
        } else if let Some(op) = ["&&", "||", "==", "!="].into_iter().find(|op| {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            *op == two
        }) {
            out.push(Tok::Op(op));
            i += 2;
        } else if let Some(op) = ["!", "(", ")"].into_iter().find(|op| op.starts_with(c)) {
            out.push(Tok::Op(op));
            i += 1;
        } else {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || "_.-".contains(b[i])) {
                i += 1;
            }
            assert!(i > start, "unexpected `{c}` in `{expr}`");
            out.push(Tok::Ident(b[start..i].iter().collect()));
        }
    }
    out
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
    ctx: &'a Ctx,
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.t.get(self.i), Some(Tok::Op(o)) if *o == op) {
            self.i += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> V {
        let mut v = self.and();
        while self.eat("||") {
            let r = self.and();
            v = if v.truthy() { v } else { r };
        }
        v
    }

    fn and(&mut self) -> V {
        let mut v = self.cmp();
        while self.eat("&&") {
            let r = self.cmp();
            v = if v.truthy() { r } else { v };
        }
        v
    }

    fn cmp(&mut self) -> V {
        let l = self.unary();
        if self.eat("==") {
            let r = self.unary();
            return V::B(l.text() == r.text());
        }
        if self.eat("!=") {
            let r = self.unary();
            return V::B(l.text() != r.text());
        }
        l
    }

    fn unary(&mut self) -> V {
        if self.eat("!") {
            return V::B(!self.unary().truthy());
        }
        if self.eat("(") {
            let v = self.or();
            assert!(self.eat(")"), "unclosed (");
            return v;
        }
        let tok = self.t.get(self.i).cloned().expect("an operand");
        self.i += 1;
        match tok {
            Tok::Str(s) => V::S(s),
            Tok::Ident(name) if self.eat("(") => {
                assert!(self.eat(")"), "functions take no arguments here");
                match name.as_str() {
                    "always" => V::B(true),
                    "success" => V::B(!self.ctx.failed),
                    "failure" => V::B(self.ctx.failed),
                    other => panic!("the local evaluator does not know `{other}()`"),
                }
            }
            Tok::Ident(name) if name == "true" || name == "false" => V::B(name == "true"),
            Tok::Ident(path) => self.ctx.lookup(&path),
            Tok::Op(op) => panic!("unexpected `{op}`"),
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A `run:` block ran and exited with this code.
    Ran(i32),
    /// Its `if:` was false.
    NotRun,
    /// A `uses:` step: GitHub's action, not run here.
    Uses(String),
}

/// One job of the matrix, run.
#[derive(Debug)]
pub struct JobRun {
    pub job: String,
    pub matrix: BTreeMap<String, String>,
    /// Each step's name (or `uses`) and outcome.
    pub steps: Vec<(String, Outcome)>,
    pub ctx: Ctx,
    /// The job's checkout.
    pub workspace: PathBuf,
    /// Whether the job succeeded.
    pub green: bool,
    /// Everything the `run:` blocks printed.
    pub log: String,
}

/// The machine the jobs run on: `PATH` entries before the system's, extra variables, and a
/// directory per job for its checkout and GitHub's files.
pub struct Runner {
    pub path_first: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
    pub scratch: PathBuf,
}

fn yaml_env(v: &Value, ctx: &Ctx) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        other => panic!("env value {other:?}"),
                    };
                    (k.as_str().unwrap().to_string(), ctx.substitute(&text))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Copies the files under `from` into `to`, keeping their relative paths.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Reads `KEY=value` lines (and `KEY<<EOF` blocks) from a GitHub file command.
fn file_command(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((k, delim)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.push((k.to_string(), value.join("\n")));
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

impl Runner {
    /// A fresh clone of `repo` for job `id` (the CI system's checkout): its work tree, and a
    /// directory for the runner's own files.
    pub fn checkout(&self, id: &str, repo: &Path) -> (PathBuf, PathBuf) {
        let n = std::fs::read_dir(&self.scratch).unwrap().count();
        let dir = self.scratch.join(format!("{n}-{id}"));
        let workspace = dir.join("workspace");
        let files = dir.join("files");
        std::fs::create_dir_all(&files).unwrap();
        let clone = Command::new("git")
            .args(["clone", "--quiet"])
            .arg(repo)
            .arg(&workspace)
            .status()
            .unwrap();
        assert!(clone.success(), "the checkout, done as git clone");
        (workspace, files)
    }

    /// Runs the script `file` with bash as both CI systems do (`-eo pipefail`) in `workspace`:
    /// `path_first` before the system's `PATH`, the runner's variables, `CI=true`, then `env`.
    /// Its exit code and everything it printed.
    pub fn bash(
        &self,
        file: &Path,
        workspace: &Path,
        path_first: &[PathBuf],
        env: &BTreeMap<String, String>,
    ) -> (i32, String) {
        let system = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            path_first
                .iter()
                .cloned()
                .chain(std::env::split_paths(&system)),
        )
        .unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(file)
            .current_dir(workspace)
            .envs(self.env.iter().cloned())
            .env("CI", "true")
            .envs(env)
            .env("PATH", path)
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(128);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (code, text)
    }

    /// What `actions/upload-artifact` and `actions/download-artifact` do, between the jobs of
    /// this runner: an upload copies its paths into a directory named after the artifact, a
    /// download copies each artifact its `pattern` (a trailing `*`) matches into `path/<name>/`.
    fn artifacts(&self, uses: &str, with: &Value, ctx: &Ctx, workspace: &Path) {
        let store = self.scratch.with_file_name("artifacts");
        let field = |k: &str| with[k].as_str().map(|v| ctx.substitute(v));
        if uses.starts_with("actions/upload-artifact@") {
            let dir = store.join(field("name").unwrap());
            std::fs::create_dir_all(&dir).unwrap();
            for path in field("path")
                .unwrap()
                .lines()
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let from = workspace.join(path);
                if from.is_dir() {
                    copy_dir(&from, &dir);
                } else if from.is_file() {
                    std::fs::copy(&from, dir.join(from.file_name().unwrap())).unwrap();
                }
            }
        } else if uses.starts_with("actions/download-artifact@") {
            let pattern = field("pattern").unwrap();
            let prefix = pattern.strip_suffix('*').expect("a pattern ending in `*`");
            let into = workspace.join(field("path").unwrap());
            for entry in std::fs::read_dir(&store).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(prefix) {
                    let to = into.join(&name);
                    std::fs::create_dir_all(&to).unwrap();
                    copy_dir(&entry.path(), &to);
                }
            }
        }
    }

    /// Runs every job of `workflow` in order (they are chained by `needs:`), each matrix entry
    /// on a fresh checkout of `repo` (a git work tree), with `base` as the contexts.
    pub fn run(&self, workflow: &Value, repo: &Path, base: &Ctx) -> Vec<JobRun> {
        let mut runs = Vec::new();
        let jobs = workflow["jobs"].as_mapping().unwrap();
        for (id, job) in jobs {
            let id = id.as_str().unwrap();
            let matrix = &job["strategy"]["matrix"];
            // Every combination of the axes' values, as GitHub expands them.
            let mut entries: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
            for (k, vs) in matrix.as_mapping().into_iter().flatten() {
                let values: Vec<String> = vs
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).unwrap_or_else(|| {
                            serde_yaml_ng::to_string(v).unwrap().trim().to_string()
                        })
                    })
                    .collect();
                entries = entries
                    .iter()
                    .flat_map(|e| {
                        values.iter().map(move |v| {
                            let mut e = e.clone();
                            e.insert(k.as_str().unwrap().to_string(), v.clone());
                            e
                        })
                    })
                    .collect();
            }
            for entry in entries {
                runs.push(self.job(workflow, id, job, entry, repo, base));
            }
        }
        runs
    }

    fn job(
        &self,
        workflow: &Value,
        id: &str,
        job: &Value,
        matrix: BTreeMap<String, String>,
        repo: &Path,
        base: &Ctx,
    ) -> JobRun {
        let (workspace, files) = self.checkout(id, repo);
        let mut ctx = base.clone();
        ctx.matrix = matrix.clone();
        ctx.env = yaml_env(&workflow["env"], &ctx);
        let job_env = yaml_env(&job["env"], &ctx);
        ctx.env.extend(job_env);
        let mut path_first = self.path_first.clone();
        let mut extra_env: BTreeMap<String, String> = BTreeMap::new();
        let mut steps = Vec::new();
        let mut log = String::new();
        for (k, step) in job["steps"].as_sequence().unwrap().iter().enumerate() {
            let name = step["name"]
                .as_str()
                .or(step["uses"].as_str())
                .unwrap()
                .to_string();
            let name = ctx.substitute(&name);
            if let Some(uses) = step["uses"].as_str() {
                self.artifacts(uses, &step["with"], &ctx, &workspace);
                steps.push((name, Outcome::Uses(uses.to_string())));
                continue;
            }
            if !ctx.runs(step["if"].as_str()) {
                steps.push((name, Outcome::NotRun));
                continue;
            }
            let script = ctx.substitute(step["run"].as_str().unwrap());
            let file = files.join(format!("step-{k}.sh"));
            std::fs::write(&file, &script).unwrap();
            let output = files.join(format!("output-{k}"));
            std::fs::write(&output, "").unwrap();
            let path = |p: &Path| p.display().to_string();
            let mut env: BTreeMap<String, String> = BTreeMap::from([
                ("GITHUB_ACTIONS".into(), "true".into()),
                ("GITHUB_WORKSPACE".into(), path(&workspace)),
                ("RUNNER_TEMP".into(), path(&files)),
                ("GITHUB_OUTPUT".into(), path(&output)),
                ("GITHUB_ENV".into(), path(&files.join("env"))),
                ("GITHUB_PATH".into(), path(&files.join("path"))),
                (
                    "GITHUB_STEP_SUMMARY".into(),
                    path(&files.join("summary.md")),
                ),
            ]);
            env.extend(ctx.env.clone());
            env.extend(extra_env.clone());
            env.extend(yaml_env(&step["env"], &ctx));
            let (code, out) = self.bash(&file, &workspace, &path_first, &env);
            log.push_str(&format!("--- {name} (exit {code})\n{out}"));
            if let Some(sid) = step["id"].as_str() {
                ctx.steps
                    .insert(sid.to_string(), file_command(&output).into_iter().collect());
            }
            extra_env.extend(file_command(&files.join("env")));
            let added = std::fs::read_to_string(files.join("path")).unwrap_or_default();
            for p in added.lines().rev() {
                path_first.insert(0, PathBuf::from(p));
            }
            if code != 0 {
                ctx.failed = true;
            }
            steps.push((name, Outcome::Ran(code)));
        }
        JobRun {
            job: id.to_string(),
            matrix,
            steps,
            green: !ctx.failed,
            ctx,
            workspace,
            log,
        }
    }
}

#[test]
fn the_evaluator_reads_what_github_would() {
    let mut ctx = Ctx::default();
    ctx.github.insert("run_id".into(), "7".into());
    ctx.inputs.insert("force".into(), V::B(true));
    ctx.steps.insert(
        "apply".into(),
        BTreeMap::from([("kept".into(), "true".into())]),
    );
    assert_eq!(ctx.substitute("a-${{ github.run_id }}-b"), "a-7-b");
    assert_eq!(
        ctx.eval("inputs.force && '--force' || ''").text(),
        "--force"
    );
    assert_eq!(ctx.eval("inputs.open_pr && 'x' || ''").text(), "");
    assert!(ctx.runs(Some("steps.apply.outputs.kept == 'true'")));
    assert!(!ctx.runs(Some("steps.apply.outputs.kept == 'true' && inputs.open_pr")));
    ctx.failed = true;
    assert!(!ctx.runs(Some("steps.apply.outputs.kept == 'true'")));
    assert!(ctx.runs(Some("always()")));
    assert!(!ctx.runs(None));
}
