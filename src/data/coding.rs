//! Level codes from labels, factor by factor (parents first): a crossed factor's labels are
//! its levels; a nested factor's levels are its labels within each parent cell, whether
//! they restart in every parent cell (`a, b, c` in each batch), are unique across them
//! (casks `1..30`), or mixed. The level counts are checked against the design.

use std::collections::HashMap;

use super::dataset::{Coding, FactorData, UnevenLevels};
use super::error::{DataError, DataErrorKind};
use super::hash::FxHashMap;
use super::notes::{DataNote, NestedCoding};
use super::slots::{LabelMap, SlotMap};
use crate::design::Design;

/// What the pass found, as coding reads it.
pub(crate) struct Found<'a> {
    pub source: &'a str,
    pub header: &'a [String],
    pub factor_col: &'a [usize],
    pub labels: &'a [LabelMap],
    pub slots: &'a SlotMap,
}

impl Found<'_> {
    fn nf(&self) -> usize {
        self.factor_col.len()
    }

    fn n_slots(&self) -> usize {
        self.slots.acc.len()
    }

    /// The label ids of slot `s`, one per factor.
    pub fn slot_ids(&self, s: usize) -> &[u32] {
        let nf = self.nf();
        &self.slots.ids[s * nf..(s + 1) * nf]
    }

    /// An error about factor `f`'s column, on `line` when there is one to name.
    fn error(&self, f: usize, line: Option<u64>, kind: DataErrorKind) -> DataError {
        let col = self.factor_col[f];
        let e = DataError::new(self.source, kind).in_column(col, &self.header[col]);
        match line {
            Some(l) => e.at_line(l),
            None => e,
        }
    }
}

/// Parent-cell key (the label ids of a nested factor's ancestors) -> the sorted label ids
/// met within that parent cell.
pub(crate) type Groups = FxHashMap<Vec<u32>, Vec<u32>>;

/// The factors coded.
pub(crate) struct Coded {
    pub factors: Vec<FactorData>,
    /// The level code of each factor in each slot: `codes[s * nf + f]`.
    pub codes: Vec<u32>,
    /// Level count of each factor (within each parent cell for a nested one).
    pub radix: Vec<u32>,
    /// For each nested factor, its groups (empty for a crossed factor).
    pub groups: Vec<Groups>,
    /// Factors in the order they were coded: parents first.
    pub order: Vec<usize>,
    pub uneven: Vec<UnevenLevels>,
    pub notes: Vec<DataNote>,
}

/// Codes every factor, parents first, and checks level counts against the design.
pub(crate) fn code_factors(found: &Found<'_>, design: &Design) -> Result<Coded, DataError> {
    let nf = found.nf();
    // Ancestors have fewer ancestors: sorting by their count puts parents first.
    let mut order: Vec<usize> = (0..nf).collect();
    order.sort_by_key(|&f| design.factors[f].ancestors.len());
    let mut coded = Coded {
        factors: Vec::with_capacity(nf),
        codes: vec![0u32; found.n_slots() * nf],
        radix: vec![0u32; nf],
        groups: vec![Groups::default(); nf],
        order: order.clone(),
        uneven: Vec::new(),
        notes: Vec::new(),
    };
    let mut factors: Vec<Option<FactorData>> = vec![None; nf];
    for &f in &order {
        factors[f] = Some(if design.factors[f].ancestors.is_empty() {
            crossed(found, design, f, &mut coded)?
        } else {
            nested(found, design, f, &mut coded)?
        });
    }
    coded.factors = factors.into_iter().flatten().collect();
    Ok(coded)
}

/// The first few labels of a column, cut for display.
fn example_labels(labels: &LabelMap) -> Vec<String> {
    (0..labels.len().min(6))
        .map(|i| labels.excerpt(i as u32))
        .collect()
}

/// A factor nested in nothing: its labels are its levels, codes in order of appearance.
fn crossed(
    found: &Found<'_>,
    design: &Design,
    f: usize,
    coded: &mut Coded,
) -> Result<FactorData, DataError> {
    let fd = &design.factors[f];
    let labels = &found.labels[f];
    let count = labels.len() as u32;
    let name = fd.name.clone();
    if count == 1 {
        let label = format!("{:?}", labels.excerpt(0));
        let within = String::new();
        let kind = DataErrorKind::OneLevel {
            factor: name,
            label,
            within,
        };
        return Err(found.error(f, None, kind));
    }
    if let Some(declared) = fd.levels {
        if count > declared {
            let line = labels.first_line[declared as usize];
            let kind = DataErrorKind::TooManyLevels {
                factor: name,
                label: labels.excerpt(declared),
                count: declared + 1,
                declared,
                within: String::new(),
            };
            return Err(found.error(f, Some(line), kind));
        }
        if count < declared {
            let kind = DataErrorKind::TooFewLevels {
                factor: name,
                found: count,
                declared,
                within: String::new(),
            };
            return Err(found.error(f, None, kind));
        }
    }
    coded.radix[f] = count;
    let nf = found.nf();
    for s in 0..found.n_slots() {
        coded.codes[s * nf + f] = found.slot_ids(s)[f];
    }
    let col = found.factor_col[f];
    Ok(FactorData {
        name,
        column: col,
        header: found.header[col].clone(),
        levels: count,
        distinct_labels: labels.len(),
        coding: Coding::Crossed,
        example_labels: example_labels(labels),
        labels: (0..count).map(|i| labels.label(i)).collect(),
    })
}

/// The labels of factor `f` met within each parent cell (the label ids of its
/// ancestors `anc`), sorted.
fn group_labels(found: &Found<'_>, f: usize, anc: &[usize]) -> Groups {
    let mut g = Groups::default();
    let mut key: Vec<u32> = Vec::with_capacity(anc.len());
    for s in 0..found.n_slots() {
        let ids = found.slot_ids(s);
        key.clear();
        key.extend(anc.iter().map(|&a| ids[a]));
        match g.get_mut(key.as_slice()) {
            Some(v) => {
                if v.last() != Some(&ids[f]) {
                    v.push(ids[f]);
                }
            }
            None => {
                g.insert(key.clone(), vec![ids[f]]);
            }
        }
    }
    for v in g.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    g
}

/// A parent cell as messages name it: `batch=A, day=2`.
fn describe_group(found: &Found<'_>, design: &Design, anc: &[usize], key: &[u32]) -> String {
    anc.iter()
        .zip(key)
        .map(|(&a, &id)| {
            let label = found.labels[a].excerpt(id);
            format!("{}={label}", design.factors[a].name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A nested factor: level codes are ranks of the labels within each parent cell.
fn nested(
    found: &Found<'_>,
    design: &Design,
    f: usize,
    coded: &mut Coded,
) -> Result<FactorData, DataError> {
    let fd = &design.factors[f];
    let labels = &found.labels[f];
    let anc: Vec<usize> = fd.ancestors.iter().collect();
    let g = group_labels(found, f, &anc);
    let parents: Vec<String> = anc
        .iter()
        .map(|&a| design.factors[a].name.clone())
        .collect();
    let parent_names = parents.join(" x ");
    let max = g.values().map(Vec::len).max().unwrap_or(0) as u32;
    let min = g.values().map(Vec::len).min().unwrap_or(0) as u32;
    if max == 1 {
        let kind = DataErrorKind::OneLevel {
            factor: fd.name.clone(),
            label: "one label".to_string(),
            within: format!(" within each cell of {parent_names}"),
        };
        return Err(found.error(f, None, kind));
    }
    if let Some(declared) = fd.levels {
        check_declared(found, design, f, &anc, &g, declared, max)?;
    }
    let levels = fd.levels.unwrap_or(max);
    if min != max || min < levels {
        coded.uneven.push(uneven_levels(
            found,
            design,
            f,
            &anc,
            &g,
            levels,
            &parent_names,
        ));
    }
    let coding = label_coding(&g);
    let first_labels: Vec<String> = example_labels(labels)
        .into_iter()
        .take(levels as usize)
        .collect();
    coded.notes.push(DataNote::NestedCoding(NestedCoding {
        factor: fd.name.clone(),
        parents,
        coding,
        distinct_labels: labels.len(),
        levels,
        first_labels,
    }));
    coded.radix[f] = levels;
    let nf = found.nf();
    let mut key: Vec<u32> = Vec::with_capacity(anc.len());
    for s in 0..found.n_slots() {
        let ids = found.slot_ids(s);
        key.clear();
        key.extend(anc.iter().map(|&a| ids[a]));
        if let Some(labs) = g.get(key.as_slice()) {
            coded.codes[s * nf + f] = labs.binary_search(&ids[f]).unwrap_or(0) as u32;
        }
    }
    // Code k is the k-th label of its parent cell: one label per code when every cell has
    // the same labels (labels restarting within each parent).
    let mut cells = g.values();
    let code_labels = match cells.next() {
        Some(f0) if cells.all(|v| v == f0) => f0.iter().map(|&id| labels.label(id)).collect(),
        _ => Vec::new(),
    };
    let col = found.factor_col[f];
    coded.groups[f] = g;
    Ok(FactorData {
        name: fd.name.clone(),
        column: col,
        header: found.header[col].clone(),
        levels,
        distinct_labels: labels.len(),
        coding,
        example_labels: example_labels(labels),
        labels: code_labels,
    })
}

/// More levels than declared in some parent cell (the one met first in the file is
/// named), or fewer in every one.
fn check_declared(
    found: &Found<'_>,
    design: &Design,
    f: usize,
    anc: &[usize],
    g: &Groups,
    declared: u32,
    max: u32,
) -> Result<(), DataError> {
    let fd = &design.factors[f];
    let mut worst: Option<(u64, &Vec<u32>, u32)> = None;
    for (key, labs) in g {
        if labs.len() as u32 > declared {
            let extra = labs[declared as usize];
            let line = (0..found.n_slots())
                .filter(|&s| {
                    let ids = found.slot_ids(s);
                    ids[f] == extra && anc.iter().zip(key).all(|(&a, &k)| ids[a] == k)
                })
                .map(|s| found.slots.first_line[s])
                .min()
                .unwrap_or(0);
            if worst.as_ref().is_none_or(|w| line < w.0) {
                worst = Some((line, key, extra));
            }
        }
    }
    if let Some((line, key, extra)) = worst {
        let kind = DataErrorKind::TooManyLevels {
            factor: fd.name.clone(),
            label: found.labels[f].excerpt(extra),
            count: declared + 1,
            declared,
            within: format!(" within {}", describe_group(found, design, anc, key)),
        };
        return Err(found.error(f, Some(line), kind));
    }
    if max < declared {
        let parent_names = anc
            .iter()
            .map(|&a| design.factors[a].name.as_str())
            .collect::<Vec<_>>()
            .join(" x ");
        let kind = DataErrorKind::TooFewLevels {
            factor: fd.name.clone(),
            found: max,
            declared,
            within: format!(" within each cell of {parent_names}"),
        };
        return Err(found.error(f, None, kind));
    }
    Ok(())
}

/// The parent cells with fewer than `levels` labels.
fn uneven_levels(
    found: &Found<'_>,
    design: &Design,
    f: usize,
    anc: &[usize],
    g: &Groups,
    levels: u32,
    parent_names: &str,
) -> UnevenLevels {
    let mut short: Vec<(&Vec<u32>, usize)> = g
        .iter()
        .filter(|(_, v)| (v.len() as u32) < levels)
        .map(|(k, v)| (k, v.len()))
        .collect();
    short.sort();
    UnevenLevels {
        factor: design.factors[f].name.clone(),
        parents: parent_names.to_string(),
        levels,
        short: short
            .iter()
            .take(3)
            .map(|(k, n)| (*n, describe_group(found, design, anc, k)))
            .collect(),
        n_short: short.len(),
    }
}

/// Whether any label occurs under two parent cells.
fn label_coding(g: &Groups) -> Coding {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    for labs in g.values() {
        for &l in labs {
            *seen.entry(l).or_default() += 1;
        }
    }
    let repeated = seen.values().filter(|&&c| c > 1).count();
    if repeated == 0 {
        Coding::Unique
    } else if repeated == seen.len() {
        Coding::Restarting
    } else {
        Coding::Mixed
    }
}
