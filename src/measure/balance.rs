//! Balancing tests over shards from their durations: longest processing time first (each
//! test, slowest first, goes to the shard with the least time so far), ties broken by id so
//! every CI job that balances the same durations gets the same shards. Tests without a
//! duration are left to the pytest plugin, which gives each the mean known duration and places
//! it the same way once it has collected them (see `live_plugin.py`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tests assigned to shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// How many shards.
    pub count: u32,
    /// The shard (from 0) of each test with a known duration.
    pub assign: BTreeMap<String, u32>,
    /// Each shard's seconds from the tests assigned to it.
    pub loads: Vec<f64>,
    /// The seconds a test without a duration is taken to last: the mean known duration, or 1
    /// without any (then the unknown tests split evenly by count).
    pub estimate: f64,
}

impl Balance {
    /// The longest-processing-time assignment of `durations` (seconds by test id; unbelievable
    /// values taken as 0) to `count` shards (at least 1).
    pub fn of(durations: &BTreeMap<String, f64>, count: u32) -> Balance {
        let count = count.max(1);
        let mut tests: Vec<(&str, f64)> = durations
            .iter()
            .map(|(id, &s)| (id.as_str(), if s.is_finite() && s > 0.0 { s } else { 0.0 }))
            .collect();
        tests.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let mut loads = vec![0.0; count as usize];
        let mut assign = BTreeMap::new();
        for (id, seconds) in &tests {
            let shard = least_loaded(&loads);
            loads[shard] += seconds;
            assign.insert((*id).to_string(), shard as u32);
        }
        let estimate = match tests.len() {
            0 => 1.0,
            n => tests.iter().map(|t| t.1).sum::<f64>() / n as f64,
        };
        Balance {
            count,
            assign,
            loads,
            estimate: if estimate > 0.0 { estimate } else { 1.0 },
        }
    }

    /// The shard of every test in `collected` (in collection order): a known test where it was
    /// assigned, an unknown one (sorted by id) on the least loaded shard at `estimate` seconds:
    /// the rule the plugin follows, so planrun can tell what each shard should run.
    pub fn place(&self, collected: &[String]) -> BTreeMap<String, u32> {
        let mut loads = self.loads.clone();
        let mut unknown: Vec<&String> = collected
            .iter()
            .filter(|id| !self.assign.contains_key(*id))
            .collect();
        unknown.sort();
        unknown.dedup();
        let mut placed: BTreeMap<String, u32> = collected
            .iter()
            .filter_map(|id| Some((id.clone(), *self.assign.get(id)?)))
            .collect();
        for id in unknown {
            let shard = least_loaded(&loads);
            loads[shard] += self.estimate;
            placed.insert(id.clone(), shard as u32);
        }
        placed
    }
}

/// The first shard with the least load.
fn least_loaded(loads: &[f64]) -> usize {
    let mut best = 0;
    for (i, load) in loads.iter().enumerate() {
        if *load < loads[best] {
            best = i;
        }
    }
    best
}

/// How evenly shards that took `walls` seconds shared the work: the ideal wall (their mean)
/// over the slowest one's, 1.0 when perfectly even; `None` without a positive wall.
pub fn efficiency(walls: &[f64]) -> Option<f64> {
    let slowest = walls.iter().copied().fold(0.0, f64::max);
    (slowest > 0.0 && !walls.is_empty())
        .then(|| walls.iter().sum::<f64>() / walls.len() as f64 / slowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn durations(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Longest first onto the least loaded shard: 5 | 4 | 3, then the other 3 joins the 3, a
    /// 2 the 4 and the last 2 the 5: loads 7, 6, 6, where a split by count in id order gives
    /// 9, 6, 4.
    #[test]
    fn longest_first_onto_the_least_loaded_shard() {
        let d = durations(&[
            ("a", 5.0),
            ("b", 4.0),
            ("c", 3.0),
            ("d", 3.0),
            ("e", 2.0),
            ("f", 2.0),
        ]);
        let b = Balance::of(&d, 3);
        assert_eq!(b.loads, [7.0, 6.0, 6.0]);
        assert_eq!(
            (b.assign["a"], b.assign["b"], b.assign["c"], b.assign["d"]),
            (0, 1, 2, 2)
        );
        assert_eq!(b.estimate, 19.0 / 6.0);
    }

    /// Equal durations tie by id, so two CI jobs balancing the same file agree whatever order
    /// they read it in.
    #[test]
    fn ties_go_by_id_and_the_same_input_gives_the_same_shards() {
        let d = durations(&[("z", 1.0), ("y", 1.0), ("x", 1.0), ("w", 1.0)]);
        let b = Balance::of(&d, 2);
        assert_eq!(
            (b.assign["w"], b.assign["x"], b.assign["y"], b.assign["z"]),
            (0, 1, 0, 1)
        );
        assert_eq!(b, Balance::of(&d.clone(), 2));
    }

    /// Without durations the tests split evenly by count; unknown tests beside known ones go
    /// where the load is least, at the mean known duration.
    #[test]
    fn unknown_tests_split_by_count_then_fill_the_lightest_shards() {
        let none = Balance::of(&BTreeMap::new(), 3);
        let ids: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
        let placed = none.place(&ids);
        let mut per = [0; 3];
        placed.values().for_each(|s| per[*s as usize] += 1);
        assert_eq!(per, [3, 2, 2]);

        let known = Balance::of(&durations(&[("slow", 4.0), ("fast", 2.0)]), 2);
        let placed = known.place(&["slow".into(), "fast".into(), "new1".into(), "new2".into()]);
        assert_eq!((placed["slow"], placed["fast"]), (0, 1));
        // The mean is 3 s: `new1` joins the 2 s shard (now 5 s), `new2` the 4 s one.
        assert_eq!((placed["new1"], placed["new2"]), (1, 0));
    }

    #[test]
    fn bad_times_count_as_nothing_and_efficiency_is_the_mean_over_the_slowest() {
        let b = Balance::of(&durations(&[("a", f64::NAN), ("b", -1.0), ("c", 2.0)]), 2);
        assert_eq!(b.loads.iter().sum::<f64>(), 2.0);
        assert_eq!(efficiency(&[3.0, 1.0]), Some(2.0 / 3.0));
        assert_eq!(efficiency(&[2.0, 2.0]), Some(1.0));
        assert_eq!(efficiency(&[]), None);
        assert_eq!(efficiency(&[0.0]), None);
    }
}
