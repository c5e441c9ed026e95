//! The linear layer on CubeCL (#32): x·W + b as one tiled product that adds the bias as it
//! writes; backward dx = dy·Wᵀ as one, and dW = xᵀ·dy with db = Σ_rows dy as one (the tiles of
//! dy that dW's first row reads already pass every row of dy by, so the bias gradient is summed
//! there). Burn's fused product is the same on a real GPU when its autotuner picks the variant
//! that fuses the bias; on a software adapter it picks the plain product and the bias, the
//! bias gradient and every other element-wise op after a product become launches of their own
//! (measured on lavapipe: 29 such a step).
//!
//! Tiles of [`TILE`]×[`TILE`]: a cube computes one tile of the output, each thread one element,
//! staging a tile of each operand in shared memory per step along the reduction. Operands are
//! read through their strides, so a transposed operand (Wᵀ, xᵀ) is the same buffer read across.

use burn_cubecl::kernel::untile;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeCount, CubeDim};

use super::{f32_type, scalar_like};

/// The tile's side: 16×16 = 256 threads a cube, WebGPU's largest workgroup by default.
const TILE: usize = 16;

/// out [m, n] = A·B (+ bias [n]), A [m, k] and B [k, n] read through their strides, each
/// transposed when asked (then A is stored [k, m], B [n, k]); with `with_colsum`, also
/// colsum [n] = Σ_k B[k, n] (the bias gradient, when B is dy).
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
fn product_kernel<F: Float>(
    a: &Tensor<F>,
    b: &Tensor<F>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    colsum: &mut Tensor<F>,
    #[comptime] trans_a: bool,
    #[comptime] trans_b: bool,
    #[comptime] with_bias: bool,
    #[comptime] with_colsum: bool,
    #[define(F)] _dtype: ElemType,
) {
    let m = out.shape(0);
    let n = out.shape(1);
    let mut k = a.shape(1);
    let mut a_row = a.stride(0);
    let mut a_col = a.stride(1);
    if trans_a {
        k = a.shape(0);
        a_row = a.stride(1);
        a_col = a.stride(0);
    }
    let mut b_row = b.stride(0);
    let mut b_col = b.stride(1);
    if trans_b {
        b_row = b.stride(1);
        b_col = b.stride(0);
    }
    let tx = UNIT_POS_X as usize;
    let ty = UNIT_POS_Y as usize;
    let row = CUBE_POS_Y as usize * TILE + ty;
    let col = CUBE_POS_X as usize * TILE + tx;
    let mut a_tile = Shared::<[F]>::new_slice(TILE * TILE);
    let mut b_tile = Shared::<[F]>::new_slice(TILE * TILE);
    let mut acc = F::new(0.0);
    let mut sum = F::new(0.0);
    let steps = k.div_ceil(TILE);
    for step in 0..steps {
        let ak = step * TILE + tx;
        let mut av = F::new(0.0);
        if row < m && ak < k {
            av = a[row * a_row + ak * a_col];
        }
        a_tile[ty * TILE + tx] = av;
        let bk = step * TILE + ty;
        let mut bv = F::new(0.0);
        if bk < k && col < n {
            bv = b[bk * b_row + col * b_col];
        }
        b_tile[ty * TILE + tx] = bv;
        sync_cube();
        #[unroll]
        for kk in 0..TILE {
            acc += a_tile[ty * TILE + kk] * b_tile[kk * TILE + tx];
        }
        if with_colsum && row == 0 {
            #[unroll]
            for kk in 0..TILE {
                sum += b_tile[kk * TILE + tx];
            }
        }
        sync_cube();
    }
    if row < m && col < n {
        let mut value = acc;
        if with_bias {
            value += bias[col];
        }
        out[row * n + col] = value;
        if with_colsum && row == 0 {
            colsum[col] = sum;
        }
    }
}

/// One launch of the product: out [m, n] (and the column sums of B when `colsum`).
#[allow(clippy::too_many_arguments)]
fn product(
    a: CubeTensor,
    b: CubeTensor,
    bias: Option<CubeTensor>,
    [m, n]: [usize; 2],
    trans_a: bool,
    trans_b: bool,
    colsum: bool,
) -> (CubeTensor, Option<CubeTensor>) {
    let (a, b) = (untile(a), untile(b));
    let out = scalar_like(&a, [m, n].into());
    // An unused binding still needs a buffer: B again where the bias is absent (read-only, never
    // read), a one-element one where no sums are asked for (never written). Never the output:
    // WebGPU refuses a buffer bound both read-only and writable in one dispatch.
    let sums = colsum.then(|| scalar_like(&a, [n].into()));
    let with_bias = bias.is_some();
    let bias = bias.map(untile).unwrap_or_else(|| b.clone());
    let sums_arg = sums.clone().unwrap_or_else(|| scalar_like(&a, [1].into()));
    let count = CubeCount::Static(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1);
    let dim = CubeDim::new_2d(TILE as u32, TILE as u32);
    product_kernel::launch(
        &a.client.clone(),
        count,
        dim,
        a.into_tensor_arg(),
        b.into_tensor_arg(),
        bias.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        sums_arg.into_tensor_arg(),
        trans_a,
        trans_b,
        with_bias,
        colsum,
        f32_type(),
    );
    (out, sums)
}

/// x [m, k]·W [k, n] + b [n] → [m, n].
pub(super) fn forward(x: CubeTensor, w: CubeTensor, b: Option<CubeTensor>) -> CubeTensor {
    let (m, n) = (x.meta.shape()[0], w.meta.shape()[1]);
    product(x, w, b, [m, n], false, false, false).0
}

/// dx = dy [m, n]·Wᵀ → [m, k].
pub(super) fn backward_x(dy: CubeTensor, w: CubeTensor) -> CubeTensor {
    let (m, k) = (dy.meta.shape()[0], w.meta.shape()[0]);
    product(dy, w, None, [m, k], false, true, false).0
}

/// (dW = xᵀ·dy [k, n], db = Σ_rows dy [n]).
pub(super) fn backward_weight(x: CubeTensor, dy: CubeTensor) -> (CubeTensor, CubeTensor) {
    let (k, n) = (x.meta.shape()[1], dy.meta.shape()[1]);
    let (dw, db) = product(x, dy, None, [k, n], true, false, true);
    (dw, db.expect("the column sums were asked for"))
}
