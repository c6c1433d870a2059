//! Every supported format reads back what was written, with the right
//! metadata, and float32 row-major files are memory-mapped, not copied.

use std::path::Path;

use annscope::dataset::{self, npy, DType, Format};
use annscope::distance::Metric;
use annscope::progress::WorkContext;

use crate::common::*;

fn open(p: &Path) -> dataset::Dataset {
    dataset::open(p, Metric::L2, &WorkContext::detached()).unwrap_or_else(|e| panic!("{e}"))
}

fn grid() -> Vec<Vec<f32>> {
    // 3 rows × 4 columns, value = 10 * row + column.
    (0..3)
        .map(|i| (0..4).map(|j| (10 * i + j) as f32).collect())
        .collect()
}

fn assert_grid(ds: &dataset::Dataset) {
    assert_eq!((ds.len(), ds.dim()), (3, 4));
    for (i, want) in grid().iter().enumerate() {
        assert_eq!(ds.row(i), want.as_slice(), "row {i}");
    }
}

#[test]
fn fvecs_is_memory_mapped() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("g.fvecs");
    write_fvecs(&p, &grid());
    let ds = open(&p);
    assert_grid(&ds);
    assert!(ds.info().mmapped && ds.vectors().is_mapped());
    assert_eq!(ds.info().format, Format::Fvecs);
}

#[test]
fn ivecs_and_bvecs_are_converted() {
    let dir = tempfile::tempdir().expect("tmp");
    let iv = dir.path().join("g.ivecs");
    let bv = dir.path().join("g.bvecs");
    let (mut ibytes, mut bbytes) = (Vec::new(), Vec::new());
    for r in grid() {
        ibytes.extend_from_slice(&4i32.to_le_bytes());
        bbytes.extend_from_slice(&4i32.to_le_bytes());
        for v in r {
            ibytes.extend_from_slice(&(v as i32).to_le_bytes());
            bbytes.push(v as u8);
        }
    }
    std::fs::write(&iv, ibytes).expect("write");
    std::fs::write(&bv, bbytes).expect("write");
    for (p, dtype) in [(&iv, DType::I32), (&bv, DType::U8)] {
        let ds = open(p);
        assert_grid(&ds);
        assert_eq!(ds.info().dtype, dtype);
        assert!(!ds.info().mmapped);
    }
}

fn flat_grid() -> Vec<f32> {
    grid().concat()
}

#[test]
fn npy_float32_c_order_is_mapped() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("g.npy");
    npy::write_f32(&p, &flat_grid(), 3, 4).expect("write");
    let ds = open(&p);
    assert_grid(&ds);
    assert!(ds.info().mmapped);
    let info = dataset::file_info(&p).expect("info");
    assert_eq!(
        (info.n, info.dim, info.dtype, info.format),
        (3, 4, DType::F32, Format::Npy)
    );
}

#[test]
fn npy_f64_f16_fortran_and_big_endian_are_converted() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = flat_grid();
    let fortran: Vec<f32> = (0..4)
        .flat_map(|j| (0..3).map(move |i| (10 * i + j) as f32))
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str, bool, DType)> = vec![
        (
            "f64",
            g.iter().flat_map(|&v| f64::from(v).to_le_bytes()).collect(),
            "<f8",
            false,
            DType::F64,
        ),
        (
            "f16",
            g.iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            "<f2",
            false,
            DType::F16,
        ),
        (
            "fortran",
            fortran.iter().flat_map(|v| v.to_le_bytes()).collect(),
            "<f4",
            true,
            DType::F32,
        ),
        (
            "bigendian",
            g.iter().flat_map(|v| v.to_be_bytes()).collect(),
            ">f4",
            false,
            DType::F32,
        ),
    ];
    for (name, body, descr, is_fortran, dtype) in cases {
        let p = dir.path().join(format!("{name}.npy"));
        std::fs::write(&p, npy::encode(body, descr, is_fortran, 3, 4)).expect("write");
        let ds = open(&p);
        assert_grid(&ds);
        assert_eq!(ds.info().dtype, dtype, "{name}");
        assert!(!ds.info().mmapped, "{name} must be converted");
    }
}

#[test]
fn npy_must_be_two_dimensional() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("flat.npy");
    let body: Vec<u8> = flat_grid().iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (12,), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    std::fs::write(&p, out).expect("write");
    let err = dataset::file_info(&p).expect_err("1-D");
    assert!(err.to_string().contains("expected a 2-D array"), "{err}");
}

#[test]
fn csv_and_tsv_with_optional_header() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("g.csv");
    let tsv = dir.path().join("vectors.tsv");
    let body = |sep: &str| {
        grid()
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(sep)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    std::fs::write(&csv, format!("a,b,c,d\n{}\n", body(","))).expect("write");
    std::fs::write(&tsv, format!("{}\r\n", body("\t"))).expect("write");
    let c = open(&csv);
    assert_grid(&c);
    assert_eq!(c.info().format, Format::Csv);
    let t = open(&tsv);
    assert_grid(&t);
    assert_eq!(t.info().format, Format::Tsv);
}

#[test]
fn a_damaged_first_row_is_an_error_not_a_header_and_a_bom_is_not_a_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("v.csv");
    // A first row with no number but fewer cells than the data: refused,
    // naming line 1 (it used to be dropped as a header).
    std::fs::write(&p, "oops\n1,2,3\n4,5,6\n").expect("write");
    let Err(e) = dataset::open(&p, Metric::L2, &WorkContext::detached()) else {
        panic!("a damaged first row was accepted");
    };
    let e = e.to_string();
    assert!(e.contains("v.csv") && e.contains("line 1"), "{e}");
    // A byte-order mark before the first value is not part of it.
    std::fs::write(&p, "\u{feff}1,2,3\n4,5,6\n").expect("write");
    let d = dataset::open(&p, Metric::L2, &WorkContext::detached()).expect("bom");
    assert_eq!((d.len(), d.row(0)), (2, &[1.0f32, 2.0, 3.0][..]));
}

#[test]
fn format_is_detected_from_content_when_the_name_says_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("vectors.bin");
    npy::write_f32(&p, &flat_grid(), 3, 4).expect("write");
    assert_eq!(dataset::detect_format(&p).expect("detect"), Format::Npy);
    assert_grid(&open(&p));
    let p = dir.path().join("vectors");
    std::fs::write(&p, "1,2\n3,4\n").expect("write");
    assert_eq!(dataset::detect_format(&p).expect("detect"), Format::Csv);
}

#[test]
fn hdf5_ann_benchmarks_file() {
    use hdf5_pure::{AttrValue, FileBuilder};
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("toy-euclidean.hdf5");
    let mut b = FileBuilder::new();
    b.create_dataset("train")
        .with_f32_data(&flat_grid())
        .with_shape(&[3, 4]);
    b.create_dataset("test")
        .with_f32_data(&[0.0, 1.0, 2.0, 3.5])
        .with_shape(&[1, 4]);
    b.create_dataset("neighbors")
        .with_i32_data(&[0, 1])
        .with_shape(&[1, 2]);
    b.create_dataset("distances")
        .with_f32_data(&[0.5, 20.0])
        .with_shape(&[1, 2]);
    b.set_attr("distance", AttrValue::String("euclidean".into()));
    b.write(&p).expect("write hdf5");

    let ds = open(&p);
    assert_grid(&ds);
    assert_eq!(ds.info().format, Format::Hdf5);
    let extras = dataset::hdf5::read_extras(&p).expect("extras");
    assert_eq!(extras.metric, Some(Metric::L2));
    assert_eq!(extras.queries.row(0), &[0.0, 1.0, 2.0, 3.5]);
    let nb = extras.neighbors.expect("neighbors");
    assert_eq!((nb.n, nb.k, nb.ids.clone()), (1, 2, vec![0, 1]));

    // The CLI takes queries and ground truth from the file, and the metric too.
    let cache = dir.path().join("cache");
    let o = annscope(
        &["bench", "--base", p.to_str().expect("utf-8"), "--k", "2"],
        &cache,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let point: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(point["recall"], 1.0);
    assert_eq!(point["metric"], "l2");

    // h5py writes the attribute as a variable-length string; and asking for
    // another metric than the file's must not reuse its neighbours.
    let mut b = FileBuilder::new();
    b.create_dataset("train")
        .with_f32_data(&flat_grid())
        .with_shape(&[3, 4]);
    b.create_dataset("test")
        .with_f32_data(&[0.0, 1.0, 2.0, 3.5])
        .with_shape(&[1, 4]);
    // Deliberately wrong for cosine: under cosine row 2 ranks first.
    b.create_dataset("neighbors")
        .with_i32_data(&[0, 1])
        .with_shape(&[1, 2]);
    b.set_attr("distance", AttrValue::VarLenString("euclidean".into()));
    let vlen = dir.path().join("vlen-euclidean.hdf5");
    b.write(&vlen).expect("write hdf5");
    let extras = dataset::hdf5::read_extras(&vlen).expect("extras");
    assert_eq!(extras.metric, Some(Metric::L2));
    let v = vlen.to_str().expect("utf-8");
    let o = annscope(&["info", v, "--json"], &cache);
    let info: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(info["metric"], "l2", "info reports the file's metric");
    let o = annscope(
        &["bench", "--base", v, "--k", "2", "--metric", "cosine"],
        &cache,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("computing ground truth for cosine"),
        "{}",
        stderr(&o)
    );
    let point: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(
        point["recall"], 1.0,
        "a flat index against cosine ground truth"
    );
}

#[test]
fn a_truncated_hdf5_file_is_not_called_a_file_without_train() {
    use hdf5_pure::{AttrValue, FileBuilder};
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("cut.hdf5");
    let mut b = FileBuilder::new();
    b.create_dataset("train")
        .with_f32_data(&vec![0.5f32; 4000])
        .with_shape(&[1000, 4]);
    b.create_dataset("test")
        .with_f32_data(&[0.0, 1.0, 2.0, 3.5])
        .with_shape(&[1, 4]);
    b.set_attr("distance", AttrValue::String("euclidean".into()));
    b.write(&p).expect("write hdf5");
    let bytes = std::fs::read(&p).expect("read");
    // Cut inside the group's header, and inside the data.
    for cut in [200, bytes.len() / 2] {
        std::fs::write(&p, &bytes[..cut]).expect("truncate");
        let Err(e) = dataset::open(&p, Metric::L2, &WorkContext::detached()) else {
            panic!("a file cut at {cut} of {} bytes opened", bytes.len());
        };
        let e = e.to_string();
        assert!(e.contains("cut.hdf5"), "{e}");
        assert!(!e.contains("no 'train' dataset"), "cut at {cut}: {e}");
    }
}

#[test]
fn labels_plain_and_projector_metadata() {
    let dir = tempfile::tempdir().expect("tmp");
    let fv = dir.path().join("g.fvecs");
    write_fvecs(&fv, &grid());
    let plain = dir.path().join("labels.txt");
    std::fs::write(&plain, "alpha\nbeta\ngamma\n").expect("write");
    let meta = dir.path().join("metadata.tsv");
    std::fs::write(&meta, "word\tpos\nalpha\tn\nbeta\tv\ngamma\tn\n").expect("write");
    let mut ds = open(&fv);
    ds.load_labels(&plain).expect("plain");
    assert_eq!(ds.label(1), Some("beta"));
    ds.load_labels(&meta).expect("meta");
    assert_eq!(ds.label(2), Some("gamma · n"));
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "one\ntwo\n").expect("write");
    let err = ds.load_labels(&short).expect_err("count");
    assert!(
        err.to_string()
            .contains("short.txt: 2 labels for 3 vectors"),
        "{err}"
    );
}
