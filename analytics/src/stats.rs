//! Small statistics shared by the accumulators: ratios that never divide by zero and
//! nearest-rank percentiles. A leaf: it imports nothing of the crate.

/// `n / d`, and 0 when `d` is 0: shares and rates never divide by zero.
pub fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// The value at 1-based rank ⌈p·n⌉ of `sorted` (nearest rank), `p` in percent.
pub fn nearest_rank(sorted: &[f64], percent: u64) -> Option<f64> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let rank = (percent * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// [`nearest_rank`] over `counted`: distinct values with their counts, in ascending order.
pub(crate) fn nearest_rank_counted(counted: &[(f64, u64)], percent: u64) -> Option<f64> {
    let n: u64 = counted.iter().map(|&(_, k)| k).sum();
    if n == 0 {
        return None;
    }
    let rank = (percent * n).div_ceil(100).max(1);
    let mut seen = 0;
    counted.iter().find_map(|&(v, k)| {
        seen += k;
        (seen >= rank).then_some(v)
    })
}
