//! Blocked Cholesky factorisation and lower-triangular solve on nalgebra's matrices:
//! the same arithmetic as nalgebra's `Cholesky` and `solve_lower_triangular`, with
//! nearly all of it moved into matrix products (matrixmultiply's blocked, vectorised
//! kernels, which nalgebra's products already use), where nalgebra's own go column by
//! column. For the GP's data (two thousand states and more in a crowd's pool) the
//! unblocked pair was most of the time to prepare a selection. A second linear-algebra
//! library (faer) would do the same, at the cost of its build and of its size in the
//! page's module, which runs this code too.

use nalgebra::{Cholesky, DMatrix};

/// Columns a block: the unblocked factor and solve of one block stay in cache.
const BLOCK: usize = 64;

/// The lower Cholesky factor `L` of the symmetric positive-definite `m` (its lower
/// triangle is read), with `L L^T = m`; `None` if `m` is not positive definite to
/// working precision.
pub fn cholesky(mut m: DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = m.nrows();
    assert_eq!(n, m.ncols(), "a Cholesky factor is of a square matrix");
    if n <= BLOCK {
        return Cholesky::new(m).map(Cholesky::unpack);
    }
    let mut k = 0;
    while k < n {
        let b = BLOCK.min(n - k);
        let l11 = Cholesky::new(m.view((k, k), (b, b)).into_owned())?.unpack();
        m.view_mut((k, k), (b, b)).copy_from(&l11);
        let below = n - k - b;
        if below > 0 {
            // L21 = A21 L11^-T, then the trailing block's lower triangle loses L21 L21^T,
            // a column panel at a time.
            let l11_inverse = lower_inverse(&l11)?;
            let l21 = m.view((k + b, k), (below, b)) * l11_inverse.transpose();
            m.view_mut((k + b, k), (below, b)).copy_from(&l21);
            let mut panel = 0;
            while panel < below {
                let width = BLOCK.min(below - panel);
                let rows = below - panel;
                let upper = l21.rows(panel, width).transpose();
                m.view_mut((k + b + panel, k + b + panel), (rows, width)).gemm(-1.0, &l21.rows(panel, rows), &upper, 1.0);
                panel += width;
            }
        }
        k += b;
    }
    m.fill_upper_triangle(0.0, 1);
    Some(m)
}

/// `L^-1 b` for a lower-triangular `l` with a non-zero diagonal (`None` otherwise).
pub fn solve_lower(l: &DMatrix<f64>, b: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = l.nrows();
    assert_eq!(n, b.nrows(), "the right-hand side has a row per unknown");
    if n <= BLOCK {
        return l.solve_lower_triangular(b);
    }
    let mut x = b.clone();
    let mut k = 0;
    while k < n {
        let width = BLOCK.min(n - k);
        if k > 0 {
            // This block's rows lose what the solved ones above contribute.
            let (solved, mut rows) = x.rows_range_pair_mut(0..k, k..k + width);
            rows.gemm(-1.0, &l.view((k, 0), (width, k)), &solved, 1.0);
        }
        let inverse = lower_inverse(&l.view((k, k), (width, width)).into_owned())?;
        let block = &inverse * x.rows(k, width);
        x.rows_mut(k, width).copy_from(&block);
        k += width;
    }
    Some(x)
}

/// `L^-1` for a small lower-triangular `l` with a non-zero diagonal (`None` otherwise):
/// taken once so that applying it is a matrix product.
pub fn lower_inverse(l: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = l.nrows();
    l.solve_lower_triangular(&DMatrix::identity(n, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A symmetric positive-definite matrix `A A^T / n + I`.
    fn spd(n: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = DMatrix::from_fn(n, n, |_, _| rng.random_range(-1.0..1.0));
        &a * a.transpose() / n as f64 + DMatrix::identity(n, n)
    }

    #[test]
    fn the_blocked_factor_and_solve_equal_the_unblocked_ones_across_block_edges() {
        for (n, columns) in [(1, 1), (BLOCK, 3), (BLOCK + 1, 2), (3 * BLOCK + 17, 40)] {
            let m = spd(n, n as u64);
            let blocked = cholesky(m.clone()).expect("positive definite");
            let unblocked = Cholesky::new(m.clone()).unwrap().unpack();
            assert!((&blocked - &unblocked).amax() < 1e-12, "factor of size {n}");
            assert!((&blocked * blocked.transpose() - &m).amax() < 1e-12, "L L^T of size {n}");
            assert!((0..n).all(|j| (0..j).all(|i| blocked[(i, j)] == 0.0)), "nothing above the diagonal");
            let b = DMatrix::from_fn(n, columns, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let x = solve_lower(&blocked, &b).unwrap();
            assert!((&blocked * &x - &b).amax() < 1e-10, "solve of size {n}");
            assert!((x - unblocked.solve_lower_triangular(&b).unwrap()).amax() < 1e-10, "solve of size {n}");
        }
    }

    #[test]
    fn a_matrix_that_is_not_positive_definite_has_no_factor() {
        let mut m = spd(2 * BLOCK + 5, 3);
        // A negative pivot in the second block.
        m[(BLOCK + 2, BLOCK + 2)] = -1.0;
        assert!(cholesky(m).is_none());
    }
}
