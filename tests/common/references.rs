//! The reference files of `tests/data/` that several test files read: the moment analyses
//! of `tests/data/moments/reference.R` and the lme4 fits of
//! `tests/data/reml/reference_fits.R`. Re-exported by `tests/common/mod.rs`; the app's tests
//! in `src/gui` include this file by path (it needs `std` and `csv` only).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Path of a reference file of the tests (`tests/data/NAME`).
pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The moment analyses written by `tests/data/moments/reference.R` (R 4.2.2, base R):
/// `reference.csv`, keyed by (case, quantity, term, other).
pub struct MomentsReference(std::collections::BTreeMap<(String, String, String, String), f64>);

impl MomentsReference {
    pub fn load() -> MomentsReference {
        let path = data_path("moments/reference.csv");
        let mut rdr = csv::Reader::from_path(&path).expect("tests/data/moments/reference.csv");
        let map = rdr
            .records()
            .map(|r| {
                let r = r.expect("a reference row");
                let key = (r[0].into(), r[1].into(), r[2].into(), r[3].into());
                (key, r[4].parse().expect("a reference number"))
            })
            .collect();
        MomentsReference(map)
    }

    /// The value, if R recorded it.
    pub fn find(&self, case: &str, quantity: &str, term: &str, other: &str) -> Option<f64> {
        let key = (case.into(), quantity.into(), term.into(), other.into());
        self.0.get(&key).copied()
    }

    /// The value; panics when R did not record it.
    #[track_caller]
    pub fn get(&self, case: &str, quantity: &str, term: &str) -> f64 {
        self.find(case, quantity, term, "")
            .unwrap_or_else(|| panic!("no reference {case} {quantity} {term}"))
    }

    /// `(other, value)` of every entry of `quantity` for `term` (weights, pooling steps).
    pub fn entries(&self, case: &str, quantity: &str, term: &str) -> Vec<(String, f64)> {
        self.0
            .iter()
            .filter(|((c, q, t, _), _)| c == case && q == quantity && t == term)
            .map(|((_, _, _, o), v)| (o.clone(), *v))
            .collect()
    }

    /// `(quantity, term, value)` of every entry of a case without an `other`.
    pub fn case(&self, case: &str) -> Vec<(String, String, f64)> {
        self.0
            .iter()
            .filter(|((c, _, _, o), _)| c == case && o.is_empty())
            .map(|((_, q, t, _), v)| (q.clone(), t.clone(), *v))
            .collect()
    }

    /// The terms with an entry of `quantity` in a case.
    pub fn terms(&self, case: &str, quantity: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .0
            .keys()
            .filter(|(c, q, _, _)| c == case && q == quantity)
            .map(|(_, _, t, _)| t.clone())
            .collect();
        t.dedup();
        t
    }
}

/// The lme4 fits of `tests/data/reml/reference_fits.R` (lme4 1.1-31, R 4.2.2, tight
/// tolerances): `reference_fits.csv`, rows `dataset, method, kind, term, name, value`.
pub fn lme4_reference(dataset: &str, method: &str, kind: &str, term: &str, name: &str) -> f64 {
    let path = data_path("reml/reference_fits.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("tests/data/reml/reference_fits.csv");
    rdr.records()
        .map(|r| r.expect("a reference row"))
        .find(|r| {
            r[0] == *dataset && r[1] == *method && r[2] == *kind && r[3] == *term && r[4] == *name
        })
        .unwrap_or_else(|| panic!("no lme4 reference {dataset} {method} {kind} {term} {name}"))[5]
        .parse()
        .expect("a reference number")
}

/// The app's lme4 references (`tests/data/gui/reference.R`, lme4 1.1-31): rows
/// `dataset, method, kind, term, value` of `tests/data/gui/reference.csv`.
pub fn app_reference(dataset: &str, method: &str, kind: &str, term: &str) -> f64 {
    let path = data_path("gui/reference.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("tests/data/gui/reference.csv");
    rdr.records()
        .map(|r| r.expect("a reference row"))
        .find(|r| r[0] == *dataset && r[1] == *method && r[2] == *kind && r[3] == *term)
        .unwrap_or_else(|| panic!("no app reference {dataset} {method} {kind} {term}"))[4]
        .parse()
        .expect("a reference number")
}
