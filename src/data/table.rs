//! Your own table as a data set (#35): a seeded split, a fifth validating (`knobs::own::split`),
//! as the digits' split is seeded; a CSV's features (and a numeric target) standardised by the
//! training rows' mean and standard deviation, as one would before an MLP; points on the page's
//! plane train as they are, so the decision boundary is drawn in their coordinates.

use super::rng::{Rng, streams};
use super::samples::{Dataset, Samples, Targets};
use crate::knobs::own::{Table, Target, split};
use crate::knobs::task::Task;

/// The points a chart shows (a 2-D classification task's training set) as a table of points
/// on the plane: where a click on the decision boundary starts your own points (#35).
pub fn points_table(points: &Samples) -> Option<Table> {
    let labels = points.labels();
    if points.dim != 2 || labels.is_empty() || labels.len() != points.len() {
        return None;
    }
    let classes = labels.iter().copied().max()? + 1;
    let names = (0..classes).map(|c| c.to_string()).collect();
    Some(Table {
        features: vec!["x".into(), "y".into()],
        x: points.x.clone(),
        target: Target::Classes {
            labels: labels.iter().map(|&l| u16::try_from(l).unwrap_or(0)).collect(),
            names,
        },
        target_name: "class".into(),
        plane: true,
    })
}

/// The train and validation sets of `table` for `seed`.
pub fn dataset(table: &Table, seed: u64) -> Dataset {
    let (rows, dim) = (table.rows(), table.dim());
    let mut order: Vec<usize> = (0..rows).collect();
    Rng::stream(seed, streams::SPLIT).shuffle(&mut order);
    let (train_rows, _) = split(rows);
    let (train, val) = order.split_at(train_rows);

    let x_scale = if table.plane {
        vec![(0.0, 1.0); dim]
    } else {
        (0..dim)
            .map(|c| moments(train.iter().map(|&r| table.x[r * dim + c])))
            .collect()
    };
    let y_scale = match &table.target {
        Target::Values(v) if !table.plane => moments(train.iter().map(|&r| v[r])),
        _ => (0.0, 1.0),
    };
    let samples = |rows: &[usize]| Samples {
        x: rows
            .iter()
            .flat_map(|&r| (0..dim).map(move |c| (r, c)))
            .map(|(r, c)| (table.x[r * dim + c] - x_scale[c].0) / x_scale[c].1)
            .collect(),
        dim,
        targets: match &table.target {
            Target::Classes { labels, .. } => {
                Targets::Labels(rows.iter().map(|&r| i64::from(labels[r])).collect())
            }
            Target::Values(v) => Targets::Values {
                y: rows.iter().map(|&r| (v[r] - y_scale.0) / y_scale.1).collect(),
                dim: 1,
            },
        },
    };
    Dataset {
        task: Task::Table,
        classes: table.classes(),
        train: samples(train),
        val: samples(val),
    }
}

/// Mean and standard deviation (1 where a column is constant, so it stays 0). Constant means
/// a spread below f32's resolution at the column's magnitude, so a feature of tiny but real
/// spread (1e-7 ± 1e-8) is scaled like any other.
fn moments(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().map(f64::from).sum::<f64>() / n;
    let var = values.map(|v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let resolution = (mean.abs() * f64::from(f32::EPSILON)).max(f64::from(f32::MIN_POSITIVE));
    let sd = if var.sqrt() > 4.0 * resolution {
        var.sqrt()
    } else {
        1.0
    };
    (mean as f32, sd as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize, plane: bool, target: Target) -> Table {
        Table {
            features: vec!["a".into(), "b".into()],
            x: (0..rows).flat_map(|i| [i as f32, 5.0]).collect(),
            target,
            target_name: "t".into(),
            plane,
        }
    }

    #[test]
    fn a_seeded_fifth_validates_and_every_row_is_used_once() {
        let labels: Vec<u16> = (0..50).map(|i| (i % 2) as u16).collect();
        let t = table(
            50,
            true,
            Target::Classes {
                labels,
                names: vec!["0".into(), "1".into()],
            },
        );
        let d = dataset(&t, 3);
        assert_eq!((d.train.len(), d.val.len()), (40, 10));
        let mut seen: Vec<f32> = d.train.x.iter().chain(&d.val.x).step_by(2).copied().collect();
        seen.sort_by(f32::total_cmp);
        assert_eq!(
            seen,
            (0..50).map(|i| i as f32).collect::<Vec<_>>(),
            "points on the plane as they are"
        );
        // Labels follow their rows.
        for (p, l) in d.train.x.chunks(2).zip(d.train.labels()) {
            assert_eq!(*l, p[0] as i64 % 2);
        }
        assert_eq!(dataset(&t, 3), d);
        assert_ne!(dataset(&t, 4).train.x, d.train.x);
    }

    #[test]
    fn a_csv_is_standardised_by_its_training_rows() {
        let t = table(
            40,
            false,
            Target::Values((0..40).map(|i| 2.0 * i as f32 + 1.0).collect()),
        );
        let d = dataset(&t, 1);
        let col = |s: &Samples, c: usize| s.x.iter().skip(c).step_by(2).copied().collect::<Vec<f32>>();
        let a = col(&d.train, 0);
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "{mean} {var}");
        assert!(
            col(&d.train, 1).iter().all(|&v| v == 0.0),
            "a constant column stays 0"
        );
        // The target is the same affine map of the feature a: standardised they coincide.
        let Targets::Values { y, dim: 1 } = &d.train.targets else {
            panic!()
        };
        for (v, x) in y.iter().zip(&a) {
            assert!((v - x).abs() < 1e-4);
        }
    }
}
