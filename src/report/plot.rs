//! Plots of the comparison report, written as both PNG and SVG.
//!
//! Drawing uses `plotters` with a font compiled into the binary (DejaVu Sans, see
//! `assets/fonts/LICENSE-DejaVu.txt`), so no system font is needed. Every plot is drawn
//! once per backend into memory and then written atomically.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::output::write_atomic;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// What can go wrong while drawing or writing a plot.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The drawing library failed.
    #[error("drawing {what}: {message}")]
    Draw {
        /// Which plot.
        what: String,
        /// The library's message.
        message: String,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// One named series of values, one per category (bars) or per point (lines).
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// The values.
    pub points: Vec<(f64, f64)>,
}

/// A matrix to draw as a heatmap: `values[row][col]` in `[0, 1]`.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Panel title.
    pub title: String,
    /// Row labels (target words, top to bottom).
    pub rows: Vec<String>,
    /// Column labels (source words, left to right).
    pub cols: Vec<String>,
    /// Cell values, `rows.len()` rows of `cols.len()` values.
    pub values: Vec<Vec<f64>>,
}

const PALETTE: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

fn register_font() {
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType font compiled into the binary; a failure here
        // would only leave text undrawn, never corrupt a plot.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Something that can draw itself on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `fig` into `STEM.png` and `STEM.svg` of `size` pixels.
fn render(stem: &Path, size: (u32, u32), what: &str, fig: &impl Figure) -> Result<(), PlotError> {
    register_font();
    let draw_err = |message: String| PlotError::Draw { what: what.to_owned(), message };
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(err).map_err(draw_err)?;
        fig.draw(&root).map_err(draw_err)?;
        root.present().map_err(err).map_err(draw_err)?;
    }
    let png = encode_png(&rgb, size).map_err(err).map_err(draw_err)?;
    let png_path = stem.with_extension("png");
    write_atomic(&png_path, &png)
        .map_err(|source| PlotError::Write { path: png_path.display().to_string(), source })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err).map_err(draw_err)?;
        fig.draw(&root).map_err(draw_err)?;
        root.present().map_err(err).map_err(draw_err)?;
    }
    let svg_path = stem.with_extension("svg");
    write_atomic(&svg_path, svg.as_bytes())
        .map_err(|source| PlotError::Write { path: svg_path.display().to_string(), source })
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}

struct Bars<'a> {
    title: &'a str,
    categories: &'a [String],
    y_label: &'a str,
    series: &'a [Series],
}

impl Figure for Bars<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let y_max =
            self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0f64, f64::max);
        let n_cat = self.categories.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..n_cat as f64, 0f64..y_max * 1.15)
            .map_err(err)?;
        let cats = self.categories;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n_cat * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.26 && i < cats.len() {
                    cats[i].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(self.y_label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let k = self.series.len().max(1) as f64;
        let width = 0.8 / k;
        for (si, s) in self.series.iter().enumerate() {
            let color = PALETTE[si % PALETTE.len()];
            let left = 0.1 + si as f64 * width;
            chart
                .draw_series(s.points.iter().map(|&(c, v)| {
                    Rectangle::new([(c + left, 0.0), (c + left + width * 0.95, v)], color.filled())
                }))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)
    }
}

/// A grouped bar chart: one group per category, one bar per series.
///
/// Series points are `(category index, value)`.
pub fn grouped_bars(
    stem: &Path,
    title: &str,
    categories: &[String],
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    render(stem, (900, 520), title, &Bars { title, categories, y_label, series })
}

struct Lines<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [Series],
}

impl Figure for Lines<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in self.series.iter().flat_map(|s| s.points.iter()) {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 - x0 < 1e-9 {
            x1 = x0 + 1.0;
        }
        let pad = ((y1 - y0) * 0.1).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        for (si, s) in self.series.iter().enumerate() {
            let color = PALETTE[si % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)
    }
}

/// Line plot of several series over a shared x axis.
pub fn lines(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    render(stem, (900, 520), title, &Lines { title, x_label, y_label, series })
}

struct Heatmaps<'a> {
    title: &'a str,
    panels: &'a [Heatmap],
}

impl Figure for Heatmaps<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = area.titled(self.title, ("sans-serif", 22)).map_err(err)?;
        let parts = area.split_evenly((1, self.panels.len().max(1)));
        for (panel, part) in self.panels.iter().zip(parts.iter()) {
            let (nc, nr) = (panel.cols.len().max(1), panel.rows.len().max(1));
            let mut chart = ChartBuilder::on(part)
                .caption(&panel.title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(90)
                .y_label_area_size(90)
                .build_cartesian_2d(0f64..nc as f64, nr as f64..0f64)
                .map_err(err)?;
            let (cols, rows) = (&panel.cols, &panel.rows);
            let label = |names: &[String], v: f64| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 0.26 && i < names.len() {
                    names[i].clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(nc * 2 + 1)
                .y_labels(nr * 2 + 1)
                .x_label_formatter(&|_| String::new())
                .y_label_formatter(&|v| label(rows, *v))
                .y_label_style(("sans-serif", 12))
                .draw()
                .map_err(err)?;
            // Column words read downwards from just below the axis: the mesh's own x labels
            // are centred on their anchor, which clips the start of a rotated long word.
            let style = TextStyle::from(("sans-serif", 12).into_font())
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let (bx, by) = part.get_base_pixel();
            for (c, name) in cols.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(c as f64 + 0.5, nr as f64));
                let at = (x - bx, y - by + 12);
                part.draw(&Text::new(name.clone(), at, style.clone())).map_err(err)?;
            }
            let cells = panel.values.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, &v)| {
                    let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
                    Rectangle::new(
                        [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                        RGBColor(shade, shade, 255).filled(),
                    )
                })
            });
            chart.draw_series(cells).map_err(err)?;
        }
        Ok(())
    }
}

/// Heatmap panels side by side (an alignment matrix beside an attention matrix).
pub fn heatmaps(stem: &Path, title: &str, panels: &[Heatmap]) -> Result<(), PlotError> {
    let width = 520 * panels.len().max(1) as u32;
    render(stem, (width, 580), title, &Heatmaps { title, panels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plot_is_a_valid_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let s = vec![
            Series { name: "smt".into(), points: vec![(0.0, 30.0), (1.0, 25.5)] },
            Series { name: "nmt".into(), points: vec![(0.0, 33.0), (1.0, 20.0)] },
        ];
        let cats = vec!["1-10".to_string(), "11-20".to_string()];
        grouped_bars(&dir.path().join("bars"), "BLEU by length", &cats, "BLEU", &s).unwrap();
        lines(&dir.path().join("curve"), "curve", "step", "loss", &s).unwrap();
        let h = Heatmap {
            title: "hmm".into(),
            rows: vec!["a".into(), "b".into()],
            cols: vec!["restrained".into(), "y".into(), "z".into()],
            values: vec![vec![1.0, 0.0, 0.2], vec![0.0, 0.9, 0.1]],
        };
        heatmaps(&dir.path().join("heat"), "alignment", &[h.clone(), h]).unwrap();
        if let Some(keep) = std::env::var_os("MT_KEEP_PLOTS") {
            for f in std::fs::read_dir(dir.path()).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, std::path::Path::new(&keep).join(f.file_name().unwrap()))
                    .unwrap();
            }
        }
        for stem in ["bars", "curve", "heat"] {
            let png = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
            let decoder = png::Decoder::new(std::io::Cursor::new(png));
            let reader = decoder.read_info().unwrap();
            assert!(reader.info().width >= 900);
            let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert!(svg.contains("<text"), "{stem}.svg has no text");
        }
    }
}
