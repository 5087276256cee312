//! Printing: the API's JSON as it came (`--json`), or aligned tables and key–value lists.

use serde::Serialize;
use serde_json::Value;

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints rows under headers, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints `label  value` lines, labels aligned.
pub fn fields<K: AsRef<str>>(pairs: &[(K, String)]) {
    let width = pairs.iter().map(|(k, _)| k.as_ref().len()).max().unwrap_or(0);
    for (k, v) in pairs {
        println!("{:<width$}  {v}", k.as_ref());
    }
}

/// A JSON value as a table cell: strings bare, null as `-`, lists comma-joined.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
