//! A small SVG writer for the HTML report's charts: linear and log scales with round ticks,
//! shapes drawn with CSS classes (the page's stylesheet colours them, light and dark), and the
//! escaping of text. No crate fits this: plotters' SVG backend writes every colour and font
//! inline (no dark mode, no classes), has no per-point `<title>`, and charming draws through
//! ECharts' JavaScript.

use std::borrow::Cow;
use std::fmt::Write;

/// A ratio of largest to smallest value from which an axis of times reads better on a log scale.
pub const LOG_RATIO: f64 = 10.0;

/// Maps values onto pixels along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Scale {
    /// `lo..=hi` (padded by 5%, or widened around a single value) onto pixels `from..=to`;
    /// `zero` starts the axis at 0 for non-negative values.
    pub fn linear(lo: f64, hi: f64, zero: bool, from: f64, to: f64) -> Scale {
        let (mut lo, mut hi) = finite_range(lo, hi, 0.0, 1.0);
        if zero && lo >= 0.0 {
            lo = 0.0;
        }
        if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
            let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.5 };
            hi += pad;
            if !zero {
                lo -= pad;
            }
        } else {
            let pad = (hi - lo) * 0.05;
            hi += pad;
            if lo != 0.0 {
                lo -= pad;
            }
        }
        Scale {
            lo,
            hi,
            log: false,
            from,
            to,
        }
    }

    /// `lo..=hi` (both above 0; padded by a quarter either way) on a log scale.
    pub fn log(lo: f64, hi: f64, from: f64, to: f64) -> Scale {
        let (lo, hi) = finite_range(lo, hi, 1e-3, 1.0);
        let lo = if lo > 0.0 { lo } else { 1e-3 };
        let hi = hi.max(lo * 2.0);
        Scale {
            lo: lo / 1.25,
            hi: hi * 1.25,
            log: true,
            from,
            to,
        }
    }

    /// A log scale when every value is above 0 and they span at least [`LOG_RATIO`], else a
    /// linear one from 0.
    pub fn times(lo: f64, hi: f64, from: f64, to: f64) -> Scale {
        if lo > 0.0 && hi / lo >= LOG_RATIO {
            Scale::log(lo, hi, from, to)
        } else {
            Scale::linear(lo, hi, true, from, to)
        }
    }

    /// Whether the scale is logarithmic.
    pub fn is_log(&self) -> bool {
        self.log
    }

    /// The smallest value the axis shows.
    pub fn low(&self) -> f64 {
        self.lo
    }

    /// The pixel of `v`, held inside the axis (a log axis shows 0 at its low end).
    pub fn at(&self, v: f64) -> f64 {
        let v = if v.is_finite() { v } else { self.lo };
        let v = v.clamp(self.lo, self.hi);
        let t = if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.from + t * (self.to - self.from)
    }

    /// Round values to mark on the axis: 1-2-5 steps (decades on a wide log axis).
    pub fn ticks(&self) -> Vec<f64> {
        let inside = |v: &f64| *v >= self.lo * (1.0 - 1e-9) && *v <= self.hi * (1.0 + 1e-9);
        if self.log {
            let first = self.lo.log10().floor() as i32;
            let last = self.hi.log10().ceil() as i32;
            let decades = (self.hi / self.lo).log10();
            let steps: &[f64] = if decades > 4.0 {
                &[1.0]
            } else if decades > 2.0 {
                &[1.0, 3.0]
            } else {
                &[1.0, 2.0, 5.0]
            };
            // Dividing by a whole power of ten keeps `0.1` and `1e-4` exact.
            let at = |m: f64, e: i32| {
                if e >= 0 {
                    m * 10f64.powi(e)
                } else {
                    m / 10f64.powi(-e)
                }
            };
            let ticks: Vec<f64> = (first..=last)
                .flat_map(|e| steps.iter().map(move |m| at(*m, e)))
                .filter(inside)
                .collect();
            if ticks.len() >= 2 {
                return ticks;
            }
        }
        let step = nice_step((self.hi - self.lo) / 6.0);
        let start = (self.lo / step).ceil() as i64;
        let end = (self.hi / step).floor() as i64;
        (start..=end)
            .map(|i| i as f64 * step)
            .filter(|v| !self.log || *v > 0.0)
            .filter(inside)
            .collect()
    }
}

/// `lo..=hi` with non-finite ends replaced and the ends in order.
fn finite_range(lo: f64, hi: f64, default_lo: f64, default_hi: f64) -> (f64, f64) {
    let lo = if lo.is_finite() { lo } else { default_lo };
    let hi = if hi.is_finite() { hi } else { default_hi };
    (lo.min(hi), lo.max(hi))
}

/// The 1, 2 or 5 times a power of ten nearest above `rough`.
fn nice_step(rough: f64) -> f64 {
    if !rough.is_finite() || rough <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(rough.log10().floor());
    let m = rough / power;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// `v` with at most three significant digits and no trailing zeros: `0.25`, `18.2`, `1200`.
pub fn short(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Seconds as a short axis label: `500 µs`, `20 ms`, `1.5 s`, `120 s`.
pub fn seconds_label(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{} µs", short(v * 1e6))
    } else if v != 0.0 && v.abs() < 1.0 {
        format!("{} ms", short(v * 1e3))
    } else {
        format!("{} s", short(v))
    }
}

/// Text made safe inside an element or a double-quoted attribute, escaped as the JUnit writer
/// escapes XML (inline SVG must be well-formed XML too); borrowed when nothing needs escaping.
pub fn esc(s: &str) -> Cow<'_, str> {
    let plain =
        |c: char| !matches!(c, '&' | '<' | '>' | '"' | '\'' | '\u{FFFE}' | '\u{FFFF}') && c >= ' ';
    if s.chars().all(plain) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(super::junit::escape_text(s))
    }
}

/// A coordinate with one decimal, the precision a screen needs.
fn px(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

/// One SVG drawing, built element by element.
#[derive(Debug)]
pub struct Svg {
    out: String,
}

impl Svg {
    /// A `width` x `height` drawing with CSS `class`, read out as `label` by screen readers;
    /// `data` adds `data-*` attributes (name, value).
    pub fn new(width: f64, height: f64, class: &str, label: &str, data: &[(&str, String)]) -> Svg {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            r#"<svg class="{class}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}""#,
            w = px(width),
            h = px(height),
            label = esc(label)
        );
        for (name, value) in data {
            let _ = write!(out, r#" data-{name}="{}""#, esc(value));
        }
        out.push('>');
        Svg { out }
    }

    /// A line from `(x1, y1)` to `(x2, y2)`.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), class: &str) {
        let _ = write!(
            self.out,
            r#"<line class="{class}" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            px(x1),
            px(y1),
            px(x2),
            px(y2)
        );
    }

    /// A rectangle with its top left corner at `(x, y)`.
    pub fn rect(&mut self, (x, y): (f64, f64), (w, h): (f64, f64), class: &str) {
        let _ = write!(
            self.out,
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}"/>"#,
            px(x),
            px(y),
            px(w.max(0.0)),
            px(h.max(0.0))
        );
    }

    /// A dot at `(x, y)` with a tooltip.
    pub fn dot(&mut self, (x, y): (f64, f64), r: f64, class: &str, title: &str) {
        let _ = write!(
            self.out,
            r#"<circle class="{class}" cx="{}" cy="{}" r="{}"><title>{}</title></circle>"#,
            px(x),
            px(y),
            px(r),
            esc(title)
        );
    }

    /// A polyline through `points`, with a tooltip.
    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str, title: &str) {
        let _ = write!(self.out, r#"<polyline class="{class}" points=""#);
        for (i, (x, y)) in points.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            let _ = write!(self.out, "{},{}", px(*x), px(*y));
        }
        let _ = write!(self.out, r#""><title>{}</title></polyline>"#, esc(title));
    }

    /// Text at `(x, y)`, anchored `start`, `middle` or `end`.
    pub fn text(&mut self, (x, y): (f64, f64), anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text class="{class}" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            px(x),
            px(y),
            esc(text)
        );
    }

    /// Text rotated a quarter turn counter-clockwise around `(x, y)` (a vertical axis title).
    pub fn vertical_text(&mut self, (x, y): (f64, f64), class: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text class="{class}" x="{x}" y="{y}" text-anchor="middle" transform="rotate(-90 {x} {y})">{}</text>"#,
            esc(text),
            x = px(x),
            y = px(y)
        );
    }

    /// Grid lines and labels of `scale` as the horizontal axis of a plot spanning `top..bottom`.
    pub fn x_axis(&mut self, scale: &Scale, top: f64, bottom: f64, label: impl Fn(f64) -> String) {
        for v in scale.ticks() {
            let x = scale.at(v);
            self.line((x, top), (x, bottom), "grid");
            self.text((x, bottom + 14.0), "middle", "tick", &label(v));
        }
    }

    /// Grid lines and labels of `scale` as the vertical axis of a plot spanning `left..right`.
    pub fn y_axis(&mut self, scale: &Scale, left: f64, right: f64, label: impl Fn(f64) -> String) {
        for v in scale.ticks() {
            let y = scale.at(v);
            self.line((left, y), (right, y), "grid");
            self.text((left - 5.0, y + 4.0), "end", "tick", &label(v));
        }
    }

    /// The finished `<svg>` element.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scales_map_and_tick_round_values() {
        let s = Scale::linear(0.0, 10.0, true, 0.0, 100.0);
        assert_eq!(s.at(0.0), 0.0);
        assert!((s.at(10.0) - 100.0 / 1.05).abs() < 1e-9);
        assert_eq!(s.ticks(), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        // Values outside are held at the ends; a flat range still has room.
        assert_eq!(s.at(-5.0), 0.0);
        let flat = Scale::linear(3.0, 3.0, false, 0.0, 10.0);
        assert!(flat.at(3.0) > 0.0 && flat.at(3.0) < 10.0);
        assert!(!flat.ticks().is_empty());
    }

    #[test]
    fn wide_time_ranges_go_log_and_tick_by_decade() {
        let s = Scale::times(0.8, 18.0, 0.0, 300.0);
        assert!(s.is_log());
        assert_eq!(s.ticks(), [1.0, 2.0, 5.0, 10.0, 20.0]);
        // Equal ratios take equal widths.
        let a = s.at(2.0) - s.at(1.0);
        let b = s.at(20.0) - s.at(10.0);
        assert!((a - b).abs() < 1e-9);
        assert!(!Scale::times(5.0, 18.0, 0.0, 300.0).is_log());
        assert!(!Scale::times(0.0, 18.0, 0.0, 300.0).is_log());
        let wide = Scale::log(1e-4, 100.0, 0.0, 1.0);
        assert_eq!(wide.ticks(), [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]);
        // Zero sits at the low end of a log axis.
        assert_eq!(wide.at(0.0), 0.0);
        // A narrow log range still has ticks.
        assert!(Scale::log(0.11, 0.14, 0.0, 1.0).ticks().len() >= 2);
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(short(18.21), "18.2");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(1200.0), "1200");
        assert_eq!(short(3.0), "3");
        assert_eq!(seconds_label(0.02), "20 ms");
        assert_eq!(seconds_label(1.5), "1.5 s");
        assert_eq!(seconds_label(0.0005), "500 µs");
        assert_eq!(seconds_label(0.0), "0 s");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut svg = Svg::new(10.0, 10.0, "c", "a<b", &[("tests", "2\"".into())]);
        svg.dot((1.0, 2.0), 3.0, "pt", "test[x<'y'>] & \"z\"");
        let out = svg.finish();
        assert_eq!(
            out,
            "<svg class=\"c\" viewBox=\"0 0 10 10\" width=\"10\" height=\"10\" role=\"img\" \
             aria-label=\"a&lt;b\" data-tests=\"2&quot;\"><circle class=\"pt\" cx=\"1\" cy=\"2\" \
             r=\"3\"><title>test[x&lt;&apos;y&apos;&gt;] &amp; &quot;z&quot;</title></circle></svg>"
        );
        assert!(matches!(esc("plain"), Cow::Borrowed(_)));
    }
}
