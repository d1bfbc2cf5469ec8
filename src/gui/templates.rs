//! The shipped designs (`designs/*.toml`) as templates. They are embedded in the binary so
//! that the start page works anywhere; the folder itself is also looked up next to the
//! executable and in the current directory, to open the files (and their data) from disk.

use std::path::{Path, PathBuf};

/// A shipped design.
pub struct Template {
    /// The file stem (`two_factor_mixed`).
    pub stem: &'static str,
    /// What it teaches, for the start page.
    pub blurb: &'static str,
    pub toml: &'static str,
    /// The shipped data (`designs/<stem>.csv`), when there is one.
    pub csv: Option<&'static str>,
}

macro_rules! template {
    ($stem:literal, $blurb:literal) => {
        Template {
            stem: $stem,
            blurb: $blurb,
            toml: include_str!(concat!("../../designs/", $stem, ".toml")),
            csv: None,
        }
    };
    ($stem:literal, $blurb:literal, data) => {
        Template {
            stem: $stem,
            blurb: $blurb,
            toml: include_str!(concat!("../../designs/", $stem, ".toml")),
            csv: Some(include_str!(concat!("../../designs/", $stem, ".csv"))),
        }
    };
}

pub const TEMPLATES: &[Template] = &[
    template!(
        "two_factor_mixed",
        "A fixed, B random: the restricted and unrestricted models test B differently."
    ),
    template!(
        "two_factor_random",
        "A and B random: both main effects are tested against A:B."
    ),
    template!(
        "three_factor_mixed",
        "A fixed, B and C random: A needs a quasi-F (synthetic denominator)."
    ),
    template!(
        "three_factor_random",
        "All random: every main effect needs a quasi-F."
    ),
    template!(
        "pigment_paste",
        "Samples nested in batches (Box, Hunter and Hunter): a hierarchical design."
    ),
    template!(
        "nested_factorial",
        "Fixtures crossed with operators nested in layouts (Montgomery 14.2)."
    ),
    template!(
        "nested_chain",
        "A four-stage nested chain: each stage's E(MS) adds those below it."
    ),
    template!(
        "split_plot",
        "Days x method (whole plot) x temperature (split plot), terms pooled."
    ),
    template!(
        "rcbd",
        "Randomized complete blocks, one run per cell: block:treatment pooled."
    ),
    template!(
        "gauge_rr",
        "Gauge R&R: parts x operators, repeatability and reproducibility."
    ),
    template!(
        "dyestuff",
        "Yield of 6 batches, 5 determinations each (lme4's Dyestuff), with data.",
        data
    ),
    template!(
        "dyestuff2",
        "Simulated yields whose batch estimate comes out negative; REML sits at 0.",
        data
    ),
    template!(
        "pastes",
        "Strength of casks nested in batches (lme4's Pastes), with data.",
        data
    ),
    template!(
        "machines",
        "Machines (fixed) x workers (random), with data: the models test Worker differently.",
        data
    ),
    template!(
        "montgomery_gauge",
        "Gauge capability study, 20 parts x 3 operators (Montgomery), with data.",
        data
    ),
];

/// A path to a template's data file: the shipped file when the `designs/` folder is found,
/// otherwise a copy of the embedded data in the temporary folder.
pub fn data_path(t: &Template) -> Result<PathBuf, String> {
    if let Some(p) = designs_dir()
        .map(|d| d.join(format!("{}.csv", t.stem)))
        .filter(|p| p.is_file())
    {
        return Ok(p);
    }
    let csv = t.csv.ok_or_else(|| format!("{} has no data", t.stem))?;
    let dir = std::env::temp_dir().join("emslab-examples");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.csv", t.stem));
    emslab::io::write_atomic(&path, csv.as_bytes()).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The template with a file stem.
#[cfg(test)]
pub fn by_stem(stem: &str) -> Option<(usize, &'static Template)> {
    TEMPLATES.iter().enumerate().find(|(_, t)| t.stem == stem)
}

/// The `designs/` folder: next to the executable (or up to three levels above it, for
/// `target/debug/emslab`), then the current directory.
pub fn designs_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..4 {
            let Some(d) = dir else { break };
            candidates.push(d.join("designs"));
            candidates.push(d.join("share/emslab/designs"));
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("designs"));
    }
    candidates
        .into_iter()
        .find(|d| d.join("two_factor_mixed.toml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_a_valid_design() {
        for t in TEMPLATES {
            assert!(
                emslab::Design::from_toml_str(t.toml).is_ok(),
                "{} does not parse",
                t.stem
            );
        }
    }
}
