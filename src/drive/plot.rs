//! The campaign's summary plot: a 1200×500 PNG with two panels against
//! simulated time in ns, left the fraction of k-means states visited
//! (dimensionless, see [`crate::drive::states`]), right the best RMSD to the
//! folded structure so far (nm); one line and legend entry per run.
//!
//! Drawing: `plotters` (bitmap backend, line series only) renders into an
//! RGB buffer, the `png` crate encodes it, and the file is written with
//! `std::fs`, so I/O errors carry the real OS error and the path.
//!
//! Fonts: plotters' `ttf` feature needs fontconfig/freetype at build time, so
//! its pure-Rust `ab_glyph` text path is used instead, with a font found at
//! run time (no font is shipped): the file named by the environment variable
//! `STEERMD_PLOT_FONT` if set, else DejaVu Sans / Liberation Sans / Noto Sans
//! at their usual Debian/Fedora paths, else the first regular sans-serif
//! `.ttf`/`.otf` (then any) in a walk of `/usr/share/fonts`,
//! `/usr/local/share/fonts`, `~/.local/share/fonts` and `~/.fonts`. The
//! search runs once per process and the chosen font's bytes stay in memory
//! for the life of the process (plotters keeps a `'static` reference). With
//! no usable font the plot is still written, with the lines and grid but no
//! text (titles, tick labels, legend), and [`PlotInfo::labelled`] is `false`
//! so the caller can warn.
//!
//! Data rules: points whose time or value is NaN or infinite are skipped; a
//! series left with no point keeps its legend entry and draws no line; a
//! panel without any point gets the range 0–1 ns (and 0–1 on the value
//! axis). Series are coloured by their position, so the same index in both
//! slices (e.g. steered, then control) gets the same colour in both panels.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Error, Result};

/// Width of the campaign plot, pixels.
pub const PLOT_WIDTH: u32 = 1200;
/// Height of the campaign plot, pixels.
pub const PLOT_HEIGHT: u32 = 500;

/// Font family name under which the run-time font is registered with plotters.
const FAMILY: &str = "steermd-plot";

/// One line of a panel: a legend `label` and `(time in ps, value)` points
/// (value: dimensionless fraction of states, or RMSD in nm, per panel).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text (e.g. "steered", "plain MD").
    pub label: String,
    /// `(simulated time in ps, value)`, in drawing order (normally time order).
    pub points: Vec<(f64, f64)>,
}

/// What [`write_campaign_plot`] managed to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotInfo {
    /// `true` if a font was found and titles, axes and legend carry text.
    pub labelled: bool,
    /// The font file used, if any.
    pub font: Option<PathBuf>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Write the campaign plot to `path` (PNG, [`PLOT_WIDTH`]×[`PLOT_HEIGHT`]):
/// left panel `visited` (fraction of states visited, dimensionless) and
/// right panel `best_rmsd` (best RMSD to the folded structure, nm), both
/// against simulated time; point times are given in ps and drawn in ns.
/// See the module docs for fonts and for how non-finite points are handled.
///
/// Errors: [`Error::Io`] naming `path` if the file cannot be created or
/// written (e.g. its directory does not exist) or drawing fails.
pub fn write_campaign_plot(
    path: &Path,
    visited: &[Series],
    best_rmsd: &[Series],
) -> Result<PlotInfo> {
    let font = font();
    render(path, visited, best_rmsd, font.is_some())?;
    Ok(PlotInfo {
        labelled: font.is_some(),
        font: font.map(Path::to_path_buf),
    })
}

/// Render and write; text only if `labelled` (a font is registered).
fn render(path: &Path, visited: &[Series], best_rmsd: &[Series], labelled: bool) -> Result<()> {
    let draw_err = |e: &dyn std::fmt::Display| {
        Error::io(
            path,
            std::io::Error::other(format!("drawing the plot: {e}")),
        )
    };
    let mut buf = vec![0u8; (PLOT_WIDTH * PLOT_HEIGHT * 3) as usize];
    {
        let root =
            BitMapBackend::with_buffer(&mut buf, (PLOT_WIDTH, PLOT_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(&e))?;
        let panels = root.split_evenly((1, 2));
        let specs = [
            (
                &panels[0],
                visited,
                "States visited",
                "fraction of states visited",
                true,
            ),
            (
                &panels[1],
                best_rmsd,
                "Best RMSD to folded",
                "best RMSD to folded (nm)",
                false,
            ),
        ];
        for (area, series, title, y_desc, is_fraction) in specs {
            panel(area, series, title, y_desc, is_fraction, labelled).map_err(|e| draw_err(&e))?;
        }
        root.present().map_err(|e| draw_err(&e))?;
    }
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), PLOT_WIDTH, PLOT_HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(e) => Error::io(path, e),
        e => Error::io(path, std::io::Error::other(format!("encoding PNG: {e}"))),
    };
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(&buf).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Finite `(time in ns, value)` points of a series.
fn finite_ns(s: &Series) -> Vec<(f64, f64)> {
    s.points
        .iter()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .map(|&(t, v)| (t * 1e-3, v))
        .collect()
}

/// `lo..hi` covering `values` and `floor`, widened if empty or degenerate.
fn range(
    values: impl Iterator<Item = f64>,
    floor: f64,
    ceil: f64,
    pad: f64,
) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((floor, ceil), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi > lo {
        hi + pad * (hi - lo)
    } else {
        lo + 1.0
    };
    lo..hi
}

type DrawResult<T> = std::result::Result<
    T,
    DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>,
>;

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    series: &[Series],
    title: &str,
    y_desc: &str,
    is_fraction: bool,
    labelled: bool,
) -> DrawResult<()> {
    let data: Vec<Vec<(f64, f64)>> = series.iter().map(finite_ns).collect();
    let xs = data.iter().flatten().map(|p| p.0);
    let x = range(xs, 0.0, 0.0, 0.0);
    let ys = data.iter().flatten().map(|p| p.1);
    let y = if is_fraction {
        range(ys, 0.0, 1.0, 0.05)
    } else {
        range(ys, 0.0, 0.0, 0.1)
    };
    let mut builder = ChartBuilder::on(area);
    builder.margin(15);
    if labelled {
        builder
            .caption(title, (FAMILY, 22))
            .x_label_area_size(45)
            .y_label_area_size(65);
    }
    let mut chart = builder.build_cartesian_2d(x, y)?;
    let mut mesh = chart.configure_mesh();
    if labelled {
        mesh.x_desc("simulated time (ns)")
            .y_desc(y_desc)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16));
    }
    mesh.draw()?;
    for (i, (s, pts)) in series.iter().zip(data).enumerate() {
        let color = COLORS[i % COLORS.len()];
        let drawn = chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
        if labelled {
            drawn.label(s.label.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    if labelled && !series.is_empty() {
        chart
            .configure_series_labels()
            .position(if is_fraction {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// The registered font's path, searched for and registered once per process.
fn font() -> Option<&'static Path> {
    static FONT: OnceLock<Option<PathBuf>> = OnceLock::new();
    FONT.get_or_init(|| font_candidates().into_iter().find(|p| register(p)))
        .as_deref()
}

/// Register the font file at `p` (if it looks like TrueType/OpenType and
/// parses); its bytes are leaked on purpose (plotters needs `'static`).
fn register(p: &Path) -> bool {
    let Ok(bytes) = std::fs::read(p) else {
        return false;
    };
    let magic_ok = matches!(bytes.get(..4), Some([0, 1, 0, 0] | b"OTTO" | b"true"));
    if !magic_ok {
        return false;
    }
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).is_ok()
}

/// Font files to try, best first (see the module docs).
fn font_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("STEERMD_PLOT_FONT") {
        out.push(PathBuf::from(p));
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    ] {
        out.push(PathBuf::from(p));
    }
    let mut roots = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        roots.push(home.join(".local/share/fonts"));
        roots.push(home.join(".fonts"));
    }
    let mut found = Vec::new();
    for root in roots {
        walk(&root, 0, &mut found);
    }
    // Regular sans-serif faces first, then anything; by path within each.
    let rank = |p: &PathBuf| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let styled = [
            "bold",
            "italic",
            "oblique",
            "mono",
            "serif",
            "light",
            "condensed",
            "math",
        ]
        .iter()
        .any(|s| name.replace("sans", "").contains(s));
        u8::from(!name.contains("sans")) + u8::from(styled)
    };
    found.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    out.extend(found);
    out
}

/// Collect `.ttf`/`.otf` files under `dir` (at most 6 levels deep).
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, depth + 1, out),
            Ok(_) => {
                let ext = p.extension().map(|x| x.to_string_lossy().to_lowercase());
                if matches!(ext.as_deref(), Some("ttf" | "otf")) {
                    out.push(p);
                }
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![
            Series {
                label: "steered".into(),
                points: vec![(0.0, 0.01), (500.0, 0.3), (f64::NAN, 0.4), (1000.0, 0.6)],
            },
            Series {
                label: "plain MD".into(),
                points: vec![],
            },
        ]
    }

    /// The unlabelled path must draw no text at all: the family it would
    /// use for implicit text ("sans-serif") is never registered, so any text
    /// drawing would fail.
    #[test]
    fn unlabelled_plot_draws_without_any_font() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.png");
        render(&path, &series(), &series(), false).unwrap();
        if let Some(keep) = std::env::var_os("STEERMD_TEST_PLOT_DIR") {
            std::fs::copy(&path, Path::new(&keep).join("campaign_unlabelled.png")).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn ranges_cover_data_and_survive_empty_input() {
        assert_eq!(range([].into_iter(), 0.0, 0.0, 0.0), 0.0..1.0);
        assert_eq!(range([2.0].into_iter(), 0.0, 0.0, 0.0), 0.0..2.0);
        assert_eq!(range([0.5].into_iter(), 0.0, 1.0, 0.0), 0.0..1.0);
        assert_eq!(range([0.0].into_iter(), 0.0, 0.0, 0.1), 0.0..1.0);
    }

    #[test]
    fn font_candidates_rank_regular_sans_first() {
        let c = font_candidates();
        // The fixed list comes first; the walk may add nothing on bare systems.
        assert!(c.iter().any(|p| p.ends_with("DejaVuSans.ttf")));
    }
}
