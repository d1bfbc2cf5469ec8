//! Shared by the integration tests: every tolerance lives here, with why it is what it is.
#![allow(dead_code)]

/// Exact rational/integer algebra compared through f64 (traces of projectors built from
/// 1/m entries): round-off only.
pub const PROJECTION: f64 = 1e-9;

/// Relative agreement of two f64 results computed by different exact formulas.
pub const RELATIVE_EXACT: f64 = 1e-12;

/// `|a - b| <= tol * max(1, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// Agreement to the digits a reference prints: `printed` has `digits` significant digits.
pub fn agrees_to_printed(value: f64, printed: f64, digits: i32) -> bool {
    if printed == 0.0 {
        return value.abs() < 10f64.powi(-digits);
    }
    let scale = 10f64.powi(printed.abs().log10().floor() as i32 - digits + 1);
    (value - printed).abs() <= 0.5 * scale * (1.0 + 1e-9)
}

/// Path of a shipped design file.
pub fn design_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("designs")
        .join(name)
}
