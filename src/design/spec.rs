//! The unchecked design as written in a TOML file (or built by the app's form).
//!
//! A [`DesignSpec`] is only a shape; [`crate::design::Design::try_from`] checks it.

use serde::{Deserialize, Serialize};

/// Whether a factor's levels are the only ones of interest (fixed) or a random draw from a
/// population of levels (random).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Fixed,
    Random,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fixed => "fixed",
            Kind::Random => "random",
        }
    }
    /// The column heading letter of the subscript table (Montgomery: F or R).
    pub fn letter(self) -> &'static str {
        match self {
            Kind::Fixed => "F",
            Kind::Random => "R",
        }
    }
}

/// The part a factor plays in a measurement-system (gauge R&R) study: `role = "part"` or
/// `role = "operator"` in a design file. Other analyses ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The items measured (parts, samples, batches).
    Part,
    /// Who or what measures them (operators, appraisers, instruments).
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Part => "part",
            Role::Operator => "operator",
        }
    }
}

/// One factor as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorSpec {
    pub name: String,
    pub kind: Kind,
    /// Levels (within each level of its parents, for a nested factor). Absent: taken from data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested_in: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Its role in a gauge R&R study (`emslab gauge`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// A whole design file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Observations per cell of all factors. Absent: taken from data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates: Option<u32>,
    #[serde(default)]
    pub factors: Vec<FactorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<String>>,
}

impl DesignSpec {
    /// Parses TOML text. Errors carry the line and column of the offending key.
    pub fn from_toml_str(text: &str) -> Result<DesignSpec, SpecParseError> {
        toml::from_str::<DesignSpec>(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => line_col(text, span.start),
                None => (0, 0),
            };
            SpecParseError {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })
    }

    /// Parses the bytes of a design file: UTF-8, with or without a byte-order mark. A file
    /// in another encoding (UTF-16, Latin-1, binary) gets the line and column of the first
    /// byte that is not UTF-8, and what to do about it.
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<DesignSpec, SpecParseError> {
        DesignSpec::from_toml_str(decode_utf8(bytes)?)
    }

    /// The TOML text of this design, in the layout of the shipped design files.
    pub fn to_toml_string(&self) -> String {
        // Serialising plain data to TOML cannot fail for this shape; fall back to an empty
        // document rather than panic if it ever does.
        toml::to_string(self).unwrap_or_default()
    }
}

/// A TOML syntax or shape error, with 1-based line and column (0 when unknown).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SpecParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The text of a design file's bytes, without a UTF-8 byte-order mark.
fn decode_utf8(bytes: &[u8]) -> Result<&str, SpecParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf16 = |line, column| SpecParseError {
        line,
        column,
        message: "the file is UTF-16 encoded: save it as UTF-8".into(),
    };
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(utf16(1, 1));
    }
    // UTF-16 without a byte-order mark: ASCII text with a NUL byte beside every character.
    let head = &bytes[..bytes.len().min(64)];
    let nuls = head.iter().filter(|&&b| b == 0).count();
    if head.len() >= 4 && nuls * 3 >= head.len() {
        return Err(utf16(1, 1));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let good = e.valid_up_to();
        // The prefix is valid UTF-8 by construction.
        let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let (line, column) = line_col(prefix, good);
        SpecParseError {
            line,
            column,
            message: format!(
                "byte 0x{:02X} is not UTF-8: save the file as UTF-8",
                bytes.get(good).copied().unwrap_or(0)
            ),
        }
    })
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}
