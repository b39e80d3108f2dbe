//! SVG plots of lookup latency and memory against scale, one pair of files per key set.

use crate::error::BenchError;
use crate::runner::Results;
use crate::systems::SystemId;
use crate::workload::Workload;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const COLORS: [RGBColor; 11] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x00, 0x00, 0x00),
];

fn plot_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Plot(e.to_string())
}

/// Writes `lookup_<keyset>.svg` and `memory_<keyset>.svg` into `dir`; returns the paths.
pub fn write_plots(
    results: &Results,
    systems: &[SystemId],
    dir: &Path,
) -> Result<Vec<PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
    let mut keysets: Vec<String> = Vec::new();
    for r in &results.records {
        if !keysets.contains(&r.keyset) {
            keysets.push(r.keyset.clone());
        }
    }
    let mut written = Vec::new();
    for ks in &keysets {
        let lookup: Vec<(String, Vec<(f64, f64)>)> = systems
            .iter()
            .map(|id| {
                let mut pts: Vec<(f64, f64)> = results
                    .records
                    .iter()
                    .filter(|r| {
                        &r.keyset == ks
                            && r.system == id.name()
                            && r.workload == Workload::LookupUniform.name()
                    })
                    .map(|r| (r.keys as f64, r.ns_per_op))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (id.label().to_string(), pts)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let memory: Vec<(String, Vec<(f64, f64)>)> = systems
            .iter()
            .map(|id| {
                let mut pts: Vec<(f64, f64)> = results
                    .memory
                    .iter()
                    .filter(|m| &m.keyset == ks && m.system == *id)
                    .filter_map(|m| {
                        let bytes = if id.is_sqlite() {
                            m.sqlite_memory_bulk
                        } else {
                            m.heap_after_bulk
                        }?;
                        Some((m.keys as f64, bytes as f64 / m.keys.max(1) as f64))
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (id.label().to_string(), pts)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let safe: String = ks
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("lookup_{safe}.svg"));
        line_chart(
            &path,
            &format!("Uniform point lookups, {ks} keys"),
            "ns per lookup (median)",
            &lookup,
        )?;
        written.push(path);
        let path = dir.join(format!("memory_{safe}.svg"));
        line_chart(
            &path,
            &format!("Memory after bulk load, {ks} keys (heap; SQLite: sqlite3_memory_used)"),
            "bytes per key",
            &memory,
        )?;
        written.push(path);
    }
    Ok(written)
}

fn line_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), BenchError> {
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let (mut xmin, mut xmax) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if xmin > xmax {
        (xmin, xmax) = (1.0, 10.0);
    }
    // Widen so single-scale runs still have an axis and points off the frame edge.
    let (xmin, xmax) = (xmin / 1.5, xmax * 1.5);
    let ymax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.6; // headroom for the legend in the upper left

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..ymax)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("keys (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&|x| crate::runner::scale_label(x.round() as usize))
        .draw()
        .map_err(plot_err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
