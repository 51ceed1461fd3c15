//! What `casa eval intent` writes besides its report: the features as CSV
//! and the recall curves as SVG.

use super::*;

/// Every scored case's features, for analysis outside casa.
pub(super) fn dump(path: &Path, prepared: &Prepared, dev: &[Row], many: &[Row]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(out, "layout,fold,question,tool,allow,{}", relevance::BASE.join(","))?;
    for (layout, rows) in [("dev", dev), ("many", many)] {
        for r in rows {
            let values: Vec<String> = (0..relevance::BASE.len()).map(|i| r.features.get(i).to_string()).collect();
            writeln!(
                out,
                "{layout},{},{},{:?},{},{}",
                r.fold,
                prepared.questions[r.question].id,
                r.tool.replace('"', "'"),
                r.allow as u8,
                values.join(",")
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

pub(super) fn plot(path: &Path, variants: &[Option<u32>], curves: &[Vec<(f64, Recall)>]) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("SEMANTIC_INTENT_MATCH: recall over the threshold", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.1f64..0.8f64, 0f64..1.0f64)?;
    chart.configure_mesh().x_desc("threshold (cosine)").y_desc("recall").draw()?;
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for ((k, curve), colour) in variants.iter().zip(curves).zip(colours) {
        let name = k.map_or("no top_k".to_string(), |k| format!("top_k {k}"));
        chart
            .draw_series(LineSeries::new(curve.iter().map(|(t, r)| (*t, r.allow)), colour.stroke_width(2)))?
            .label(format!("allow-recall, {name}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(curve.iter().map(|(t, r)| (*t, r.deny)), colour.mix(0.6).stroke_width(1)))?
            .label(format!("deny-recall, {name}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.mix(0.6)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
