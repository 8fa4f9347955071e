//! Bucket boundaries and walking the buckets that spans describe.

use std::fmt;

use super::bounds::BOUNDS;
use super::{is_custom_buckets_schema, Span};
use crate::float::format_go_g;

/// The upper bound of bucket `index` (the lower bound of bucket `index + 1`) of a positive
/// bucket list. For custom buckets, the custom value at `index`, with `-Inf` below the
/// first and `+Inf` for the overflow bucket (`index == custom.len()`); `None` outside. For
/// standard schemas, `(2^2^-schema)^index`, with the bucket holding `f64::MAX` bounded by it
/// and the one above by `+Inf`.
pub fn bucket_bound(index: i32, schema: i32, custom: &[f64]) -> Option<f64> {
    if is_custom_buckets_schema(schema) {
        let len = custom.len() as i64;
        let index = i64::from(index);
        return match index {
            -1 => Some(f64::NEG_INFINITY),
            i if i == len => Some(f64::INFINITY),
            i if (0..len).contains(&i) => Some(custom[i as usize]),
            _ => None,
        };
    }
    Some(exponential_bound(index, schema))
}

/// The upper bound of bucket `index` of a standard schema (any schema from -9 to 8 works:
/// below 0 the bounds are powers of two).
pub(crate) fn exponential_bound(index: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = i64::from(index) << (-schema).min(62);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let schema = schema.min(8);
    let frac_index = (index & ((1 << schema) - 1)) as usize;
    let frac = BOUNDS[schema as usize][frac_index];
    let exp = i64::from(index >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        // The last bucket below the overflow bucket ends at f64::MAX.
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// `frac * 2^exp`, as Go's `math.Ldexp`: exact while the result is normal, rounded once
/// (to nearest, ties to even) into the subnormal range, saturating to 0 and infinity.
pub(crate) fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let (mut frac, mut exp) = (frac, exp.clamp(-5000, 5000));
    if frac.to_bits() & 0x7ff0_0000_0000_0000 == 0 {
        // A subnormal input: make it normal first (exactly).
        frac *= f64::from_bits(0x4350_0000_0000_0000); // 2^54
        exp -= 54;
    }
    let bits = frac.to_bits();
    let sign = bits & (1 << 63);
    let biased = ((bits >> 52) & 0x7ff) as i64 + exp;
    let mantissa = bits & ((1 << 52) - 1);
    if biased >= 0x7ff {
        return f64::from_bits(sign | 0x7ff0_0000_0000_0000);
    }
    if biased >= 1 {
        return f64::from_bits(sign | ((biased as u64) << 52) | mantissa);
    }
    // Subnormal: the 53-bit significand shifted right, rounded to nearest even.
    let significand = mantissa | (1 << 52);
    let shift = (1 - biased) as u32;
    if shift > 53 {
        return f64::from_bits(sign);
    }
    let kept = significand >> shift;
    let rest = significand & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let rounded = if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    };
    f64::from_bits(sign | rounded)
}

/// How a bucket count is written in upstream's `String` forms: integers in decimal, floats
/// as Go's `%g`.
pub trait BucketCount: Copy {
    fn format_go(&self) -> String;
}

impl BucketCount for u64 {
    fn format_go(&self) -> String {
        self.to_string()
    }
}

impl BucketCount for f64 {
    fn format_go(&self) -> String {
        format_go_g(*self)
    }
}

/// One bucket: its bounds (`lower_inclusive`/`upper_inclusive` say which are part of it),
/// its count (absolute), and its index in its schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket<C> {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: C,
    pub index: i32,
}

impl<C: BucketCount> fmt::Display for Bucket<C> {
    /// Upstream's `Bucket.String`: `[-1,1]:3`, `(0.5,1]:2`, bounds as Go's `%g`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{},{}{}:{}",
            if self.lower_inclusive { '[' } else { '(' },
            format_go_g(self.lower),
            format_go_g(self.upper),
            if self.upper_inclusive { ']' } else { ')' },
            self.count.format_go()
        )
    }
}

/// A bucket of a positive (`positive`) or negative list, with its bounds, for the schema.
pub(crate) fn bucket_at<C>(
    index: i32,
    count: C,
    schema: i32,
    custom: &[f64],
    positive: bool,
) -> Bucket<C> {
    let bound = |i: i32| bucket_bound(i, schema, custom).unwrap_or(f64::NAN);
    let (lower, upper) = if positive {
        (bound(index - 1), bound(index))
    } else {
        (-bound(index), -bound(index - 1))
    };
    let (lower_inclusive, upper_inclusive) = if is_custom_buckets_schema(schema) {
        (index == 0, true)
    } else {
        (lower < 0.0, upper > 0.0)
    };
    Bucket {
        lower,
        upper,
        lower_inclusive,
        upper_inclusive,
        count,
        index,
    }
}

/// The bucket index of each position of a bucket list laid out by `spans`, in order.
/// Stops at the end of the spans; positions beyond are the caller's to notice (validation
/// checks that spans and buckets agree).
pub(crate) fn span_indices(spans: &[Span]) -> impl Iterator<Item = i32> + '_ {
    let mut next = 0i64;
    spans.iter().flat_map(move |span| {
        let start = next + i64::from(span.offset);
        next = start + i64::from(span.length);
        (start..start + i64::from(span.length)).map(|i| i as i32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_standard_schemas() {
        assert_eq!(exponential_bound(0, 0), 1.0);
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        // One ulp below SQRT_2: the table's value, doubled.
        assert_eq!(
            exponential_bound(1, 1),
            f64::from_bits(std::f64::consts::SQRT_2.to_bits() - 1)
        );
        assert_eq!(exponential_bound(2, 1), 2.0);
        assert_eq!(exponential_bound(1, -1), 4.0);
        assert_eq!(exponential_bound(1, -4), 65536.0);
        assert_eq!(exponential_bound(-1, 3), 0.9170040432046711);
        // The bucket holding f64::MAX ends there; the one above is the overflow bucket.
        assert_eq!(exponential_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_bound(1024 << 8, 8), f64::MAX);
        assert_eq!(exponential_bound(64, -4), f64::MAX);
        assert_eq!(exponential_bound(-1074, 0), f64::from_bits(1));
        assert_eq!(exponential_bound(-1075, 0), 0.0);
        assert_eq!(ldexp(0.75, -1074), f64::from_bits(1)); // 0.75 ulp: rounds up
        assert_eq!(ldexp(0.25, -1074), 0.0); // 0.25 ulp: rounds down
        assert_eq!(ldexp(0.75, -1073), f64::from_bits(2)); // 1.5 ulp: ties to even
        assert_eq!(ldexp(0.5, 1025), f64::INFINITY);
    }

    #[test]
    fn bounds_of_custom_buckets() {
        let custom = [1.0, 2.5, 10.0];
        assert_eq!(bucket_bound(-1, -53, &custom), Some(f64::NEG_INFINITY));
        assert_eq!(bucket_bound(1, -53, &custom), Some(2.5));
        assert_eq!(bucket_bound(3, -53, &custom), Some(f64::INFINITY));
        assert_eq!(bucket_bound(4, -53, &custom), None);
    }

    #[test]
    fn span_indices_follow_offsets() {
        let spans = [Span::new(-2, 2), Span::new(2, 1), Span::new(1, 2)];
        assert_eq!(
            span_indices(&spans).collect::<Vec<_>>(),
            vec![-2, -1, 2, 4, 5]
        );
    }

    #[test]
    fn buckets_print_as_upstream() {
        let b = bucket_at(1, 5u64, 0, &[], true);
        assert_eq!(b.to_string(), "(1,2]:5");
        let b = bucket_at(1, 5u64, 0, &[], false);
        assert_eq!(b.to_string(), "[-2,-1):5");
        let b = bucket_at(0, 2.5f64, -53, &[1.0, 2.0], true);
        assert_eq!(b.to_string(), "[-Inf,1]:2.5");
        let b = bucket_at(2, 1e6f64, -53, &[1.0, 2.0], true);
        assert_eq!(b.to_string(), "(2,+Inf]:1e+06");
    }
}
