//! The page's learning curves as an SVG string (plotters' SVG backend, which needs no
//! canvas or fonts, so it is drawn and tested natively like everything else). The
//! legend is left to the page, which lists the tasks with [`TASK_COLOURS`].

use plotters::prelude::*;

use crate::experiment::CurvePoint;
use crate::tasks::NUM_TASKS;

/// One colour per task (by `TaskId::index`): Okabe-Ito's eight and two darker tones for
/// the first ten; each variant of suite 2 takes a darker shade of its family's colour.
pub const TASK_COLOURS: [(u8, u8, u8); NUM_TASKS] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (230, 159, 0),
    (240, 228, 66),
    (120, 94, 240),
    (140, 86, 75),
    (127, 127, 127),
    (30, 110, 160),
    (160, 100, 0),
    (160, 150, 20),
    (70, 70, 70),
    (150, 60, 110),
    (0, 100, 70),
];

/// CSS colour of a task's line.
pub fn task_colour(task: usize) -> String {
    let (r, g, b) = TASK_COLOURS[task % NUM_TASKS];
    format!("rgb({r}, {g}, {b})")
}

type SuccessChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// An SVG chart of success (0 to 100%) against demonstrations (0 to `x_max`), with
/// labelled axes; `draw` adds the lines.
fn success_chart(
    size: (u32, u32),
    x_max: usize,
    y_desc: &str,
    draw: impl FnOnce(&mut SuccessChart) -> Result<(), String>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..x_max.max(1) as f64, 0.0..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("demonstrations")
            .y_desc(y_desc)
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(240, 242, 246))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        draw(&mut chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A line through `points` with a round marker of `radius` at each.
fn line_with_markers(chart: &mut SuccessChart, points: Vec<(f64, f64)>, line: ShapeStyle, marker: ShapeStyle, radius: u32) -> Result<(), String> {
    chart.draw_series(LineSeries::new(points.iter().copied(), line)).map_err(|e| e.to_string())?;
    chart.draw_series(points.into_iter().map(|p| Circle::new(p, radius, marker))).map_err(|e| e.to_string())?;
    Ok(())
}

/// Success against demonstrations: a thin line per task in `shown` and a thick line for
/// the weighted mean. `x_max` is at least the budget, so the axis does not jump.
pub fn learning_curves_svg(curve: &[CurvePoint], shown: &[bool], x_max: usize, size: (u32, u32)) -> Result<String, String> {
    let x_max = x_max.max(curve.iter().map(|p| p.demonstrations).max().unwrap_or(0));
    success_chart(size, x_max, "success rate", |chart| {
        for task in (0..NUM_TASKS).filter(|&t| shown.get(t).copied().unwrap_or(true)) {
            let (r, g, b) = TASK_COLOURS[task];
            let colour = RGBColor(r, g, b);
            let points = curve.iter().filter_map(|p| Some((p.demonstrations as f64, *p.per_task.get(task)?))).collect();
            line_with_markers(chart, points, colour.mix(0.75).stroke_width(2), colour.filled(), 2)?;
        }
        let mean = curve.iter().map(|p| (p.demonstrations as f64, p.mean_success)).collect();
        line_with_markers(chart, mean, BLACK.stroke_width(4), BLACK.filled(), 4)
    })
}

/// Colours of the compared selectors' lines (AMF first).
pub const SELECTOR_COLOURS: [(u8, u8, u8); 2] = [(0, 114, 178), (213, 94, 0)];

/// Mean success against demonstrations for several runs side by side (the page's live
/// comparison), one thick line each in [`SELECTOR_COLOURS`].
pub fn comparison_svg(runs: &[&[CurvePoint]], x_max: usize, size: (u32, u32)) -> Result<String, String> {
    success_chart(size, x_max, "mean success", |chart| {
        for (i, curve) in runs.iter().enumerate() {
            let (r, g, b) = SELECTOR_COLOURS[i % SELECTOR_COLOURS.len()];
            let colour = RGBColor(r, g, b);
            let points = curve.iter().map(|p| (p.demonstrations as f64, p.mean_success)).collect();
            line_with_markers(chart, points, colour.stroke_width(3), colour.filled(), 4)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(demonstrations: usize, value: f64) -> CurvePoint {
        CurvePoint { demonstrations, per_task: vec![value; NUM_TASKS], mean_success: value, mean_error: None }
    }

    #[test]
    fn the_chart_draws_a_marker_per_point_and_labels_its_axes() {
        let curve = [point(0, 0.5), point(2, 0.7), point(4, 0.9)];
        let mut shown = vec![false; NUM_TASKS];
        shown[3] = true;
        let svg = learning_curves_svg(&curve, &shown, 20, (480, 300)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("demonstrations") && svg.contains("success rate"));
        // Three points for the mean and three for the one task shown.
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("100%"), "the y axis is in percent");
    }

    #[test]
    fn the_comparison_draws_each_run() {
        let (a, b) = ([point(0, 0.5), point(5, 0.8)], [point(0, 0.5), point(5, 0.6), point(10, 0.7)]);
        let svg = comparison_svg(&[&a, &b], 20, (480, 300)).unwrap();
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains("mean success"));
    }
}
