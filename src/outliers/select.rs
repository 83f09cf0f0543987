//! Picking the most outlying points from a score vector.

/// Indices of the `count` lowest scores (most negative first — the most
/// outlying under LOF's `negative_outlier_factor_`), ties broken by lower
/// index. `count` is capped at `scores.len()`; NaN scores sort last.
pub fn top_outliers(scores: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // NaN maps to +inf's place (after it), whatever its sign bit.
    let key = |i: usize| (scores[i].is_nan(), scores[i]);
    let cmp = |&a: &usize, &b: &usize| {
        let ((na, sa), (nb, sb)) = (key(a), key(b));
        na.cmp(&nb)
            .then(if na {
                std::cmp::Ordering::Equal
            } else {
                sa.total_cmp(&sb)
            })
            .then(a.cmp(&b))
    };
    let count = count.min(scores.len());
    if count == 0 {
        return Vec::new();
    }
    if count < order.len() {
        order.select_nth_unstable_by(count - 1, cmp);
        order.truncate(count);
    }
    order.sort_unstable_by(cmp);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_negative_first_ties_by_index() {
        let s = [-1.0, -3.0, -f64::NAN, -1.0, -3.0, 0.5];
        assert_eq!(top_outliers(&s, 3), vec![1, 4, 0]);
        assert_eq!(top_outliers(&s, 10), vec![1, 4, 0, 3, 5, 2]);
        assert!(top_outliers(&s, 0).is_empty());
        assert!(top_outliers(&[], 4).is_empty());
    }
}
