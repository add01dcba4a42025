//! SVG line charts of the experiments: one line per selector with its 90% band.

use plotters::prelude::*;

/// A line with a band: `(x, mean, [low, high])` points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, [f64; 2])>,
}

/// Colour-blind-safe palette (Okabe-Ito).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
];

/// Writes an SVG chart of `series` to `path`. The legend goes in the upper right if the
/// lines fall (errors), else in the lower right (success).
pub fn line_chart(path: &std::path::Path, title: &str, x_label: &str, y_label: &str, y_range: (f64, f64), series: &[Series]) -> anyhow::Result<()> {
    let falling = series.iter().any(|s| matches!((s.points.first(), s.points.last()), (Some(a), Some(b)) if b.1 < a.1));
    let root = SVGBackend::new(path, (800, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(1.0, f64::max);
    let x_min = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(x_max, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, y_range.0..y_range.1)?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).light_line_style(WHITE).draw()?;
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let band: Vec<(f64, f64)> =
            s.points.iter().map(|p| (p.0, p.2[1])).chain(s.points.iter().rev().map(|p| (p.0, p.2[0]))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
        chart
            .draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), colour.stroke_width(3)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
        chart.draw_series(s.points.iter().map(|p| Circle::new((p.0, p.1), 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(if falling { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight })
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .draw()?;
    root.present()?;
    Ok(())
}
