//! A list-valued INI option cut into items that remember their line, so edits keep the layout.

/// Where an item lives: an existing line of the value (0 is the key line) or a new line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The n-th line of the key's span as it was read.
    Old(usize),
    /// The n-th line added after the existing value lines.
    New(usize),
}

/// One list item and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The item as written (a word, a shell token or a whole line).
    pub text: String,
    /// The line it is rendered on.
    pub slot: Slot,
}

/// The items of one value plus what is needed to re-render only the lines that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListValue {
    /// The items in value order.
    pub items: Vec<Item>,
    /// Whether new items go on lines of their own (the value already spans lines).
    pub multiline: bool,
    /// The items each span line had when read (`None` for comment and blank lines).
    original: Vec<Option<Vec<String>>>,
    new_lines: usize,
}

impl ListValue {
    /// A value read from its span lines: the key line's items first, `None` for lines that are
    /// not part of the value.
    pub fn from_lines(lines: Vec<Option<Vec<String>>>) -> ListValue {
        let items = lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                l.iter().flatten().map(move |t| Item {
                    text: t.clone(),
                    slot: Slot::Old(i),
                })
            })
            .collect();
        let multiline = lines.iter().skip(1).any(Option::is_some);
        ListValue {
            items,
            multiline,
            original: lines,
            new_lines: 0,
        }
    }

    /// A value for a key that does not exist yet.
    pub fn empty(multiline: bool) -> ListValue {
        ListValue {
            items: Vec::new(),
            multiline,
            original: vec![Some(Vec::new())],
            new_lines: 0,
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item texts in order.
    pub fn texts(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.text.as_str()).collect()
    }

    /// The items now on `slot`.
    pub fn line(&self, slot: Slot) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.slot == slot)
            .map(|i| i.text.clone())
            .collect()
    }

    /// Whether existing line `rel` still holds exactly what it held when read.
    pub fn line_unchanged(&self, rel: usize) -> bool {
        let was = self
            .original
            .get(rel)
            .cloned()
            .flatten()
            .unwrap_or_default();
        self.line(Slot::Old(rel)) == was
    }

    /// The added lines, in order, each as its items.
    pub fn new_lines(&self) -> Vec<Vec<String>> {
        (0..self.new_lines)
            .map(|k| self.line(Slot::New(k)))
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Adds items together: on a line of their own (multi-line layout) or at the end of the
    /// single line.
    pub fn push_group(&mut self, texts: Vec<String>) {
        let slot = if self.multiline {
            self.new_lines += 1;
            Slot::New(self.new_lines - 1)
        } else {
            self.items.last().map_or(Slot::Old(0), |i| i.slot)
        };
        self.items
            .extend(texts.into_iter().map(|text| Item { text, slot }));
    }

    /// Inserts an item right after item `index`, on the same line.
    pub fn insert_after(&mut self, index: usize, text: String) {
        let slot = self.items[index].slot;
        self.items.insert(index + 1, Item { text, slot });
    }

    /// Where `run` first occurs as consecutive items.
    pub fn find_run(&self, run: &[String]) -> Option<usize> {
        if run.is_empty() || run.len() > self.items.len() {
            return None;
        }
        (0..=self.items.len() - run.len()).find(|&s| {
            run.iter()
                .enumerate()
                .all(|(k, t)| self.items[s + k].text == *t)
        })
    }

    /// Appends `run` unless it already occurs.
    pub fn append_run(&mut self, run: Vec<String>) {
        if !run.is_empty() && self.find_run(&run).is_none() {
            self.push_group(run);
        }
    }

    /// Removes every occurrence of `run`, including ones that removing others brings together.
    pub fn remove_run(&mut self, run: &[String]) {
        while let Some(s) = self.find_run(run) {
            self.items.drain(s..s + run.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn single_line_values_grow_on_their_line_and_multi_line_values_get_new_lines() {
        let mut one = ListValue::from_lines(vec![Some(words("-q"))]);
        one.append_run(words("-x"));
        assert_eq!(one.line(Slot::Old(0)), words("-q -x"));
        let mut many = ListValue::from_lines(vec![Some(vec![]), Some(words("-q")), None]);
        many.append_run(words("-n auto"));
        assert_eq!(many.new_lines(), vec![words("-n auto")]);
        assert!(many.line_unchanged(1));
    }

    #[test]
    fn runs_are_kept_once_and_removed_to_a_fixpoint() {
        let mut v = ListValue::from_lines(vec![Some(words("a a b b c"))]);
        v.append_run(words("b c"));
        assert_eq!(v.texts(), ["a", "a", "b", "b", "c"]);
        v.remove_run(&words("a b"));
        assert_eq!(v.texts(), ["c"]);
        assert!(!v.line_unchanged(0));
    }
}
