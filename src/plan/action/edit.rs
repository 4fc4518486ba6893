//! The edit steps (`write`, `replace`, `ini`, `toml`, `pytest-config`) compiled: they keep
//! their written shape, having nothing to resolve.

use super::{CompiledStep, Written};
use crate::plan::fields::{json_map, json_map_list, list, map, map_list, one, opt, Visit};
use crate::plan::locate::{at, Seg};
use crate::plan::model::{IniStep, PytestConfigStep, ReplaceStep, TomlStep, WriteStep};

impl Written for WriteStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "template", &mut self.template);
        one(f, "path", &mut self.path);
        opt(f, "mode", &mut self.mode);
    }

    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        vec![(at!["path"], self.path.as_str())]
    }
}

impl Written for ReplaceStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "path", &mut self.path);
        one(f, "pattern", &mut self.pattern);
        one(f, "replacement", &mut self.replacement);
    }

    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        vec![(at!["path"], self.path.as_str())]
    }
}

impl Written for IniStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "path", &mut self.path);
        one(f, "section", &mut self.section);
        map(f, "set", &mut self.set);
        list(f, "unset", &mut self.unset);
        map_list(f, "append", &mut self.append);
        map_list(f, "remove", &mut self.remove);
    }

    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        vec![(at!["path"], self.path.as_str())]
    }
}

impl Written for TomlStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "path", &mut self.path);
        one(f, "table", &mut self.table);
        json_map(f, "set", &mut self.set);
        list(f, "unset", &mut self.unset);
        json_map_list(f, "append", &mut self.append);
        json_map_list(f, "remove", &mut self.remove);
    }

    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        vec![(at!["path"], self.path.as_str())]
    }
}

impl Written for PytestConfigStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        list(f, "addopts_add", &mut self.addopts_add);
        list(f, "addopts_remove", &mut self.addopts_remove);
        map(f, "set", &mut self.set);
        list(f, "markers_add", &mut self.markers_add);
    }
}

/// The [`CompiledStep`] of an edit step written `$name` that edits the file at `$path` (none:
/// the file is found when it runs).
macro_rules! edit_step {
    ($ty:ty, $name:literal, $($path:ident)?) => {
        impl CompiledStep for $ty {
            fn id(&self) -> &str {
                &self.id
            }

            fn action(&self) -> &'static str {
                $name
            }

            fn target_paths(&self) -> Vec<&str> {
                vec![$(self.$path.as_str())?]
            }

            fn edits_files(&self) -> bool {
                true
            }
        }
    };
}

edit_step!(WriteStep, "write", path);
edit_step!(ReplaceStep, "replace", path);
edit_step!(IniStep, "ini", path);
edit_step!(TomlStep, "toml", path);
edit_step!(PytestConfigStep, "pytest-config",);
