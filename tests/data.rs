//! Reading data files: delimiters, byte-order marks, line ends, quoting, column matching,
//! the response column, nested coding, balance, the rows handed to REML, and every bad
//! input named by line and column.

#![allow(clippy::unwrap_used)]

mod common;

use common::{FEW_ROUNDINGS, HAND_FORMULA, close, design_path};
use emslab::Design;
use emslab::data::{Coding, DataErrorKind, DataNote, Dataset, ReadOptions, read_csv_from};

const PASTES_TOML: &str = r#"
response = "strength"
replicates = 2
[[factors]]
name = "batch"
kind = "random"
levels = 3
[[factors]]
name = "cask"
kind = "random"
levels = 2
nested_in = ["batch"]
"#;

fn pastes() -> Design {
    Design::from_toml_str(PASTES_TOML).unwrap()
}

/// 3 batches x 2 casks x 2 tests, casks labelled a, b in every batch.
const PASTES_CSV: &str = "batch,cask,strength\n\
A,a,62.8\nA,a,62.6\nA,b,60.1\nA,b,62.3\n\
B,a,60.0\nB,a,61.4\nB,b,57.5\nB,b,56.9\n\
C,a,58.7\nC,a,57.5\nC,b,63.9\nC,b,63.1\n";

fn read(design: &Design, text: &str) -> Dataset {
    read_csv_from(text.as_bytes(), "test.csv", design, &ReadOptions::default()).unwrap()
}

fn read_err(design: &Design, text: &str) -> emslab::data::DataError {
    match read_csv_from(text.as_bytes(), "test.csv", design, &ReadOptions::default()) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => e,
    }
}

fn same_cells(a: &Dataset, b: &Dataset) {
    assert_eq!(a.cells.count, b.cells.count);
    for (x, y) in a.cell_means().iter().zip(b.cell_means()) {
        assert!(close(*x, y, FEW_ROUNDINGS), "{x} vs {y}");
    }
    for (x, y) in a.cells.within_ss.iter().zip(&b.cells.within_ss) {
        assert!(close(*x, *y, HAND_FORMULA));
    }
}

#[test]
fn reads_pastes_and_detects_restarting_labels() {
    let d = read(&pastes(), PASTES_CSV);
    assert_eq!(d.n_rows, 12);
    assert_eq!(d.response, "strength");
    assert_eq!(d.factors[1].coding, Coding::Restarting);
    assert!(d.notes.iter().any(
        |n| matches!(n, DataNote::NestedCoding(c) if c.coding == Coding::Restarting && c.first_labels == ["a", "b"])
    ));
    assert!(d.balance.is_balanced());
    assert_eq!(d.cells.radix, vec![3, 2]);
    // Cell (B, b): 57.5, 56.9.
    let i = d.cells.index(&[1, 1]);
    assert!(close(d.cell_means()[i], 57.2, FEW_ROUNDINGS));
    // (57.5 - 57.2)² + (56.9 - 57.2)².
    assert!(close(d.cells.within_ss[i], 0.18, HAND_FORMULA));
}

#[test]
fn globally_unique_nested_labels_give_the_same_cells() {
    let relabelled = PASTES_CSV
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f[0] == "batch" {
                return l.to_string();
            }
            let k = (f[0].as_bytes()[0] - b'A') * 2 + (f[1].as_bytes()[0] - b'a') + 1;
            format!("{},{k},{}", f[0], f[2])
        })
        .collect::<Vec<_>>()
        .join("\n");
    let a = read(&pastes(), PASTES_CSV);
    let b = read(&pastes(), &relabelled);
    assert_eq!(b.factors[1].coding, Coding::Unique);
    assert!(b.notes.iter().any(
        |n| matches!(n, DataNote::NestedCoding(c) if c.coding == Coding::Unique && c.distinct_labels == 6)
    ));
    same_cells(&a, &b);
}

#[test]
fn semicolon_tab_bom_crlf_and_quotes_read_the_same() {
    let base = read(&pastes(), PASTES_CSV);
    let semicolon = PASTES_CSV.replace(',', ";").replace('.', ",");
    let d = read(&pastes(), &semicolon);
    assert_eq!(d.delimiter, b';');
    same_cells(&base, &d);
    let tab = PASTES_CSV.replace(',', "\t");
    let d = read(&pastes(), &tab);
    assert_eq!(d.delimiter, b'\t');
    same_cells(&base, &d);
    let crlf = PASTES_CSV.replace('\n', "\r\n");
    same_cells(&base, &read(&pastes(), &crlf));
    let bom = format!("\u{FEFF}{}", crlf);
    let d = read(&pastes(), &bom);
    assert!(d.notes.contains(&DataNote::ByteOrderMark));
    same_cells(&base, &d);
    // Quoted fields, a delimiter inside a label, spaces around fields, a blank last line.
    let quoted = PASTES_CSV
        .replace("A,", "\"A, first\",")
        .replace("strength", "\"strength\"")
        .replace(",62.8", ", 62.8 ")
        + "\n";
    let d = read(&pastes(), &quoted);
    assert_eq!(d.factors[0].example_labels[0], "A, first");
    same_cells(&base, &d);
}

#[test]
fn columns_match_ignoring_case_and_order() {
    let rows: String = PASTES_CSV
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}\n", f[2], f[1], f[0])
        })
        .collect();
    let text = format!("Strength,CASK,Batch\n{rows}");
    same_cells(&read(&pastes(), PASTES_CSV), &read(&pastes(), &text));
}

#[test]
fn response_column_choice() {
    let no_response = Design::from_toml_str(
        "replicates = 2\n[[factors]]\nname = \"g\"\nkind = \"random\"\nlevels = 2\n",
    )
    .unwrap();
    // The only column left.
    let d = read(&no_response, "g,y\n1,1\n1,2\n2,3\n2,4\n");
    assert_eq!(d.response, "y");
    // The only numeric column left.
    let d = read(&no_response, "g,note,y\n1,x,1\n1,x,2\n2,x,3\n2,x,4\n");
    assert_eq!(d.response, "y");
    // Two numeric candidates: name one.
    let e = read_err(&no_response, "g,y,z\n1,1,5\n1,2,5\n2,3,5\n2,4,5\n");
    assert!(
        matches!(e.kind, DataErrorKind::AmbiguousResponse { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("--response"));
    let d = read_csv_from(
        "g,y,z\n1,1,5\n1,2,5\n2,3,5\n2,4,6\n".as_bytes(),
        "t.csv",
        &no_response,
        &ReadOptions {
            response: Some("Z".into()),
            keep_rows: false,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(d.response, "z");
    // A response named in the design that is not there.
    let e = read_err(&pastes(), "batch,cask,strenght\nA,a,1\n");
    assert!(e.to_string().contains("did you mean `strenght`"), "{e}");
}

#[test]
fn level_counts_and_replicates_from_the_data() {
    let design = Design::from_toml_str(
        "[[factors]]\nname = \"batch\"\nkind = \"random\"\n[[factors]]\nname = \"cask\"\nkind = \"random\"\nnested_in = [\"batch\"]\n",
    )
    .unwrap();
    let d = read(&design, PASTES_CSV);
    assert_eq!(d.cells.radix, vec![3, 2]);
    assert_eq!(d.balance.replicates, 2);
    let sized = d.sized_design(&design).unwrap();
    assert_eq!(sized.factors[0].levels, Some(3));
    assert_eq!(sized.factors[1].levels, Some(2));
    assert_eq!(sized.replicates, Some(2));
}

#[test]
fn unbalanced_data_name_the_cells() {
    // One observation of (B, b) removed, one extra in (C, a).
    let text = PASTES_CSV.replace("B,b,56.9\n", "") + "C,a,59.0\n";
    let d = read(&pastes(), &text);
    assert!(!d.balance.is_balanced());
    assert_eq!(d.balance.n_problems, 2);
    let msg = d.require_balanced().unwrap_err().to_string();
    assert!(msg.starts_with("test.csv: "), "{msg}");
    assert!(msg.contains("batch=B, cask=b has 1 (1 short)"), "{msg}");
    assert!(msg.contains("batch=C, cask=a has 3 (1 extra)"), "{msg}");
    assert!(
        msg.contains("balanced-design expected mean squares"),
        "{msg}"
    );
    // A missing cell and a nested factor with fewer levels in one batch.
    let text = PASTES_CSV.replace("C,b,63.9\nC,b,63.1\n", "");
    let msg = read(&pastes(), &text)
        .require_balanced()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("batch=C, cask=#2 has 0 (missing)"), "{msg}");
    assert!(
        msg.contains("`cask` has 2 levels within most cells of batch but fewer in 1"),
        "{msg}"
    );
}

#[test]
fn many_unbalanced_cells_are_counted_not_all_listed() {
    let design = Design::from_toml_str(
        "replicates = 2\n[[factors]]\nname = \"g\"\nkind = \"random\"\nlevels = 20\n",
    )
    .unwrap();
    let mut text = String::from("g,y\n");
    for g in 0..20 {
        text.push_str(&format!("g{g},1\n"));
    }
    let d = read(&design, &text);
    let msg = d.require_balanced().unwrap_err().to_string();
    assert!(msg.contains("20 of 20 cells"), "{msg}");
    assert!(msg.contains("and 15 more"), "{msg}");
}

#[test]
fn rows_for_reml_hold_codes_per_factor() {
    let d = read_csv_from(
        PASTES_CSV.as_bytes(),
        "t.csv",
        &pastes(),
        &ReadOptions {
            response: None,
            keep_rows: true,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let r = d.reml_input().unwrap();
    assert_eq!(r.codes.len(), 2);
    assert_eq!(r.codes[0], vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert_eq!(r.codes[1], vec![0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
    assert_eq!(r.y[0], 62.8);
    assert_eq!(r.y[7], 56.9);
    // Not kept unless asked for.
    assert!(read(&pastes(), PASTES_CSV).reml_input().is_none());
}

#[test]
fn exact_decimals_keep_the_digits() {
    // 13 constant leading digits, as in NIST SmLs09.
    let design = Design::from_toml_str(
        "replicates = 2\n[[factors]]\nname = \"g\"\nkind = \"fixed\"\nlevels = 2\n",
    )
    .unwrap();
    let d = read(
        &design,
        "g,y\n1,1000000000000.4\n1,1000000000000.3\n2,1000000000000.5\n2,1000000000000.6\n",
    );
    // Within-cell SS: 0.005 + 0.005 exactly in decimal.
    let w: f64 = d.cells.within_ss.iter().sum();
    assert!(close(w, 0.01, FEW_ROUNDINGS), "{w}");
    assert!(close(d.cells.mean[1] - d.cells.mean[0], 0.2, FEW_ROUNDINGS));
}

fn located(e: &emslab::data::DataError, line: Option<u64>, column: Option<usize>) {
    assert_eq!(e.source, "test.csv");
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.column.as_ref().map(|c| c.0), column, "{e}");
}

#[test]
fn bad_inputs_name_line_and_column() {
    let d = pastes();
    // Empty file; only white space.
    let e = read_err(&d, "");
    assert!(matches!(e.kind, DataErrorKind::Empty));
    assert!(matches!(read_err(&d, " \n\n").kind, DataErrorKind::Empty));
    // Header only.
    let e = read_err(&d, "batch,cask,strength\n");
    assert!(matches!(e.kind, DataErrorKind::NoRows));
    // No header: the first row is data.
    let e = read_err(&d, "A,a,62.8\nA,a,62.6\n");
    assert!(matches!(e.kind, DataErrorKind::MissingHeader { .. }), "{e}");
    located(&e, Some(1), None);
    // A missing factor column lists the columns.
    let e = read_err(&d, "batch,barrel,strength\nA,a,1\n");
    assert!(e.to_string().contains("no column for factor `cask`"), "{e}");
    assert!(
        e.to_string().contains("`batch`, `barrel`, `strength`"),
        "{e}"
    );
    // Ragged row.
    let e = read_err(&d, &PASTES_CSV.replace("B,a,61.4", "B,a,61.4,9"));
    assert!(matches!(
        e.kind,
        DataErrorKind::Ragged {
            expected: 3,
            found: 4
        }
    ));
    located(&e, Some(7), None);
    // Non-numeric and infinite responses (empty, NA, NaN and `.` are missing values:
    // see `missing_values_drop_their_rows`).
    for (bad, reason) in [
        ("abc", "not a number"),
        ("inf", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("N/A", "not a finite number"),
        ("1e999", "not a finite number"),
    ] {
        let e = read_err(&d, &PASTES_CSV.replace("57.5\nB,b", &format!("{bad}\nB,b")));
        located(&e, Some(8), Some(3));
        assert!(e.to_string().contains(reason), "{bad}: {e}");
        assert!(e.to_string().contains("(`strength`)"), "{e}");
    }
    // A factor with one level.
    let one = Design::from_toml_str("[[factors]]\nname = \"g\"\nkind = \"random\"\n").unwrap();
    let e = read_err(&one, "g,y\nx,1\nx,2\n");
    assert!(matches!(e.kind, DataErrorKind::OneLevel { .. }), "{e}");
    located(&e, None, Some(1));
    // More levels than declared: the line where the extra level first appears.
    let e = read_err(&d, &(PASTES_CSV.to_string() + "D,a,1\n"));
    assert!(
        matches!(
            e.kind,
            DataErrorKind::TooManyLevels {
                count: 4,
                declared: 3,
                ..
            }
        ),
        "{e}"
    );
    located(&e, Some(14), Some(1));
    let e = read_err(&d, &PASTES_CSV.replace("C,b,63.1", "C,c,63.1"));
    assert!(e.to_string().contains("within batch=C"), "{e}");
    located(&e, Some(13), Some(2));
    // Fewer levels than declared.
    let two = PASTES_CSV.lines().take(9).collect::<Vec<_>>().join("\n");
    let e = read_err(&d, &two);
    assert!(
        matches!(
            e.kind,
            DataErrorKind::TooFewLevels {
                found: 2,
                declared: 3,
                ..
            }
        ),
        "{e}"
    );
    // UTF-16.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("batch".encode_utf16().flat_map(|u| u.to_le_bytes()));
    let e = read_csv_from(utf16.as_slice(), "test.csv", &d, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e.kind, DataErrorKind::Utf16(_)), "{e}");
}

#[test]
fn shipped_datasets_read_balanced() {
    for (name, rows) in [
        ("dyestuff", 30),
        ("dyestuff2", 30),
        ("pastes", 60),
        ("machines", 54),
        ("montgomery_gauge", 120),
    ] {
        let design = emslab::io::read_design(&design_path(&format!("{name}.toml"))).unwrap();
        let d = emslab::data::read_csv(
            &design_path(&format!("{name}.csv")),
            &design,
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(d.n_rows, rows, "{name}");
        assert!(d.balance.is_balanced(), "{name}");
    }
}

#[test]
fn many_labels_switch_the_cell_index_to_hashing() {
    // 300 labels in each of three crossed factors: the direct label table would need
    // 300³ entries, so the reader hashes; the result is the same either way.
    let design = Design::from_toml_str(
        "[[factors]]\nname = \"a\"\nkind = \"random\"\n[[factors]]\nname = \"b\"\nkind = \"random\"\n[[factors]]\nname = \"c\"\nkind = \"random\"\n",
    )
    .unwrap();
    let mut text = String::from("a,b,c,y\n");
    for i in 0..300 {
        text.push_str(&format!("a{i},b{i},c{i},{i}.5\n"));
        text.push_str(&format!("a{i},b{i},c{i},{i}.5\n"));
    }
    let d = read(&design, &text);
    assert_eq!(d.cells.radix, vec![300, 300, 300]);
    assert_eq!(d.n_rows, 600);
    // Far too sparse to be balanced: reported without a 27-million-cell table.
    assert!(d.cells.count.is_empty());
    assert!(!d.balance.is_balanced());
    assert_eq!(d.balance.n_problems, 300 * 300 * 300 - 300);
    let msg = d.require_balanced().unwrap_err().to_string();
    assert!(msg.contains("a=a0, b=b0, c=c1 has 0 (missing)"), "{msg}");
    // A denser table of the same kind keeps its cells (and hashes past the direct
    // label table only when needed).
    let mut text = String::from("a,b,c,y\n");
    for i in 0..40 {
        for j in 0..3 {
            text.push_str(&format!("a{i},b{j},c{},{i}.{j}\n", (i + j) % 2));
        }
    }
    let d = read(&design, &text);
    assert_eq!(d.cells.count.len(), 40 * 3 * 2);
    assert_eq!(d.cells.n_observations(), 120);
    let i = d.cells.index(&[7, 1, 0]);
    assert_eq!(d.cells.count[i], 1);
    assert!(close(d.cell_means()[i], 7.1, FEW_ROUNDINGS));
}

#[test]
fn line_numbers_survive_quoted_newlines_and_crlf() {
    // Line 3 holds a quoted label spanning two lines (3-4); the bad value is on line 6.
    for eol in ["\n", "\r\n"] {
        let text = [
            "batch,cask,strength",
            "A,a,62.8",
            "\"A\",\"a",
            "\",62.6",
            "A,b,60.1",
            "A,b,oops",
        ]
        .join(eol)
            + eol;
        let e = read_err(&pastes(), &text);
        located(&e, Some(6), Some(3));
        // Blank lines count too.
        let text = ["batch,cask,strength", "", "A,a,62.8", "", "A,\"a\",x"].join(eol) + eol;
        let e = read_err(&pastes(), &text);
        located(&e, Some(5), Some(3));
    }
}

/// A factor whose column has another name is mapped to it (`ReadOptions::columns`); the
/// data read are the same as from the file with the factor's name.
#[test]
fn factors_map_to_differently_named_columns() {
    let renamed = PASTES_CSV.replacen("batch,cask", "Lot,cask", 1);
    let mapped = read_csv_from(
        renamed.as_bytes(),
        "t.csv",
        &pastes(),
        &ReadOptions {
            columns: vec![("BATCH".into(), "lot".into())],
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let by_name = read(&pastes(), PASTES_CSV);
    assert_eq!(mapped.factors[0].column, 0);
    assert_eq!(mapped.factors[0].levels, by_name.factors[0].levels);
    assert_eq!(mapped.n_rows, by_name.n_rows);
    assert_eq!(mapped.response, by_name.response);
    assert_eq!(mapped.cells, by_name.cells);

    // Without the mapping the factor has no column.
    let e = read_csv_from(
        renamed.as_bytes(),
        "t.csv",
        &pastes(),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e.kind, DataErrorKind::MissingColumn { .. }), "{e}");

    // A mapping to a column the file lacks names the column and suggests the near one.
    let e = read_csv_from(
        renamed.as_bytes(),
        "t.csv",
        &pastes(),
        &ReadOptions {
            columns: vec![("batch".into(), "lots".into())],
            ..ReadOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, DataErrorKind::MissingMappedColumn { .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("`lots`") && msg.contains("`batch`") && msg.contains("Lot"),
        "{msg}"
    );
    assert_eq!(e.line, Some(1));

    // Two factors on one column.
    let e = read_csv_from(
        PASTES_CSV.as_bytes(),
        "t.csv",
        &pastes(),
        &ReadOptions {
            columns: vec![("cask".into(), "batch".into())],
            ..ReadOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e.kind, DataErrorKind::ColumnTwice { .. }), "{e}");
    assert!(e.to_string().contains("`batch`") && e.to_string().contains("`cask`"));
}

/// Marginal means (the interaction plot's points): on balanced data the mean of the
/// observations at each level, computed here straight from the file; on unbalanced data the
/// unweighted mean of the cell means.
#[test]
fn marginal_means_are_means_over_the_other_factors() {
    let design = emslab::io::read_design(&design_path("machines.toml")).unwrap();
    let text = std::fs::read_to_string(design_path("machines.csv")).unwrap();
    let ds = read(&design, &text);
    let machine = design
        .factors
        .iter()
        .position(|f| f.name == "Machine")
        .unwrap();
    let worker = design
        .factors
        .iter()
        .position(|f| f.name == "Worker")
        .unwrap();
    // Straight from the file: Worker,Machine,score.
    let rows: Vec<(String, String, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect();
    let labels = &ds.factors[machine].labels;
    let by_machine = ds.marginal_means(&[machine]);
    assert_eq!(by_machine.len(), 3);
    for (code, label) in labels.iter().enumerate() {
        let ys: Vec<f64> = rows.iter().filter(|r| &r.1 == label).map(|r| r.2).collect();
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        assert!(
            close(by_machine[code], mean, HAND_FORMULA),
            "{label}: {} vs {mean}",
            by_machine[code]
        );
    }
    // Both factors kept, in the plot's order (Machine on x, one line per Worker): the cell
    // means themselves.
    let cells = ds.marginal_means(&[machine, worker]);
    let all = ds.cell_means();
    for m in 0..3u32 {
        for w in 0..6u32 {
            let mut codes = vec![0u32; 2];
            codes[machine] = m;
            codes[worker] = w;
            let i = emslab::data::cell_index(&ds.cells.radix, &codes);
            assert!(close(cells[(m * 6 + w) as usize], all[i], HAND_FORMULA));
        }
    }

    // Unbalanced (every row of worker 1 on machine A dropped): that cell is empty, and the
    // mean for machine A is the mean of the 5 other cell means.
    let w1 = &ds.factors[worker].labels[0];
    let ma = &labels[0];
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{w1},{ma},")))
        .collect();
    let ub = read(&design, &kept.join("\n"));
    // Codes follow first appearance, so look the labels up again.
    let code = |f: usize, label: &str| {
        ub.factors[f]
            .labels
            .iter()
            .position(|l| l == label)
            .unwrap()
    };
    let (a, w) = (code(machine, ma), code(worker, w1));
    let means = ub.marginal_means(&[machine, worker]);
    assert!(means[a * 6 + w].is_nan(), "the empty cell has no mean");
    let others: Vec<f64> = (0..6)
        .filter(|&x| x != w)
        .map(|x| means[a * 6 + x])
        .collect();
    assert!(others.iter().all(|m| m.is_finite()));
    // Expected straight from the file: the mean of machine A's five other cell means.
    let workers: Vec<&String> = {
        let mut w: Vec<&String> = rows.iter().map(|r| &r.0).filter(|x| *x != w1).collect();
        w.sort();
        w.dedup();
        w
    };
    assert_eq!(workers.len(), 5);
    let cell_mean = |worker: &String| {
        let ys: Vec<f64> = rows
            .iter()
            .filter(|r| &r.0 == worker && &r.1 == ma)
            .map(|r| r.2)
            .collect();
        ys.iter().sum::<f64>() / ys.len() as f64
    };
    let expected = workers.iter().map(|w| cell_mean(w)).sum::<f64>() / 5.0;
    assert!(close(
        ub.marginal_means(&[machine])[a],
        expected,
        HAND_FORMULA
    ));
}

// ---- Missing values (issue 12 item 5), overflow (issue 16 item 1), long fields (16.10).

fn read_rows(design: &Design, text: &str) -> Dataset {
    let opts = ReadOptions {
        keep_rows: true,
        ..ReadOptions::default()
    };
    read_csv_from(text.as_bytes(), "test.csv", design, &opts).unwrap()
}

/// A row with an empty, NA, NaN or `.` response, or an empty or `NA` label, is dropped (as
/// R's `na.omit` and SAS's procedures drop it): the cells, the balance and the rows kept
/// for REML are those of the file without it, and a note gives the count, the first lines
/// and the columns.
#[test]
fn missing_values_drop_their_rows() {
    // Lines 3, 5, 7, 9, 11, 13 of PASTES_CSV (header on line 1), one marker each.
    let marked = PASTES_CSV
        .replace("A,a,62.6", "A,a,NA")
        .replace("A,b,62.3", "A,b,")
        .replace("B,a,61.4", "B,a, nan ")
        .replace("B,b,56.9", "B,b,.")
        .replace("C,a,57.5", "NA,a,57.5")
        .replace("C,b,63.1", ",,");
    let deleted: String = PASTES_CSV
        .lines()
        .enumerate()
        .filter(|(i, _)| ![2, 4, 6, 8, 10, 12].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let d = read_rows(&pastes(), &marked);
    let plain = read_rows(&pastes(), &deleted);
    assert_eq!(d.n_rows, 6);
    assert_eq!(d.dropped_rows, 6);
    assert_eq!(d.cells, plain.cells);
    assert_eq!(d.balance.problems, plain.balance.problems);
    assert_eq!(d.balance.dropped.as_ref().map(|x| x.count), Some(6));
    assert_eq!(d.reml_input(), plain.reml_input());
    let r = d.reml_input().unwrap();
    for (y, kept) in r.y.iter().zip([62.8, 60.1, 60.0, 57.5, 58.7, 63.9]) {
        assert!(close(*y, kept, FEW_ROUNDINGS), "{y} vs {kept}");
    }
    // One observation in every cell of a design declaring two: unbalanced.
    assert!(!d.balance.is_balanced());
    assert_eq!(d.balance.n_problems, 6);
    let Some(DataNote::DroppedRows(note)) = d.notes.last() else {
        panic!("{:?}", d.notes)
    };
    assert_eq!(note.count, 6);
    assert_eq!(note.first_lines, vec![3, 5, 7, 9, 11]);
    // The last row misses both its labels and its response.
    assert_eq!(
        note.by_column,
        vec![
            ("batch".to_string(), 2),
            ("cask".to_string(), 1),
            ("strength".to_string(), 5)
        ]
    );
    // `na` is a label (sodium `Na` too), not a missing value: a fourth batch here.
    let e = read_err(&pastes(), &PASTES_CSV.replace("C,a,57.5", "na,a,57.5"));
    assert!(
        matches!(e.kind, DataErrorKind::TooManyLevels { count: 4, .. }),
        "{e}"
    );
    located(&e, Some(11), Some(1));
    // Nothing left.
    let e = read_err(&pastes(), "batch,cask,strength\nA,a,NA\nB,,1\n");
    assert!(
        matches!(e.kind, DataErrorKind::AllRowsMissing { dropped: 2 }),
        "{e}"
    );
    // The first row's response missing: the response column is still found among
    // several candidates, and the offset is the first value read.
    let rest: String = PASTES_CSV
        .lines()
        .skip(1)
        .map(|l| {
            let (bc, y) = l.rsplit_once(',').unwrap();
            format!("{bc},x,{y}\n")
        })
        .collect();
    let two = format!("batch,cask,note,strength\nA,a,x,NA\n{rest}");
    let d = read(&pastes(), &two);
    assert_eq!(d.response, "strength");
    assert_eq!(d.dropped_rows, 1);
}

/// Cells left empty (every row of them dropped or absent) are named in the balance report.
#[test]
fn empty_cells_are_named_in_the_balance_report() {
    let design = Design::from_toml_str(
        "response = \"y\"\nreplicates = 2\n[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 2\n\
         [[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 2\n",
    )
    .unwrap();
    let text = "A,B,y\na1,b1,1\na1,b1,2\na1,b2,3\na1,b2,4\na2,b1,5\na2,b1,6\na2,b2,NA\na2,b2,\n";
    let d = read(&design, text);
    assert_eq!(d.balance.n_empty, 1);
    assert_eq!(d.balance.empty, vec!["A=a2, B=b2".to_string()]);
    let msg = d.require_balanced().unwrap_err().to_string();
    assert!(msg.contains("A=a2, B=b2 has 0 (missing)"), "{msg}");
    assert!(msg.contains("1 cell holds no observation"), "{msg}");
    // A nested factor short of a level in one parent: the cell named by its code.
    let d = read(
        &pastes(),
        &PASTES_CSV
            .replace("C,b,63.9", "C,b,NA")
            .replace("C,b,63.1", "C,b,"),
    );
    assert_eq!(d.balance.empty, vec!["batch=C, cask=#2".to_string()]);
    assert_eq!(d.balance.level_notes.len(), 1);
    assert_eq!(d.balance.level_notes[0].n_short, 1);
}

/// Responses whose squares would overflow binary64 are refused with their line, never
/// summed (issue 16: 1e160, 1e200, 1e308 and ±1e308 gave exit 0 with wrong sums of
/// squares). The bound is `MAX_RESPONSE` = 1e60.
#[test]
fn responses_beyond_the_binary64_range_of_squares_are_refused() {
    for big in [
        "1e160",
        "1e200",
        "1e308",
        "-1e308",
        "1e61",
        "-2E+60",
        "1000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let e = read_err(
            &pastes(),
            &PASTES_CSV.replace("57.5\nB,b", &format!("{big}\nB,b")),
        );
        assert!(
            matches!(e.kind, DataErrorKind::ResponseTooLarge { .. }),
            "{big}: {e}"
        );
        located(&e, Some(8), Some(3));
        assert!(e.to_string().contains(&big[..big.len().min(40)]), "{e}");
    }
    // Underflow, the mirror: a value other than zero below 1e-60 (pastes in units of
    // 1e-200 gave every SS 0 and every component 0).
    for tiny in [
        "1e-61",
        "-5E-200",
        "0.0000000000000000000000000000000000000000000000000000000000000001",
    ] {
        let e = read_err(
            &pastes(),
            &PASTES_CSV.replace("57.5\nB,b", &format!("{tiny}\nB,b")),
        );
        assert!(
            matches!(e.kind, DataErrorKind::ResponseTooSmall { .. }),
            "{tiny}: {e}"
        );
        located(&e, Some(8), Some(3));
    }
    let d = read(&pastes(), &PASTES_CSV.replace("57.5\nB,b", "0e-300\nB,b"));
    assert_eq!(d.n_rows, 12);
    // The largest accepted, and as the first value (the offset).
    let d = read(&pastes(), &PASTES_CSV.replace("62.8", "1e60"));
    assert!(d.cells.within_ss.iter().all(|w| w.is_finite()));
    let d = read(&pastes(), &PASTES_CSV.replace("57.5\nB,b", "-1e60\nB,b"));
    assert!(d.cells.within_ss.iter().all(|w| w.is_finite()));
}

/// The ANOVA refuses sums that overflowed, whatever built the cells (here the public
/// accumulator, which takes any binary64 value): no SS from an overflowed sum.
#[test]
fn anova_refuses_overflowed_sums() {
    use emslab::anova::{self, AnovaError};
    use emslab::data::CellAccumulator;
    let design = Design::from_toml_str(
        "replicates = 2\n[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 2\n",
    )
    .unwrap();
    for (y1, y2) in [(1e308, -1e308), (1e160, 0.0), (1.0, 1e200)] {
        let mut acc = CellAccumulator::new(vec![2]);
        for (a, y) in [(0, y1), (0, y2), (1, 1.0), (1, 2.0)] {
            acc.push(&[a], y);
        }
        let cells = acc.finish();
        assert_eq!(
            anova::from_cells(&design, &cells),
            Err(AnovaError::Overflow),
            "{y1}, {y2}: {cells:?}"
        );
    }
}

/// A field quoted in a message is cut to 40 characters and its length (issue 16: a 10 MB
/// number gave 10 MB on stderr).
#[test]
fn messages_quote_a_readable_prefix_of_long_fields() {
    let huge = "9".repeat(10_000_000);
    let cut = format!("{}… (10000000 bytes)", "9".repeat(40));
    // A response with more digits than can be held.
    let e = read_err(
        &pastes(),
        &PASTES_CSV.replace("57.5\nB,b", &format!("{huge}\nB,b")),
    );
    let msg = e.to_string();
    assert!(
        msg.len() < 300 && msg.contains(&cut),
        "{}",
        &msg[..msg.len().min(300)]
    );
    // A label beyond the declared levels.
    let e = read_err(&pastes(), &format!("{PASTES_CSV}{huge},a,1\n"));
    let msg = e.to_string();
    assert!(
        msg.len() < 400 && msg.contains(&cut),
        "{}",
        &msg[..msg.len().min(400)]
    );
    // A header (the list of columns in a message), and the column named by an error.
    let e = read_err(&pastes(), &PASTES_CSV.replacen("cask", &huge, 1));
    let msg = e.to_string();
    assert!(
        msg.len() < 300 && msg.contains(&cut),
        "{}",
        &msg[..msg.len().min(300)]
    );
    let e = read_err(
        &pastes(),
        &PASTES_CSV
            .replacen("strength", &format!("strength,{huge}"), 1)
            .replace("57.5\nB,b", "x,1\nB,b"),
    );
    let msg = e.to_string();
    assert!(msg.len() < 300, "{}", &msg[..msg.len().min(300)]);
}

/// The public preview: the delimiter sniffed, the header, the first rows with their lines,
/// whether they are all.
#[test]
fn preview_gives_delimiter_header_and_first_rows() {
    use emslab::data::preview_from;
    let text = "\u{FEFF}batch;cask;strength\r\nA;a;62,8\r\n\r\n\"A\";\"a\nb\";62,6\r\nA;b;60,1\r\n";
    let p = preview_from(text.as_bytes(), "t.csv", 2).unwrap();
    assert_eq!(p.delimiter, b';');
    assert!(p.byte_order_mark && p.decimal_comma());
    assert_eq!(p.header, vec!["batch", "cask", "strength"]);
    assert_eq!(p.rows.len(), 2);
    assert_eq!((p.rows[0].line, p.rows[1].line), (2, 4));
    assert_eq!(p.rows[1].fields, vec!["A", "a\nb", "62,6"]);
    assert!(!p.complete);
    let all = preview_from(text.as_bytes(), "t.csv", 3).unwrap();
    assert!(all.complete && all.rows.len() == 3);
    // The reader sniffs the same.
    assert_eq!(emslab::data::sniff_delimiter(b"a\tb;c\td\n"), b'\t');
    let e = preview_from(&b" \n"[..], "t.csv", 5).unwrap_err();
    assert!(matches!(e.kind, DataErrorKind::Empty));
}
