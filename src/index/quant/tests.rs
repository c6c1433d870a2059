use super::*;
use crate::testutil::random_vectors;

/// Rows as an index holds them: unit length under cosine.
fn data(n: usize, dim: usize, metric: Metric, seed: u64) -> Vec<f32> {
    let mut v = random_vectors(n, dim, seed);
    if metric == Metric::Cosine {
        for row in v.chunks_exact_mut(dim) {
            crate::distance::normalize(row);
        }
    }
    v
}

const ALL: [Quantizer; 8] = [
    Quantizer::Sq8,
    Quantizer::Sq4,
    Quantizer::RaBitQ { bits: 1 },
    Quantizer::RaBitQ { bits: 4 },
    Quantizer::RaBitQ { bits: 8 },
    Quantizer::Pq { m: 4 },
    Quantizer::Opq { m: 4 },
    Quantizer::Bq,
];

/// Mean absolute error of the estimates against the exact distances,
/// relative to the spread of the exact distances.
fn relative_error(q: Quantizer, metric: Metric, dim: usize) -> (f64, f64) {
    let base = data(500, dim, metric, 1);
    let queries = data(20, dim, metric, 2);
    let codes = Codes::train(q, &base, dim, metric, 42).expect("train");
    let (mut err, mut spread, mut outside, mut pairs) = (0.0, 0.0, 0usize, 0usize);
    let mut prepared = Vec::new();
    for qv in queries.chunks_exact(dim) {
        codes.prepare(qv, &mut prepared);
        let exact: Vec<f32> = base
            .chunks_exact(dim)
            .map(|b| metric.prepared_distance(qv, b))
            .collect();
        let mean = exact.iter().sum::<f32>() / exact.len() as f32;
        for (i, &e) in exact.iter().enumerate() {
            let est = codes.estimate(&prepared, i);
            err += f64::from((est - e).abs());
            spread += f64::from((e - mean).abs());
            if codes.has_bound() && (est - e).abs() > codes.bound(&prepared, i) {
                outside += 1;
            }
            pairs += 1;
        }
    }
    (err / spread, outside as f64 / pairs as f64)
}

#[test]
fn estimates_follow_the_exact_distances_for_every_metric() {
    for metric in Metric::ALL {
        // Binary codes only rank (tested below); 4 sub-vectors of 25
        // dimensions are too coarse for 500 rows: pq:50 stands for product codes.
        for q in ALL
            .into_iter()
            .filter(|q| {
                !matches!(
                    q,
                    Quantizer::Bq | Quantizer::Pq { .. } | Quantizer::Opq { .. }
                )
            })
            .chain([Quantizer::Pq { m: 50 }, Quantizer::Opq { m: 50 }])
        {
            // 100 dimensions: padding to whole blocks is exercised.
            let (rel, outside) = relative_error(q, metric, 100);
            let limit = match q {
                Quantizer::Sq8 | Quantizer::RaBitQ { bits: 8 } => 0.02,
                Quantizer::Sq4 | Quantizer::RaBitQ { bits: 4 } => 0.15,
                Quantizer::Pq { .. } | Quantizer::Opq { .. } => 0.6,
                _ => 0.8,
            };
            assert!(
                rel < limit,
                "{q} {metric}: relative error {rel:.4} ≥ {limit}"
            );
            // RaBitQ's bound holds with high probability.
            assert!(
                outside < 0.01,
                "{q} {metric}: {outside:.4} of pairs outside the bound"
            );
        }
    }
}

#[test]
fn more_bits_estimate_better() {
    let errs: Vec<f64> = [1u8, 4, 8]
        .iter()
        .map(|&bits| relative_error(Quantizer::RaBitQ { bits }, Metric::L2, 64).0)
        .collect();
    assert!(errs[0] > errs[1] && errs[1] > errs[2], "{errs:?}");
    let sq4 = relative_error(Quantizer::Sq4, Metric::L2, 64).0;
    let sq8 = relative_error(Quantizer::Sq8, Metric::L2, 64).0;
    assert!(sq4 > sq8, "sq4 {sq4} vs sq8 {sq8}");
}

#[test]
fn codes_are_checked_against_their_vectors() {
    let dim = 48;
    let base = data(300, dim, Metric::L2, 3);
    let other = data(300, dim, Metric::L2, 4);
    for q in ALL {
        let codes = Codes::train(q, &base, dim, Metric::L2, 7).expect("train");
        assert!(codes.matches(&base, 64), "{q}: own vectors");
        assert!(!codes.matches(&other, 64), "{q}: other vectors");
        assert!(!codes.matches(&base[..dim * 299], 64), "{q}: fewer rows");
        // Same seed, same codes.
        let again = Codes::train(q, &base, dim, Metric::L2, 7).expect("train");
        assert_eq!(codes.codes, again.codes, "{q}: seeded");
    }
}

#[test]
fn pushed_rows_encode_like_trained_ones() {
    let dim = 40;
    let base = data(200, dim, Metric::Cosine, 5);
    for q in ALL {
        let mut codes = Codes::train(q, &base, dim, Metric::Cosine, 1).expect("train");
        codes.push(&base[..dim]);
        assert_eq!(codes.len(), 201);
        assert_eq!(codes.row(200), codes.row(0), "{q}");
    }
}

#[test]
fn names_parse_and_bad_ones_say_why() {
    for q in ALL.into_iter().chain([Quantizer::None]) {
        assert_eq!(q.to_string().parse::<Quantizer>(), Ok(q));
    }
    let err = "rabitq:3".parse::<Quantizer>().expect_err("3 bits");
    assert!(err.contains("1, 4 or 8"), "{err}");
    let err = "rabitq:x".parse::<Quantizer>().expect_err("not a number");
    assert!(err.contains("bits"), "{err}");
    let err = "pq:x".parse::<Quantizer>().expect_err("not a count");
    assert!(err.contains("sub-vectors"), "{err}");
    assert!("pq:0".parse::<Quantizer>().is_err());
    // Product codes, rotated or not, name themselves when 7 does not divide 48.
    for q in [Quantizer::Pq { m: 7 }, Quantizer::Opq { m: 7 }] {
        let err = Codes::train(q, &data(300, 48, Metric::L2, 1), 48, Metric::L2, 1)
            .err()
            .expect("7 does not divide 48")
            .to_string();
        assert!(
            err.contains(&q.to_string()) && err.contains("must divide the dimension 48"),
            "{err}"
        );
    }
    let err = "opq:x".parse::<Quantizer>().expect_err("not a count");
    assert!(err.contains("opq:48"), "{err}");
    // A dense rotation of a huge dimension is refused before it is allocated.
    let dim = RABITQ_MAX_DIM + 32;
    let err = Codes::train(
        Quantizer::RaBitQ { bits: 1 },
        &vec![0.5; dim * 2],
        dim,
        Metric::L2,
        1,
    )
    .err()
    .expect("too many dimensions")
    .to_string();
    assert!(err.contains("dense"), "{err}");
    assert!("sq5".parse::<Quantizer>().is_err());
    let json = serde_json::to_string(&Quantizer::RaBitQ { bits: 4 }).expect("write");
    assert_eq!(json, "\"rabitq:4\"");
}

#[test]
fn product_codes_improve_with_more_subvectors_and_binary_ranks_better_than_chance() {
    let coarse = relative_error(Quantizer::Pq { m: 10 }, Metric::L2, 100).0;
    let fine = relative_error(Quantizer::Pq { m: 50 }, Metric::L2, 100).0;
    assert!(fine < coarse, "pq:50 {fine} vs pq:10 {coarse}");
    // Binary codes rank: a vector is nearest to itself, farthest from its
    // opposite (mirrored through the centroid), for every metric.
    for metric in Metric::ALL {
        let dim = 64;
        let base = data(200, dim, metric, 4);
        let codes = Codes::train(Quantizer::Bq, &base, dim, metric, 1).expect("train");
        let mut prepared = Vec::new();
        let mut ranked_first = 0;
        for i in 0..50 {
            codes.prepare(&base[i * dim..(i + 1) * dim], &mut prepared);
            let own = codes.estimate(&prepared, i);
            let others = (0..200)
                .filter(|&j| j != i)
                .map(|j| codes.estimate(&prepared, j));
            ranked_first += usize::from(others.clone().all(|d| d >= own));
        }
        assert!(
            ranked_first >= 48,
            "{metric}: itself first for {ranked_first} of 50"
        );
    }
    let codes = Codes::train(
        Quantizer::Pq { m: 25 },
        &data(300, 100, Metric::L2, 2),
        100,
        Metric::L2,
        3,
    )
    .expect("train");
    assert_eq!(codes.bytes_per_row(), 25 + 4);
}

#[test]
fn the_help_lists_every_quantizer_the_parser_takes_and_nothing_else() {
    let help = crate::index::param_spec::quantizer_help();
    for form in QUANTIZER_FORMS {
        assert!(help.contains(form.spelling), "help omits {}", form.spelling);
        for example in form.examples {
            let q: Quantizer = example.parse().expect(example);
            assert_eq!(q.form(), form, "{example} parses to another form");
            // The canonical spelling (what files and JSON hold) parses back.
            let again: Quantizer = q.to_string().parse().expect("its own spelling");
            assert_eq!(again, q);
        }
    }
    // Every quantizer has its form in the list (`form` is an exhaustive
    // match, so a new variant cannot compile without one).
    for q in ALL.into_iter().chain([Quantizer::None]) {
        assert!(QUANTIZER_FORMS.contains(q.form()), "{q}");
    }
    // Nothing outside the list is taken, and the refusal names the list.
    for bad in ["sq2", "pq", "pq:0", "opq:x", "rabitq:2", "lvq", "bq:2"] {
        let err = bad.parse::<Quantizer>().expect_err(bad);
        if !bad.contains(':') || bad == "bq:2" {
            assert!(err.contains(&quantizer_spellings()), "{bad}: {err}");
        }
    }
}
