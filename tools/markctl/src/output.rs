// SPDX-License-Identifier: GPL-2.0

//! Text tables and JSON lines on the output stream.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{Error, Result};

/// Formats `rows` as columns separated by two spaces; the last column is not
/// padded.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let pad = widths[c] - cell.chars().count();
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            line
        })
        .collect()
}

/// Maps an error writing the output.  A closed pipe (`markctl list | head`)
/// ends the program quietly with exit code 0.
pub fn out_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Error::new(0, "")
    } else {
        Error::other(format!("writing the output: {err}"))
    }
}

/// Writes `lines`, each ended by a newline.
pub fn write_lines(out: &mut dyn Write, lines: &[String]) -> Result<()> {
    for line in lines {
        writeln!(out, "{line}").map_err(out_error)?;
    }
    Ok(())
}

/// Writes `value` as one line of JSON.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    let text =
        serde_json::to_string(value).map_err(|e| Error::other(format!("encoding JSON: {e}")))?;
    writeln!(out, "{text}").map_err(out_error)?;
    out.flush().map_err(out_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns() {
        let rows = vec![
            vec!["A".to_string(), "BB".to_string(), "C".to_string()],
            vec!["aaa".to_string(), "b".to_string(), "ccccc".to_string()],
        ];
        assert_eq!(table(&rows), ["A    BB  C", "aaa  b   ccccc"]);
    }
}
