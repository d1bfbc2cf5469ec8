//! Label and cell look-ups of the streaming pass: each column's distinct labels get ids in
//! order of first appearance, and each distinct combination of label ids a slot (a cell as
//! met in the file). Sorted files repeat the previous row's labels and cell, which is
//! checked first; cells are found through a direct table of label ids while that is small,
//! by hashing ([`super::hash`]) otherwise.

use super::cells::CellAcc;
use super::error::excerpt;
use super::hash::FxHashMap;
use super::records::same_bytes;

/// Distinct labels of one column, with ids in order of first appearance.
pub(crate) struct LabelMap {
    map: FxHashMap<Box<[u8]>, u32>,
    pub labels: Vec<Box<[u8]>>,
    pub first_line: Vec<u64>,
    last: Vec<u8>,
    last_id: u32,
}

impl LabelMap {
    pub fn new() -> LabelMap {
        LabelMap {
            map: FxHashMap::default(),
            labels: Vec::new(),
            first_line: Vec::new(),
            last: Vec::new(),
            last_id: u32::MAX,
        }
    }

    #[inline]
    pub fn id(&mut self, field: &[u8], line: u64) -> u32 {
        if self.last_id != u32::MAX && same_bytes(field, &self.last) {
            return self.last_id;
        }
        let id = match self.map.get(field) {
            Some(&id) => id,
            None => {
                let id = self.labels.len() as u32;
                let key: Box<[u8]> = field.into();
                self.map.insert(key.clone(), id);
                self.labels.push(key);
                self.first_line.push(line);
                id
            }
        };
        self.last.clear();
        self.last.extend_from_slice(field);
        self.last_id = id;
        id
    }

    /// The label in full.
    pub fn label(&self, id: u32) -> String {
        String::from_utf8_lossy(&self.labels[id as usize]).into_owned()
    }

    /// The label as messages and reports quote it (cut to a readable length).
    pub fn excerpt(&self, id: u32) -> String {
        excerpt(&self.labels[id as usize])
    }

    /// How many distinct labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Cells as met in the file: one slot per distinct combination of label ids.
pub(crate) struct SlotMap {
    nf: usize,
    /// A direct table from label ids to slots while the product of the label counts is
    /// small (the usual case: it is about the number of cells); hashing otherwise.
    dense: Option<DenseIndex>,
    /// Bits per factor in a packed key; 0 once any id is too large (then `wide`).
    bits: u32,
    packed: FxHashMap<u128, u32>,
    wide: FxHashMap<Box<[u32]>, u32>,
    /// The label ids of each slot (`nf` per slot).
    pub ids: Vec<u32>,
    pub acc: Vec<CellAcc>,
    pub first_line: Vec<u64>,
    last_ids: Vec<u32>,
    last_slot: u32,
}

/// Slots by mixed-radix index over label ids, with room `cap[f]` for factor `f`'s ids.
struct DenseIndex {
    cap: Vec<u32>,
    table: Vec<u32>,
}

/// The largest direct table (entries of 4 bytes).
const MAX_DENSE: usize = 1 << 22;

impl DenseIndex {
    fn new(cap: Vec<u32>) -> Option<DenseIndex> {
        let n = cap
            .iter()
            .try_fold(1usize, |a, &c| a.checked_mul(c as usize))
            .filter(|&n| n <= MAX_DENSE)?;
        Some(DenseIndex {
            cap,
            table: vec![u32::MAX; n],
        })
    }

    #[inline]
    fn index(&self, ids: &[u32]) -> Option<usize> {
        let mut idx = 0usize;
        for (&i, &c) in ids.iter().zip(&self.cap) {
            if i >= c {
                return None;
            }
            idx = idx * c as usize + i as usize;
        }
        Some(idx)
    }
}

impl SlotMap {
    /// `expected`: the number of cells, when the design says (room is made up front, so
    /// that nothing is copied as the table grows); `caps`: the expected label counts.
    pub fn new(nf: usize, expected: usize, caps: Vec<u32>) -> SlotMap {
        SlotMap {
            nf,
            dense: DenseIndex::new(caps),
            bits: (128 / nf.max(1)).min(32) as u32,
            packed: FxHashMap::default(),
            wide: FxHashMap::default(),
            ids: Vec::with_capacity(expected * nf),
            acc: Vec::with_capacity(expected),
            first_line: Vec::with_capacity(expected),
            last_ids: vec![u32::MAX; nf],
            last_slot: u32::MAX,
        }
    }

    #[inline]
    pub fn slot(&mut self, ids: &[u32], line: u64) -> u32 {
        if self.last_slot != u32::MAX && ids.iter().zip(&self.last_ids).all(|(a, b)| a == b) {
            return self.last_slot;
        }
        let slot = match self.dense_slot(ids, line) {
            Some(s) => s,
            None => self.hashed_slot(ids, line),
        };
        self.last_ids.copy_from_slice(ids);
        self.last_slot = slot;
        slot
    }

    /// The slot from the direct table, growing it when an id does not fit; `None` once
    /// the table would be too large (then hashing takes over for good).
    #[inline]
    fn dense_slot(&mut self, ids: &[u32], line: u64) -> Option<u32> {
        let dense = self.dense.as_mut()?;
        let idx = match dense.index(ids) {
            Some(i) => i,
            None => {
                self.grow_dense(ids);
                self.dense.as_ref()?.index(ids)?
            }
        };
        let dense = self.dense.as_mut()?;
        let s = dense.table[idx];
        if s != u32::MAX {
            return Some(s);
        }
        let s = self.acc.len() as u32;
        dense.table[idx] = s;
        self.new_slot(ids, line);
        Some(s)
    }

    #[cold]
    fn grow_dense(&mut self, ids: &[u32]) {
        let Some(dense) = &self.dense else {
            return;
        };
        let cap: Vec<u32> = dense
            .cap
            .iter()
            .zip(ids)
            .map(|(&c, &i)| {
                let mut c = c.max(1);
                while c <= i {
                    c = c.saturating_mul(2);
                }
                c
            })
            .collect();
        match DenseIndex::new(cap) {
            Some(mut d) => {
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    if let Some(i) = d.index(chunk) {
                        d.table[i] = s as u32;
                    }
                }
                self.dense = Some(d);
            }
            None => {
                // Too large: hash every cell met so far, and from now on.
                self.dense = None;
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    self.wide.insert(chunk.into(), s as u32);
                }
                self.bits = 0;
            }
        }
    }

    fn hashed_slot(&mut self, ids: &[u32], line: u64) -> u32 {
        if self.bits > 0 && ids.iter().all(|&i| u64::from(i) < 1u64 << self.bits) {
            let mut key: u128 = 0;
            for &i in ids {
                key = key << self.bits | u128::from(i);
            }
            // One probe: the slot it will get if it is new.
            let next = self.acc.len() as u32;
            let s = *self.packed.entry(key).or_insert(next);
            if s == next {
                self.new_slot(ids, line);
            }
            s
        } else {
            if self.bits > 0 {
                // Switch to wide keys for good.
                self.bits = 0;
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    self.wide.insert(chunk.into(), s as u32);
                }
                self.packed = FxHashMap::default();
            }
            match self.wide.get(ids) {
                Some(&s) => s,
                None => {
                    let s = self.new_slot(ids, line);
                    self.wide.insert(ids.into(), s);
                    s
                }
            }
        }
    }

    fn new_slot(&mut self, ids: &[u32], line: u64) -> u32 {
        let s = self.acc.len() as u32;
        self.ids.extend_from_slice(ids);
        self.acc.push(CellAcc::default());
        self.first_line.push(line);
        s
    }
}
