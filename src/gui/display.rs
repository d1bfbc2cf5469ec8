//! Display rules of the app's text views. The report tables carry full values (the
//! command line and the JSON print them as computed); on screen:
//!
//! - p-values below 10⁻⁴ read `< 0.0001` (the value on hover);
//! - interval bounds beyond 10⁶ × the total variance (Satterthwaite df near zero) read
//!   `> 1e6` times that scale (the value on hover), with a note;
//! - a quasi-F row whose F′ is undefined (negative synthetic denominator) or weaker than F″
//!   shows F″ in the row with a warning, not only in a footnote;
//! - design errors name fields as the form does (`factor batch (row 1)`, not
//!   `factors[0] (`batch`)`).

use std::collections::HashMap;

use emslab::analysis::Balanced;
use emslab::ems::TestKind;
use emslab::report::{Cell, Table, fmt_sig, words};

/// p-values below this read `< 0.0001`.
pub const P_FLOOR: f64 = 1e-4;

/// Tool tips of changed cells, by (row, column).
pub type Tips = HashMap<(usize, usize), String>;

/// A number in short scientific notation: `1e6`, `2.5e7`.
pub fn short_sci(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return fmt_sig(v, 2);
    }
    let e = v.log10().floor();
    let m = v / 10f64.powf(e);
    let m = (m * 10.0).round() / 10.0;
    if (m - m.round()).abs() < 1e-9 {
        format!("{}e{}", m.round() as i64, e as i64)
    } else {
        format!("{m}e{}", e as i64)
    }
}

fn header_of(t: &Table, c: usize) -> String {
    t.headers
        .iter()
        .filter_map(|h| h.get(c))
        .map(|x| x.text.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

fn is_p_column(h: &str) -> bool {
    // `p (Tukey)`: the adjusted p of the pairwise comparisons.
    matches!(h, "p" | "P" | "p-value" | "Pr(>F)" | "Pr(>|t|)") || h.starts_with("p (")
}

/// `[a, b]` as two numbers.
fn parse_interval(text: &str) -> Option<(String, f64)> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let (lo, hi) = inner.split_once(", ")?;
    Some((lo.to_string(), hi.trim().parse().ok()?))
}

/// The p-value rule on one cell.
fn p_cell(cell: &mut Cell, tips: &mut Tips, at: (usize, usize)) {
    if let Some(p) = cell.value
        && (0.0..P_FLOOR).contains(&p)
    {
        tips.insert(at, format!("p = {}", fmt_sig(p, 6)));
        cell.text = "< 0.0001".into();
    }
}

/// A table as the screen shows it, and the tool tips of the cells that changed.
/// `bound_limit`: bounds beyond it are absurd ([`emslab::chart::analysis::bound_limit`]);
/// `moments`: the balanced analysis behind an `anova` table (for F″ in the row).
pub fn for_screen(
    t: &Table,
    bound_limit: Option<f64>,
    moments: Option<&Balanced>,
) -> (Table, Tips) {
    let mut out = t.clone();
    let mut tips = Tips::new();
    if t.key == "anova"
        && let Some(b) = moments
    {
        f2_in_rows(&mut out, b, &mut tips);
    }
    let headers: Vec<String> = (0..t.ncols()).map(|c| header_of(t, c)).collect();
    let mut cut = false;
    for (r, row) in out.rows.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate() {
            let h = headers.get(c).map_or("", String::as_str);
            if is_p_column(h) {
                p_cell(cell, &mut tips, (r, c));
            }
            if let (Some(limit), true) = (bound_limit, h.contains("CI"))
                && let Some((lo, hi)) = parse_interval(&cell.text)
                && hi > limit
            {
                tips.insert(
                    (r, c),
                    format!("{}: upper bound {}", cell.text, fmt_sig(hi, 6)),
                );
                cell.text = format!("[{lo}, > {}]", short_sci(limit));
                cut = true;
            }
        }
    }
    if cut && let Some(limit) = bound_limit {
        out.notes.push(format!(
            "> {}: an upper bound beyond 10⁶ × the total variance, from Satterthwaite df near 0; it says the data cannot bound the component. The value is on hover, in the exported tables and in the JSON.",
            short_sci(limit)
        ));
    }
    (out, tips)
}

/// Quasi-F rows whose F′ is undefined or weaker than F″ show F″ (with a warning).
fn f2_in_rows(t: &mut Table, b: &Balanced, tips: &mut Tips) {
    let col = |name: &str| (0..t.ncols()).find(|&c| header_of(t, c) == name);
    let (Some(fc), Some(pc), Some(tc)) = (col("F"), col("p"), col("Test")) else {
        return;
    };
    let table = &b.table;
    for test in &b.moments.tests {
        if test.kind != TestKind::Quasi {
            continue;
        }
        let Some(f2) = &test.f2 else { continue };
        let undefined = test.negative_denominator || test.f.is_none();
        let weaker = test.p.is_some_and(|p| f2.p < p);
        if !(undefined || weaker) {
            continue;
        }
        let Some(row) = t.rows.get_mut(test.term) else {
            continue;
        };
        let why = if undefined {
            "F′ is undefined (its synthetic denominator is negative)"
        } else {
            "F′ is weaker than F″ here"
        };
        row[fc] = Cell::num(f2.f, 6);
        row[fc].text = format!("⚠ F″ {}", fmt_sig(f2.f, 6));
        row[pc] = Cell::num(f2.p, 4);
        tips.insert(
            (test.term, fc),
            format!(
                "{why}: F″ = {} on ({}, {}) df{}",
                fmt_sig(f2.f, 6),
                fmt_sig(f2.df_num, 5),
                fmt_sig(f2.df_den, 5),
                test.f
                    .map(|f| format!("; F′ = {}", fmt_sig(f, 6)))
                    .unwrap_or_default()
            ),
        );
        row[tc] = Cell::text(format!(
            "quasi F″ = ({}) / ({}) on ({}, {}): {why}",
            words::weights_text(table, &f2.numerator),
            words::weights_text(table, &f2.denominator),
            fmt_sig(f2.df_num, 5),
            fmt_sig(f2.df_den, 5)
        ));
    }
}

/// A design error with its field named as the form names it: `factors[0] (`batch`)`
/// becomes `factor batch (row 1)`, `terms[2]` becomes `term 3 of the list`.
pub fn user_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("factors[").or_else(|| rest.find("terms[")) {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let (kind, after) = if let Some(a) = tail.strip_prefix("factors[") {
            ("factor", a)
        } else {
            ("term", &tail["terms[".len()..])
        };
        let Some(close) = after.find(']') else {
            out.push_str(tail);
            return out;
        };
        let Ok(index) = after[..close].parse::<usize>() else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let mut next = &after[close + 1..];
        // `factors[0] (`batch`)`: the name follows.
        let name = next
            .strip_prefix(" (`")
            .and_then(|s| s.find("`)").map(|j| (s[..j].to_string(), &s[j + 2..])));
        match (kind, name) {
            ("factor", Some((n, after_name))) => {
                out.push_str(&format!("factor {n} (row {})", index + 1));
                next = after_name;
            }
            ("factor", None) => out.push_str(&format!("the factor in row {}", index + 1)),
            _ => out.push_str(&format!("term {} of the list", index + 1)),
        }
        rest = next;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_in_the_users_words() {
        assert_eq!(
            user_words("factors[0] (`A`): `levels` is 1; a factor needs at least 2 levels"),
            "factor A (row 1): `levels` is 1; a factor needs at least 2 levels"
        );
        assert_eq!(
            user_words("terms[2]: unknown factor `Z`"),
            "term 3 of the list: unknown factor `Z`"
        );
        assert_eq!(user_words("no fields here"), "no fields here");
    }

    /// The three-factor mixed design from a table of mean squares whose synthetic
    /// denominator for A, MS(A:B) + MS(A:C) - MS(A:B:C) = 2 + 3 - 9, is negative.
    fn negative_denominator() -> emslab::analysis::Analysis {
        let design =
            emslab::Design::from_toml_str(include_str!("../../designs/three_factor_mixed.toml"))
                .expect("shipped");
        let table = "term,df,ms\nA,2,50\nB,3,20\nC,4,30\nA:B,6,2\nA:C,8,3\nB:C,12,4\nA:B:C,24,9\nResidual,60,1\n";
        let summary =
            emslab::data::summary::read_summary_from(table.as_bytes(), "made up").expect("reads");
        emslab::analysis::run(
            &design,
            emslab::analysis::Input::Summary {
                table: &summary,
                grand_mean: None,
            },
            &emslab::analysis::Options::default(),
            &emslab::analysis::Cancel::none(),
            &mut |_| {},
        )
        .expect("analyses")
    }

    #[test]
    fn f2_shows_in_the_row_when_f1_is_undefined() {
        let a = negative_denominator();
        let doc = emslab::report::analysis_document(&a);
        let anova = doc.tables.iter().find(|t| t.key == "anova").expect("anova");
        let (shown, tips) = for_screen(anova, None, a.balanced());
        let row = &shown.rows[0];
        assert!(row[4].text.starts_with("⚠ F″"), "{:?}", row[4].text);
        assert!(row[6].text.contains("F′ is undefined"), "{}", row[6].text);
        assert!(tips.contains_key(&(0, 4)));
        // F″ = (MS(A) + MS(A:B:C)) / (MS(A:B) + MS(A:C)) = 59 / 5.
        let b = a.balanced().expect("balanced");
        let f2 = b.moments.tests[0].f2.as_ref().expect("F''");
        assert_eq!(f2.f, 59.0 / 5.0);
    }

    #[test]
    fn absurd_bounds_read_as_beyond_the_limit() {
        let mut t = Table::new("components", "Variance components").columns(&[
            ("Component", emslab::report::Align::Left),
            ("95% CI (χ²)", emslab::report::Align::Left),
        ]);
        t.push(vec![Cell::text("A"), Cell::text("[0.41, 7.1e+43]")]);
        t.push(vec![Cell::text("B"), Cell::text("[0.2, 3.5]")]);
        let (shown, tips) = for_screen(&t, Some(1e6), None);
        assert_eq!(shown.rows[0][1].text, "[0.41, > 1e6]");
        assert_eq!(shown.rows[1][1].text, "[0.2, 3.5]");
        assert!(tips[&(0, 1)].contains("7.1e+43"));
        assert!(shown.notes.iter().any(|n| n.starts_with("> 1e6")));
    }

    #[test]
    fn short_scientific_notation() {
        assert_eq!(short_sci(1e6), "1e6");
        assert_eq!(short_sci(2.5e7), "2.5e7");
    }
}
