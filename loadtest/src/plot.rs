//! SVG plots: the latency percentile curve of each operation (one or more
//! reports side by side), and the rate sweep (p50 and p99 over the offered
//! rate, with the bound).

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::report::{Report, Sweep};

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Percentile → "nines" axis: 50 % → 0.3, 90 % → 1, 99 % → 2, 99.9 % → 3; max at 5.5.
fn nines(p: f64) -> f64 {
    if p >= 100.0 {
        5.5
    } else {
        (-(1.0 - p / 100.0).log10()).min(5.0)
    }
}

fn nines_label(x: &f64) -> String {
    match (*x * 10.0).round() as i64 {
        0 => "0%".into(),
        3 => "50%".into(),
        10 => "90%".into(),
        20 => "99%".into(),
        30 => "99.9%".into(),
        40 => "99.99%".into(),
        50 => "99.999%".into(),
        55 => "max".into(),
        _ => String::new(),
    }
}

/// Latency by percentile, every operation of every report (log scale).
pub fn percentiles(path: &Path, reports: &[&Report]) -> anyhow::Result<()> {
    let points: Vec<f64> =
        reports.iter().flat_map(|r| r.operations.values().flat_map(|o| o.percentiles.iter().map(|p| p.1))).collect();
    let lo = points.iter().cloned().fold(f64::INFINITY, f64::min).max(0.001);
    let hi = points.iter().cloned().fold(0.0, f64::max).max(lo * 10.0);
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency by percentile", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0f64..5.7, (lo / 1.5..hi * 1.5).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_labels(12)
        .x_label_formatter(&nines_label)
        .y_label_formatter(&|v| format!("{v}"))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let mut i = 0;
    for r in reports {
        for (name, o) in &r.operations {
            let colour = COLOURS[i % COLOURS.len()];
            i += 1;
            let label = if reports.len() > 1 { format!("{} {name}", r.target) } else { name.clone() };
            chart
                .draw_series(LineSeries::new(
                    o.percentiles.iter().map(|&(p, ms)| (nines(p), ms)),
                    colour.stroke_width(2),
                ))
                .map_err(|e| anyhow!("{e}"))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
    }
    finish(&mut chart, &root)
}

/// p50 and p99 of every operation over the offered rate, and the bound.
pub fn sweep(path: &Path, sweep: &Sweep) -> anyhow::Result<()> {
    let rates: Vec<f64> = sweep.steps.iter().map(|s| s.rate_per_s).collect();
    let max_rate = rates.iter().cloned().fold(1.0, f64::max);
    let lat: Vec<f64> =
        sweep.steps.iter().flat_map(|s| s.report.operations.values().flat_map(|o| [o.p50_ms, o.p99_ms])).collect();
    let lo = lat.iter().cloned().fold(f64::INFINITY, f64::min).clamp(0.001, sweep.p99_bound_ms);
    let hi = lat.iter().cloned().fold(sweep.p99_bound_ms, f64::max);
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Latency over the offered rate (bound: {} p99 ≤ {} ms)", sweep.operation, sweep.p99_bound_ms),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_rate * 1.05, (lo / 1.5..hi * 1.5).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("offered rate (requests/s, all operations)")
        .y_desc("latency (ms)")
        .y_label_formatter(&|v| format!("{v}"))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let ops: Vec<String> =
        sweep.steps.first().map(|s| s.report.operations.keys().cloned().collect()).unwrap_or_default();
    for (i, op) in ops.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for (q, width) in [("p50", 1), ("p99", 3)] {
            let pts: Vec<(f64, f64)> = sweep
                .steps
                .iter()
                .filter_map(|s| {
                    s.report.operations.get(op).map(|o| (s.rate_per_s, if q == "p50" { o.p50_ms } else { o.p99_ms }))
                })
                .filter(|p| p.1 > 0.0)
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(width)))
                .map_err(|e| anyhow!("{e}"))?
                .label(format!("{op} {q}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(width)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(|e| anyhow!("{e}"))?;
        }
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, sweep.p99_bound_ms), (max_rate * 1.05, sweep.p99_bound_ms)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("bound")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    finish(&mut chart, &root)
}

/// The legend, upper left, and the file written.
fn finish<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    root: &DrawingArea<DB, plotters::coord::Shift>,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
