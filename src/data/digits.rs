//! The UCI 8×8 handwritten digits (1797 images, 10 classes), bundled in the repository as the
//! `digits.csv.gz` that scikit-learn ships (data/README.md records its origin and licence). It is
//! compiled into the binary, so the page needs no download and the CLI no network.

use std::io::Read;

use crate::data::{Dataset, Rng, Samples, Targets, streams};
use crate::knobs::task::Task;

pub const CLASSES: usize = crate::knobs::task::DIGIT_CLASSES;
/// Pixels per image (8×8).
pub const PIXELS: usize = crate::knobs::task::DIGIT_PIXELS;
const SIDE: usize = 8;
/// Images held out for validation; the rest is the pool training samples are drawn from.
pub const VAL_COUNT: usize = 360;

static GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Every image as 64 pixel values in 0..=16 and its label, in file order.
fn load() -> Result<Vec<([u8; PIXELS], u8)>, String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(GZ)
        .read_to_string(&mut text)
        .map_err(|e| format!("the bundled digits could not be read: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Vec<u8> = line
                .split(',')
                .map(|t| t.trim().parse::<u8>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("bad digits row: {e}"))?;
            if v.len() != PIXELS + 1 || v[PIXELS] as usize >= CLASSES {
                return Err(format!("bad digits row of {} values", v.len()));
            }
            let mut px = [0u8; PIXELS];
            px.copy_from_slice(&v[..PIXELS]);
            Ok((px, v[PIXELS]))
        })
        .collect()
}

/// How many training images a request for `n` gets: the pool holds what validation leaves.
pub fn train_count(n: usize) -> usize {
    n.min(1797 - VAL_COUNT)
}

/// A seeded split: the images are shuffled by `seed`, the last [`VAL_COUNT`] validate and the
/// first `min(n, 1437)` train. Pixels map from 0..=16 to [−1, 1].
pub fn dataset(n: usize, seed: u64) -> Dataset {
    // The file is compiled in and checked by a test; an unreadable copy is a broken build.
    let mut all = load().expect("the bundled digits data is valid");
    Rng::stream(seed, streams::SPLIT).shuffle(&mut all);
    let (pool, val) = all.split_at(all.len() - VAL_COUNT);
    let to_samples = |rows: &[([u8; PIXELS], u8)]| Samples {
        x: rows
            .iter()
            .flat_map(|(px, _)| px.iter().map(|&p| f32::from(p) / 8.0 - 1.0))
            .collect(),
        dim: PIXELS,
        targets: Targets::Labels(rows.iter().map(|(_, l)| i64::from(*l)).collect()),
    };
    Dataset {
        task: Task::Digits,
        classes: CLASSES,
        train: to_samples(&pool[..train_count(n)]),
        val: to_samples(val),
    }
}

/// Rotates every 8×8 image in `x` (row-major, `dim` = 64 values each) a quarter turn clockwise.
pub fn rotate_images(x: &mut [f32], dim: usize) {
    if dim != PIXELS {
        return;
    }
    for img in x.chunks_exact_mut(PIXELS) {
        let old: Vec<f32> = img.to_vec();
        for r in 0..SIDE {
            for c in 0..SIDE {
                img[r * SIDE + c] = old[(SIDE - 1 - c) * SIDE + r];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_file_has_every_image() {
        let all = load().unwrap();
        assert_eq!(all.len(), 1797);
        for c in 0..CLASSES as u8 {
            let n = all.iter().filter(|(_, l)| *l == c).count();
            assert!((170..=190).contains(&n), "class {c} has {n} images");
        }
        assert!(all.iter().all(|(px, _)| px.iter().all(|&p| p <= 16)));
    }

    #[test]
    fn four_rotations_are_the_identity() {
        let mut x: Vec<f32> = (0..PIXELS as u32 * 2).map(|i| i as f32).collect();
        let orig = x.clone();
        rotate_images(&mut x, PIXELS);
        assert_ne!(x, orig);
        for _ in 0..3 {
            rotate_images(&mut x, PIXELS);
        }
        assert_eq!(x, orig);
    }
}
