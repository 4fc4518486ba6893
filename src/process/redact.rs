//! Secret values hidden in command output as it is written to a log: the raw value and its
//! base64 forms (a command that prints an `Authorization: Basic` header or a `base64`-encoded
//! config), replaced by `***` even when a value is split across two reads of the pipe.
//!
//! The values are set once per run by whoever knows them ([`set`]); this layer only sees bytes.

use std::sync::{Arc, RwLock};

/// What a secret value is replaced with.
const MASK: &[u8] = b"***";

/// The shortest value masked: shorter ones would mask ordinary text and hide nothing.
const MIN_LEN: usize = 3;

/// The byte strings every log masks, longest first.
static NEEDLES: RwLock<Option<Arc<Vec<Vec<u8>>>>> = RwLock::new(None);

/// Makes `values` (and their base64 forms) what every log opened from now on masks.
pub fn set<S: AsRef<str>>(values: &[S]) {
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for value in values
        .iter()
        .map(AsRef::as_ref)
        .filter(|v| v.len() >= MIN_LEN)
    {
        let raw = value.as_bytes();
        needles.push(raw.to_vec());
        // Unpadded only: a value split across two reads would otherwise be masked short of its
        // `=` in one case and whole in another; the padding says nothing of the value.
        for alphabet in [STANDARD, URL_SAFE] {
            needles.push(base64(raw, alphabet, false).into_bytes());
        }
    }
    needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    needles.dedup();
    let mut slot = NEEDLES.write().unwrap_or_else(|p| p.into_inner());
    *slot = (!needles.is_empty()).then(|| Arc::new(needles));
}

/// Masks one stream; bytes that may be the start of a value are held back until the next
/// chunk (or the end) says whether they are.
#[derive(Debug, Default)]
pub(super) struct Redactor {
    needles: Option<Arc<Vec<Vec<u8>>>>,
    held: Vec<u8>,
}

impl Redactor {
    /// A redactor of the values [`set`] last.
    pub fn new() -> Redactor {
        Redactor {
            needles: NEEDLES.read().unwrap_or_else(|p| p.into_inner()).clone(),
            held: Vec::new(),
        }
    }

    /// The part of what has come so far that can be written now, masked.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(needles) = self.needles.clone() else {
            return chunk.to_vec();
        };
        self.held.extend_from_slice(chunk);
        let masked = mask(&self.held, &needles);
        let keep = partial_suffix(&masked, &needles);
        self.held = masked[masked.len() - keep..].to_vec();
        masked[..masked.len() - keep].to_vec()
    }

    /// What is still held back: the stream has ended, so it is no value's start after all.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }
}

/// `text` with every needle replaced by [`MASK`] (longest first, so a value holding another is
/// masked whole).
fn mask(text: &[u8], needles: &[Vec<u8>]) -> Vec<u8> {
    let mut out = text.to_vec();
    for needle in needles {
        if out.len() < needle.len() {
            continue;
        }
        let mut next = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(needle) {
                next.extend_from_slice(MASK);
                i += needle.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

/// The length of the longest end of `text` that is the start of some needle.
fn partial_suffix(text: &[u8], needles: &[Vec<u8>]) -> usize {
    let longest = needles.iter().map(Vec::len).max().unwrap_or(0);
    (1..longest.min(text.len() + 1))
        .rev()
        .find(|&k| {
            needles
                .iter()
                .any(|n| n.starts_with(&text[text.len() - k..]))
        })
        .unwrap_or(0)
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 base64 of `bytes`, with `=` padding or without.
fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i)) as usize & 63]));
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(values: &[&str]) -> Redactor {
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for v in values {
            needles.push(v.as_bytes().to_vec());
            needles.push(base64(v.as_bytes(), STANDARD, false).into_bytes());
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Redactor {
            needles: Some(Arc::new(needles)),
            held: Vec::new(),
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (raw, padded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes(), STANDARD, true), padded);
            assert_eq!(
                base64(raw.as_bytes(), STANDARD, false),
                padded.trim_end_matches('=')
            );
        }
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, false), "-_8");
    }

    #[test]
    fn raw_and_base64_values_are_masked_even_split_across_chunks() {
        let text = b"token=hunter22 auth=aHVudGVyMjI= done\n";
        for split in 0..text.len() {
            let mut r = redactor(&["hunter22"]);
            let mut out = r.feed(&text[..split]);
            out.extend(r.feed(&text[split..]));
            out.extend(r.finish());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "token=*** auth=***= done\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn text_that_only_starts_like_a_value_is_written_whole_at_the_end() {
        let mut r = redactor(&["hunter22"]);
        let mut out = r.feed(b"hunt");
        assert!(out.is_empty(), "held back: it may be a value's start");
        out.extend(r.feed(b"ing\n"));
        out.extend(r.finish());
        assert_eq!(out, b"hunting\n");
    }

    #[test]
    fn without_values_nothing_is_held_back() {
        let mut r = Redactor::default();
        assert_eq!(r.feed(b"hunter22"), b"hunter22");
        assert!(r.finish().is_empty());
    }
}
