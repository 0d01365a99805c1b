//! Charts as functions from data to an SVG string, drawn with plotters' SVG backend. Every
//! chart carries a `<title>` and `<desc>` and scales to its container; labels are untrusted
//! text, so they are cleaned of control and bidi characters and shortened before plotters
//! (which escapes XML) draws them.

use std::error::Error;

use analytics::{clean_text, escape_html};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Series colours, readable on white and distinguishable for common colour blindness
/// (Okabe–Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(90, 90, 90),
];

const FONT: &str = "sans-serif";
const TEXT: RGBColor = RGBColor(40, 40, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);

type DrawResult = Result<(), Box<dyn Error>>;

/// Accessible text of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Caption<'a> {
    /// Short name, becomes `<title>`.
    pub title: &'a str,
    /// One-sentence summary of what it shows, becomes `<desc>`.
    pub desc: &'a str,
}

/// Which of a chart's two drawings: every chart is drawn for a wide screen and again for a
/// phone, where scaling the wide one down would leave its text a few pixels high. CSS shows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 800 px wide: desktop, tablet and print.
    Wide,
    /// 380 px wide, shown below 600 px: the text stays at its size on a 390 px phone.
    Narrow,
}

impl Layout {
    fn width(self) -> u32 {
        match self {
            Layout::Wide => 800,
            Layout::Narrow => 380,
        }
    }

    /// Label text size, as plotters takes it (it writes SVG text at about 0.8 of it: 16 gives
    /// a 12.9 px font, about 12 px on a 390 px phone).
    fn font(self) -> u32 {
        match self {
            Layout::Wide => 15,
            Layout::Narrow => 16,
        }
    }

    /// Longest label, in characters.
    fn label_chars(self) -> usize {
        match self {
            Layout::Wide => 28,
            Layout::Narrow => 20,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Layout::Wide => "chart wide",
            Layout::Narrow => "chart narrow",
        }
    }
}

/// Both drawings of a chart, wide then narrow.
fn responsive(draw: impl Fn(Layout) -> anyhow::Result<String>) -> anyhow::Result<String> {
    Ok(draw(Layout::Wide)? + &draw(Layout::Narrow)?)
}

/// Draws into an SVG of `size` and returns it with accessibility metadata.
fn draw_svg(
    layout: Layout,
    size: (u32, u32),
    caption: Caption<'_>,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn: DrawResult = (|| {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        drawn.map_err(|e| anyhow::anyhow!("drawing chart {:?}: {e}", caption.title))?;
    }
    Ok(accessible(&svg, size, caption, layout.class()))
}

/// Makes the SVG scale with its container and gives it a role, `<title>` and `<desc>`.
fn accessible(svg: &str, (w, h): (u32, u32), caption: Caption<'_>, class: &str) -> String {
    let body = svg.find('>').map_or(svg, |end| &svg[end + 1..]);
    let body = compact(body);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         preserveAspectRatio=\"xMidYMid meet\" role=\"img\" class=\"{class}\">\
         <title>{}</title><desc>{}</desc>{body}",
        escape_html(caption.title),
        escape_html(caption.desc)
    )
}

/// Drops what plotters writes but a browser does not need: `opacity="1"` (the default) and
/// repeated consecutive points of polygons and polylines (a doughnut slice repeats most of its
/// points, being traced pixel by pixel). Keeps the report small.
fn compact(body: &str) -> String {
    let body = body.replace(" opacity=\"1\"", "");
    let mut out = String::with_capacity(body.len());
    let mut rest = body.as_str();
    while let Some(start) = rest.find(" points=\"") {
        let values = start + " points=\"".len();
        let Some(len) = rest[values..].find('"') else {
            break;
        };
        out.push_str(&rest[..values]);
        let mut last = None;
        let mut first = true;
        for point in rest[values..values + len].split_ascii_whitespace() {
            if last != Some(point) {
                if !first {
                    out.push(' ');
                }
                out.push_str(point);
                first = false;
                last = Some(point);
            }
        }
        rest = &rest[values + len..];
    }
    out.push_str(rest);
    out
}

/// A chart label: cleaned and cut to `max` characters with an ellipsis.
pub fn label(text: &str, max: usize) -> String {
    let clean = clean_text(text);
    match clean.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

/// A y-axis tick: `12`, `0.5`, `2.25`, without trailing zeros.
fn tick(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// One line of a line chart.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// One value per x position.
    pub values: &'a [f64],
}

/// A line chart over days: `x_labels` names each x position.
pub fn line_chart(
    caption: Caption<'_>,
    x_labels: &[String],
    series: &[Series<'_>],
) -> anyhow::Result<String> {
    marked_line_chart(caption, x_labels, series, &[])
}

/// [`line_chart`] with marked x positions (alert days): a vertical line in the accent colour
/// with its text at the top. The caller says what is marked in the caption too, for screen
/// readers.
pub fn marked_line_chart(
    caption: Caption<'_>,
    x_labels: &[String],
    series: &[Series<'_>],
    marks: &[(usize, String)],
) -> anyhow::Result<String> {
    let n = x_labels.len();
    let y_max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let y_top = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    responsive(|layout| {
        let (height, x_ticks) = match layout {
            Layout::Wide => (320, 8),
            Layout::Narrow => (260, 4),
        };
        let font = layout.font();
        draw_svg(layout, (layout.width(), height), caption, |root| {
            let mut chart = ChartBuilder::on(root)
                .margin(12)
                .x_label_area_size(32)
                .y_label_area_size(48)
                .build_cartesian_2d(0..n.saturating_sub(1).max(1), 0.0..y_top)?;
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .x_labels(x_ticks)
                .y_labels(6)
                .x_label_formatter(&|i| x_labels.get(*i).cloned().unwrap_or_default())
                .y_label_formatter(&|v| tick(*v))
                .label_style((FONT, font).into_font().color(&TEXT))
                .draw()?;
            let accent = PALETTE[5];
            for (x, text) in marks.iter().filter(|(x, _)| *x < n.max(1)) {
                chart.draw_series(LineSeries::new(
                    [(*x, 0.0), (*x, y_top)],
                    accent.stroke_width(2),
                ))?;
                let style = TextStyle::from((FONT, font - 2).into_font().style(FontStyle::Bold))
                    .color(&accent)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Top,
                    ));
                chart.draw_series(std::iter::once(Text::new(
                    label(text, 12),
                    (*x, y_top),
                    style,
                )))?;
            }
            for (i, s) in series.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(
                        s.values.iter().enumerate().map(|(x, &y)| (x, y)),
                        color.stroke_width(2),
                    ))?
                    .label(label(s.name, 30))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                    });
                // A few points (one per archived snapshot) are easier to read marked; a single
                // point would otherwise not show at all.
                if s.values.len() <= 12 {
                    chart.draw_series(
                        s.values
                            .iter()
                            .enumerate()
                            .map(|(x, &y)| Circle::new((x, y), 4, color.filled())),
                    )?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, font).into_font().color(&TEXT))
                .background_style(WHITE.mix(0.85))
                .border_style(GRID)
                .draw()?;
            Ok(())
        })
    })
}

/// A doughnut of shares with a legend; `items` are (label, value), largest first.
pub fn doughnut(
    caption: Caption<'_>,
    items: &[(String, u64)],
    center_text: &str,
) -> anyhow::Result<String> {
    let sizes: Vec<f64> = items.iter().map(|(_, v)| *v as f64).collect();
    let total: f64 = sizes.iter().sum();
    let colors: Vec<RGBColor> = (0..items.len())
        .map(|i| PALETTE[i % PALETTE.len()])
        .collect();
    let no_labels = vec![""; items.len()];
    let rows = i32::try_from(items.len())?;
    responsive(|layout| {
        // Wide: the legend beside the ring; narrow: below it.
        let (size, center, radius, hole, legend) = match layout {
            Layout::Wide => ((640, 300), (150, 150), 130.0, 72.0, (310, 30)),
            Layout::Narrow => {
                let height = 230 + 26 * u32::try_from(rows)?;
                ((380, height), (190, 110), 100.0, 56.0, (24, 232))
            }
        };
        let font = layout.font();
        draw_svg(layout, size, caption, |root| {
            if total > 0.0 {
                let mut pie = Pie::new(&center, &radius, &sizes, &colors, &no_labels);
                pie.donut_hole(hole);
                pie.start_angle(-90.0);
                root.draw(&pie)?;
            }
            let style = TextStyle::from((FONT, 20).into_font()).color(&TEXT).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ),
            );
            root.draw(&Text::new(label(center_text, 16), center, style))?;
            let (legend_x, legend_y) = legend;
            let step = if layout == Layout::Wide { 30 } else { 26 };
            for (i, ((name, value), color)) in items.iter().zip(&colors).enumerate() {
                let y = legend_y + step * i32::try_from(i)?;
                root.draw(&Rectangle::new(
                    [(legend_x, y), (legend_x + 16, y + 16)],
                    color.filled(),
                ))?;
                let share = if total > 0.0 {
                    *value as f64 / total * 100.0
                } else {
                    0.0
                };
                root.draw(&Text::new(
                    format!("{} · {share:.1}%", label(name, layout.label_chars())),
                    (legend_x + 24, y + 1),
                    (FONT, font).into_font().color(&TEXT),
                ))?;
            }
            Ok(())
        })
    })
}

/// Horizontal bars, one per (label, value), first on top.
pub fn bar_chart(caption: Caption<'_>, items: &[(String, u64)]) -> anyhow::Result<String> {
    responsive(|layout| draw_bars(layout, caption, items))
}

/// One drawing of [`bar_chart`].
fn draw_bars(
    layout: Layout,
    caption: Caption<'_>,
    items: &[(String, u64)],
) -> anyhow::Result<String> {
    let labels: Vec<String> = items
        .iter()
        .map(|(name, _)| label(name, layout.label_chars()))
        .collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let n = items.len().max(1);
    let x_max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let font = layout.font();
    let (row, label_area, x_ticks) = match layout {
        Layout::Wide => (34, (widest * 8 + 16).min(260), 6),
        Layout::Narrow => (30, (widest * 7 + 12).min(160), 3),
    };
    let height = 60 + row * u32::try_from(n)?;
    draw_svg(layout, (layout.width(), height), caption, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0..x_max + x_max.div_ceil(10), (0..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .y_labels(n)
            .x_labels(x_ticks)
            .y_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => n
                    .checked_sub(i + 1)
                    .and_then(|row| labels.get(row))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, font).into_font().color(&TEXT))
            .draw()?;
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            // The y axis grows upwards; the first item goes on top.
            let row = n - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0, SegmentValue::Exact(row)),
                    (*v, SegmentValue::Exact(row + 1)),
                ],
                PALETTE[0].filled(),
            );
            bar.set_margin(5, 5, 0, 0);
            bar
        }))?;
        Ok(())
    })
}

/// Vertical bars over ordered buckets (a histogram), labelled below.
pub fn column_chart(
    caption: Caption<'_>,
    items: &[(String, u64)],
    color_index: usize,
) -> anyhow::Result<String> {
    marked_column_chart(caption, items, color_index, &[])
}

/// [`column_chart`] with text marks (e.g. "P95") above the given columns, in the accent colour.
pub fn marked_column_chart(
    caption: Caption<'_>,
    items: &[(String, u64)],
    color_index: usize,
    marks: &[(usize, String)],
) -> anyhow::Result<String> {
    responsive(|layout| match layout {
        Layout::Wide => draw_columns(caption, items, color_index, marks),
        // A dozen columns do not fit a phone: the same buckets as bars, top to bottom, with
        // the marks in their labels.
        Layout::Narrow => {
            let marked: Vec<(String, u64)> = items
                .iter()
                .enumerate()
                .map(|(i, (name, v))| {
                    let tags: Vec<&str> = marks
                        .iter()
                        .filter(|(at, _)| *at == i)
                        .map(|(_, t)| t.as_str())
                        .collect();
                    let name = if tags.is_empty() {
                        name.clone()
                    } else {
                        format!("{name} ({})", tags.join(" "))
                    };
                    (name, *v)
                })
                .collect();
            draw_bars(layout, caption, &marked)
        }
    })
}

/// The wide drawing of [`marked_column_chart`].
fn draw_columns(
    caption: Caption<'_>,
    items: &[(String, u64)],
    color_index: usize,
    marks: &[(usize, String)],
) -> anyhow::Result<String> {
    let n = items.len().max(1);
    let y_max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    draw_svg(Layout::Wide, (800, 320), caption, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0..y_max + y_max.div_ceil(10))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(n)
            .y_labels(6)
            .x_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => {
                    items.get(*i).map(|(l, _)| label(l, 12)).unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style((FONT, 14).into_font().color(&TEXT))
            .draw()?;
        let color = PALETTE[color_index % PALETTE.len()];
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                color.filled(),
            );
            bar.set_margin(0, 0, 4, 4);
            bar
        }))?;
        // Marks sharing a column are joined: "P95 P99".
        let mut joined: std::collections::BTreeMap<usize, Vec<&str>> = Default::default();
        for (i, text) in marks {
            joined.entry(*i).or_default().push(text);
        }
        let style = TextStyle::from((FONT, 13).into_font().style(FontStyle::Bold))
            .color(&PALETTE[5])
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Bottom,
            ));
        for (i, texts) in joined {
            let height = items.get(i).map_or(0, |(_, v)| *v);
            chart.draw_series(std::iter::once(Text::new(
                label(&texts.join(" "), 16),
                (SegmentValue::CenterOf(i), height),
                style.clone(),
            )))?;
        }
        Ok(())
    })
}

/// A weekday × hour grid of counts, darker for more.
///
/// Wide: a row per weekday, a column per hour. Narrow: turned a quarter, a column per weekday
/// and a row per hour, which fits a phone without shrinking.
pub fn heatmap(caption: Caption<'_>, rows: &[&str], cells: &[Vec<u64>]) -> anyhow::Result<String> {
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    let days = i32::try_from(rows.len())?;
    responsive(|layout| {
        let wide = layout == Layout::Wide;
        let (left, top, cell_w, cell_h) = if wide {
            (48, 26, 30, 26)
        } else {
            (44, 24, 46, 15)
        };
        let (across, down) = if wide { (24, days) } else { (days, 24) };
        let width = u32::try_from(left + across * cell_w + 12)?;
        let height = u32::try_from(top + down * cell_h + 12)?;
        draw_svg(layout, (width, height), caption, |root| {
            let text = (FONT, if wide { 14 } else { 16 }).into_font().color(&TEXT);
            for hour in (0..24).step_by(3) {
                let at = if wide {
                    (left + hour * cell_w + 4, 6)
                } else {
                    (6, top + hour * cell_h + 1)
                };
                root.draw(&Text::new(format!("{hour:02}h"), at, text.clone()))?;
            }
            for (d, name) in (0..).zip(rows) {
                let at = if wide {
                    (6, top + d * cell_h + 7)
                } else {
                    (left + d * cell_w + 6, 4)
                };
                root.draw(&Text::new(label(name, 4), at, text.clone()))?;
                for hour in 0..24 {
                    let n = cells
                        .get(d as usize)
                        .and_then(|row| row.get(hour as usize))
                        .copied()
                        .unwrap_or(0);
                    // From the background to the primary colour, by share of the busiest hour.
                    let t = n as f64 / max as f64;
                    let base = PALETTE[0];
                    let mix = |c: u8| (245.0 + (f64::from(c) - 245.0) * t).round() as u8;
                    let fill = RGBColor(mix(base.0), mix(base.1), mix(base.2));
                    let (x, y) = if wide {
                        (left + hour * cell_w, top + d * cell_h)
                    } else {
                        (left + d * cell_w, top + hour * cell_h)
                    };
                    root.draw(&Rectangle::new(
                        [(x, y), (x + cell_w - 2, y + cell_h - 2)],
                        fill.filled(),
                    ))?;
                }
            }
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTION: Caption<'static> = Caption {
        title: "Errors <by> type",
        desc: "A \"test\" chart",
    };

    #[test]
    fn svg_has_title_desc_and_scales() {
        let svg = bar_chart(CAPTION, &[("timeout".into(), 3)]).expect("chart");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 800 "));
        assert!(svg.contains("<title>Errors &lt;by&gt; type</title>"));
        assert!(svg.contains("<desc>A &quot;test&quot; chart</desc>"));
        let open_tag = &svg[..svg.find('>').expect("tag end")];
        assert!(
            !open_tag.contains("width="),
            "fixed size removed: {open_tag}"
        );
        // Two drawings: the wide one, then the phone one.
        assert_eq!(svg.matches("<svg").count(), 2);
        assert!(open_tag.ends_with("class=\"chart wide\""), "{open_tag}");
        let narrow = &svg[svg.rfind("<svg").expect("second svg")..];
        assert!(narrow.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 380 "));
        assert!(narrow.contains("class=\"chart narrow\"><title>Errors &lt;by&gt; type</title>"));
    }

    #[test]
    fn the_phone_heatmap_is_turned_and_the_phone_histogram_carries_its_marks() {
        let cells = vec![vec![1_u64; 24]; 7];
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let svg = heatmap(CAPTION, &days, &cells).expect("heatmap");
        let narrow = &svg[svg.rfind("<svg").expect("narrow")..];
        // 7 columns of 46 px plus margins across, 24 rows of 15 px down.
        assert!(
            narrow.contains("viewBox=\"0 0 378 396\""),
            "{}",
            &narrow[..120]
        );
        let items = vec![("0–100".to_owned(), 3), ("100–250".to_owned(), 9)];
        let marks = [(1, "P50".to_owned()), (1, "P95".to_owned())];
        let svg = marked_column_chart(CAPTION, &items, 0, &marks).expect("histogram");
        let narrow = &svg[svg.rfind("<svg").expect("narrow")..];
        assert!(narrow.contains("100–250 (P50 P95)"), "{narrow}");
    }

    #[test]
    fn hostile_labels_are_escaped_in_every_chart() {
        let hostile = "\"><svg onload=alert(1)>";
        let items = vec![(hostile.to_owned(), 2), ("ok".to_owned(), 1)];
        let charts = [
            bar_chart(CAPTION, &items).expect("bar"),
            column_chart(CAPTION, &items, 0).expect("column"),
            doughnut(CAPTION, &items, "3").expect("doughnut"),
            line_chart(
                CAPTION,
                &["a".into(), "b".into()],
                &[Series {
                    name: hostile,
                    values: &[1.0, 2.0],
                }],
            )
            .expect("line"),
        ];
        for svg in charts {
            assert!(!svg.contains("<svg onload"), "{svg}");
            assert!(svg.contains("&quot;&gt;&lt;svg onlo"), "{svg}");
        }
    }

    #[test]
    fn compacting_drops_default_opacity_and_repeated_points_only() {
        let svg = r##"<polygon opacity="1" fill="#0072B2" points="150,20 150,20 151,20 150,20 150,20"/><rect opacity="0.5"/>"##;
        assert_eq!(
            compact(svg),
            r##"<polygon fill="#0072B2" points="150,20 151,20 150,20"/><rect opacity="0.5"/>"##
        );
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(12.0), "12");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2.25), "2.25");
        assert_eq!(tick(0.0), "0");
    }

    #[test]
    fn labels_are_shortened() {
        assert_eq!(label("abcdefghij", 4), "abcd…");
        assert_eq!(label("abc", 4), "abc");
    }

    #[test]
    fn charts_are_byte_identical_across_runs() {
        let items = vec![("a".to_owned(), 5), ("b".to_owned(), 3)];
        assert_eq!(
            doughnut(CAPTION, &items, "8").expect("first"),
            doughnut(CAPTION, &items, "8").expect("second")
        );
    }

    #[test]
    fn empty_and_single_point_data_draw_without_error() {
        line_chart(
            CAPTION,
            &["2026-11-01".into()],
            &[Series {
                name: "m",
                values: &[0.0],
            }],
        )
        .expect("one day");
        bar_chart(CAPTION, &[]).expect("no bars");
        column_chart(CAPTION, &[], 1).expect("no columns");
        doughnut(CAPTION, &[], "0").expect("no slices");
    }
}
