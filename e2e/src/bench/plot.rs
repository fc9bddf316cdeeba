//! The convergence plot: one panel per scenario with a convergence series (S1-S3), the share of each
//! criterion that holds over time, one line style per CCM, and the scenario's lower bound as a vertical line.
//!
//! Text uses a font shipped inside a crate (`epaint_default_fonts`, Ubuntu Light), registered with plotters'
//! `ab_glyph` backend, so no system font or fontconfig is needed.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::report::{BenchReport, ScenarioReport};
use crate::error::{Error, Result};

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 420;

/// Colours per criterion, in [`super::observe::Progress::fractions`] order of names.
const CRITERIA: [(&str, RGBColor); 5] = [
    ("nodes untainted", RGBColor(31, 119, 180)),
    ("NetworkUnavailable=False", RGBColor(255, 127, 14)),
    ("routes correct", RGBColor(44, 160, 44)),
    ("ingress IP set", RGBColor(214, 39, 40)),
    ("backends correct", RGBColor(148, 103, 189)),
];

fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT).is_ok());
    if ok { Ok(()) } else { Err(Error::Other("the plot font could not be loaded".into())) }
}

fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Other(format!("drawing the convergence plot: {e}"))
}

/// A series drawn as steps: each value holds until the next observation.
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(*p);
    }
    out
}

/// Scenarios with something to plot.
fn plotted(report: &BenchReport) -> Vec<&ScenarioReport> {
    report
        .scenarios
        .iter()
        .filter(|s| s.results.iter().flatten().any(|r| r.series.len() > 1 || r.time_to_converge_s.is_some()))
        .filter(|s| s.id != super::report::ScenarioId::S4)
        .collect()
}

/// Draws `report`'s convergence series to a PNG at `path`; returns false when there is nothing to draw.
pub fn render(report: &BenchReport, path: &Path) -> Result<bool> {
    let scenarios = plotted(report);
    if scenarios.is_empty() {
        return Ok(false);
    }
    ensure_font()?;
    let height = PANEL_HEIGHT * scenarios.len() as u32;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let panels = root.split_evenly((scenarios.len(), 1));
    for (area, s) in panels.iter().zip(&scenarios) {
        draw_panel(area, report, s)?;
    }
    root.present().map_err(draw_err)?;
    Ok(true)
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    report: &BenchReport,
    s: &ScenarioReport,
) -> Result<()> {
    let bound = s.lower_bound.time_s;
    let t_max =
        s.results.iter().flatten().flat_map(|r| r.series.iter().map(|p| p.t_s)).chain(bound).fold(1.0_f64, f64::max)
            * 1.05;
    let mut title = format!("{} {}", s.id.code(), s.title);
    if title.chars().count() > 95 {
        title = title.chars().take(92).collect::<String>() + "...";
    }
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..t_max, 0.0..102.0)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the scenario started")
        .y_desc("% converged")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(draw_err)?;
    if let Some(b) = bound {
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(vec![(b, 0.0), (b, 100.0)], 6, 4, grey.stroke_width(1)))
            .map_err(draw_err)?
            .label(format!("lower bound {b:.1}s"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], grey.stroke_width(1)));
    }
    for (k, (ccm, result)) in report.ccms.iter().zip(&s.results).enumerate() {
        let Some(result) = result else { continue };
        for (criterion, colour) in CRITERIA {
            let points: Vec<(f64, f64)> = result
                .series
                .iter()
                .filter_map(|p| {
                    p.progress.fractions().into_iter().find(|(c, _)| *c == criterion).map(|(_, f)| (p.t_s, f * 100.0))
                })
                .collect();
            // Criteria that held throughout (nodes during S2, say) only clutter the panel.
            if points.is_empty() || points.iter().all(|(_, v)| *v >= 100.0) {
                continue;
            }
            let points = steps(&points);
            let style = colour.stroke_width(2);
            let label = if report.ccms.len() > 1 { format!("{}: {criterion}", ccm.name) } else { criterion.to_owned() };
            let dashed = k % 2 == 1;
            let anno = if dashed {
                chart.draw_series(DashedLineSeries::new(points, 10, 5, style)).map_err(draw_err)?
            } else {
                chart.draw_series(LineSeries::new(points, style)).map_err(draw_err)?
            };
            anno.label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + if dashed { 12 } else { 24 }, y)], style));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}
