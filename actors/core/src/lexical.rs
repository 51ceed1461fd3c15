//! The words a task and a tool share. A sentence embedding blurs a near miss
//! ("changes the food item" for a drink order) into the right tool; whether
//! the task's own words appear in the tool's name and description does not.
//! These overlaps are features of the calibrated semantic check
//! (`relevance`), next to the cosines.
//!
//! A text's words: split at non-letters and non-digits and at camelCase
//! boundaries, lower-cased, function words and one-letter words dropped,
//! each cut to its first [`PREFIX`] characters (a crude stem: "changes",
//! "changed" and "change" meet; chosen by the cross-validated figures in
//! `docs/intent-eval.md`), hashed and kept once.

use serde::{Deserialize, Serialize};

/// Characters of a word that are compared.
pub const PREFIX: usize = 5;

/// Words too common in requests and tool descriptions to say anything.
const STOP: [&str; 40] = [
    "the", "a", "an", "of", "to", "and", "or", "for", "in", "on", "with", "by", "is", "are", "be", "this", "that",
    "it", "as", "at", "from", "your", "you", "my", "me", "i", "we", "our", "can", "will", "would", "please", "what",
    "which", "who", "how", "do", "does", "get", "set",
];

/// A text's distinct words, as sorted hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Words(Vec<u32>);

impl Words {
    pub fn of(text: &str) -> Self {
        let mut out = Vec::new();
        let mut word = String::new();
        let mut prev: Option<char> = None;
        for c in text.chars().chain(std::iter::once(' ')) {
            let boundary = match prev {
                // A run of letters or of digits is a word; "getWeather" is two.
                Some(p) => {
                    !c.is_alphanumeric()
                        || p.is_alphabetic() != c.is_alphabetic()
                        || (p.is_lowercase() && c.is_uppercase())
                }
                None => true,
            };
            if boundary && !word.is_empty() {
                push(&mut out, &word);
                word.clear();
            }
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
                prev = Some(c);
            } else {
                prev = None;
            }
        }
        out.sort_unstable();
        out.dedup();
        Self(out)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many of these words `other` has too.
    pub fn shared(&self, other: &Words) -> usize {
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < self.0.len() && j < other.0.len() {
            match self.0[i].cmp(&other.0[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        n
    }

    /// How many of these words `a` or `b` has.
    pub fn shared_with_either(&self, a: &Words, b: &Words) -> usize {
        self.0.iter().filter(|w| a.0.binary_search(w).is_ok() || b.0.binary_search(w).is_ok()).count()
    }
}

fn push(out: &mut Vec<u32>, word: &str) {
    if word.chars().nth(1).is_none() || STOP.contains(&word) {
        return;
    }
    let stem: String = word.chars().take(PREFIX).collect();
    out.push(fnv1a(stem.as_bytes()));
}

/// FNV-1a, 32 bits: stable across builds and platforms (the words of a
/// calibration's data must hash the same at exchange time).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// A tool's words: its name's and its description's, apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolWords {
    pub name: Words,
    pub description: Words,
}

impl ToolWords {
    pub fn of(name: &str, description: &str) -> Self {
        Self { name: Words::of(name), description: Words::of(description) }
    }

    /// (share of the name's words in the task, share of the description's
    /// words in the task, share of the task's words in the name or description).
    pub fn overlap(&self, task: &Words) -> [f64; 3] {
        let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        [
            share(self.name.shared(task), self.name.len()),
            share(self.description.shared(task), self.description.len()),
            share(task.shared_with_either(&self.name, &self.description), task.len()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_case_and_stem() {
        assert_eq!(Words::of("ChaDri.change_drink"), Words::of("cha dri changes drinks"));
        assert_eq!(Words::of("getWeather"), Words::of("weather"), "'get' is a function word");
        assert_eq!(Words::of("the a I x").len(), 0);
        assert_eq!(Words::of("room 42b"), Words::of("room 42"), "b is one letter");
        assert_eq!(Words::of("Größe ÄNDERN"), Words::of("größe ändern"));
        assert_eq!(Words::of(""), Words::default());
    }

    #[test]
    fn overlaps_are_shares() {
        let tool = ToolWords::of("ChaDri.change_drink", "Modifies the existing drink order");
        let task = Words::of("update my latte drink order");
        let [name, description, task_share] = tool.overlap(&task);
        assert_eq!(name, 1.0 / 4.0, "drink of cha, dri, chang, drink");
        assert_eq!(description, 2.0 / 4.0, "drink, order of modif, exist, drink, order");
        assert_eq!(task_share, 2.0 / 4.0, "drink, order of updat, latte, drink, order");
        assert_eq!(ToolWords::default().overlap(&task), [0.0, 0.0, 0.0]);
        assert_eq!(tool.overlap(&Words::default()), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn hostile_text_stays_bounded() {
        let long = "word ".repeat(20_000) + &"ä".repeat(70_000);
        assert_eq!(Words::of(&long).len(), 2);
        let many: String = (0..5_000).map(|i| format!("w{i} ")).collect();
        assert!(Words::of(&many).len() <= 5_000);
    }
}
