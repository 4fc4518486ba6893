//! The strict structural pass: walks the spanned TOML tree against the JSON Schema derived from
//! the serde model, so every unknown key, missing field and wrong type is reported at its exact
//! place (serde alone loses spans inside the internally tagged `Step`), all at once.

use std::sync::Arc;

use serde_json::{Map, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diag::{did_you_mean, Diagnostic, Source};

/// The key that selects a step's variant.
const TAG: &str = "action";

/// Checks a parsed plan against the plan schema; returns every problem found.
pub fn check(root: &Spanned<DeTable<'_>>, schema: &Value, source: &Arc<Source>) -> Vec<Diagnostic> {
    let mut checker = Checker {
        root: schema,
        source,
        diags: Vec::new(),
    };
    checker.table(schema, root.get_ref(), root.span(), "at the top level");
    checker.diags
}

struct Checker<'a> {
    root: &'a Value,
    source: &'a Arc<Source>,
    diags: Vec<Diagnostic>,
}

/// A TOML value's kind, as named in messages.
fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Whether a value has JSON Schema type `ty` (TOML has no null).
fn has_type(value: &DeValue<'_>, ty: &str) -> bool {
    matches!(
        (ty, value),
        ("string", DeValue::String(_))
            | ("integer", DeValue::Integer(_))
            | ("number", DeValue::Integer(_) | DeValue::Float(_))
            | ("boolean", DeValue::Boolean(_))
            | ("array", DeValue::Array(_))
            | ("object", DeValue::Table(_))
    )
}

impl<'a> Checker<'a> {
    /// Follows `$ref` and single-element `allOf` wrappers to the schema that says something.
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or_default();
                match self.root.get("definitions").and_then(|d| d.get(name)) {
                    Some(target) => schema = target,
                    None => return &Value::Bool(true),
                }
            } else if let Some([only]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                schema = only;
            } else {
                break;
            }
        }
        schema
    }

    /// Describes what a schema accepts, for "must be ..." messages.
    fn expected(&self, schema: &'a Value) -> String {
        let schema = self.resolve(schema);
        if let Some(values) = enum_values(schema) {
            return format!("one of {}", quoted_list(values));
        }
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            let parts: Vec<String> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .map(|b| self.expected(b))
                .collect();
            return parts.join(" or ");
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or(""),
            _ => "",
        };
        match ty {
            "string" => "a string".into(),
            "integer" => "a non-negative integer".into(),
            "number" => "a number".into(),
            "boolean" => "`true` or `false`".into(),
            "array" => match schema.get("items") {
                Some(items) => format!("an array of {}", plural(&self.expected(items))),
                None => "an array".into(),
            },
            "object" => "a table".into(),
            _ => "a value".into(),
        }
    }

    /// Whether `value` fits `schema`, without reporting anything.
    fn fits(&self, schema: &'a Value, value: &Spanned<DeValue<'_>>) -> bool {
        let mut probe = Checker {
            root: self.root,
            source: self.source,
            diags: Vec::new(),
        };
        probe.value(schema, value, "", "");
        probe.diags.is_empty()
    }

    /// Whether a schema branch accepts values of this kind at all (its `type` only).
    fn kind_fits(&self, schema: &'a Value, value: &DeValue<'_>) -> bool {
        match self.resolve(schema).get("type") {
            Some(Value::String(t)) => has_type(value, t),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| has_type(value, t)),
            _ => false,
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// Checks one value; `name` is its key (for messages), `ctx` where it is ("in step `x`").
    fn value(&mut self, schema: &'a Value, value: &Spanned<DeValue<'_>>, name: &str, ctx: &str) {
        let schema = self.resolve(schema);
        if schema.as_bool() == Some(true) {
            return;
        }
        let wrong_type = |this: &Self| {
            let expected = this.expected(schema);
            let help = match expected.as_str() {
                "an array of tables" => format!("write each item as a `[[{name}]]` table"),
                e if e.starts_with("a string") => format!("quote it: `{name} = \"...\"`"),
                e if e.starts_with("an array of strings") => format!("write `{name} = [\"...\"]`"),
                e if e.starts_with("a table") => format!("write `{name} = {{ key = \"value\" }}`"),
                e if e.starts_with("a non-negative integer") => {
                    format!("write a whole number, e.g. `{name} = 3`")
                }
                e => format!("write {e}"),
            };
            Diagnostic::at(
                this.source,
                value.span(),
                format!(
                    "`{name}` {ctx} must be {expected}, found {}",
                    kind(value.get_ref())
                ),
            )
            .with_help(help)
        };
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            if !branches.iter().any(|b| self.fits(b, value)) {
                // A value of the right kind for exactly one branch (a `[vars]` table among
                // string-or-table) is checked against it, so an unknown key inside is named.
                let same_kind: Vec<&Value> = branches
                    .iter()
                    .filter(|b| self.kind_fits(b, value.get_ref()))
                    .collect();
                if let [only] = same_kind.as_slice() {
                    return self.value(only, value, name, ctx);
                }
                let d = wrong_type(self);
                self.push(d);
            }
            return;
        }
        if let Some(allowed) = enum_values(schema) {
            return match value.get_ref() {
                DeValue::String(s) => self.string(&allowed, s, value, name, ctx),
                _ => {
                    let d = wrong_type(self);
                    self.push(d)
                }
            };
        }
        if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
            return self.tagged(branches, value, ctx);
        }
        let type_ok = match schema.get("type") {
            Some(Value::String(t)) => has_type(value.get_ref(), t),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| has_type(value.get_ref(), t)),
            _ => true,
        };
        if !type_ok {
            let d = wrong_type(self);
            return self.push(d);
        }
        match value.get_ref() {
            DeValue::String(_) => {}
            DeValue::Integer(i) => {
                let n = i128::from_str_radix(i.as_str(), i.radix()).ok();
                let min_ok = schema
                    .get("minimum")
                    .and_then(Value::as_f64)
                    .is_none_or(|m| n.is_some_and(|n| n as f64 >= m));
                let u32_ok = schema.get("format").and_then(Value::as_str) != Some("uint32")
                    || n.is_some_and(|n| u32::try_from(n).is_ok());
                if !(min_ok && u32_ok) {
                    let msg = format!("`{name}` {ctx} is out of range");
                    let d = Diagnostic::at(self.source, value.span(), msg)
                        .with_help(format!("use a whole number from 0 to {}", u32::MAX));
                    self.push(d);
                }
            }
            DeValue::Array(items) => {
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                for item in items.iter() {
                    self.value(item_schema, item, name, ctx);
                }
            }
            DeValue::Table(t) => {
                // Items of `[[phase]]`, `[[phase.step]]`, `[[phase.gate]]` are already named by `ctx`.
                let inner = if matches!(name, "" | "phase" | "step" | "gate") {
                    ctx.to_string()
                } else {
                    format!("in `{name}` {ctx}")
                };
                self.table(schema, t, value.span(), &inner)
            }
            DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
        }
    }

    /// Checks a string against the values an enum allows.
    fn string(
        &mut self,
        allowed: &[&str],
        s: &str,
        value: &Spanned<DeValue<'_>>,
        name: &str,
        ctx: &str,
    ) {
        if !allowed.contains(&s) {
            let help = did_you_mean(s, allowed.iter().copied())
                .unwrap_or_else(|| format!("use one of {}", quoted_list(allowed.iter().copied())));
            let d = Diagnostic::at(
                self.source,
                value.span(),
                format!("unknown value `{s}` for `{name}` {ctx}"),
            )
            .with_help(help);
            self.push(d);
        }
    }

    /// Checks a table: known keys, required keys, each value.
    fn table(
        &mut self,
        schema: &'a Value,
        table: &DeTable<'_>,
        span: std::ops::Range<usize>,
        ctx: &str,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        let extra = schema.get("additionalProperties");
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in entries {
            let k = key.get_ref().as_ref();
            if let Some(field) = props.and_then(|p| p.get(k)) {
                match (k, value.get_ref()) {
                    ("phase" | "step" | "gate", DeValue::Array(items)) => {
                        let item_schema = field.get("items").unwrap_or(&Value::Bool(true));
                        for (i, item) in items.iter().enumerate() {
                            let c = item_label(k, i, item.get_ref(), ctx);
                            self.value(item_schema, item, k, &c);
                        }
                    }
                    _ => self.value(field, value, k, ctx),
                }
            } else {
                match extra {
                    Some(Value::Bool(false)) | None if props.is_some() => {
                        self.unknown_key(props, key, ctx)
                    }
                    Some(s @ Value::Object(_)) => self.value(s, value, k, ctx),
                    _ => {}
                }
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for req in required.into_iter().flatten().filter_map(Value::as_str) {
            if !table.iter().any(|(k, _)| k.get_ref() == req) {
                let about = props
                    .and_then(|p| p.get(req))
                    .map(|f| self.resolve(f))
                    .and_then(|f| f.get("description"))
                    .and_then(Value::as_str)
                    .and_then(|d| d.lines().next())
                    .map(|d| format!(" ({})", d.trim_end_matches('.').to_lowercase()))
                    .unwrap_or_default();
                let d = Diagnostic::at(
                    self.source,
                    span.clone(),
                    format!("missing field `{req}` {ctx}"),
                )
                .with_help(format!("add `{req} = ...`{about}"));
                self.push(d);
            }
        }
    }

    fn unknown_key(
        &mut self,
        props: Option<&'a Map<String, Value>>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        ctx: &str,
    ) {
        let known: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let k = key.get_ref().as_ref();
        let help = did_you_mean(k, known.iter().copied()).unwrap_or_else(|| {
            format!(
                "remove it; the keys allowed here are {}",
                quoted_list(known.iter().copied())
            )
        });
        let d = Diagnostic::at(
            self.source,
            key.span(),
            format!("unknown field `{k}` {ctx}"),
        )
        .with_help(help);
        self.push(d);
    }

    /// Checks a value of an internally tagged enum (a step): picks the variant by its `action`.
    fn tagged(&mut self, branches: &'a [Value], value: &Spanned<DeValue<'_>>, ctx: &str) {
        let DeValue::Table(table) = value.get_ref() else {
            let msg = format!("{ctx} must be a table, found {}", kind(value.get_ref()));
            let d = Diagnostic::at(self.source, value.span(), msg.trim_start_matches("in "))
                .with_help("write each step as a `[[phase.step]]` table");
            return self.push(d);
        };
        // Direct lookups, not a JSON pointer: this runs once per step of the plan.
        let tag_of = |b: &'a Value| {
            b.get("properties")
                .and_then(|p| p.get(TAG))
                .and_then(|t| t.get("const"))
                .and_then(Value::as_str)
        };
        // The variant names, only for messages.
        let names = || branches.iter().filter_map(tag_of).collect::<Vec<&str>>();
        let Some((_, tag)) = table.iter().find(|(k, _)| k.get_ref() == TAG) else {
            let d = Diagnostic::at(
                self.source,
                value.span(),
                format!("missing field `{TAG}` {ctx}"),
            )
            .with_help(format!(
                "add `{TAG} = \"...\"`, one of {}",
                quoted_list(names())
            ));
            return self.push(d);
        };
        let DeValue::String(name) = tag.get_ref() else {
            let msg = format!(
                "`{TAG}` {ctx} must be a string, found {}",
                kind(tag.get_ref())
            );
            let help = format!("use one of {}", quoted_list(names()));
            return self.push(Diagnostic::at(self.source, tag.span(), msg).with_help(help));
        };
        match branches.iter().find(|b| tag_of(b) == Some(name.as_ref())) {
            Some(branch) => self.table(branch, table, value.span(), ctx),
            None => {
                let names = names();
                let help = did_you_mean(name, names.iter().copied()).unwrap_or_else(|| {
                    format!("use one of {}", quoted_list(names.iter().copied()))
                });
                let d = Diagnostic::at(
                    self.source,
                    tag.span(),
                    format!("unknown action `{name}` {ctx}"),
                )
                .with_help(help);
                self.push(d);
            }
        }
    }
}

/// "in phase `p`", "in step `s`", "in gate 2 of phase `p`" for the i-th item of a phase/step/gate array.
fn item_label(key: &str, i: usize, item: &DeValue<'_>, outer: &str) -> String {
    let id = match item {
        DeValue::Table(t) => t
            .iter()
            .find(|(k, _)| k.get_ref() == "id")
            .and_then(|(_, v)| match v.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                _ => None,
            }),
        _ => None,
    };
    let of_phase = outer.strip_prefix("in ").unwrap_or(outer);
    match (key, id) {
        ("gate", _) => format!("in gate {} of {of_phase}", i + 1),
        (_, Some(id)) => format!("in {key} `{id}`"),
        ("phase", None) => format!("in phase {}", i + 1),
        (_, None) => format!("in {key} {} of {of_phase}", i + 1),
    }
}

/// The strings an enum schema allows: `enum`, a `const`, or a `oneOf` of consts.
fn enum_values(schema: &Value) -> Option<Vec<&str>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().filter_map(Value::as_str).collect());
    }
    if let Some(c) = schema.get("const").and_then(Value::as_str) {
        return Some(vec![c]);
    }
    let branches = schema.get("oneOf").and_then(Value::as_array)?;
    branches
        .iter()
        .map(|b| b.get("const").and_then(Value::as_str))
        .collect()
}

/// `` `a`, `b`, `c` ``.
fn quoted_list<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "a string" -> "strings", for "an array of strings".
fn plural(what: &str) -> String {
    let bare = what
        .strip_prefix("an ")
        .or_else(|| what.strip_prefix("a "))
        .unwrap_or(what);
    format!("{bare}s")
}
