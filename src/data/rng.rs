//! The seeded generator every data set, init and batch order draws from.

/// SplitMix64: tiny, fast, and identical on wasm and native. Statistical quality is ample for
/// drawing toy data, weight init and mini-batch order.
///
/// Why not `rand_pcg` + `rand_distr`, which are as deterministic across platforms: a `v=1` link
/// means these exact streams (data, init, adapters, batch order), so a bookmarked link replays
/// the curve it showed; another generator would redraw every seeded experiment. A change of
/// generator belongs with a new link version (`v=2`), where old links keep this one.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent stream for a named purpose, so adding draws to one purpose (say, data) never
    /// shifts another (say, weight init).
    pub fn stream(seed: u64, purpose: u64) -> Self {
        let mut r = Self::new(seed.wrapping_mul(0xD134_2543_DE82_EF95) ^ purpose);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln never sees 0
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Purposes for [`Rng::stream`].
pub mod streams {
    pub const TRAIN_DATA: u64 = 1;
    pub const VAL_DATA: u64 = 2;
    pub const INIT: u64 = 3;
    pub const BATCHES: u64 = 4;
    /// The planted task's teacher (W0, ΔW*, the input subspace).
    pub const TEACHER: u64 = 5;
    /// LoRA factors drawn when adapters are attached.
    pub const ADAPTER: u64 = 6;
    /// The order of the digits before the train/val split.
    pub const SPLIT: u64 = 7;
    /// Which modular sums train and which validate.
    pub const SEQ_SPLIT: u64 = 8;
    /// The char LM's end-of-run sample (its Gumbel noise).
    pub const SAMPLE: u64 = 9;
    /// Pruning's random masks and DARE's drops, one draw per weight.
    pub const PRUNE: u64 = 10;
    /// A random subspace's projection P (`r=sub<d>`).
    pub const SUBSPACE: u64 = 11;
    /// The planted task's training stream (`stream=1`): each step's fresh batch.
    pub const STREAM: u64 = 12;
}
