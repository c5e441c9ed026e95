//! The adaptation phase's data: the pre-training task shifted (inputs rotated, labels reversed).

use super::digits;
use super::samples::{Dataset, Samples, Targets};
use crate::knobs::task::Shift;

/// The shifted copy of `data`: what the adaptation phase trains and validates on.
pub fn shift(shift: Shift, data: &Dataset) -> Dataset {
    let one = |s: &Samples| -> Samples {
        let mut s = s.clone();
        match shift {
            Shift::Rotate if s.dim == 2 => {
                for p in s.x.chunks_exact_mut(2) {
                    let (x, y) = (p[0], p[1]);
                    p[0] = -y;
                    p[1] = x;
                }
            }
            Shift::Rotate => digits::rotate_images(&mut s.x, s.dim),
            Shift::Flip => {
                if let Targets::Labels(l) = &mut s.targets {
                    let k = data.classes as i64;
                    l.iter_mut().for_each(|c| *c = k - 1 - *c);
                }
            }
            // The task itself (the trainer never asks: without a shift there is no switch).
            Shift::None => {}
        }
        s
    };
    Dataset {
        train: one(&data.train),
        val: one(&data.val),
        ..data.clone()
    }
}
