//! What is restored at the next start (eframe persistence). Every field has a default, so
//! an old or damaged session never prevents the app from starting; sessions written before
//! the analysis settings became [`analysis::Options`] (loose `model`, `alpha`, `reml`, `ml`
//! and `negative` fields) still load.

use std::path::PathBuf;

use emslab::Model;
use emslab::analysis::{self, Likelihood};
use emslab::moments::NegativePolicy;
use serde::{Deserialize, Serialize};

use super::app::View;
use super::gauge_view::GaugeSettings;
use super::plan::PlanSettings;

/// The restored state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SessionFile")]
pub struct Session {
    pub design_path: Option<PathBuf>,
    /// The design as last seen, saved or not (unsaved edits survive a restart).
    pub design_toml: Option<String>,
    pub template: Option<String>,
    pub data_path: Option<PathBuf>,
    /// The analysis settings, the model of every table included (persisted as they are).
    pub options: analysis::Options,
    /// The EMS engine (Symbolica only in builds with the `symbolica` feature).
    pub engine: emslab::cas::Engine,
    pub view: View,
    /// `None`: follow the system theme.
    pub dark: Option<bool>,
    pub zoom: f32,
    /// Include the derivation steps when exporting the whole EMS report.
    pub export_steps: bool,
    /// Use emslab's own file chooser instead of the system's (set automatically when the
    /// system has none).
    pub builtin_chooser: bool,
    pub recent: Vec<PathBuf>,
    /// The Plan view's inputs (expected components and effects, the solve).
    pub plan: PlanSettings,
    /// The gauge study's inputs (tolerance, study variation, interaction alpha).
    pub gauge: GaugeSettings,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            design_path: None,
            design_toml: None,
            template: None,
            data_path: None,
            options: app_options(analysis::Options::default()),
            engine: emslab::cas::Engine::Emslab,
            view: View::Start,
            dark: None,
            zoom: 1.0,
            export_steps: false,
            builtin_chooser: false,
            recent: Vec::new(),
            plan: PlanSettings::default(),
            gauge: GaugeSettings::default(),
        }
    }
}

/// The options as the app runs them: residuals are always kept (the residual plots).
pub fn app_options(o: analysis::Options) -> analysis::Options {
    analysis::Options {
        residuals: true,
        ..o
    }
}

/// A session file as read: today's fields and the loose settings of older ones.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SessionFile {
    design_path: Option<PathBuf>,
    design_toml: Option<String>,
    template: Option<String>,
    data_path: Option<PathBuf>,
    options: Option<analysis::Options>,
    engine: emslab::cas::Engine,
    view: View,
    dark: Option<bool>,
    zoom: Option<f32>,
    export_steps: bool,
    builtin_chooser: bool,
    recent: Vec<PathBuf>,
    plan: PlanSettings,
    gauge: GaugeSettings,
    // Before `options`:
    model: Option<Model>,
    alpha: Option<f64>,
    reml: Option<bool>,
    ml: Option<bool>,
    negative: Option<String>,
}

impl From<SessionFile> for Session {
    fn from(f: SessionFile) -> Session {
        let options = f.options.unwrap_or_else(|| {
            let default = analysis::Options::default();
            analysis::Options {
                model: f.model.unwrap_or(default.model),
                alpha: f.alpha.unwrap_or(default.alpha),
                negative: match f.negative.as_deref() {
                    Some("zero") => NegativePolicy::Zero,
                    Some("pool") => NegativePolicy::Pool,
                    _ => NegativePolicy::Report,
                },
                likelihood: match (f.reml.unwrap_or(true), f.ml.unwrap_or(false)) {
                    (false, _) => Likelihood::Off,
                    (true, false) => Likelihood::Reml,
                    (true, true) => Likelihood::RemlAndMl,
                },
                ss_type: default.ss_type,
                reml_starts: default.reml_starts,
                residuals: true,
                adjust: default.adjust,
                kenward_roger: default.kenward_roger,
            }
        });
        Session {
            design_path: f.design_path,
            design_toml: f.design_toml,
            template: f.template,
            data_path: f.data_path,
            options: app_options(options),
            engine: f.engine,
            view: f.view,
            dark: f.dark,
            zoom: f.zoom.unwrap_or(1.0),
            export_steps: f.export_steps,
            builtin_chooser: f.builtin_chooser,
            recent: f.recent,
            plan: f.plan,
            gauge: f.gauge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_session_with_loose_settings_loads() {
        let old = r#"{"model": "unrestricted", "alpha": 0.1, "reml": true, "ml": true,
            "negative": "pool", "zoom": 1.5, "view": "Results"}"#;
        let s: Session = serde_json::from_str(old).expect("an old session loads");
        assert_eq!(s.options.model, Model::Unrestricted);
        assert_eq!(s.options.alpha, 0.1);
        assert_eq!(s.options.likelihood, Likelihood::RemlAndMl);
        assert_eq!(s.options.negative, NegativePolicy::Pool);
        assert_eq!(s.zoom, 1.5);
        assert_eq!(s.view, View::Results);
        // Written back with the options as they are, and read again unchanged.
        let text = serde_json::to_string(&s).expect("serialises");
        assert!(text.contains("\"options\""));
        let back: Session = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, s);
        // Missing or unknown fields take their defaults.
        let partial: Session = serde_json::from_str(r#"{"zoom": 1.2, "x": 1}"#).expect("loads");
        assert_eq!(partial.options.model, Model::Restricted);
        assert_eq!(partial.options.likelihood, Likelihood::Reml);
    }
}
