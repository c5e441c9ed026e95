//! Chunks of a kernel's rows run on every core natively (rayon, as flex's own kernels) and one
//! after another in the page, whose wasm has one thread: the kernels are written once against
//! `par_chunks`/`par_chunks_mut`, which are std's `chunks`/`chunks_mut` there. A chunk's result
//! does not depend on which thread computes it, and sums across chunks are taken in chunk order,
//! so every thread count gives the same bits.

/// What a kernel imports: rayon's slice and iterator traits natively, the shim below on wasm.
pub mod prelude {
    #[cfg(not(target_family = "wasm"))]
    pub use rayon::prelude::{IndexedParallelIterator, ParallelIterator, ParallelSlice, ParallelSliceMut};

    #[cfg(target_family = "wasm")]
    pub use super::{ParallelSlice, ParallelSliceMut};
}

/// std's chunks under rayon's name (wasm).
#[cfg(target_family = "wasm")]
pub trait ParallelSlice<T> {
    fn par_chunks(&self, len: usize) -> std::slice::Chunks<'_, T>;
}

#[cfg(target_family = "wasm")]
impl<T> ParallelSlice<T> for [T] {
    fn par_chunks(&self, len: usize) -> std::slice::Chunks<'_, T> {
        self.chunks(len)
    }
}

/// std's mutable chunks under rayon's name (wasm).
#[cfg(target_family = "wasm")]
pub trait ParallelSliceMut<T> {
    fn par_chunks_mut(&mut self, len: usize) -> std::slice::ChunksMut<'_, T>;
}

#[cfg(target_family = "wasm")]
impl<T> ParallelSliceMut<T> for [T] {
    fn par_chunks_mut(&mut self, len: usize) -> std::slice::ChunksMut<'_, T> {
        self.chunks_mut(len)
    }
}

/// Elements an element-wise kernel hands to one task: large enough that a task outweighs
/// rayon's hand-over, small enough that both cores get work on a [2048, 512] activation.
pub const ELEMENTS: usize = 16 * 1024;

/// Rows of a row-wise kernel per task (≥ 64 rows of 64 or more).
pub const ROWS: usize = 64;
