//! SQL text annscope writes for pgvector: identifiers always quoted (a name
//! with quotes or a semicolon stays a name, never runs), the operator and
//! operator class each metric maps to, and connection URLs with their
//! password masked wherever they are shown.

use crate::distance::Metric;

/// The vector column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `vector`: 4-byte floats.
    Vector,
    /// `halfvec`: 2-byte floats, half the table and index.
    Halfvec,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Vector => "vector",
            ColumnType::Halfvec => "halfvec",
        }
    }

    /// The column type from its catalog name (`vector(384)` → Vector).
    pub fn from_catalog(type_name: &str) -> Option<ColumnType> {
        let base = type_name.split('(').next().unwrap_or("").trim();
        match base {
            "vector" => Some(ColumnType::Vector),
            "halfvec" => Some(ColumnType::Halfvec),
            _ => None,
        }
    }
}

/// `name` as a quoted SQL identifier: `"…"` with inner quotes doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified table name, each part quoted. `schema.table`
/// splits at the first dot outside quotes; a name that is itself quoted
/// (`"a.b"`) keeps its dot.
pub fn qualified(name: &str) -> String {
    match split_qualified(name) {
        (Some(schema), table) => format!("{}.{}", ident(&schema), ident(&table)),
        (None, table) => ident(&table),
    }
}

/// `(schema, table)` of a user's table name: unquoted parts as written,
/// `"…"` parts unquoted.
pub fn split_qualified(name: &str) -> (Option<String>, String) {
    let unquote = |s: &str| -> String {
        let s = s.trim();
        if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
            s[1..s.len() - 1].replace("\"\"", "\"")
        } else {
            s.to_string()
        }
    };
    let mut in_quotes = false;
    for (i, c) in name.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes => return (Some(unquote(&name[..i])), unquote(&name[i + 1..])),
            _ => {}
        }
    }
    (None, unquote(name))
}

/// pgvector's distance operator for `metric`: the one its index serves.
pub fn operator(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "<=>",
        Metric::L2 => "<->",
        Metric::InnerProduct => "<#>",
    }
}

/// The operator class an index needs for `metric` on `column`.
pub fn opclass(metric: Metric, column: ColumnType) -> String {
    let suffix = match metric {
        Metric::Cosine => "cosine_ops",
        Metric::L2 => "l2_ops",
        Metric::InnerProduct => "ip_ops",
    };
    format!("{}_{suffix}", column.name())
}

/// The metric an operator class serves (`vector_cosine_ops` → cosine).
pub fn metric_of_opclass(opclass: &str) -> Option<Metric> {
    if opclass.ends_with("_cosine_ops") {
        Some(Metric::Cosine)
    } else if opclass.ends_with("_l2_ops") {
        Some(Metric::L2)
    } else if opclass.ends_with("_ip_ops") {
        Some(Metric::InnerProduct)
    } else {
        None
    }
}

/// An engine distance in annscope's convention: pgvector's `<->` is the
/// Euclidean distance, annscope's L2 is its square; cosine (`1 - cos`) and
/// ip (`-dot`) are the same in both.
pub fn to_annscope_distance(metric: Metric, engine: f64) -> f32 {
    match metric {
        Metric::L2 => (engine * engine) as f32,
        _ => engine as f32,
    }
}

/// The URL with its password replaced by `***`, for every message and
/// report: `postgresql://user:secret@host/db` and `password=…` key-value
/// and query forms.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let from = rest_start + colon + 1;
                out.replace_range(from..rest_start + at, "***");
            }
        }
    }
    mask_key_values(&out)
}

/// The URL without its password (`user:secret@` becomes `user@`;
/// `password=…` parameters are removed): what a settings file may keep.
pub fn without_password(url: &str) -> String {
    let masked = mask_url(url);
    let mut out = masked.replace(":***@", "@");
    for sep in ["?", "&", " "] {
        out = out.replace(&format!("{sep}password=***"), sep);
    }
    out.replace("?&", "?")
        .trim_end_matches(['?', '&', ' '])
        .to_string()
}

/// The URL without its password, and the password (as the driver reads it).
pub fn split_password(url: &str) -> (String, Option<String>) {
    let password = std::str::FromStr::from_str(url)
        .ok()
        .and_then(|c: postgres::Config| {
            c.get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned())
        });
    (without_password(url), password)
}

/// `password=…` (a query parameter or a key-value connection string) masked.
fn mask_key_values(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find("password=") {
        let start = i + found + "password=".len();
        out.push_str(&s[i..start]);
        let value = &s[start..];
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(s.len(), |e| start + e + 2)
        } else {
            value.find([' ', '&']).map_or(s.len(), |e| start + e)
        };
        out.push_str("***");
        i = end;
    }
    out.push_str(&s[i..]);
    out
}

/// Removes every occurrence of `secret` from `text` (errors from the
/// driver may quote what they were given).
pub fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 3 => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_never_spliced() {
        assert_eq!(ident("items"), "\"items\"");
        assert_eq!(
            ident("x\"; DROP TABLE t; --"),
            "\"x\"\"; DROP TABLE t; --\""
        );
        assert_eq!(qualified("public.items"), "\"public\".\"items\"");
        assert_eq!(qualified("\"a.b\""), "\"a.b\"");
        assert_eq!(
            split_qualified("\"My Schema\".\"t\"\"x\""),
            (Some("My Schema".into()), "t\"x".into())
        );
    }

    #[test]
    fn passwords_are_masked_in_every_url_form() {
        assert_eq!(
            mask_url("postgresql://ann:s3cret@127.0.0.1:5432/db"),
            "postgresql://ann:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            mask_url("postgres://ann@host/db?password=s3cret&sslmode=disable"),
            "postgres://ann@host/db?password=***&sslmode=disable"
        );
        assert_eq!(
            mask_url("host=h user=u password='a b' dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(mask_url("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(
            without_password("postgresql://ann:s3cret@127.0.0.1:5432/db"),
            "postgresql://ann@127.0.0.1:5432/db"
        );
        assert_eq!(
            without_password("postgres://ann@h/db?password=x&sslmode=disable"),
            "postgres://ann@h/db?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://ann@h/db?password=x"),
            "postgres://ann@h/db"
        );
        assert_eq!(
            mask_url("postgresql://u:p%40ss@h/db"),
            "postgresql://u:***@h/db"
        );
    }

    #[test]
    fn metrics_map_to_operators_and_back() {
        for m in [Metric::Cosine, Metric::L2, Metric::InnerProduct] {
            let class = opclass(m, ColumnType::Halfvec);
            assert!(class.starts_with("halfvec_"));
            assert_eq!(metric_of_opclass(&class), Some(m));
        }
        assert_eq!(operator(Metric::Cosine), "<=>");
        assert_eq!(to_annscope_distance(Metric::L2, 3.0), 9.0);
        assert_eq!(
            ColumnType::from_catalog("vector(384)"),
            Some(ColumnType::Vector)
        );
        assert_eq!(ColumnType::from_catalog("integer"), None);
    }
}
