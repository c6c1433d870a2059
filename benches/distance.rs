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

/// The build's 8-bit dot products: every kernel this CPU runs, and the
/// scalar reference.
fn int8_kernels(c: &mut Criterion) {
    use annscope::distance::int8;
    let mut group = c.benchmark_group("int8 dot");
    for dim in [128usize, 384, 768, 1536] {
        let a: Vec<u8> = (0..dim).map(|i| (i * 37 % 256) as u8).collect();
        let b: Vec<u8> = (0..dim).map(|i| (i * 91 % 256) as u8).collect();
        group.throughput(Throughput::Elements(dim as u64));
        for (name, kernel) in int8::available() {
            group.bench_with_input(BenchmarkId::new(name, dim), &dim, |bench, _| {
                bench.iter(|| kernel(black_box(&a), black_box(&b)))
            });
        }
        group.bench_with_input(BenchmarkId::new("naive", dim), &dim, |bench, _| {
            bench.iter(|| int8::naive(black_box(&a), black_box(&b)))
        });
    }
    group.finish();
}

criterion_group!(benches, kernels, int8_kernels);
criterion_main!(benches);
