//! A linear layer, y = x·W + b, on the CPU backend as one matrix product that starts from the
//! bias (gemm's dst = dst + x·W), and its backward as two products and one column sum. Burn's
//! version zero-fills each product's output and then copies it to realign it, adds the bias in a
//! pass of its own, and sums the bias gradient in another (#32: ≈ 10 % of the transformer's step).

use burn_flex::FlexTensor;
use burn_std::Shape;

use super::flex::{contiguous, tensor, values};

/// Products of at least this many multiply-adds (m·n·k) are spread over the cores natively,
/// as flex does with its own.
const PARALLEL_MIN: usize = 192 * 192 * 192;

/// The two dimensions of a matrix.
fn dims(t: &FlexTensor) -> [usize; 2] {
    let s = t.layout().shape();
    assert_eq!(s.len(), 2, "fused linear: matrices only");
    [s[0], s[1]]
}

/// A row-major matrix as gemm reads it: its data, and its column and row strides (a
/// transposed view is the same data with the strides swapped).
struct Operand<'a> {
    data: &'a [f32],
    col_stride: isize,
    row_stride: isize,
}

impl<'a> Operand<'a> {
    /// `data` as a [rows, cols] matrix.
    fn of(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            col_stride: 1,
            row_stride: cols as isize,
        }
    }

    /// `data` ([cols, rows], row-major) read as its transpose, [rows, cols].
    fn transposed(data: &'a [f32], rows: usize) -> Self {
        Self {
            data,
            col_stride: rows as isize,
            row_stride: 1,
        }
    }
}

/// out [m, n] (+)= lhs [m, k] · rhs [k, n]: added to what `out` holds when `accumulate`.
fn product(out: &mut [f32], [m, n, k]: [usize; 3], lhs: Operand, rhs: Operand, accumulate: bool) {
    assert!(out.len() == m * n && lhs.data.len() == m * k && rhs.data.len() == k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    #[cfg(not(target_family = "wasm"))]
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    #[cfg(target_family = "wasm")]
    let parallelism = {
        let _ = PARALLEL_MIN;
        gemm::Parallelism::None
    };
    // SAFETY: the three buffers hold m·n, m·k and k·n elements (asserted above) and the strides
    // address exactly those elements; `out` does not alias the inputs (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.data.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// x [n, in], W [in, out], b [out] → y = x·W + b, [n, out].
pub fn forward(x: FlexTensor, w: FlexTensor, b: FlexTensor) -> FlexTensor {
    let (x, w, b) = (contiguous(x), contiguous(w), contiguous(b));
    let ([n, d_in], [w_in, d_out]) = (dims(&x), dims(&w));
    assert_eq!(
        d_in, w_in,
        "fused linear: x is [n, {d_in}], W is [{w_in}, {d_out}]"
    );
    let bias = values(&b);
    assert_eq!(
        bias.len(),
        d_out,
        "fused linear: the bias must have W's output width"
    );
    // Each row starts as the bias; the product is added to it.
    let mut y = Vec::with_capacity(n * d_out);
    for _ in 0..n {
        y.extend_from_slice(bias);
    }
    product(
        &mut y,
        [n, d_out, d_in],
        Operand::of(values(&x), d_in),
        Operand::of(values(&w), d_out),
        true,
    );
    tensor(y, Shape::from(vec![n, d_out]))
}

/// Gradients of x, W and b from dL/dy [n, out]: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy; each
/// only where `need` says its input is tracked.
pub fn backward(
    x: &FlexTensor,
    w: &FlexTensor,
    grad: FlexTensor,
    need: [bool; 3],
) -> [Option<FlexTensor>; 3] {
    let grad = contiguous(grad);
    let ([n, d_in], [_, d_out]) = (dims(x), dims(w));
    let dy = values(&grad);
    let dx = need[0].then(|| {
        let mut dx = vec![0f32; n * d_in];
        product(
            &mut dx,
            [n, d_in, d_out],
            Operand::of(dy, d_out),
            Operand::transposed(values(w), d_out),
            false,
        );
        tensor(dx, Shape::from(vec![n, d_in]))
    });
    let dw = need[1].then(|| {
        let mut dw = vec![0f32; d_in * d_out];
        product(
            &mut dw,
            [d_in, d_out, n],
            Operand::transposed(values(x), d_in),
            Operand::of(dy, d_out),
            false,
        );
        tensor(dw, Shape::from(vec![d_in, d_out]))
    });
    let db = need[2].then(|| {
        let mut db = vec![0f32; d_out];
        tinytune_kernels::column_sums(dy, d_out, &mut db);
        tensor(db, Shape::from(vec![d_out]))
    });
    [dx, dw, db]
}
