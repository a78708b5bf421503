//! Markdown tables.

/// A Markdown table: a header row and body rows of the same width.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are left empty and surplus cells are dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as GitHub-flavoured Markdown, columns padded to line up, `|` in cells escaped.
    pub fn render(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let all = std::iter::once(&self.headers).chain(&self.rows);
        let mut widths = vec![3; self.headers.len()];
        for row in all.clone() {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(esc(cell).chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{:<w$}", esc(c), w = *w))
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_markdown_and_escapes_pipes() {
        let mut t = Table::new(["workload", "ours"]);
        assert!(t.is_empty());
        t.row(["W1", "12.5 kops/s"]);
        t.row(["W|2"]);
        assert_eq!(
            t.render(),
            "| workload | ours        |\n\
             | -------- | ----------- |\n\
             | W1       | 12.5 kops/s |\n\
             | W\\|2     |             |\n"
        );
    }
}
