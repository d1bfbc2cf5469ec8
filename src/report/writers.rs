//! One writer per export format, all from [`Document`]/[`Table`] rows.

use super::table::{Align, Cell, Document, Table, html_escape, latex_escape};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
    Latex,
    Csv,
    Html,
    Json,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Markdown,
        Format::Latex,
        Format::Csv,
        Format::Html,
        Format::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Latex => "latex",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Json => "json",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Markdown => "md",
            Format::Latex => "tex",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s || f.extension() == s)
    }
}

/// The header rows of a table merged into one (for CSV and Markdown).
fn merged_header(t: &Table) -> Vec<String> {
    (0..t.ncols())
        .map(|c| {
            t.headers
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.text.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize, align: Align) -> String {
    let fill = w.saturating_sub(width(s));
    match align {
        Align::Left => format!("{s}{}", " ".repeat(fill)),
        Align::Right => format!("{}{s}", " ".repeat(fill)),
        Align::Center => {
            let left = fill / 2;
            format!("{}{s}{}", " ".repeat(left), " ".repeat(fill - left))
        }
    }
}

/// Plain text: aligned columns, a rule under the header, notes below.
pub fn text_table(t: &Table) -> String {
    let n = t.ncols();
    let mut widths = vec![0usize; n];
    for row in t.headers.iter().chain(t.rows.iter()) {
        for (c, cell) in row.iter().enumerate().take(n) {
            widths[c] = widths[c].max(width(&cell.text));
        }
    }
    let mut out = String::new();
    out.push_str(&t.title);
    out.push('\n');
    out.push_str(&"=".repeat(width(&t.title)));
    out.push('\n');
    let line = |row: &[Cell], header: bool| -> String {
        let cells: Vec<String> = (0..n)
            .map(|c| {
                let s = row.get(c).map_or("", |x| x.text.as_str());
                let a = if header && t.align[c] == Align::Right {
                    Align::Right
                } else {
                    t.align[c]
                };
                pad(s, widths[c], a)
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    for h in &t.headers {
        out.push_str(&line(h, true));
        out.push('\n');
    }
    let total: usize = widths.iter().sum::<usize>() + 2 * n.saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in &t.rows {
        out.push_str(&line(r, false));
        out.push('\n');
    }
    for note in &t.notes {
        out.push_str(&format!("  {note}\n"));
    }
    out
}

pub fn text(doc: &Document) -> String {
    let mut out = String::new();
    if !doc.title.is_empty() {
        out.push_str(&doc.title);
        out.push('\n');
    }
    for p in &doc.preamble {
        out.push_str(p);
        out.push('\n');
    }
    for t in &doc.tables {
        out.push('\n');
        out.push_str(&text_table(t));
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('*', "\\*")
}

pub fn markdown_table(t: &Table) -> String {
    let mut out = format!("### {}\n\n", md_escape(&t.title));
    let header = merged_header(t);
    out.push_str(&format!(
        "| {} |\n",
        header
            .iter()
            .map(|h| md_escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    out.push_str(&format!(
        "|{}|\n",
        t.align
            .iter()
            .map(|a| match a {
                Align::Left => ":---",
                Align::Right => "---:",
                Align::Center => ":---:",
            })
            .collect::<Vec<_>>()
            .join("|")
    ));
    for r in &t.rows {
        out.push_str(&format!(
            "| {} |\n",
            (0..t.ncols())
                .map(|c| md_escape(r.get(c).map_or("", |x| x.text.as_str())))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    if !t.notes.is_empty() {
        out.push('\n');
        for n in &t.notes {
            out.push_str(&format!("{}\n\n", md_escape(n)));
        }
    }
    out
}

pub fn markdown(doc: &Document) -> String {
    let mut out = String::new();
    if !doc.title.is_empty() {
        out.push_str(&format!("## {}\n\n", md_escape(&doc.title)));
    }
    for p in &doc.preamble {
        out.push_str(&format!("{}  \n", md_escape(p)));
    }
    for t in &doc.tables {
        out.push('\n');
        out.push_str(&markdown_table(t));
    }
    out
}

/// A booktabs table, ready to paste into a document with `\usepackage{booktabs}`.
pub fn latex_table(t: &Table) -> String {
    let spec: String = t
        .align
        .iter()
        .map(|a| match a {
            Align::Left => 'l',
            Align::Right => 'r',
            Align::Center => 'c',
        })
        .collect();
    let mut out = String::new();
    out.push_str("\\begin{table}[htbp]\n\\centering\n");
    out.push_str(&format!("\\caption{{{}}}\n", latex_escape(&t.title)));
    out.push_str(&format!("\\label{{tab:{}}}\n", t.key));
    out.push_str(&format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n"));
    let row = |cells: &[Cell]| -> String {
        (0..t.ncols())
            .map(|c| cells.get(c).map_or("", |x| x.latex.as_str()).to_string())
            .collect::<Vec<_>>()
            .join(" & ")
            + " \\\\\n"
    };
    for h in &t.headers {
        out.push_str(&row(h));
    }
    out.push_str("\\midrule\n");
    for r in &t.rows {
        out.push_str(&row(r));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    if !t.notes.is_empty() {
        out.push_str("\\par\\smallskip\\footnotesize\n");
        for n in &t.notes {
            out.push_str(&format!("{}\\par\n", latex_escape(n)));
        }
    }
    out.push_str("\\end{table}\n");
    out
}

pub fn latex(doc: &Document) -> String {
    let mut out = String::from("% emslab output; needs \\usepackage{booktabs}\n");
    if !doc.title.is_empty() {
        out.push_str(&format!("% {}\n", doc.title.replace('\n', " ")));
    }
    for p in &doc.preamble {
        out.push_str(&format!("% {p}\n"));
    }
    for t in &doc.tables {
        out.push('\n');
        out.push_str(&latex_table(t));
    }
    out
}

/// CSV of one table: the merged header row, then the rows; numbers at full precision.
pub fn csv_table(t: &Table) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut records: Vec<Vec<String>> = vec![merged_header(t)];
    for r in &t.rows {
        records.push(
            (0..t.ncols())
                .map(|c| match r.get(c) {
                    Some(Cell { value: Some(v), .. }) => format!("{v}"),
                    Some(cell) => cell.text.clone(),
                    None => String::new(),
                })
                .collect(),
        );
    }
    for rec in &records {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(rec);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// CSV of a document: each table preceded by a one-field line with its title, tables
/// separated by a blank line. Use `--table KEY` for a single plain table.
pub fn csv(doc: &Document) -> String {
    if doc.tables.len() == 1 {
        return csv_table(&doc.tables[0]);
    }
    let mut out = String::new();
    for (k, t) in doc.tables.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let _ = w.write_record([format!("# {}", t.title)]);
        out.push_str(&String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default());
        out.push_str(&csv_table(t));
    }
    out
}

pub fn html_table(t: &Table) -> String {
    let mut out = format!(
        "<table id=\"{}\">\n<caption>{}</caption>\n<thead>\n",
        html_escape(&t.key),
        html_escape(&t.title)
    );
    let class = |a: Align| match a {
        Align::Left => "l",
        Align::Right => "r",
        Align::Center => "c",
    };
    for h in &t.headers {
        out.push_str("<tr>");
        for c in 0..t.ncols() {
            out.push_str(&format!(
                "<th class=\"{}\">{}</th>",
                class(t.align[c]),
                h.get(c).map_or("", |x| x.html.as_str())
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in 0..t.ncols() {
            out.push_str(&format!(
                "<td class=\"{}\">{}</td>",
                class(t.align[c]),
                r.get(c).map_or("", |x| x.html.as_str())
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    for n in &t.notes {
        out.push_str(&format!("<p class=\"note\">{}</p>\n", html_escape(n)));
    }
    out
}

pub fn html(doc: &Document) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", html_escape(&doc.title)));
    out.push_str(
        "<style>\nbody{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}\n\
table{border-collapse:collapse;margin:1.5em 0}\ncaption{font-weight:bold;text-align:left;padding-bottom:.4em}\n\
th,td{padding:.25em .8em}\nthead tr:last-child th{border-bottom:1px solid #000}\n\
table{border-top:2px solid #000;border-bottom:2px solid #000}\n.r{text-align:right}.l{text-align:left}.c{text-align:center}\n\
.note{font-size:90%;color:#333;margin:.2em 0}\n</style>\n</head>\n<body>\n",
    );
    if !doc.title.is_empty() {
        out.push_str(&format!("<h1>{}</h1>\n", html_escape(&doc.title)));
    }
    for p in &doc.preamble {
        out.push_str(&format!("<p>{}</p>\n", html_escape(p)));
    }
    for t in &doc.tables {
        out.push_str(&html_table(t));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One table as JSON: `{ "key", "title", "columns": [...], "rows": [{column: value}] }`.
pub fn json_table(t: &Table) -> serde_json::Value {
    let header = merged_header(t);
    let rows: Vec<serde_json::Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (c, h) in header.iter().enumerate() {
                let v = match r.get(c) {
                    Some(Cell { value: Some(v), .. }) if v.is_finite() => serde_json::json!(v),
                    Some(cell) => serde_json::json!(cell.text),
                    None => serde_json::Value::Null,
                };
                m.insert(
                    if h.is_empty() {
                        format!("column{c}")
                    } else {
                        h.clone()
                    },
                    v,
                );
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::json!({ "key": t.key, "title": t.title, "columns": header, "rows": rows, "notes": t.notes })
}

/// A document in a table format (JSON of a document is the report's own JSON, not this).
pub fn write_document(doc: &Document, format: Format) -> String {
    match format {
        Format::Text => text(doc),
        Format::Markdown => markdown(doc),
        Format::Latex => latex(doc),
        Format::Csv => csv(doc),
        Format::Html => html(doc),
        Format::Json => {
            let tables: Vec<_> = doc.tables.iter().map(json_table).collect();
            let mut s = serde_json::to_string_pretty(&serde_json::json!({
                "title": doc.title, "tables": tables
            }))
            .unwrap_or_default();
            s.push('\n');
            s
        }
    }
}
