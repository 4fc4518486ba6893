//! One row of the table: what was measured, how often, planrun's figure and its peer's as
//! min / median / max, their ratio, the target and whether this run met it.

use planrun::measure::stats::Summary;

/// How a figure's samples are shown.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Milliseconds (samples are in milliseconds).
    Ms,
    /// Seconds.
    S,
    /// Mebibytes.
    MiB,
    /// Percent.
    Pct,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Ms => " ms",
            Unit::S => " s",
            Unit::MiB => " MiB",
            Unit::Pct => " %",
        }
    }
}

/// The samples of one measured quantity.
#[derive(Clone, Debug)]
pub struct Figure {
    unit: Unit,
    samples: Vec<f64>,
}

impl Figure {
    pub fn new(unit: Unit, samples: Vec<f64>) -> Figure {
        Figure { unit, samples }
    }

    /// Seconds shown as milliseconds.
    pub fn ms(seconds: &[f64]) -> Figure {
        Figure::new(Unit::Ms, seconds.iter().map(|s| s * 1000.0).collect())
    }

    /// Seconds shown as seconds.
    pub fn s(seconds: &[f64]) -> Figure {
        Figure::new(Unit::S, seconds.to_vec())
    }

    fn summary(&self) -> Option<Summary> {
        Summary::of(&self.samples)
    }

    /// The median sample (NaN without samples, which fails every target).
    pub fn median(&self) -> f64 {
        self.summary().map_or(f64::NAN, |s| s.median)
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    fn render(&self) -> String {
        let suffix = self.unit.suffix();
        match self.summary() {
            None => "no samples".to_string(),
            Some(s) if self.samples.len() == 1 => format!("{}{suffix}", num(s.median)),
            Some(s) => format!(
                "{} / {} / {}{suffix}",
                num(s.min),
                num(s.median),
                num(s.max)
            ),
        }
    }
}

/// A number with three or four significant digits, as a table shows it.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Whether this run met the row's target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Met,
    Missed,
    /// The row has no target: a figure for the record.
    Info,
    Skipped,
    Failed,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "",
            Verdict::Skipped => "skipped",
            Verdict::Failed => "FAILED",
        }
    }
}

/// One line of the table.
#[derive(Debug)]
pub struct Row {
    what: String,
    reps: String,
    ours: Option<Figure>,
    peer: Option<(String, Figure)>,
    ratio: Option<f64>,
    /// The ratio as shown, when not `{ratio}x`.
    ratio_text: Option<String>,
    target: String,
    verdict: Verdict,
    /// Why a row was skipped or failed, shown in place of planrun's figure.
    note: Option<String>,
}

impl Row {
    /// A row of planrun's figure alone; its repetitions are its samples.
    pub fn new(what: impl Into<String>, ours: Figure) -> Row {
        Row {
            what: what.into(),
            reps: ours.len().to_string(),
            ours: Some(ours),
            peer: None,
            ratio: None,
            ratio_text: None,
            target: String::new(),
            verdict: Verdict::Info,
            note: None,
        }
    }

    /// A row not measured in this run, and why.
    pub fn skipped(what: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            ours: None,
            reps: "0".into(),
            verdict: Verdict::Skipped,
            note: Some(why.into()),
            ..Row::new(what, Figure::new(Unit::S, Vec::new()))
        }
    }

    /// A row whose measurement failed, and how.
    pub fn failed(what: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            verdict: Verdict::Failed,
            ..Row::skipped(what, why)
        }
    }

    /// The peer measured beside planrun in the same run; the ratio becomes planrun's median
    /// over the peer's, and the repetitions count both sides.
    pub fn peer(mut self, name: impl Into<String>, figure: Figure) -> Row {
        let ours = self.ours.as_ref().map_or(f64::NAN, Figure::median);
        self.ratio = Some(ours / figure.median());
        if let Some(mine) = &self.ours {
            if mine.len() != figure.len() {
                self.reps = format!("{}+{}", mine.len(), figure.len());
            }
        }
        self.peer = Some((name.into(), figure));
        self
    }

    /// Shows the ratio this way instead of `{ratio}x`.
    pub fn ratio_text(mut self, text: impl Into<String>) -> Row {
        self.ratio_text = Some(text.into());
        self
    }

    /// Overrides the count of repetitions shown.
    pub fn reps(mut self, reps: impl Into<String>) -> Row {
        self.reps = reps.into();
        self
    }

    /// planrun's median over the peer's (NaN without a peer).
    pub fn ratio(&self) -> f64 {
        self.ratio.unwrap_or(f64::NAN)
    }

    /// planrun's median (NaN when not measured).
    pub fn median(&self) -> f64 {
        self.ours.as_ref().map_or(f64::NAN, Figure::median)
    }

    /// The row's target, as text, and whether this run met it.
    pub fn target(mut self, text: impl Into<String>, met: bool) -> Row {
        self.target = text.into();
        self.verdict = if met { Verdict::Met } else { Verdict::Missed };
        self
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// The row's cells, in the table's column order.
    fn cells(&self) -> [String; 7] {
        let ours = match (&self.note, &self.ours) {
            (Some(note), _) => note.lines().next().unwrap_or_default().to_string(),
            (None, Some(f)) => f.render(),
            (None, None) => String::new(),
        };
        let peer = self
            .peer
            .as_ref()
            .map(|(name, f)| format!("{name}: {}", f.render()))
            .unwrap_or_default();
        let ratio = match (&self.ratio_text, self.ratio) {
            (Some(text), _) => text.clone(),
            (None, Some(r)) => format!("{}x", num(r)),
            (None, None) => String::new(),
        };
        [
            self.what.clone(),
            self.reps.clone(),
            ours,
            peer,
            ratio,
            self.target.clone(),
            self.verdict.word().to_string(),
        ]
    }
}

/// The rows as one Markdown table.
pub fn render(rows: &[Row]) -> String {
    let header = [
        "measurement",
        "reps",
        "planrun: min / median / max",
        "peer, same run: min / median / max",
        "ratio",
        "target",
        "",
    ];
    let line = |cells: &[String]| {
        let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", escaped.join(" | "))
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        out.push_str(&line(&row.cells()));
    }
    out
}
