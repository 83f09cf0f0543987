//! Deterministic mutators of seed files for the parser fuzz harness.
//!
//! Every mutator takes the seed bytes, the seed's record boundaries (byte
//! offsets where a record ends: line ends, Fortran record markers, header
//! ends) and the case's PRNG, and returns the hostile input.

/// SplitMix64: a small, fixed, dependency-free PRNG (reproducible by seed).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Absurd integers written over header fields (4- and 8-byte, little endian).
const ABSURD: [i64; 9] = [
    0,
    -1,
    1,
    0x7fff_ffff,
    -0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    1 << 40,
    -(1 << 33),
];

/// Replacements for numeric tokens of text formats.
const ABSURD_TEXT: [&str; 12] = [
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e308",
    "-1e308",
    "1e-320",
    "-1",
    "0",
    "99999999999999999999",
    "2147483648",
    "-",
];

/// Byte offsets after every `\n` (the line ends of a text file).
pub fn line_ends(data: &[u8]) -> Vec<usize> {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

/// Byte offsets after every `>` (the tag ends of an XML file).
pub fn tag_ends(data: &[u8]) -> Vec<usize> {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'>')
        .map(|(i, _)| i + 1)
        .collect()
}

/// Fortran unformatted record boundaries (4-byte little-endian markers) of
/// a DCD file: the offsets before and after each marker, until the markers
/// stop making sense.
pub fn fortran_records(data: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    let mut at = 0usize;
    while at + 4 <= data.len() {
        let n = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let end = at + 4 + n + 4;
        if end > data.len() {
            break;
        }
        out.extend([at + 4, at + 4 + n, end]);
        at = end;
    }
    out
}

/// A spread of offsets for binary formats without cheap structure: every
/// byte of the first `dense` bytes, then `n` evenly spaced offsets.
pub fn spread(len: usize, dense: usize, n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..dense.min(len)).collect();
    if len > dense {
        out.extend((0..n).map(|i| dense + (len - dense) * i / n.max(1)));
    }
    out
}

/// One mutation of `seed`. `case` below `boundaries.len()` truncates at that
/// boundary (so the first cases cover every record boundary in order); later
/// cases draw a mutator from `rng`. `header` bounds where absurd integers go.
pub fn mutate(
    seed: &[u8],
    boundaries: &[usize],
    header: usize,
    case: u64,
    rng: &mut Rng,
) -> Vec<u8> {
    if (case as usize) < boundaries.len() {
        return seed[..boundaries[case as usize].min(seed.len())].to_vec();
    }
    let mut d = seed.to_vec();
    match rng.below(8) {
        0 => d.truncate(rng.below(d.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
            }
        }
        2 | 3 => {
            // An absurd integer over a header field (aligned at 4), or right
            // after a record boundary.
            let v = ABSURD[rng.below(ABSURD.len())];
            let bytes = if rng.below(2) == 0 {
                (v as i32).to_le_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            };
            let at = if rng.below(2) == 0 || boundaries.is_empty() {
                rng.below(header.min(d.len()).max(1) / 4 + 1) * 4
            } else {
                boundaries[rng.below(boundaries.len())]
            };
            for (k, b) in bytes.iter().enumerate() {
                if at + k < d.len() {
                    d[at + k] = *b;
                }
            }
        }
        4 => d = replace_number(&d, rng),
        5 => d = edit_lines(&d, rng),
        6 => {
            // Random bytes over a random window.
            if !d.is_empty() {
                let at = rng.below(d.len());
                for k in 0..1 + rng.below(16) {
                    if at + k < d.len() {
                        d[at + k] = rng.next() as u8;
                    }
                }
            }
        }
        _ => {
            // Insert or delete a small chunk.
            let at = rng.below(d.len() + 1);
            if rng.below(2) == 0 {
                let n = 1 + rng.below(16);
                let chunk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, chunk);
            } else {
                let end = (at + 1 + rng.below(64)).min(d.len());
                d.drain(at..end);
            }
        }
    }
    d
}

/// Replace one numeric token (a run of digits, `.`, `-`, `+`, `e`) with an
/// absurd value (NaN, Inf, huge, negative, empty sign).
fn replace_number(d: &[u8], rng: &mut Rng) -> Vec<u8> {
    let is_num = |b: u8| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+';
    let starts: Vec<usize> = (0..d.len())
        .filter(|&i| d[i].is_ascii_digit() && (i == 0 || !is_num(d[i - 1])))
        .collect();
    if starts.is_empty() {
        return d.to_vec();
    }
    let s = starts[rng.below(starts.len())];
    let mut e = s;
    while e < d.len() && (is_num(d[e]) || d[e] == b'e' || d[e] == b'E') {
        e += 1;
    }
    let mut out = d[..s].to_vec();
    let text = ABSURD_TEXT[rng.below(ABSURD_TEXT.len())];
    // Keep fixed-width columns aligned when the token is long enough.
    if rng.below(2) == 0 && text.len() <= e - s {
        out.extend(std::iter::repeat_n(b' ', e - s - text.len()));
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&d[e..]);
    out
}

/// Duplicate, delete or swap lines.
fn edit_lines(d: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = d.split_inclusive(|&b| b == b'\n').collect();
    if lines.is_empty() {
        return d.to_vec();
    }
    let i = rng.below(lines.len());
    match rng.below(3) {
        0 => {
            for _ in 0..1 + rng.below(3) {
                lines.insert(i, lines[i]);
            }
        }
        1 => {
            let end = (i + 1 + rng.below(4)).min(lines.len());
            lines.drain(i..end);
        }
        _ => {
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
    }
    lines.concat()
}
