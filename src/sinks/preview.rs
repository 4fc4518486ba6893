//! `--dry-run` for people, as `terraform plan`: a header (plan, target, environment, installer,
//! phases), each phase with its steps (every command, every file diff) and its gates with their
//! whys, and a closing count; secret values masked. `exec::dryrun` builds what it shows.

use std::fmt::Write as _;

use crate::exec::planned::{Block, Header, Preview};
use crate::secrets::Secrets;
use crate::styled::{count, Style, Styled};
use crate::ui;

/// The preview as the terminal shows it, in colour when `color`.
pub fn text(preview: &Preview, color: bool, secrets: &Secrets) -> String {
    let mut text = header(&preview.header, color);
    for block in &preview.blocks {
        let styled = match block {
            Block::Phase { id, title, needs } => phase_heading(id, title.as_deref(), needs),
            Block::Gates(gates) => gate_lines(gates),
            Block::Step { id, action, lines } => {
                let mut styled = Styled::new();
                styled
                    .plain("  ")
                    .styled(Style::Bold, "step")
                    .plain(format!(" {id} "))
                    .styled(Style::Dim, format!("({action})"))
                    .plain("\n");
                styled.0.extend(lines.0.iter().cloned());
                styled
            }
        };
        text.push_str(&ui::render(&styled, color));
    }
    text.push_str(&ui::render(&summary(preview), color));
    // Commands, diffs and undo lines show secret values masked; apply runs them unmasked.
    secrets.mask(&text).into_owned()
}

/// A phase's heading: `phase ID  TITLE  (after NEEDS)`, after a blank line.
fn phase_heading(id: &str, title: Option<&str>, needs: &[String]) -> Styled {
    let mut line = Styled::new();
    line.plain("\n")
        .styled(Style::Bold, "phase")
        .plain(format!(" {id}"));
    if let Some(title) = title {
        line.plain(format!("  {title}"));
    }
    if !needs.is_empty() {
        line.plain("  ")
            .styled(Style::Dim, format!("(after {})", needs.join(", ")));
    }
    line.plain("\n");
    line
}

/// A phase's gates, each with its why.
fn gate_lines(gates: &[(String, Option<String>)]) -> Styled {
    let mut lines = Styled::new();
    for (check, why) in gates {
        lines
            .plain("  ")
            .styled(Style::Bold, "gate")
            .plain(format!(" {check}\n"));
        if let Some(why) = why {
            lines
                .plain("    ")
                .styled(Style::Dim, format!("why: {why}"))
                .plain("\n");
        }
    }
    lines
}

/// The closing count: `plan: 2 files to change, ...`, after a blank line.
fn summary(out: &Preview) -> Styled {
    // Plans without services keep the summary they always had.
    let services = match out.services {
        0 => String::new(),
        n => format!(", {}", count(n, "service")),
    };
    let mut line = Styled::new();
    line.plain("\n")
        .styled(
            Style::Bold,
            format!(
                "plan: {} to change, {} to install, {}, {}{services}, {}",
                count(out.files, "file"),
                count(out.packages, "package"),
                count(out.commands, "command"),
                count(out.suites, "timed suite"),
                count(out.gates, "gate"),
            ),
        )
        .plain("\n");
    line
}

/// `plan`, `target`, `env`, `installer` and `phases`, one line each.
fn header(h: &Header, color: bool) -> String {
    let key = |s: &str| ui::paint(color, Style::Bold, &format!("{s:<10}"));
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} {} ({})",
        key("plan"),
        h.plan,
        h.plan_path.display()
    );
    let _ = writeln!(text, "{} {}", key("target"), h.target.display());
    if let Some(env) = &h.env {
        let _ = writeln!(text, "{} {env}", key("env"));
    }
    if let Some(installer) = &h.installer {
        let _ = writeln!(text, "{} {installer}", key("installer"));
    }
    let _ = writeln!(text, "{} {}", key("phases"), h.phases.join(", "));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each block reads as the dry run always showed it: header keys padded, a phase heading
    /// with its title and needs, a step heading above its action's lines, gates with their
    /// whys, the closing count; colour only when asked; secrets masked.
    #[test]
    fn a_preview_reads_block_by_block() {
        let mut lines = Styled::new();
        lines.plain("    $ echo s3cret\n");
        let preview = Preview {
            header: Header {
                plan: "p".into(),
                plan_path: "plans/p.toml".into(),
                target: "/t".into(),
                env: None,
                installer: Some("pip (no uv found)".into()),
                phases: vec!["one".into(), "two".into()],
            },
            blocks: vec![
                Block::Phase {
                    id: "two".into(),
                    title: Some("Second".into()),
                    needs: vec!["one".into()],
                },
                Block::Step {
                    id: "s".into(),
                    action: "run",
                    lines,
                },
                Block::Gates(vec![("after.failed == 0".into(), Some("green".into()))]),
            ],
            gates: 1,
            commands: 1,
            ..Preview::default()
        };
        let secrets = Secrets::new(["s3cret"]);
        assert_eq!(
            text(&preview, false, &secrets),
            "plan       p (plans/p.toml)\ntarget     /t\ninstaller  pip (no uv found)\nphases     one, two\n\nphase two  Second  (after one)\n  step s (run)\n    $ echo ***\n  gate after.failed == 0\n    why: green\n\nplan: 0 files to change, 0 packages to install, 1 command, 0 timed suites, 1 gate\n"
        );
        let coloured = text(&preview, true, &secrets);
        assert!(coloured.contains("\u{1b}["), "{coloured:?}");
        assert_eq!(
            anstream::adapter::strip_str(&coloured).to_string(),
            text(&preview, false, &secrets)
        );
    }
}
