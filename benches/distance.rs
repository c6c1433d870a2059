//! Distance kernels against the plain scalar loop, at the dimensions real
//! embeddings have. `cargo bench --bench distance`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

use annscope::distance::{self, naive};
use annscope::testutil::random_vectors;

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("distance ({})", distance::kernel_name()));
    for dim in [128usize, 384, 768, 1536] {
        let a = random_vectors(1, dim, 1);
        let b = random_vectors(1, dim, 2);
        group.throughput(Throughput::Elements(dim as u64));
        group.bench_with_input(BenchmarkId::new("dot/simd", dim), &dim, |bench, _| {
            bench.iter(|| distance::dot(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("dot/naive", dim), &dim, |bench, _| {
            bench.iter(|| naive::dot(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("l2/simd", dim), &dim, |bench, _| {
            bench.iter(|| distance::l2_squared(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("l2/naive", dim), &dim, |bench, _| {
            bench.iter(|| naive::l2_squared(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("dot/portable", dim), &dim, |bench, _| {
            bench.iter(|| distance::portable::dot(black_box(&a), black_box(&b)))
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
