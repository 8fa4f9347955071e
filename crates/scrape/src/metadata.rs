//! A target's metric metadata (`# TYPE`, `# HELP`, `# UNIT`), kept from scrape to scrape
//! and updated in place.
//!
//! A target writes the same families with the same help texts in the same order every
//! scrape. Building a fresh map of owned strings each time cost node_exporter's 300-odd
//! families some 600 allocations and frees per scrape, the largest share of the scrape
//! loop's CPU on real exporters; here a scrape that says what the last one said compares
//! and allocates nothing, and the map the targets API reads is rebuilt only when
//! something changed.
//!
//! The comparison reads fingerprints (a hash and a length) kept inline in one vector,
//! not the stored strings: those are separate allocations, out of the CPU's caches by
//! the time the target is scraped again (hundreds of targets later), and comparing
//! node_exporter's 22 KB of help texts against them was a tenth of the scrape loop's
//! CPU, almost all of it waiting for memory. The scrape's own text is hashed while it
//! is still cached from parsing. A collision, which only a target's own texts can cause,
//! would at worst leave that target's metadata wrong until its next change.

use std::collections::BTreeMap;

use exposition::MetricType;

use crate::scrape_loop::MetricMetadata;

/// What the scrapes said, family by family in the order of the last scrape.
#[derive(Debug, Default)]
pub(crate) struct MetadataTracker {
    families: Vec<Family>,
    /// Families the current scrape has reached (the current one is the last of those).
    seen: usize,
    /// Something differs from what was last published.
    changed: bool,
}

#[derive(Debug)]
struct Family {
    /// Of the name, then of the type, help and unit texts (what `note` compares).
    prints: [Fingerprint; 4],
    name: String,
    said: MetricMetadata,
    /// Which lines the family had in the latest scrape that reached it (bit `1 << slot`
    /// for the slots `TYPE`, `HELP`, `UNIT`): a line left out clears what an earlier
    /// scrape said.
    sent: u8,
}

/// A text's hash and length; the empty text's is all zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fingerprint {
    hash: u64,
    len: usize,
}

impl Fingerprint {
    fn of(text: &str) -> Self {
        if text.is_empty() {
            return Self::default();
        }
        Self {
            hash: std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, text.as_bytes()),
            len: text.len(),
        }
    }
}

/// Where each text's fingerprint is in [`Family::prints`].
const NAME: usize = 0;
const TYPE: usize = 1;
const HELP: usize = 2;
const UNIT: usize = 3;

/// Which line of a family's metadata.
#[derive(Clone, Copy)]
pub(crate) enum Said<'a> {
    Type(MetricType),
    Help(&'a str),
    Unit(&'a str),
}

impl MetadataTracker {
    /// A scrape begins.
    pub fn begin(&mut self) {
        self.seen = 0;
    }

    /// A metadata line of family `name`.
    pub fn note(&mut self, name: &str, said: Said<'_>) {
        let name_print = Fingerprint::of(name);
        let current = self.seen.checked_sub(1);
        let at = if current.is_some_and(|i| self.families[i].prints[NAME] == name_print) {
            self.seen - 1
        } else {
            self.leave_current();
            if self
                .families
                .get(self.seen)
                .is_none_or(|f| f.prints[NAME] != name_print)
            {
                // A family the last scrape did not have here: what follows is rebuilt.
                self.families.truncate(self.seen);
                self.families.push(Family {
                    prints: [
                        name_print,
                        Fingerprint::default(),
                        Fingerprint::default(),
                        Fingerprint::default(),
                    ],
                    name: name.to_string(),
                    said: MetricMetadata::default(),
                    sent: 0,
                });
                self.changed = true;
            }
            self.families[self.seen].sent = 0;
            self.seen += 1;
            self.seen - 1
        };
        let family = &mut self.families[at];
        let (field, text, slot) = match said {
            Said::Type(kind) => (&mut family.said.kind, kind.as_str(), TYPE),
            Said::Help(text) => (&mut family.said.help, text, HELP),
            Said::Unit(unit) => (&mut family.said.unit, unit, UNIT),
        };
        family.sent |= 1 << slot;
        let print = Fingerprint::of(text);
        if family.prints[slot] != print {
            family.prints[slot] = print;
            text.clone_into(field);
            self.changed = true;
        }
    }

    /// The current family is done: a line it had before and not this time is cleared.
    fn leave_current(&mut self) {
        let Some(family) = self.seen.checked_sub(1).map(|i| &mut self.families[i]) else {
            return;
        };
        for (field, slot) in [
            (&mut family.said.kind, TYPE),
            (&mut family.said.help, HELP),
            (&mut family.said.unit, UNIT),
        ] {
            if family.sent & (1 << slot) == 0 && family.prints[slot] != Fingerprint::default() {
                field.clear();
                family.prints[slot] = Fingerprint::default();
                self.changed = true;
            }
        }
    }

    /// The scrape succeeded: the metadata to publish if it differs from what was last
    /// published (family name → type (`unknown` when not given), help, unit).
    pub fn finish(&mut self) -> Option<BTreeMap<String, MetricMetadata>> {
        self.leave_current();
        if self.seen < self.families.len() {
            self.families.truncate(self.seen);
            self.changed = true;
        }
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let mut out: BTreeMap<String, MetricMetadata> = BTreeMap::new();
        for f in &self.families {
            // A family named twice: a later line wins, as when the map was built line by
            // line.
            let entry = out.entry(f.name.clone()).or_default();
            for (slot, to, from) in [
                (TYPE, &mut entry.kind, &f.said.kind),
                (HELP, &mut entry.help, &f.said.help),
                (UNIT, &mut entry.unit, &f.said.unit),
            ] {
                if f.sent & (1 << slot) != 0 {
                    to.clone_from(from);
                }
            }
        }
        for m in out.values_mut() {
            if m.kind.is_empty() {
                m.kind = "unknown".into();
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(t: &mut MetadataTracker, lines: &[(&str, Said<'_>)]) -> Option<Vec<String>> {
        t.begin();
        for (name, said) in lines {
            t.note(name, *said);
        }
        t.finish().map(|m| {
            m.iter()
                .map(|(n, m)| format!("{n} {} {:?} {:?}", m.kind, m.help, m.unit))
                .collect()
        })
    }

    #[test]
    fn only_a_scrape_that_says_something_else_publishes() {
        let mut t = MetadataTracker::default();
        let first = [
            ("a", Said::Help("A.")),
            ("a", Said::Type(MetricType::Counter)),
            ("b", Said::Type(MetricType::Gauge)),
        ];
        assert_eq!(
            scrape(&mut t, &first).unwrap(),
            ["a counter \"A.\" \"\"", "b gauge \"\" \"\""]
        );
        // The same again: nothing to publish.
        assert_eq!(scrape(&mut t, &first), None);
        // Another help text.
        let other = [
            ("a", Said::Help("A!")),
            ("a", Said::Type(MetricType::Counter)),
            ("b", Said::Type(MetricType::Gauge)),
        ];
        assert_eq!(
            scrape(&mut t, &other).unwrap(),
            ["a counter \"A!\" \"\"", "b gauge \"\" \"\""]
        );
        // A family gone, one new, a unit and no type (unknown).
        let changed = [("c", Said::Unit("seconds")), ("a", Said::Help("A!"))];
        assert_eq!(
            scrape(&mut t, &changed).unwrap(),
            ["a unknown \"A!\" \"\"", "c unknown \"\" \"seconds\""]
        );
        assert_eq!(scrape(&mut t, &changed), None);
        // Nothing at all.
        assert_eq!(scrape(&mut t, &[]).unwrap(), Vec::<String>::new());
        assert_eq!(scrape(&mut t, &[]), None);
    }

    #[test]
    fn a_change_in_a_scrape_that_failed_is_published_by_the_next_good_one() {
        let mut t = MetadataTracker::default();
        let old = [("a", Said::Help("old"))];
        scrape(&mut t, &old).unwrap();
        // A scrape that changes the help, then fails (never finished).
        t.begin();
        t.note("a", Said::Help("new"));
        // The next scrape says the same as the failed one: still published.
        let new = [("a", Said::Help("new"))];
        assert_eq!(scrape(&mut t, &new).unwrap(), ["a unknown \"new\" \"\""]);
    }

    #[test]
    fn a_line_left_out_is_cleared() {
        let mut t = MetadataTracker::default();
        let both = [
            ("a", Said::Help("X")),
            ("a", Said::Type(MetricType::Counter)),
        ];
        scrape(&mut t, &both).unwrap();
        let type_only = [("a", Said::Type(MetricType::Counter))];
        assert_eq!(scrape(&mut t, &type_only).unwrap(), ["a counter \"\" \"\""]);
        assert_eq!(scrape(&mut t, &type_only), None);
        // A failed scrape's line that the next good one leaves out is not published.
        t.begin();
        t.note("a", Said::Help("from a failed scrape"));
        t.note("a", Said::Type(MetricType::Counter));
        assert_eq!(scrape(&mut t, &type_only).unwrap(), ["a counter \"\" \"\""]);
        // A family named twice: the later line wins, even an empty one.
        let twice = [
            ("a", Said::Help("first")),
            ("b", Said::Type(MetricType::Gauge)),
            ("a", Said::Help("")),
        ];
        assert_eq!(
            scrape(&mut t, &twice).unwrap(),
            ["a unknown \"\" \"\"", "b gauge \"\" \"\""]
        );
    }
}
