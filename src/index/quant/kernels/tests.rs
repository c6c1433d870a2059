use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The scalar reference, in f64: Σ q[j] · value of dimension j.
fn reference(q: &[f32], row: &[u8], bits: u8) -> f64 {
    q.iter()
        .enumerate()
        .map(|(j, &x)| f64::from(x) * f64::from(unpack(row, bits, j)))
        .sum()
}

/// Whether `f` panicked (the panic's message is kept off the output).
fn panics(f: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    std::panic::catch_unwind(f).is_err()
}

#[test]
fn every_kernel_refuses_a_row_shorter_than_its_query_instead_of_reading_past_it() {
    let q = vec![1.0f32; 4 * BLOCK];
    // 32 codes: whole steps of the 16- and 8-lane gathers, not only the
    // bounds-checked scalar tail.
    let codes = [255u8; 32];
    let lut = vec![1.0f32; 32 * 256];
    for k in available() {
        let name = k.name;
        for (bits, kernel) in [(8u8, k.u8), (4, k.u4), (1, k.u1)] {
            let full = vec![0xFFu8; row_bytes(q.len(), bits)];
            assert!(!panics(|| {
                kernel(&q, &full);
            }));
            let short = &full[..full.len() - 1];
            assert!(
                panics(|| {
                    kernel(&q, short);
                }),
                "{name}: {bits}-bit kernel read a row one byte short"
            );
            assert!(
                panics(|| {
                    kernel(&q[..BLOCK + 1], &full);
                }),
                "{name}: {bits}-bit kernel took a query of part of a block"
            );
        }
        let table = k.table;
        assert!(!panics(|| {
            table(&lut, &codes);
        }));
        assert!(
            panics(|| {
                table(&lut[..31 * 256], &codes);
            }),
            "{name}: table kernel read past its table"
        );
        let nearest = k.nearest;
        assert!(
            panics(|| {
                nearest(&[0.0; 33], &lut);
            }),
            "{name}: nearest read past its codebook"
        );
    }
}

#[test]
fn every_kernel_matches_the_scalar_reference() {
    let mut rng = StdRng::seed_from_u64(7);
    for dim in [32, 64, 96, 384, 1024] {
        for bits in [8u8, 4, 1] {
            for _ in 0..20 {
                let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                let values: Vec<u8> = (0..dim)
                    .map(|_| rng.random_range(0..=((1u16 << bits) - 1) as u8))
                    .collect();
                let mut row = vec![0u8; row_bytes(dim, bits)];
                pack(&values, bits, &mut row);
                for (j, &v) in values.iter().enumerate() {
                    assert_eq!(unpack(&row, bits, j), v, "pack/unpack {bits} bits dim {j}");
                }
                let want = reference(&q, &row, bits);
                let scale: f64 = q.iter().map(|x| f64::from(x.abs())).sum::<f64>()
                    * f64::from((1u16 << bits) - 1);
                for k in available() {
                    let got = match bits {
                        8 => (k.u8)(&q, &row),
                        4 => (k.u4)(&q, &row),
                        _ => (k.u1)(&q, &row),
                    };
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-5 * scale.max(1.0),
                        "{} {bits} bits, dim {dim}: {got} vs {want}",
                        k.name
                    );
                }
            }
        }
    }
}

#[test]
fn hamming_and_table_kernels_match_the_scalar_reference() {
    let mut rng = StdRng::seed_from_u64(11);
    for len in [4usize, 16, 48, 64, 100, 128, 200] {
        let a: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let want: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        for k in available() {
            assert_eq!((k.hamming)(&a, &b), want, "{} hamming, {len} bytes", k.name);
        }
    }
    for m in [1usize, 8, 16, 24, 48, 96, 100] {
        let lut: Vec<f32> = (0..m * 256)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let codes: Vec<u8> = (0..m).map(|_| rng.random()).collect();
        let want: f64 = codes
            .iter()
            .enumerate()
            .map(|(s, &c)| f64::from(lut[s * 256 + c as usize]))
            .sum();
        for k in available() {
            let got = (k.table)(&lut, &codes);
            assert!(
                (f64::from(got) - want).abs() < 1e-4,
                "{} table, m {m}: {got} vs {want}",
                k.name
            );
        }
    }
}

#[test]
fn every_codebook_search_finds_the_scalar_references_first_nearest() {
    let mut rng = StdRng::seed_from_u64(12);
    for dsub in [1usize, 2, 4, 8, 12] {
        for trial in 0..20 {
            let mut book: Vec<f32> = (0..dsub * 256)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            if trial % 4 == 0 {
                // Ties: the centroid 200 copied to 7 and 150: the first wins.
                for t in 0..dsub {
                    book[t * 256 + 7] = book[t * 256 + 200];
                    book[t * 256 + 150] = book[t * 256 + 200];
                }
            }
            let v: Vec<f32> = if trial % 4 == 0 {
                (0..dsub).map(|t| book[t * 256 + 200]).collect()
            } else {
                (0..dsub).map(|_| rng.random_range(-1.0f32..1.0)).collect()
            };
            let mut want = (f32::INFINITY, 0);
            for c in 0..256 {
                let d: f32 = (0..dsub)
                    .map(|t| (v[t] - book[t * 256 + c]) * (v[t] - book[t * 256 + c]))
                    .fold(0.0, |a, x| a + x);
                if d < want.0 {
                    want = (d, c);
                }
            }
            if trial % 4 == 0 {
                assert_eq!(want.1, 7);
            }
            for k in available() {
                assert_eq!((k.nearest)(&v, &book), want.1, "{} dsub {dsub}", k.name);
            }
        }
    }
}

#[test]
fn padding_rounds_up_to_whole_blocks() {
    assert_eq!(padded(384), 384);
    assert_eq!(padded(100), 128);
    assert_eq!(row_bytes(100, 4), 64);
    assert_eq!(row_bytes(384, 1), 48);
    assert_eq!(row_bytes(384, 8), 384);
}
