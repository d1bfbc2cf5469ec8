//! Balanced data drawn from a design with given variance components (and fixed effects),
//! seeded and reproducible, generated row by row: 10 million rows need no more memory
//! than ten.
//!
//! Each random effect is a function of the seed, the term and the effect's cell (a
//! counter-based generator), so nothing is stored per row or per cell; the errors come
//! from one sequential generator. Under the restricted model a mixed interaction's
//! effects are centred over the levels of each of its fixed factors (they sum to zero
//! there, the textbook restriction), so that the data have exactly the restricted EMS;
//! under the unrestricted model every effect is independent.
//!
//! ```
//! use emslab::{Design, Model, simulate::{SimSpec, Simulator}};
//! let d = Design::from_toml_str(r#"
//!     replicates = 2
//!     [[factors]]
//!     name = "batch"
//!     kind = "random"
//!     levels = 3
//! "#).unwrap();
//! let spec = SimSpec::new(&d, Model::Restricted, &[("batch", 4.0), ("Residual", 1.0)], 7).unwrap();
//! let sim = Simulator::new(spec).unwrap();
//! let mut rows = Vec::new();
//! sim.for_each(|codes, y| rows.push((codes[0], y)));
//! assert_eq!(rows.len(), 6);
//! // Same seed, same data.
//! let again = Simulator::new(SimSpec::new(&d, Model::Restricted, &[("batch", 4.0), ("Residual", 1.0)], 7).unwrap()).unwrap();
//! let mut rows2 = Vec::new();
//! again.for_each(|codes, y| rows2.push((codes[0], y)));
//! assert_eq!(rows, rows2);
//! ```

use std::io::Write;

use crate::design::{Design, Kind};
use crate::ems::Model;

/// What is wrong with a simulation request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error(
        "the design does not give the level count of {0}; declare it in the design (or pass --levels NAME=K / --replicates N)"
    )]
    Unsized(String),
    #[error("`{term}` is not a term of the design{hint}; the terms are: {terms}")]
    UnknownTerm {
        term: String,
        hint: String,
        terms: String,
    },
    #[error("`{0}` is given twice")]
    Duplicate(String),
    #[error("the variance of `{term}` must be a finite number >= 0, not {value}")]
    BadVariance { term: String, value: f64 },
    #[error(
        "`{0}` is a fixed term: it has effects, not a variance (give them with --effect {0}=v1,v2,...)"
    )]
    FixedVariance(String),
    #[error("`{0}` is a random term: give its variance with --sigma2 {0}=VALUE, not effects")]
    RandomEffects(String),
    #[error("`{term}` has {expected} cells, but {found} effects were given")]
    EffectCount {
        term: String,
        expected: u64,
        found: usize,
    },
    #[error("give the Residual variance: --sigma2 Residual=VALUE")]
    NoResidual,
    #[error("the design has {0} rows, too many to simulate")]
    TooMany(String),
    #[error("the grand mean must be a finite number, not {0}")]
    BadMean(f64),
    #[error("effect {position} of `{term}` must be a finite number, not {value}")]
    BadEffect {
        term: String,
        /// 1-based position in the list.
        position: usize,
        value: f64,
    },
    #[error(
        "the responses would overflow: the grand mean, the effects and {SPREAD} standard deviations of every component add up to more than the largest number ({})",
        f64::MAX
    )]
    Overflow,
    #[error(
        "the restricted model centres the effects of `{term}` over its fixed factors, which needs {cells} of its effects in memory at once (at most {MAX_CENTRED}): use --model unrestricted, or fewer levels of its fixed factors"
    )]
    TooManyToCentre { term: String, cells: u64 },
    #[error("--decimals {0}: give a whole number from 0 to {MAX_DECIMALS}")]
    Decimals(usize),
}

/// The most decimals a response may be rounded to (more than an f64 holds for any
/// response of magnitude 1e-3 or more).
pub const MAX_DECIMALS: usize = 30;

/// The most effects of one restricted mixed interaction held at once for centring.
pub const MAX_CENTRED: u64 = 1 << 24;

/// A bound on |z| for every standard normal draw of the generator: the polar method's
/// largest |z| from 53-bit uniforms is below 9.
const SPREAD: f64 = 9.0;

/// A simulation: a sized design, the components, fixed effects, grand mean and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    pub design: Design,
    pub model: Model,
    /// Variance per row of [`Design::terms_with_residual`] (0 for fixed terms and random
    /// terms not given).
    pub sigma2: Vec<f64>,
    /// Fixed effects per term: one value per cell of the term's factors (mixed-radix
    /// order, last factor fastest); `None` = all zero.
    pub effects: Vec<Option<Vec<f64>>>,
    pub mean: f64,
    pub seed: u64,
}

impl SimSpec {
    /// A spec from `(term, variance)` pairs; the Residual must be among them. Term names
    /// are canonical (`Residual` may also be written `Error`).
    pub fn new(
        design: &Design,
        model: Model,
        sigma2: &[(&str, f64)],
        seed: u64,
    ) -> Result<SimSpec, SimError> {
        if let Some(f) = design.factors.iter().find(|f| f.levels.is_none()) {
            return Err(SimError::Unsized(format!("factor `{}`", f.name)));
        }
        if design.replicates.is_none() {
            return Err(SimError::Unsized("the replicates".into()));
        }
        let terms = design.terms_with_residual();
        let mut s2 = vec![0.0; terms.len()];
        let mut given = vec![false; terms.len()];
        for &(name, v) in sigma2 {
            let t = find_term(design, name)?;
            if given[t] {
                return Err(SimError::Duplicate(terms[t].name.clone()));
            }
            if !terms[t].random {
                return Err(SimError::FixedVariance(terms[t].name.clone()));
            }
            if !(v.is_finite() && v >= 0.0) {
                return Err(SimError::BadVariance {
                    term: terms[t].name.clone(),
                    value: v,
                });
            }
            given[t] = true;
            s2[t] = v;
        }
        if !given[terms.len() - 1] {
            return Err(SimError::NoResidual);
        }
        Ok(SimSpec {
            design: design.clone(),
            model,
            sigma2: s2,
            effects: vec![None; terms.len()],
            mean: 0.0,
            seed,
        })
    }

    /// Sets the grand mean (a finite number).
    pub fn with_mean(mut self, mean: f64) -> Result<SimSpec, SimError> {
        if !mean.is_finite() {
            return Err(SimError::BadMean(mean));
        }
        self.mean = mean;
        Ok(self)
    }

    /// Sets the effects of a fixed term (one per cell of its factors, each finite).
    pub fn with_effects(mut self, term: &str, values: Vec<f64>) -> Result<SimSpec, SimError> {
        let t = find_term(&self.design, term)?;
        let terms = self.design.terms_with_residual();
        if terms[t].random {
            return Err(SimError::RandomEffects(terms[t].name.clone()));
        }
        if let Some((k, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SimError::BadEffect {
                term: terms[t].name.clone(),
                position: k + 1,
                value,
            });
        }
        let expected = self.design.cells(terms[t].subscripts).unwrap_or(0);
        if values.len() as u64 != expected {
            return Err(SimError::EffectCount {
                term: terms[t].name.clone(),
                expected,
                found: values.len(),
            });
        }
        self.effects[t] = Some(values);
        Ok(self)
    }
}

/// Finds a term by canonical name (case-insensitive; `Error` for `Residual`).
pub fn find_term(design: &Design, name: &str) -> Result<usize, SimError> {
    let terms = design.terms_with_residual();
    let key = name.trim();
    let key = if key.eq_ignore_ascii_case("error") {
        "Residual"
    } else {
        key
    };
    terms
        .iter()
        .position(|t| t.name.eq_ignore_ascii_case(key))
        .ok_or_else(|| SimError::UnknownTerm {
            term: name.to_string(),
            hint: crate::design::suggestion(name, terms.iter().map(|t| t.name.as_str())),
            terms: terms
                .iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// SplitMix64: a good 64-bit mixer and a simple generator.
#[inline]
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ (Blackman and Vigna).
#[derive(Debug, Clone)]
struct Xoshiro {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Xoshiro {
    fn new(seed: u64) -> Xoshiro {
        let mut x = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *v = splitmix(x);
        }
        Xoshiro { s, spare: None }
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on (-1, 1).
    #[inline]
    fn symmetric(&mut self) -> f64 {
        // 53 random bits.
        ((self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 52) as f64)) - 1.0
    }

    /// Standard normal (Marsaglia's polar method).
    #[inline]
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = self.symmetric();
            let v = self.symmetric();
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * m);
                return u * m;
            }
        }
    }
}

/// The standard normal draw of effect `cell` of term `term`: a pure function of the seed.
#[inline]
fn effect_draw(seed: u64, term: usize, cell: u64) -> f64 {
    let key = splitmix(
        seed ^ splitmix((term as u64).wrapping_mul(0xA24B_AED4_963E_E407) ^ splitmix(cell)),
    );
    Xoshiro::new(key).normal()
}

/// How one term contributes to a row.
#[derive(Debug, Clone)]
struct TermGen {
    index: usize,
    sd: f64,
    /// Strides of the term's factors into its own cell index (0 elsewhere).
    strides: Vec<u64>,
    /// Restricted mixed interaction: the fixed live factors to centre over.
    centre: Option<Centre>,
    effects: Option<Vec<f64>>,
}

#[derive(Debug, Clone)]
struct Centre {
    /// Fixed live factors, their level counts.
    dims: Vec<usize>,
    levels: Vec<u64>,
    /// Strides of the fixed live factors in the term's cell index.
    term_strides: Vec<u64>,
    /// Strides of the fixed live factors in the slice (last fastest).
    slice_strides: Vec<u64>,
    size: usize,
}

/// A configured simulation.
#[derive(Debug, Clone)]
pub struct Simulator {
    spec: SimSpec,
    radix: Vec<u32>,
    replicates: u32,
    gens: Vec<TermGen>,
    sigma_e: f64,
    n_rows: u64,
}

impl Simulator {
    pub fn new(spec: SimSpec) -> Result<Simulator, SimError> {
        let d = &spec.design;
        let radix: Vec<u32> = d.factors.iter().map(|f| f.levels.unwrap_or(0)).collect();
        let replicates = d.replicates.unwrap_or(0);
        let nf = radix.len();
        let n_rows = d
            .n_observations()
            .ok_or_else(|| SimError::TooMany("more than 2^64".into()))?;
        let terms = d.terms_with_residual();
        let resid = terms.len() - 1;
        check_range(&spec)?;
        let mut gens = Vec::new();
        // Pooled terms have no variance of their own here: only model terms.
        for (t, term) in terms.iter().enumerate().take(resid) {
            let sd = spec.sigma2[t].sqrt();
            let effects = spec.effects[t].clone();
            if sd == 0.0 && effects.is_none() {
                continue;
            }
            let mut strides = vec![0u64; nf];
            let mut size = 1u64;
            for i in (0..nf).rev() {
                if term.subscripts.contains(i) {
                    strides[i] = size;
                    size *= u64::from(radix[i]);
                }
            }
            let fixed_live: Vec<usize> = term
                .live
                .iter()
                .filter(|&i| i < nf && d.factors[i].kind == Kind::Fixed)
                .collect();
            if spec.model == Model::Restricted && term.random && sd > 0.0 {
                let cells = fixed_live
                    .iter()
                    .try_fold(1u64, |acc, &i| acc.checked_mul(u64::from(radix[i])))
                    .unwrap_or(u64::MAX);
                if cells > MAX_CENTRED {
                    return Err(SimError::TooManyToCentre {
                        term: term.name.clone(),
                        cells,
                    });
                }
            }
            let centre = (spec.model == Model::Restricted && term.random && !fixed_live.is_empty())
                .then(|| {
                    let levels: Vec<u64> =
                        fixed_live.iter().map(|&i| u64::from(radix[i])).collect();
                    let mut slice_strides = vec![0u64; fixed_live.len()];
                    let mut sz = 1u64;
                    for j in (0..fixed_live.len()).rev() {
                        slice_strides[j] = sz;
                        sz *= levels[j];
                    }
                    Centre {
                        term_strides: fixed_live.iter().map(|&i| strides[i]).collect(),
                        dims: fixed_live.clone(),
                        levels,
                        slice_strides,
                        size: sz as usize,
                    }
                });
            gens.push(TermGen {
                index: t,
                sd,
                strides,
                centre,
                effects,
            });
        }
        Ok(Simulator {
            sigma_e: spec.sigma2[resid].sqrt(),
            spec,
            radix,
            replicates,
            gens,
            n_rows,
        })
    }

    pub fn n_rows(&self) -> u64 {
        self.n_rows
    }

    pub fn spec(&self) -> &SimSpec {
        &self.spec
    }

    /// Calls `f(codes, y)` for every row, in order: factors in declaration order (the last
    /// fastest), replicates innermost. Codes are 0-based (within the parent cell for a
    /// nested factor).
    pub fn for_each(&self, mut f: impl FnMut(&[u32], f64)) {
        let nf = self.radix.len();
        let seed = self.spec.seed;
        let mut errors = Xoshiro::new(splitmix(seed ^ 0x5EED_E440_0000_0001));
        let mut codes = vec![0u32; nf];
        let ncells: u64 = self.radix.iter().map(|&r| u64::from(r)).product();
        // Per-term caches: last cell and its effect; last slice and its centred effects.
        let mut last_cell: Vec<u64> = vec![u64::MAX; self.gens.len()];
        let mut last_value: Vec<f64> = vec![0.0; self.gens.len()];
        let mut last_slice: Vec<u64> = vec![u64::MAX; self.gens.len()];
        let mut slices: Vec<Vec<f64>> = self
            .gens
            .iter()
            .map(|g| vec![0.0; g.centre.as_ref().map_or(0, |c| c.size)])
            .collect();
        for _ in 0..ncells {
            let mut base = self.spec.mean;
            for (gi, g) in self.gens.iter().enumerate() {
                let cell: u64 = codes
                    .iter()
                    .zip(&g.strides)
                    .map(|(&c, &s)| u64::from(c) * s)
                    .sum();
                if cell != last_cell[gi] {
                    let mut v = 0.0;
                    if let Some(e) = &g.effects {
                        v += e[cell as usize];
                    }
                    if g.sd > 0.0 {
                        v += g.sd
                            * match &g.centre {
                                None => effect_draw(seed, g.index, cell),
                                Some(c) => {
                                    // The slice: the cell with every fixed live code at 0.
                                    let pos: u64 = c
                                        .dims
                                        .iter()
                                        .zip(&c.slice_strides)
                                        .map(|(&i, &s)| u64::from(codes[i]) * s)
                                        .sum();
                                    let origin: u64 = cell
                                        - c.dims
                                            .iter()
                                            .zip(&c.term_strides)
                                            .map(|(&i, &s)| u64::from(codes[i]) * s)
                                            .sum::<u64>();
                                    if origin != last_slice[gi] {
                                        fill_slice(seed, g.index, origin, c, &mut slices[gi]);
                                        last_slice[gi] = origin;
                                    }
                                    slices[gi][pos as usize]
                                }
                            };
                    }
                    last_cell[gi] = cell;
                    last_value[gi] = v;
                }
                base += last_value[gi];
            }
            for _ in 0..self.replicates {
                let y = base + self.sigma_e * errors.normal();
                f(&codes, y);
            }
            for i in (0..nf).rev() {
                codes[i] += 1;
                if codes[i] < self.radix[i] {
                    break;
                }
                codes[i] = 0;
            }
        }
    }

    /// Writes the data as CSV: a header (factor names, then the response), one row per
    /// observation; levels are numbered from 1 (within each parent for a nested factor).
    /// With `decimals`, responses are rounded to that many decimals; otherwise they are
    /// written with the shortest digits that read back exactly.
    /// Level labels are written as they are generated: nothing is stored per level.
    pub fn write_csv<W: Write>(&self, out: W, decimals: Option<usize>) -> std::io::Result<u64> {
        if let Some(k) = decimals.filter(|&k| k > MAX_DECIMALS) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                SimError::Decimals(k),
            ));
        }
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
        let d = &self.spec.design;
        let response = d.response.clone().unwrap_or_else(|| "y".to_string());
        let mut header: Vec<String> = d.factors.iter().map(|f| f.name.clone()).collect();
        header.push(response);
        writeln!(w, "{}", header.join(","))?;
        let mut result = Ok(());
        let mut line = String::with_capacity(128);
        use std::fmt::Write as _;
        self.for_each(|codes, y| {
            if result.is_err() {
                return;
            }
            line.clear();
            for &c in codes {
                let _ = write!(line, "{},", u64::from(c) + 1);
            }
            let _ = match decimals {
                Some(k) => write!(line, "{y:.k$}"),
                None => write!(line, "{y}"),
            };
            line.push('\n');
            result = w.write_all(line.as_bytes());
        });
        result?;
        w.flush()?;
        Ok(self.n_rows)
    }
}

/// Refuses a simulation whose responses could overflow: every |y| is at most the grand
/// mean's magnitude plus each fixed term's largest |effect| plus [`SPREAD`] standard
/// deviations of each random component.
fn check_range(spec: &SimSpec) -> Result<(), SimError> {
    let effects: f64 = spec
        .effects
        .iter()
        .flatten()
        .map(|e| e.iter().fold(0.0f64, |m, v| m.max(v.abs())))
        .sum();
    let spread: f64 = spec.sigma2.iter().map(|v| v.sqrt()).sum::<f64>() * SPREAD;
    if (spec.mean.abs() + effects + spread).is_finite() {
        Ok(())
    } else {
        Err(SimError::Overflow)
    }
}

/// Draws a slice of a restricted mixed interaction (every combination of its fixed live
/// factors' levels at fixed other codes) and centres it along each fixed dimension.
fn fill_slice(seed: u64, term: usize, origin: u64, c: &Centre, out: &mut [f64]) {
    let k = c.dims.len();
    let mut idx = vec![0u64; k];
    for v in out.iter_mut() {
        let cell = origin
            + idx
                .iter()
                .zip(&c.term_strides)
                .map(|(&i, &s)| i * s)
                .sum::<u64>();
        *v = effect_draw(seed, term, cell);
        for j in (0..k).rev() {
            idx[j] += 1;
            if idx[j] < c.levels[j] {
                break;
            }
            idx[j] = 0;
        }
    }
    // Centre along each dimension in turn.
    for j in 0..k {
        let stride = c.slice_strides[j] as usize;
        let len = c.levels[j] as usize;
        let block = stride * len;
        for start in (0..out.len()).step_by(block) {
            for off in 0..stride {
                let base = start + off;
                let mean: f64 = (0..len).map(|l| out[base + l * stride]).sum::<f64>() / len as f64;
                for l in 0..len {
                    out[base + l * stride] -= mean;
                }
            }
        }
    }
}
