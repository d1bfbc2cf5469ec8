//! The design form: title, response, replicates, the factor table (add, remove, rename,
//! reorder; fixed or random; levels; nested in; symbol), the term checkboxes and the model
//! switch. The form edits a copy of the spec and sends it back as one [`Command::Edit`];
//! errors from `Design::try_from` are shown next to the field they name.

use egui::{Color32, RichText, Ui};
use emslab::design::{FactorSpec, Kind, Role};
use emslab::{DesignError, DesignSpec, Model};

use super::command::{Command, EditKey};
use super::doc::Derived;
use super::help;

/// Which field of a factor an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorField {
    Name,
    Levels,
    Nested,
    Symbol,
}

/// Where an error is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spot {
    Factor(usize, FactorField),
    /// An entry of the `terms` list (index into `spec.terms`).
    Term(usize),
    Terms,
    Replicates,
    Factors,
    /// Errors without a field (a nesting cycle, a parse error).
    General,
}

/// The field an error names: the index from [`DesignError::field`], the part of the factor
/// from the kind of error.
pub fn spot(err: &DesignError) -> Spot {
    let index_in = |field: &str, prefix: &str| -> Option<usize> {
        field
            .strip_prefix(prefix)?
            .strip_prefix('[')?
            .strip_suffix(']')?
            .parse()
            .ok()
    };
    let Some(field) = err.field() else {
        return Spot::General;
    };
    if let Some(i) = index_in(&field, "factors") {
        let part = match err {
            DesignError::BadName { .. } | DesignError::DuplicateName { .. } => FactorField::Name,
            DesignError::TooFewLevels { .. } => FactorField::Levels,
            DesignError::BadSymbol { .. } | DesignError::DuplicateSymbol { .. } => {
                FactorField::Symbol
            }
            _ => FactorField::Nested,
        };
        return Spot::Factor(i, part);
    }
    if let Some(i) = index_in(&field, "terms") {
        return Spot::Term(i);
    }
    match field.as_str() {
        "replicates" => Spot::Replicates,
        "terms" => Spot::Terms,
        "factors" => Spot::Factors,
        _ => Spot::General,
    }
}

/// The error text color of the current theme.
pub fn error_color(ui: &Ui) -> Color32 {
    ui.visuals().error_fg_color
}

/// An error next to its field, its fields named as the form names them.
fn error_label(ui: &mut Ui, message: &str) {
    let message = super::display::user_words(message);
    ui.add(egui::Label::new(RichText::new(format!("⚠ {message}")).color(error_color(ui))).wrap());
}

/// An optional count typed as text: empty means "from data". While the field has focus the
/// typed text is kept as is (even when it is not a number) so that typing is never fought;
/// an unparsable entry is reported next to the field.
fn count_field(
    ui: &mut Ui,
    id_salt: &str,
    value: &mut Option<u32>,
    accessible: &str,
    hint: &str,
    width: f32,
    invalid: bool,
) -> Option<String> {
    let id = ui.make_persistent_id(("count", id_salt));
    let shown = value.map(|v| v.to_string()).unwrap_or_default();
    let mut text: String = ui
        .data(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| shown.clone());
    let mut edit = egui::TextEdit::singleline(&mut text)
        .id_salt(("count-edit", id_salt))
        .desired_width(width)
        .min_size(egui::vec2(width, 0.0))
        .hint_text(hint);
    if invalid {
        edit = edit.background_color(ui.visuals().error_fg_color.gamma_multiply(0.25));
    }
    let resp = ui.add(edit).accessible_name(accessible);
    let trimmed = text.trim();
    let parsed: Result<Option<u32>, ()> = if trimmed.is_empty() {
        Ok(None)
    } else {
        trimmed.parse::<u32>().map(Some).map_err(|_| ())
    };
    if resp.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text.clone()));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
    match parsed {
        Ok(v) => {
            if resp.changed() {
                *value = v;
            }
            None
        }
        Err(()) => Some(format!(
            "`{trimmed}` is not a whole number: type a count such as 3, or leave it empty to take it from the data"
        )),
    }
}

/// Renames a factor inside term names (`A:B(C)`), token by token.
pub fn rename_in_term(term: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(term.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if token.trim() == old {
            out.push_str(&token.replace(old, new));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in term.chars() {
        if matches!(c, ':' | '(' | ')' | ',') {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// Removes a factor from a term name: `None` when it is one of the term's crossed factors
/// (the term goes), otherwise the term without it among the parents.
pub fn remove_from_term(term: &str, name: &str) -> Option<String> {
    let (live, dead) = match term.find('(') {
        Some(open) => (
            &term[..open],
            term[open + 1..].trim_end().strip_suffix(')').unwrap_or(""),
        ),
        None => (term, ""),
    };
    let live: Vec<&str> = live.split(':').map(str::trim).collect();
    if live.contains(&name) {
        return None;
    }
    let dead: Vec<&str> = dead
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != name)
        .collect();
    Some(if dead.is_empty() {
        live.join(":")
    } else {
        format!("{}({})", live.join(":"), dead.join(","))
    })
}

/// The first unused factor name among A, B, ..., Z, F27, F28, ...
fn fresh_name(spec: &DesignSpec) -> String {
    let used = |n: &str| spec.factors.iter().any(|f| f.name == n);
    for c in 'A'..='Z' {
        let n = c.to_string();
        if !used(&n) {
            return n;
        }
    }
    let mut k = 27;
    loop {
        let n = format!("F{k}");
        if !used(&n) {
            return n;
        }
        k += 1;
    }
}

/// The design form.
#[derive(Default)]
pub struct DesignView {
    /// Symbols and subscripts of the last valid design, shown while the design has a problem.
    last_symbols: Vec<(String, String)>,
}

/// The form being drawn: a copy of the spec the fields edit, the undo key of the edit,
/// and the design's error with the field it names.
struct Form<'a> {
    s: DesignSpec,
    key: EditKey,
    err: Option<&'a DesignError>,
    spot: Option<Spot>,
}

impl Form<'_> {
    fn factor_err(&self, i: usize, f: FactorField) -> Option<&DesignError> {
        match self.spot {
            Some(Spot::Factor(j, g)) if j == i && g == f => self.err,
            _ => None,
        }
    }
}

/// Widths of the factor table's columns: every row lines up, and an error gets a line of
/// its own under its row, starting below the field it is about.
const W: [f32; 9] = [22.0, 132.0, 104.0, 82.0, 150.0, 58.0, 70.0, 96.0, 190.0];

fn cell(ui: &mut Ui, col: usize, add: impl FnOnce(&mut Ui)) {
    let row_height = ui.spacing().interact_size.y;
    ui.allocate_ui_with_layout(
        egui::vec2(W[col], row_height),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(W[col]);
            add(ui)
        },
    );
}

/// What a factor row asks for beyond its own fields.
#[derive(Default)]
struct RowAction {
    remove: Option<usize>,
    swap: Option<(usize, usize)>,
    renamed: Option<(String, String)>,
}

impl DesignView {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        spec: &DesignSpec,
        derived: &Derived,
        commands: &mut Vec<Command>,
    ) {
        let err = derived.design.as_ref().err();
        let mut form = Form {
            s: spec.clone(),
            key: EditKey::Discrete,
            err,
            spot: err.map(spot),
        };
        fields_ui(ui, &mut form, spec);
        ui.add_space(8.0);
        self.factors_ui(ui, &mut form, derived);
        ui.add_space(10.0);
        terms_ui(ui, &mut form, derived);
        // The model switch is on the tool bar, above every view.
        if form.s != *spec {
            commands.push(Command::Edit {
                spec: form.s,
                key: form.key,
            });
        }
    }

    /// The factor table, Add factor, and the edits that carry over to nesting and terms.
    fn factors_ui(&mut self, ui: &mut Ui, form: &mut Form<'_>, derived: &Derived) {
        ui.horizontal(|ui| {
            ui.heading("Factors");
            ui.label(
                RichText::new("(one row per factor; the error subscript is the replicates)").weak(),
            );
        });
        if form.s.factors.is_empty() {
            ui.label("No factors yet: add one, or start from a template on the Start page.");
        }
        if matches!(form.spot, Some(Spot::General) | Some(Spot::Factors))
            && !form.s.factors.is_empty()
            && let Some(e) = form.err
        {
            error_label(ui, &e.to_string());
        }
        let checked = derived.full.as_ref().or(derived.design.as_ref().ok());
        if let Some(d) = checked {
            self.last_symbols = d
                .factors
                .iter()
                .map(|f| (f.symbol.clone(), f.subscript.clone()))
                .collect();
        }
        let mut action = RowAction::default();
        if !form.s.factors.is_empty() {
            header_row(ui);
            for i in 0..form.s.factors.len() {
                self.factor_row(ui, form, i, &mut action);
            }
        }
        if ui
            .button("Add factor")
            .on_hover_text("Add a factor (fixed, 2 levels, crossed with the others)")
            .clicked()
        {
            form.s.factors.push(FactorSpec {
                name: fresh_name(&form.s),
                kind: Kind::Fixed,
                levels: Some(2),
                nested_in: Vec::new(),
                symbol: None,
                role: None,
            });
            form.key = EditKey::Discrete;
        }
        carry_over(form, action);
    }

    /// One factor's row, and the problem with it under the field it is about.
    fn factor_row(&self, ui: &mut Ui, form: &mut Form<'_>, i: usize, action: &mut RowAction) {
        let row = i + 1;
        let n = form.s.factors.len();
        let mut count_error: Option<String> = None;
        let fill = if i % 2 == 1 {
            ui.visuals().faint_bg_color
        } else {
            egui::Color32::TRANSPARENT
        };
        egui::Frame::NONE.fill(fill).show(ui, |ui| {
            ui.horizontal(|ui| {
                cell(ui, 0, |ui| {
                    ui.label(row.to_string());
                });
                cell(ui, 1, |ui| name_cell(ui, form, i, action));
                cell(ui, 2, |ui| kind_cell(ui, form, i));
                cell(ui, 3, |ui| count_error = levels_cell(ui, form, i));
                cell(ui, 4, |ui| nested_cell(ui, form, i));
                cell(ui, 5, |ui| self.symbol_cell(ui, form, i));
                cell(ui, 6, |ui| {
                    let sub = self
                        .last_symbols
                        .get(i)
                        .map_or_else(|| "?".to_string(), |x| x.1.clone());
                    ui.label(RichText::new(sub).italics());
                });
                cell(ui, 7, |ui| role_cell(ui, form, i));
                cell(ui, 8, |ui| actions_cell(ui, i, n, action));
            });
        });
        let mut problems: Vec<(usize, String)> = Vec::new();
        if let Some(m) = count_error {
            problems.push((3, m));
        }
        for (field, col) in [
            (FactorField::Name, 1),
            (FactorField::Levels, 3),
            (FactorField::Nested, 4),
            (FactorField::Symbol, 5),
        ] {
            if let Some(e) = form.factor_err(i, field) {
                problems.push((col, e.to_string()));
            }
        }
        let gap = ui.spacing().item_spacing.x;
        for (col, message) in problems {
            let offset: f32 = W[..col].iter().map(|w| w + gap).sum();
            let left = offset.min((ui.available_width() - 320.0).max(0.0));
            ui.horizontal(|ui| {
                ui.add_space(left);
                ui.vertical(|ui| error_label(ui, &message));
            });
        }
    }

    fn symbol_cell(&self, ui: &mut Ui, form: &mut Form<'_>, i: usize) {
        let row = i + 1;
        let mut sym = form.s.factors[i].symbol.clone().unwrap_or_default();
        let default_symbol = self
            .last_symbols
            .get(i)
            .map(|x| x.0.clone())
            .unwrap_or_default();
        let mut edit = egui::TextEdit::singleline(&mut sym)
            .id_salt(("factor-symbol", i))
            .desired_width(W[5] - 12.0)
            .min_size(egui::vec2(W[5] - 12.0, 0.0))
            .hint_text(default_symbol);
        if form.factor_err(i, FactorField::Symbol).is_some() {
            edit = edit.background_color(error_color(ui).gamma_multiply(0.25));
        }
        let r = ui
            .add(edit)
            .accessible_name(format!("Symbol of factor {row}"));
        if r.changed() {
            form.s.factors[i].symbol = (!sym.trim().is_empty()).then(|| sym.trim().to_string());
            form.key = EditKey::Field(format!("factors[{i}].symbol"));
        }
    }
}

/// Title, response column, replicates.
fn fields_ui(ui: &mut Ui, form: &mut Form<'_>, spec: &DesignSpec) {
    egui::Grid::new("design-fields")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let l = ui.label("Title").on_hover_text(help::TITLE);
            let r = ui.add(
                egui::TextEdit::singleline(&mut form.s.title)
                    .desired_width(420.0)
                    .min_size(egui::vec2(420.0, 0.0))
                    .hint_text("e.g. Pigment paste moisture"),
            );
            if r.labelled_by(l.id).changed() {
                form.key = EditKey::Field("title".into());
            }
            ui.end_row();

            let l = ui.label("Response column").on_hover_text(help::RESPONSE);
            let mut response = form.s.response.clone().unwrap_or_default();
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut response)
                        .desired_width(280.0)
                        .min_size(egui::vec2(280.0, 0.0))
                        .hint_text("the only numeric non-factor column"),
                )
                .labelled_by(l.id);
            if r.changed() {
                form.s.response =
                    (!response.trim().is_empty()).then(|| response.trim().to_string());
                form.key = EditKey::Field("response".into());
            }
            ui.end_row();

            ui.label("Replicates (n)").on_hover_text(help::REPLICATES);
            ui.vertical(|ui| {
                let invalid = form.spot == Some(Spot::Replicates);
                let problem = count_field(
                    ui,
                    "replicates",
                    &mut form.s.replicates,
                    "Replicates",
                    "from data",
                    80.0,
                    invalid,
                );
                if let Some(m) = problem {
                    error_label(ui, &m);
                }
                if form.s.replicates != spec.replicates {
                    form.key = EditKey::Field("replicates".into());
                }
                if invalid && let Some(e) = form.err {
                    error_label(ui, &e.to_string());
                }
            });
            ui.end_row();
        });
}

fn header_row(ui: &mut Ui) {
    ui.horizontal(|ui| {
        let heads: [(&str, &str); 9] = [
            ("#", ""),
            ("Name", help::FACTOR_NAME),
            ("Kind", help::KIND),
            ("Levels", help::LEVELS),
            ("Nested in", help::NESTED),
            ("Symbol", help::SYMBOL),
            ("Subscript", help::SUBSCRIPT),
            ("Role", help::ROLE),
            ("", ""),
        ];
        for (col, (h, tip)) in heads.into_iter().enumerate() {
            cell(ui, col, |ui| {
                let r = ui.label(RichText::new(h).strong());
                if !tip.is_empty() {
                    r.on_hover_text(tip);
                }
            });
        }
    });
}

fn name_cell(ui: &mut Ui, form: &mut Form<'_>, i: usize, action: &mut RowAction) {
    let before = form.s.factors[i].name.clone();
    let invalid = form.factor_err(i, FactorField::Name).is_some();
    let mut edit = egui::TextEdit::singleline(&mut form.s.factors[i].name)
        .id_salt(("factor-name", i))
        .desired_width(W[1] - 8.0)
        .min_size(egui::vec2(W[1] - 8.0, 0.0));
    if invalid {
        edit = edit.background_color(error_color(ui).gamma_multiply(0.25));
    }
    let r = ui
        .add(edit)
        .accessible_name(format!("Name of factor {}", i + 1));
    if r.changed() {
        form.key = EditKey::Field(format!("factors[{i}].name"));
        action.renamed = Some((before, form.s.factors[i].name.clone()));
    }
}

fn kind_cell(ui: &mut Ui, form: &mut Form<'_>, i: usize) {
    let kind = form.s.factors[i].kind;
    egui::ComboBox::from_id_salt(("factor-kind", i))
        .selected_text(kind.as_str())
        .width(W[2] - 12.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut form.s.factors[i].kind, Kind::Fixed, "fixed")
                .on_hover_text(help::FIXED);
            ui.selectable_value(&mut form.s.factors[i].kind, Kind::Random, "random")
                .on_hover_text(help::RANDOM);
        })
        .response
        .accessible_name(format!("Kind of factor {}", i + 1));
}

/// The factor's part in a gauge R&R study: the parts measured, or who measures them.
fn role_cell(ui: &mut Ui, form: &mut Form<'_>, i: usize) {
    let role = form.s.factors[i].role;
    let text = role.map_or("—", Role::as_str);
    let mut chosen = role;
    egui::ComboBox::from_id_salt(("factor-role", i))
        .selected_text(text)
        .width(W[7] - 12.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut chosen, None, "—");
            ui.selectable_value(&mut chosen, Some(Role::Part), "part")
                .on_hover_text(help::ROLE_PART);
            ui.selectable_value(&mut chosen, Some(Role::Operator), "operator")
                .on_hover_text(help::ROLE_OPERATOR);
        })
        .response
        .accessible_name(format!("Role of factor {}", i + 1));
    if chosen != role {
        // One factor per role: the one that had it gives it up.
        if let Some(r) = chosen {
            for f in &mut form.s.factors {
                if f.role == Some(r) {
                    f.role = None;
                }
            }
        }
        form.s.factors[i].role = chosen;
        form.key = EditKey::Discrete;
    }
}

fn levels_cell(ui: &mut Ui, form: &mut Form<'_>, i: usize) -> Option<String> {
    let before = form.s.factors[i].levels;
    let invalid = form.factor_err(i, FactorField::Levels).is_some();
    let problem = count_field(
        ui,
        &format!("levels-{i}"),
        &mut form.s.factors[i].levels,
        &format!("Levels of factor {}", i + 1),
        "from data",
        W[3] - 12.0,
        invalid,
    );
    if form.s.factors[i].levels != before {
        form.key = EditKey::Field(format!("factors[{i}].levels"));
    }
    problem
}

/// The parents chooser: every other factor, and any parent named that is not a factor
/// (so that it can be unchecked).
fn nested_cell(ui: &mut Ui, form: &mut Form<'_>, i: usize) {
    let names: Vec<String> = form.s.factors.iter().map(|f| f.name.clone()).collect();
    let current = &form.s.factors[i].nested_in;
    let text = if current.is_empty() {
        "— (crossed)".to_string()
    } else {
        current.join(", ")
    };
    let mut nested = current.clone();
    let unknown: Vec<String> = current
        .iter()
        .filter(|p| !names.contains(p))
        .cloned()
        .collect();
    egui::ComboBox::from_id_salt(("factor-nested", i))
        .selected_text(text)
        .width(W[4] - 12.0)
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
        .show_ui(ui, |ui| {
            let others: Vec<&String> = names
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, n)| n)
                .collect();
            if others.is_empty() && unknown.is_empty() {
                ui.label("Add another factor to nest this one in it.");
            }
            for other in others {
                let mut on = nested.contains(other);
                if ui
                    .checkbox(&mut on, other.as_str())
                    .on_hover_text(format!(
                        "Each level of {} occurs within one level of {other} only",
                        names[i]
                    ))
                    .changed()
                {
                    if on {
                        nested.push(other.clone());
                    } else {
                        nested.retain(|p| p != other);
                    }
                }
            }
            for gone in &unknown {
                let mut on = true;
                if ui
                    .checkbox(&mut on, format!("{gone} (no such factor)"))
                    .on_hover_text("Not a factor of this design: uncheck to remove it")
                    .changed()
                    && !on
                {
                    nested.retain(|p| p != gone);
                }
            }
        })
        .response
        .accessible_name(format!("Nested in (factor {})", i + 1));
    if nested != form.s.factors[i].nested_in {
        // Keep parents in declaration order, as in the shipped files.
        nested.sort_by_key(|p| names.iter().position(|n| n == p));
        form.s.factors[i].nested_in = nested;
        form.key = EditKey::Discrete;
    }
}

fn actions_cell(ui: &mut Ui, i: usize, n: usize, action: &mut RowAction) {
    let row = i + 1;
    if ui
        .add_enabled(i > 0, egui::Button::new("↑").small())
        .on_hover_text("Move up (changes the order of terms and subscripts)")
        .accessible_name(format!("Move factor {row} up"))
        .clicked()
    {
        action.swap = Some((i - 1, i));
    }
    if ui
        .add_enabled(i + 1 < n, egui::Button::new("↓").small())
        .on_hover_text("Move down")
        .accessible_name(format!("Move factor {row} down"))
        .clicked()
    {
        action.swap = Some((i, i + 1));
    }
    if ui
        .small_button("Remove")
        .on_hover_text("Remove this factor (factors nested in it are no longer nested)")
        .accessible_name(format!("Remove factor {row}"))
        .clicked()
    {
        action.remove = Some(i);
    }
}

/// Structural edits that must carry over to the term list and the nesting.
fn carry_over(form: &mut Form<'_>, action: RowAction) {
    let s = &mut form.s;
    if let Some((old, new)) = action.renamed
        && old != new
    {
        for f in &mut s.factors {
            for p in &mut f.nested_in {
                if *p == old {
                    *p = new.clone();
                }
            }
        }
        if let Some(terms) = &mut s.terms {
            for t in terms.iter_mut() {
                *t = rename_in_term(t, &old, &new);
            }
        }
    }
    if let Some(i) = action.remove {
        let name = s.factors.remove(i).name;
        for f in &mut s.factors {
            f.nested_in.retain(|p| *p != name);
        }
        if let Some(terms) = &mut s.terms {
            *terms = terms
                .iter()
                .filter_map(|t| remove_from_term(t, &name))
                .collect();
            if terms.is_empty() {
                s.terms = None;
            }
        }
        form.key = EditKey::Discrete;
    }
    if let Some((a, b)) = action.swap {
        s.factors.swap(a, b);
        form.key = EditKey::Discrete;
    }
}

fn terms_ui(ui: &mut Ui, form: &mut Form<'_>, derived: &Derived) {
    let err = form.err;
    let where_ = form.spot.as_ref();
    let s = &mut form.s;
    let key = &mut form.key;
    {
        ui.horizontal(|ui| {
            ui.heading("Terms");
            ui.label(RichText::new("(unchecked terms pool into Residual)").weak())
                .on_hover_text(help::TERMS);
        });
        let Some(full) = &derived.full else {
            ui.label("Fix the factors above to see the terms they allow.");
            return;
        };
        let current = derived.design.as_ref().ok();
        let listed: Option<Vec<String>> = s.terms.clone();
        let is_on = |name: &str| {
            listed
                .as_ref()
                .is_none_or(|l| l.iter().any(|t| t.trim() == name))
        };
        let mut toggled: Option<(String, bool)> = None;
        ui.horizontal_wrapped(|ui| {
            for t in &full.terms {
                let mut on = is_on(&t.name);
                let df = full
                    .df(t)
                    .map_or_else(|| full.df_symbolic(t), |v| v.to_string());
                let r = ui
                    .checkbox(&mut on, format!("{}  (df {df})", t.name))
                    .accessible_name(format!("Term {}", t.name))
                    .on_hover_text(help::term_tip(&t.name, t.random));
                if r.changed() {
                    toggled = Some((t.name.clone(), on));
                }
                ui.add_space(8.0);
            }
        });
        if let Some(d) = current {
            let df = d
                .residual_df()
                .map_or_else(|| d.residual_df_symbolic(), |v| v.to_string());
            let pooled = if d.pooled.is_empty() {
                String::new()
            } else {
                format!(
                    " (pure error + pooled {})",
                    d.pooled
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            ui.label(format!("Residual: df {df}{pooled}"));
            for a in &d.absorbed {
                ui.label(format!(
                    "{} absorbs {} (the smallest kept term containing it): df {}",
                    d.terms[a.into].name,
                    a.term.name,
                    d.row_df(a.into)
                        .map_or_else(|| d.row_df_symbolic(a.into), |v| v.to_string())
                ));
            }
        }
        // Errors about the term list.
        match where_ {
            Some(Spot::Term(i)) => {
                if let Some(e) = err {
                    let name = s
                        .terms
                        .as_ref()
                        .and_then(|l| l.get(*i))
                        .cloned()
                        .unwrap_or_default();
                    error_label(ui, &format!("{e} (term `{name}`)"));
                }
            }
            Some(Spot::Terms) => {
                if let Some(e) = err {
                    error_label(ui, &e.to_string());
                }
            }
            _ => {}
        }
        if s.terms.is_some()
            && ui
                .button("Use the full model")
                .on_hover_text("Keep every term the factor structure allows (no pooling)")
                .clicked()
        {
            s.terms = None;
            *key = EditKey::Discrete;
        }
        if let Some((name, on)) = toggled {
            let mut list: Vec<String> = match &s.terms {
                Some(l) => l.clone(),
                None => full.terms.iter().map(|t| t.name.clone()).collect(),
            };
            if on {
                if !list.iter().any(|t| t.trim() == name) {
                    list.push(name);
                }
                // Keep canonical order.
                list.sort_by_key(|t| full.terms.iter().position(|u| u.name == t.trim()));
            } else {
                list.retain(|t| t.trim() != name);
            }
            let all = full
                .terms
                .iter()
                .all(|t| list.iter().any(|l| l.trim() == t.name));
            s.terms = if all { None } else { Some(list) };
            *key = EditKey::Discrete;
        }
    }
}

/// The restricted / unrestricted switch: one click re-derives every table.
pub fn model_switch(ui: &mut Ui, options: &emslab::analysis::Options, commands: &mut Vec<Command>) {
    let model = options.model;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Model").strong())
            .on_hover_text(help::MODEL);
        let mut m = model;
        ui.radio_value(&mut m, Model::Restricted, "Restricted")
            .on_hover_text(help::RESTRICTED);
        ui.radio_value(&mut m, Model::Unrestricted, "Unrestricted")
            .on_hover_text(help::UNRESTRICTED);
        if m != model {
            commands.push(Command::SetAnalysisOptions(emslab::analysis::Options {
                model: m,
                ..*options
            }));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_whole_tokens_only() {
        assert_eq!(rename_in_term("A:AB(C)", "A", "X"), "X:AB(C)");
        assert_eq!(
            rename_in_term("sample(batch)", "batch", "lot"),
            "sample(lot)"
        );
        assert_eq!(rename_in_term("w(s,l)", "l", "lot"), "w(s,lot)");
    }

    #[test]
    fn removing_a_parent_unnests_the_term() {
        assert_eq!(
            remove_from_term("sample(batch)", "batch"),
            Some("sample".into())
        );
        assert_eq!(remove_from_term("A:C(B)", "A"), None);
        assert_eq!(remove_from_term("w(s,l)", "s"), Some("w(l)".into()));
    }
}
