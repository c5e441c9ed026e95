//! A CSV (or points pasted as `x, y, class` lines) read into a table of your own data (#35):
//! the header detected, the target column and whether it holds classes or numbers chosen (or
//! inferred), every cell checked; a bad row is named by its line and column.

use crate::knobs::own::{MAX_CLASSES, MAX_FEATURES, MAX_ROWS, Table, Target};
use crate::vocab::clip;

/// What the target is: inferred, or said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TargetKind {
    /// Classes when any value is not a number, or every value is a whole number and there are
    /// at most 20 of them; numbers otherwise.
    #[default]
    Auto,
    Classes,
    Values,
}

/// How to read a table.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableOptions {
    /// The target column: its header name, or its number counted from 1; the last if none.
    pub target: Option<String>,
    pub kind: TargetKind,
    /// The rows are points on the page's plane (no standardisation; the boundary drawn).
    pub plane: bool,
}

/// Distinct whole numbers up to which `Auto` reads a numeric target as classes.
const AUTO_CLASSES: usize = 20;

/// The cells of the file, a row each, with the line each row starts on.
struct Cells {
    header: Option<Vec<String>>,
    rows: Vec<(u64, Vec<String>)>,
}

/// Reads `text` into a table. Columns are split on commas, else tabs or semicolons when the
/// first line has those and no comma, else on spaces (pasted points).
pub fn read_table(text: &str, opts: &TableOptions) -> Result<Table, String> {
    let cells = split_cells(text)?;
    let width = cells.rows.first().map_or(0, |(_, r)| r.len());
    if width < 2 {
        return Err(format!(
            "the data has {width} column(s): at least one feature and the target are needed"
        ));
    }
    if width - 1 > MAX_FEATURES {
        return Err(format!(
            "the data has {} feature columns; at most {MAX_FEATURES} are allowed",
            width - 1
        ));
    }
    let names = column_names(&cells, width);
    let t = target_column(opts.target.as_deref(), &names)?;
    let features: Vec<String> = (0..width).filter(|&c| c != t).map(|c| names[c].clone()).collect();

    let mut x = Vec::with_capacity(cells.rows.len() * (width - 1));
    let mut raw_targets = Vec::with_capacity(cells.rows.len());
    for (line, row) in &cells.rows {
        for (c, cell) in row.iter().enumerate() {
            if c == t {
                if cell.is_empty() {
                    return Err(format!("line {line}: the target '{}' is empty", clip(&names[t])));
                }
                raw_targets.push(cell.as_str());
                continue;
            }
            let v = number(cell).ok_or_else(|| match cell.is_empty() {
                true => format!("line {line}: column '{}' is empty", clip(&names[c])),
                false => format!(
                    "line {line}: column '{}' holds '{}', not a number",
                    clip(&names[c]),
                    clip(cell)
                ),
            })?;
            x.push(v);
        }
    }
    let target = target_values(&raw_targets, opts.kind, &names[t], &cells.rows)?;
    if opts.plane && features.len() != 2 {
        return Err(format!(
            "points are x, y and a class a row; this data has {} feature columns",
            features.len()
        ));
    }
    let table = Table {
        features,
        x,
        target,
        target_name: names[t].clone(),
        plane: opts.plane,
    };
    table.check()?;
    Ok(table)
}

/// The columns' names: the header's, else `x1`, `x2`, …, `y` (the last column the target).
fn column_names(cells: &Cells, width: usize) -> Vec<String> {
    match &cells.header {
        Some(h) => h.clone(),
        None => (1..=width)
            .map(|i| {
                if i == width {
                    "y".to_string()
                } else {
                    format!("x{i}")
                }
            })
            .collect(),
    }
}

/// The first rows of a table as its cells, with its columns' names: the page's preview, where
/// the target column and what it holds are chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Every row the file holds.
    pub total: usize,
}

/// The first `n` rows of `text` as [`read_table`] splits it (names clipped for the screen).
pub fn preview(text: &str, n: usize) -> Result<Preview, String> {
    let cells = split_cells(text)?;
    let width = cells.rows.first().map_or(0, |(_, r)| r.len());
    Ok(Preview {
        columns: column_names(&cells, width),
        rows: cells
            .rows
            .iter()
            .take(n)
            .map(|(_, r)| r.iter().map(|c| clip(c)).collect())
            .collect(),
        total: cells.rows.len(),
    })
}

/// A finite number as a cell writes it (spaces around it allowed).
fn number(cell: &str) -> Option<f32> {
    cell.trim().parse::<f32>().ok().filter(|v| v.is_finite())
}

fn split_cells(text: &str) -> Result<Cells, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.is_empty() {
        return Err("the data is empty".into());
    }
    let delimiter = if first.contains(',') {
        Some(b',')
    } else if first.contains('\t') {
        Some(b'\t')
    } else if first.contains(';') {
        Some(b';')
    } else {
        None
    };
    let mut records: Vec<(u64, Vec<String>)> = Vec::new();
    match delimiter {
        Some(d) => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(d)
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            for record in reader.records() {
                let record = record.map_err(|e| {
                    let line = e
                        .position()
                        .map_or(String::new(), |p| format!("line {}: ", p.line()));
                    format!("{line}the CSV could not be read ({e})")
                })?;
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(str::is_empty) {
                    continue;
                }
                records.push((line, record.iter().map(str::to_string).collect()));
                if records.len() > MAX_ROWS + 1 {
                    return Err(format!(
                        "the data has more than {MAX_ROWS} rows, the most allowed"
                    ));
                }
            }
        }
        None => {
            for (i, l) in text.lines().enumerate() {
                let row: Vec<String> = l.split_whitespace().map(str::to_string).collect();
                if row.is_empty() {
                    continue;
                }
                records.push((i as u64 + 1, row));
                if records.len() > MAX_ROWS + 1 {
                    return Err(format!(
                        "the data has more than {MAX_ROWS} rows, the most allowed"
                    ));
                }
            }
        }
    }
    // Columns every row leaves empty at the end (a trailing comma on each line) are no columns.
    while !records.is_empty()
        && records
            .iter()
            .all(|(_, r)| r.last().is_some_and(String::is_empty))
    {
        records.iter_mut().for_each(|(_, r)| {
            r.pop();
        });
    }
    // A header: the first row has a word (not a number, not empty) where the second row has a
    // number, or above a text column whose values repeat while the word never recurs (class
    // labels repeat, a column's name does not: `0,1,2,3,species` over `5.1,…,setosa`); or
    // no number at all (a file whose every column is text has a header or no features).
    let word = |c: &str| !c.is_empty() && number(c).is_none();
    let header = match records.as_slice() {
        [(_, a), rest @ ..] if !rest.is_empty() => {
            let b = &rest[0].1;
            let over_a_number = a.iter().zip(b).any(|(ha, hb)| word(ha) && number(hb).is_some());
            let names_a_column = a.iter().enumerate().any(|(c, name)| {
                let below: Vec<&str> = rest
                    .iter()
                    .filter_map(|(_, r)| r.get(c))
                    .map(String::as_str)
                    .collect();
                let mut distinct = below.clone();
                distinct.sort_unstable();
                distinct.dedup();
                word(name) && !below.contains(&name.as_str()) && distinct.len() < below.len()
            });
            over_a_number || names_a_column || a.iter().all(|c| word(c))
        }
        [(_, a)] => a.iter().all(|c| word(c)),
        _ => false,
    };
    let header = header.then(|| records.remove(0).1);
    let width = header
        .as_ref()
        .map_or_else(|| records.first().map_or(0, |(_, r)| r.len()), Vec::len);
    let first_line = if header.is_some() {
        "the header"
    } else {
        "the first row"
    };
    for (line, row) in &records {
        if row.len() != width {
            return Err(format!(
                "line {line} has {} columns; {first_line} has {width}",
                row.len()
            ));
        }
    }
    if records.is_empty() {
        return Err("the data has a header and no rows".into());
    }
    Ok(Cells {
        header,
        rows: records,
    })
}

/// The target column's index: named by header, by number from 1, else the last.
fn target_column(target: Option<&str>, names: &[String]) -> Result<usize, String> {
    let Some(t) = target.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(names.len() - 1);
    };
    if let Some(i) = names.iter().position(|n| n == t) {
        return Ok(i);
    }
    match t.parse::<usize>() {
        Ok(i) if (1..=names.len()).contains(&i) => Ok(i - 1),
        _ => Err(format!(
            "the target '{}' is not a column: name one of {} or give its number, 1 to {}",
            clip(t),
            names
                .iter()
                .take(8)
                .map(|n| format!("'{}'", clip(n)))
                .collect::<Vec<_>>()
                .join(", "),
            names.len()
        )),
    }
}

fn target_values(
    raw: &[&str],
    kind: TargetKind,
    name: &str,
    rows: &[(u64, Vec<String>)],
) -> Result<Target, String> {
    let numbers: Vec<Option<f32>> = raw.iter().map(|c| number(c)).collect();
    let all_numbers = numbers.iter().all(Option::is_some);
    let whole = all_numbers && numbers.iter().flatten().all(|v| v.fract() == 0.0);
    let mut distinct: Vec<&str> = raw.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    // Numbers are distinct by value (`1` and `1.0` are one class).
    let mut values: Vec<f32> = numbers.iter().flatten().copied().collect();
    values.sort_by(f32::total_cmp);
    values.dedup();
    let count = if all_numbers { values.len() } else { distinct.len() };
    let classes = match kind {
        TargetKind::Classes => true,
        TargetKind::Values => false,
        TargetKind::Auto => !all_numbers || (whole && count <= AUTO_CLASSES),
    };
    if !classes {
        let mut values = Vec::with_capacity(raw.len());
        for (v, (line, _)) in numbers.iter().zip(rows) {
            values.push(v.ok_or_else(|| {
                format!(
                    "line {line}: the target '{}' is not a number (read it as classes?)",
                    clip(name)
                )
            })?);
        }
        return Ok(Target::Values(values));
    }
    // Class names in order: numerically where they are numbers, else as text.
    let mut names: Vec<String> = distinct.iter().map(|s| s.to_string()).collect();
    if all_numbers {
        names.sort_by(|a, b| {
            number(a)
                .partial_cmp(&number(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        names.dedup_by(|a, b| number(a) == number(b));
    }
    if names.len() > MAX_CLASSES {
        return Err(format!(
            "the target '{}' has {} distinct values; at most {MAX_CLASSES} classes are allowed (read it as numbers?)",
            clip(name),
            names.len()
        ));
    }
    let labels = raw
        .iter()
        .map(|c| {
            let i = names
                .iter()
                .position(|n| n == c || (all_numbers && number(n) == number(c)))
                .unwrap_or(0);
            i as u16
        })
        .collect();
    Ok(Target::Classes { labels, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Table, String> {
        read_table(text, &TableOptions::default())
    }

    #[test]
    fn a_csv_with_a_header_and_text_labels() {
        let t = read("a,b,species\n1,2,setosa\n3,4.5,virginica\n5,6,setosa\n").unwrap();
        assert_eq!(t.features, ["a", "b"]);
        assert_eq!(t.x, [1.0, 2.0, 3.0, 4.5, 5.0, 6.0]);
        assert_eq!(
            t.target,
            Target::Classes {
                labels: vec![0, 1, 0],
                names: vec!["setosa".into(), "virginica".into()]
            }
        );
        assert_eq!(t.target_name, "species");
    }

    #[test]
    fn headerless_points_pasted_with_spaces_and_numeric_classes() {
        let t = read("0.1 0.2 1\n-0.3 0.4 0\n\n0.5 -0.6 2\n").unwrap();
        assert_eq!(t.features, ["x1", "x2"]);
        assert_eq!(t.classes(), 3);
        let Target::Classes { labels, names } = &t.target else {
            panic!()
        };
        assert_eq!(labels, &[1, 0, 2]);
        assert_eq!(names, &["0", "1", "2"]);
    }

    #[test]
    fn numbers_that_are_not_few_whole_ones_are_a_regression_target() {
        let t = read("x;y\n1;0.5\n2;1.5\n3;2.25\n").unwrap();
        assert_eq!(t.target, Target::Values(vec![0.5, 1.5, 2.25]));
        let opts = TableOptions {
            target: Some("1".into()),
            kind: TargetKind::Classes,
            plane: false,
        };
        let t = read_table("x;y\n1;0.5\n2;1.5\n3;2.25\n", &opts).unwrap();
        assert_eq!(t.target_name, "x");
        assert_eq!(t.features, ["y"]);
        assert_eq!(t.classes(), 3);
    }

    #[test]
    fn bad_input_is_named_by_line_and_column() {
        let err = read("a,b,c\n1,2,0\n1,2\n").unwrap_err();
        assert_eq!(err, "line 3 has 2 columns; the header has 3");
        let err = read("a,b,c\n1,2,0\n1,zz,1\n").unwrap_err();
        assert_eq!(err, "line 3: column 'b' holds 'zz', not a number");
        let err = read("a,b,c\n1,,0\n").unwrap_err();
        assert!(err.contains("line 2: column 'b' is empty"), "{err}");
        assert_eq!(read("").unwrap_err(), "the data is empty");
        assert_eq!(read("\n \n").unwrap_err(), "the data is empty");
        assert!(read("a,b\n").unwrap_err().contains("row"));
        let err = read_table(
            "a,b\n1,x\n2,y\n",
            &TableOptions {
                kind: TargetKind::Values,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("line 2: the target 'b' is not a number"), "{err}");
        let err = read_table(
            "a,b\n1,2\n",
            &TableOptions {
                target: Some("c".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("'c' is not a column"), "{err}");
        // One class only: nothing to classify.
        assert!(read("a,b\n1,0\n2,0\n").unwrap_err().contains("class"));
    }

    #[test]
    fn headers_over_text_labels_trailing_commas_and_missing_cells_are_read_as_meant() {
        // pandas' integer column names over a text target.
        let t = read("0,1,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,2.9,virginica\n").unwrap();
        assert_eq!(t.features, ["0", "1"]);
        assert_eq!(t.rows(), 3);
        assert_eq!(t.classes(), 2);
        // A trailing comma on every line adds no column.
        let t = read("a,b,c,\n1,2,0,\n3,4,1,\n").unwrap();
        assert_eq!((t.features.len(), t.rows()), (2, 2));
        // An empty cell in a headerless first row is a missing value, not a header.
        let err = read("1,,0\n2,3,1\n4,5,0\n").unwrap_err();
        assert!(err.contains("line 1: column 'x2' is empty"), "{err}");
        // 1 and 1.0 are one class.
        let t = read("x,y\n0.5,1\n0.7,1.0\n0.2,0\n").unwrap();
        assert_eq!(t.classes(), 2);
        // Points are two features.
        let opts = TableOptions {
            plane: true,
            ..Default::default()
        };
        assert!(
            read_table("a,b,c,d\n1,2,3,0\n4,5,6,1\n", &opts)
                .unwrap_err()
                .contains("points are x, y")
        );
    }

    #[test]
    fn too_many_rows_are_refused_before_the_rest_is_read() {
        let text: String = (0..MAX_ROWS + 10).map(|i| format!("{i},{}\n", i % 2)).collect();
        assert!(read(&text).unwrap_err().contains("more than 20000 rows"));
    }
}
