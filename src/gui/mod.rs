//! The desktop app (feature `gui`): eframe/egui over the library. It lives in the binary;
//! the library never depends on egui.
//!
//! - [`app`]: the state and the frame; [`panels`]: menu, tool bar, status line, start
//!   page; [`apply`]: the commands the panels queue, applied after each frame;
//! - [`session`]: what is restored at the next start;
//! - [`doc`]: the design being edited and what is derived from it; [`engine`]: Symbolica;
//! - [`data`]: the data file and its read; [`current`]: the analysis of (design, data,
//!   options) with everything drawn from it;
//! - [`design_view`], [`plan`], [`ems_view`] (with [`precision_view`]), [`data_view`], [`results`], [`help`]: one
//!   view each; [`gauge_view`]: the results' gauge study; [`means_view`]: the results'
//!   means, comparisons and plot of means; [`plots`]: the plots from the library's chart
//!   data;
//! - [`table_view`]: the one renderer of every report table; [`display`]: the screen's
//!   display rules; [`math`]: σ notation;
//! - [`jobs`]: work off the UI thread with progress and cancel; [`dialogs`]: file dialogs.

mod app;
mod apply;
mod command;
mod current;
mod data;
mod data_view;
mod design_view;
mod dialogs;
mod display;
mod doc;
mod ems_view;
mod engine;
mod gauge_view;
mod help;
mod jobs;
mod math;
mod means_view;
mod panels;
mod plan;
mod plots;
mod precision_view;
mod results;
mod session;
mod table_view;
mod templates;

/// The test suite's tolerances and reference files (`tests/common`), for the app's tests.
#[cfg(test)]
#[path = "../../tests/common/references.rs"]
mod test_references;
#[cfg(test)]
#[path = "../../tests/common/tolerances.rs"]
mod test_tolerances;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_state;

use std::path::PathBuf;

pub use app::EmslabApp;
use command::Command;
pub use session::Session;

/// Why the app could not run.
#[derive(Debug)]
pub enum GuiError {
    /// A file named on the command line cannot be used (exit status 2).
    Input(String),
    /// No window could be opened (no display, no OpenGL) (exit status 1).
    Platform(String),
}

const APP_ID: &str = "emslab";
const DEJAVU: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const ICON: &[u8] = include_bytes!("../../assets/icon.png");

/// Adds DejaVu Sans after egui's own fonts: it has the glyphs of the notation that egui's
/// default fonts lack (primes ′ ″, subscript letters such as ᵢ, arrows, ≤ ≥ ...); and as
/// the first font of [`math::GREEK`], the family Greek letters are set in (egui's default
/// font draws χ and ν like x and v).
pub fn install_fonts(ctx: &egui::Context) {
    use egui::epaint::text::{FontData, FontInsert, FontPriority, InsertFontFamily};
    ctx.add_font(FontInsert::new(
        "DejaVuSans",
        FontData::from_static(DEJAVU),
        vec![
            InsertFontFamily {
                family: egui::FontFamily::Proportional,
                priority: FontPriority::Lowest,
            },
            InsertFontFamily {
                family: egui::FontFamily::Monospace,
                priority: FontPriority::Lowest,
            },
        ],
    ));
    ctx.add_font(FontInsert::new(
        "DejaVuSans-Greek",
        FontData::from_static(DEJAVU),
        vec![InsertFontFamily {
            family: egui::FontFamily::Name(math::GREEK.into()),
            priority: FontPriority::Highest,
        }],
    ));
}

/// Sets up an app from a session and the command line: a design (and data) named there
/// replace the session's.
pub fn make_app(
    session: Session,
    design: Option<PathBuf>,
    data: Option<PathBuf>,
) -> Result<EmslabApp, GuiError> {
    let mut app = EmslabApp::new(session);
    if let Some(path) = &design {
        // A design named on the command line is checked in full before any window opens:
        // a bad file is one message on the terminal and exit status 2, as for `ems`.
        emslab::io::read_design(path).map_err(|e| GuiError::Input(e.to_string()))?;
    }
    if let Some(path) = &data
        && !path.is_file()
    {
        return Err(GuiError::Input(format!("{}: no such file", path.display())));
    }
    if let Some(path) = &design {
        // One command: the data are read for this design, after any question about the
        // unsaved changes of the restored one (and not at all when the user cancels).
        app.push(Command::OpenDesign {
            path: path.clone(),
            data: data.clone(),
        });
        if data.is_none() {
            app.push(Command::ShowView(app::View::Ems));
        }
    } else if let Some(path) = data {
        app.push(Command::OpenData(path));
    } else if let Some(p) = app.session.data_path.clone()
        && p.is_file()
        && app.derived.design.is_ok()
    {
        // Restore the session's data too.
        app.push(Command::OpenData(p));
        app.push(Command::ShowView(app.session.view));
    }
    Ok(app)
}

/// Opens the window; returns when it is closed.
pub fn run(design: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), GuiError> {
    // Check the files before opening a window, so that a typo is an error on the terminal.
    let probe = make_app(Session::default(), design.clone(), data.clone())?;
    drop(probe);

    let mut viewport = egui::ViewportBuilder::default()
        .with_title("emslab")
        .with_app_id(APP_ID)
        .with_inner_size([1280.0, 860.0])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        persist_window: true,
        ..Default::default()
    };
    let result = eframe::run_native(
        APP_ID,
        options,
        Box::new(move |cc| {
            install_fonts(&cc.egui_ctx);
            let session: Session = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            let app = make_app(session, design, data).map_err(|e| match e {
                GuiError::Input(m) | GuiError::Platform(m) => m,
            })?;
            Ok(Box::new(app))
        }),
    );
    result.map_err(|e| {
        GuiError::Platform(format!(
            "could not open the window: {e}. The app needs a graphical session (X11 or Wayland) with OpenGL; see README (Desktop app)"
        ))
    })
}
