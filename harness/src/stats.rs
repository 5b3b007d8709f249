//! Small statistics shared by detectors, scoring, the oracle and regression: location and spread
//! (mean, standard deviation, median, MAD, quantiles), least-squares and Theil-Sen slopes,
//! the Mann-Kendall trend test with tie correction, the Mann-Whitney U test (one-sided, exact
//! for small samples, and two-sided) and Fisher's exact test on a 2×2 table.
//!
//! Owns only pure functions over slices of `f64` (or `(x, y)` points). Every function that
//! needs data returns `None` on too little of it instead of NaN (Fisher's test, whose empty
//! table has p = 1, excepted); inputs must be finite.
//! Must not know about samples, traces or detectors.

use std::cmp::Ordering;

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (denominator `n − 1`); `None` below two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `p`-quantile (`0 ≤ p ≤ 1`) by linear interpolation between order statistics
/// (Hyndman & Fan type 7, the default of R and NumPy): position `p·(n−1)` in the sorted data.
pub fn quantile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let v = sorted(xs);
    let pos = p * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The median (mean of the two middle values for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    quantile(xs, 0.5)
}

/// Median absolute deviation from the median (unscaled; multiply by 1.4826 for a Gaussian σ).
pub fn mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// A fitted line `y = slope·x + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub slope: f64,
    pub intercept: f64,
}

impl Line {
    pub fn at(&self, x: f64) -> f64 {
        self.slope * x + self.intercept
    }
}

/// Ordinary least squares of `y` on `x` (what Prometheus `deriv` and `predict_linear` fit);
/// `None` below two points or when all `x` are equal.
pub fn least_squares(pts: &[(f64, f64)]) -> Option<Line> {
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some(Line {
        slope,
        intercept: my - slope * mx,
    })
}

/// Theil-Sen slope: the median of the slopes of all pairs of points with distinct `x`.
/// Robust to up to ~29% outliers; `None` without such a pair.
pub fn theil_sen_slope(pts: &[(f64, f64)]) -> Option<f64> {
    let mut slopes = Vec::with_capacity(pts.len() * pts.len().saturating_sub(1) / 2);
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            if b.0 != a.0 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    median(&slopes)
}

/// Result of the Mann-Kendall test for a monotone trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// `S = Σ_{i<j} sign(y_j − y_i)`: positive for an increasing series.
    pub s: i64,
    /// Variance of `S` under no trend, corrected for ties.
    pub var_s: f64,
    /// Normal score with continuity correction (0 when `S = 0` or all values tie).
    pub z: f64,
    /// One-sided p-value for an *increasing* trend: `P(Z ≥ z)`.
    pub p_increasing: f64,
}

/// The Mann-Kendall test on a series in time order, with the tie-corrected variance
/// `Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18` (`t_g` = size of tie group `g`)
/// and the normal approximation `z = (S ∓ 1)/√Var(S)`. `None` below three values.
pub fn mann_kendall(ys: &[f64]) -> Option<MannKendall> {
    let n = ys.len();
    if n < 3 {
        return None;
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match ys[j].total_cmp(&ys[i]) {
                Ordering::Greater => 1,
                Ordering::Less => -1,
                Ordering::Equal => 0,
            };
        }
    }
    let v = sorted(ys);
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[j + 1] == v[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j + 1;
    }
    let nf = n as f64;
    let var_s = ((nf * (nf - 1.0) * (2.0 * nf + 5.0)) - ties) / 18.0;
    let z = if var_s <= 0.0 || s == 0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / var_s.sqrt()
    } else {
        (s as f64 + 1.0) / var_s.sqrt()
    };
    Some(MannKendall {
        s,
        var_s,
        z,
        p_increasing: normal_sf(z),
    })
}

/// Largest number of relabelings enumerated for an exact Mann-Whitney p-value (C(16, 8) =
/// 12 870 fits; C(20, 10) = 184 756 does not): beyond it the normal approximation is good.
const EXACT_LIMIT: u64 = 100_000;

/// A one-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// `U` of `x`: pairs with `x > y`, plus half the tied pairs.
    pub u: f64,
    /// `P(U ≥ u)` under "same distribution": small when `x` tends to be larger than `y`.
    pub p: f64,
    /// Whether `p` is the exact permutation p-value (else the normal approximation).
    pub exact: bool,
}

/// One-sided Mann-Whitney U test that `x` tends to be larger than `y`. Ties get midranks.
/// The p-value is exact (all `C(n+m, n)` relabelings of the pooled midranks, so exact with
/// ties too) when there are at most 100 000 of them, else the normal approximation with tie
/// correction `Var(U) = nm/12 · [(N+1) − Σ(t³−t)/(N(N−1))]` and continuity correction.
/// `None` if either sample is empty.
pub fn mann_whitney_greater(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    mann_whitney_greater_limit(x, y, EXACT_LIMIT)
}

fn mann_whitney_greater_limit(x: &[f64], y: &[f64], exact_limit: u64) -> Option<MannWhitney> {
    let (n, m) = (x.len(), y.len());
    if n == 0 || m == 0 {
        return None;
    }
    let big_n = n + m;
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; big_n];
    let mut ties = 0.0;
    let mut i = 0;
    while i < big_n {
        let mut j = i;
        while j + 1 < big_n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        ranks[i..=j].iter_mut().for_each(|r| *r = mid);
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let offset = (n * (n + 1)) as f64 / 2.0;
    let r_x: f64 = pooled
        .iter()
        .zip(&ranks)
        .filter(|(p, _)| p.1)
        .map(|(_, r)| r)
        .sum();
    let u = r_x - offset;
    if binomial(big_n as u64, n as u64) <= exact_limit {
        let (mut hits, mut total) = (0u64, 0u64);
        // Half a midrank step below `u` counts as `u` (rank sums are multiples of 0.5).
        let bar = u - 0.25;
        subsets(&ranks, n, 0, 0.0, &mut |sum| {
            total += 1;
            hits += u64::from(sum - offset >= bar);
        });
        return Some(MannWhitney {
            u,
            p: hits as f64 / total as f64,
            exact: true,
        });
    }
    let (nf, mf, bn) = (n as f64, m as f64, big_n as f64);
    let var = nf * mf / 12.0 * ((bn + 1.0) - ties / (bn * (bn - 1.0)));
    let p = if var <= 0.0 {
        1.0
    } else {
        normal_sf((u - nf * mf / 2.0 - 0.5) / var.sqrt())
    };
    Some(MannWhitney { u, p, exact: false })
}

/// Calls `f` with the sum of every `k`-subset of `items[start..]` (plus `acc`).
fn subsets(items: &[f64], k: usize, start: usize, acc: f64, f: &mut impl FnMut(f64)) {
    if k == 0 {
        f(acc);
        return;
    }
    for i in start..=items.len() - k {
        subsets(items, k - 1, i + 1, acc + items[i], f);
    }
}

/// `C(n, k)`, saturating.
fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut c: u64 = 1;
    for i in 0..k {
        c = c.saturating_mul(n - i) / (i + 1);
    }
    c
}

/// Two-sided Mann-Whitney U test that `x` and `y` differ in location: twice the smaller
/// one-sided p-value, at most 1. `None` if either sample is empty.
pub fn mann_whitney_two_sided(x: &[f64], y: &[f64]) -> Option<f64> {
    let up = mann_whitney_greater(x, y)?.p;
    let down = mann_whitney_greater(y, x)?.p;
    Some((2.0 * up.min(down)).min(1.0))
}

/// Fisher's exact test on the 2×2 table `[[a, b], [c, d]]` (successes and failures of two
/// samples), two-sided: the probability, with the margins fixed, of a table at most as likely
/// as the one seen. 1 for an empty table.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (row1, col1, n) = (a + b, a + c, a + b + c + d);
    if n == 0 {
        return 1.0;
    }
    let ln_choose = |n: u64, k: u64| ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    // P(X = x): hypergeometric, x successes in the first sample.
    let p =
        |x: u64| (ln_choose(col1, x) + ln_choose(n - col1, row1 - x) - ln_choose(n, row1)).exp();
    let lo = row1.saturating_sub(n - col1);
    let hi = row1.min(col1);
    let seen = p(a);
    let total: f64 = (lo..=hi).map(p).filter(|q| *q <= seen * (1.0 + 1e-7)).sum();
    total.min(1.0)
}

fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

/// Upper tail of the standard normal, `P(Z ≥ z)`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit with fractional error below 1.2e-7
/// everywhere (Numerical Recipes, `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_exact_matches_known_tables() {
        // R: fisher.test(matrix(c(3,0,0,3),2))$p.value = 0.1
        assert!((fisher_exact(3, 0, 0, 3) - 0.1).abs() < 1e-9);
        // R: fisher.test(matrix(c(1,9,11,3),2))$p.value = 0.002759... (rows 1 11 / 9 3)
        assert!((fisher_exact(1, 11, 9, 3) - 0.002_759_6).abs() < 1e-6);
        assert!((fisher_exact(2, 1, 2, 1) - 1.0).abs() < 1e-9);
        assert_eq!(fisher_exact(0, 0, 0, 0), 1.0);
    }

    #[test]
    fn two_sided_mann_whitney_is_symmetric_and_bounded() {
        let (a, b) = ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        let p = mann_whitney_two_sided(&a, &b).unwrap();
        assert_eq!(p, mann_whitney_two_sided(&b, &a).unwrap());
        assert!((p - 0.1).abs() < 1e-9, "{p}"); // 2 × 1/20
        assert_eq!(mann_whitney_two_sided(&a, &a).unwrap(), 1.0);
        assert!(mann_whitney_two_sided(&a, &[]).is_none());
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn location_and_spread_on_hand_computed_cases() {
        let xs = [3.0, 1.0, 4.0, 1.0, 5.0];
        assert_eq!(mean(&xs), Some(2.8));
        assert_eq!(median(&xs), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
        // Type 7: p90 of 1..=10 is at position 8.1 → 9 + 0.1·(10 − 9).
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(quantile(&ten, 0.9).unwrap(), 9.1, 1e-12));
        assert_eq!(quantile(&ten, 0.0), Some(1.0));
        assert_eq!(quantile(&ten, 1.0), Some(10.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert!(close(
            std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(),
            2.138,
            1e-3
        ));
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]), Some(1.0));
        assert_eq!(std_dev(&[1.0]), None);
    }

    #[test]
    fn slopes_recover_a_line_and_theil_sen_ignores_an_outlier() {
        let mut pts: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        let l = least_squares(&pts).unwrap();
        assert!(close(l.slope, 2.0, 1e-12) && close(l.intercept, 1.0, 1e-9));
        assert!(close(l.at(30.0), 61.0, 1e-9));
        pts[10].1 = 1e6;
        assert!(close(theil_sen_slope(&pts).unwrap(), 2.0, 1e-12));
        assert!(least_squares(&pts).unwrap().slope.abs() > 10.0);
        assert_eq!(least_squares(&[(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(theil_sen_slope(&[(1.0, 1.0)]), None);
    }

    #[test]
    fn mann_kendall_matches_hand_computation_with_ties() {
        // y = 1 2 2 3: pairs (12)+ (12)+ (13)+ (22)0 (23)+ (23)+ → S = 5.
        // Var = [4·3·13 − 1·2·9]/18 = (156 − 18)/18 = 7.667; z = 4/√7.667 = 1.4446.
        let mk = mann_kendall(&[1.0, 2.0, 2.0, 3.0]).unwrap();
        assert_eq!(mk.s, 5);
        assert!(close(mk.var_s, 138.0 / 18.0, 1e-12));
        assert!(close(mk.z, 4.0 / (138.0f64 / 18.0).sqrt(), 1e-12));
        let flat = mann_kendall(&[5.0; 10]).unwrap();
        assert_eq!((flat.s, flat.z), (0, 0.0));
        assert!(close(flat.p_increasing, 0.5, 1e-7));
        let down = mann_kendall(&[5.0, 4.0, 3.0, 2.0, 1.0]).unwrap();
        assert!(down.z < 0.0 && down.p_increasing > 0.9);
    }

    #[test]
    fn normal_tail_matches_tables() {
        assert!(close(normal_sf(0.0), 0.5, 1e-7));
        assert!(close(normal_sf(1.959_964), 0.025, 1e-6));
        assert!(close(normal_sf(3.090_232), 0.001, 1e-6));
        assert!(close(normal_sf(-1.644_854), 0.95, 1e-6));
    }

    #[test]
    fn mann_whitney_exact_on_hand_computed_cases() {
        // Complete separation, 3 vs 3: only 1 of C(6,3) = 20 relabelings has U = 9.
        let t = mann_whitney_greater(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((t.u, t.exact), (9.0, true));
        assert!(close(t.p, 0.05, 1e-12), "{t:?}");
        // The other direction: every relabeling has U ≥ 0.
        let r = mann_whitney_greater(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!((r.u, r.p), (0.0, 1.0));
        // Ties: x = {2, 3}, y = {1, 2}; midranks 1, 2.5, 2.5, 4; U = 6.5 − 3 = 3.5.
        // The 6 relabelings give U = 0.5, 0.5, 2, 2, 3.5, 3.5: P(U ≥ 3.5) = 1/3.
        let t = mann_whitney_greater(&[2.0, 3.0], &[1.0, 2.0]).unwrap();
        assert_eq!(t.u, 3.5);
        assert!(close(t.p, 1.0 / 3.0, 1e-12), "{t:?}");
        // All tied: no evidence either way.
        assert_eq!(mann_whitney_greater(&[1.0; 3], &[1.0; 3]).unwrap().p, 1.0);
        assert_eq!(mann_whitney_greater(&[], &[1.0]), None);
    }

    #[test]
    fn mann_whitney_normal_approximation() {
        // 10 vs 10 (C(20,10) = 184 756 > limit): U = 100, mean 50, Var = 100·21/12 = 175,
        // z = (100 − 50 − 0.5)/√175 = 3.7418, P(Z ≥ z) = 9.13e-5.
        let x: Vec<f64> = (11..=20).map(f64::from).collect();
        let y: Vec<f64> = (1..=10).map(f64::from).collect();
        let t = mann_whitney_greater(&x, &y).unwrap();
        assert!(!t.exact && t.u == 100.0);
        assert!(close(t.p, 9.13e-5, 2e-6), "{t:?}");
        // On 8 vs 8 with ties the approximation is within 0.01 of the exact value.
        let x = [3.0, 4.0, 4.0, 5.0, 6.0, 7.0, 7.0, 9.0];
        let y = [1.0, 2.0, 4.0, 4.0, 5.0, 5.0, 6.0, 8.0];
        let exact = mann_whitney_greater(&x, &y).unwrap();
        let approx = mann_whitney_greater_limit(&x, &y, 0).unwrap();
        assert!(exact.exact && !approx.exact);
        assert!(close(exact.p, approx.p, 0.01), "{exact:?} {approx:?}");
        assert_eq!(binomial(6, 3), 20);
        assert_eq!(binomial(20, 10), 184_756);
    }
}
