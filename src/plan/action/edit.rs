//! The edit steps (`write`, `replace`, `ini`, `toml`, `pytest-config`) compiled: they keep
//! their written shape, having nothing to resolve.

use super::CompiledStep;
use crate::plan::model::{IniStep, PytestConfigStep, ReplaceStep, TomlStep, WriteStep};

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
