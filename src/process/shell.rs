//! One word for `sh -c` command lines planrun builds (a junit path, coverage sources, a relock
//! command), quoted by the `shlex` crate: POSIX quoting has corners (`'` inside quotes, `!`,
//! `{`, `~`, leading `-` or `=`) that hand-written `'...'` wrapping got right only in part.

use std::borrow::Cow;

/// `word` as one `sh` word: unchanged when it needs no quoting, else quoted so the shell reads
/// it back byte for byte. A NUL byte is kept (no argument can carry one: spawning the command
/// then fails with an error naming it, as it would unquoted).
pub fn quote(word: &str) -> Cow<'_, str> {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(word)
        .expect("with NUL allowed, shlex quoting cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` makes of `line`: one argument per line printed by `printf`.
    fn sh_words(line: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {line}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn sh_reads_every_quoted_word_back_whole() {
        let words = [
            "/tmp/a b",
            "/tmp/it's",
            "$HOME",
            "`id`",
            "a\\b",
            "*",
            "~user",
            "x;y&&z|w",
            "\"double\" 'single'",
            "",
            "café",
            "{a,b}",
            "!event",
        ];
        for word in words {
            let quoted = quote(word);
            assert_eq!(sh_words(&quoted), [word], "{word:?} quoted as {quoted}");
        }
        assert_eq!(quote("plain/path-1.0"), "plain/path-1.0");
    }
}
