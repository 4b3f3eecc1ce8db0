//! The node filter language of §6.5 (Lucene-like `field:value` terms joined by `AND`),
//! compiled to an SQL condition over the `nodes n` table, and the `sort` parameter.
//!
//! Accepted: bare and double-quoted values with backslash escapes (`\ `, `\(`, …, even
//! inside quotes, as go-acd sends them); a trailing unescaped `*` for prefix matches;
//! ranges `[a TO b]`, `{a TO b}` with `*` open ends and mixed brackets; `labels:(a AND b)`;
//! at most 8 terms. A leading `-` in a value is an ordinary character (rclone sends ids
//! like `parents:-AbC…` unescaped). `OR`, `NOT` and grouping are refused, as they did not
//! work for rclone against the live service.

use rusqlite::types::Value as SqlValue;

use super::ids;

pub const MAX_TERMS: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("Invalid filter: {0}")]
    Syntax(String),
    #[error("Invalid filter: at most {MAX_TERMS} terms are allowed, got {0}")]
    TooManyTerms(usize),
    #[error("Invalid filter: unknown field {0}")]
    UnknownField(String),
    #[error("Invalid filter: {field} does not support {what}")]
    Unsupported { field: String, what: &'static str },
    #[error("Invalid filter value {value:?} for {field}")]
    BadValue { field: String, value: String },
    #[error("Invalid sort: {0}")]
    Sort(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Value {
    text: String,
    /// Ends in an unescaped `*`: a prefix match.
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Open,
    At(Value, bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    One(Value),
    All(Vec<Value>),
    Range(Bound, Bound),
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    field: String,
    operand: Operand,
}

/// A compiled filter: an SQL condition with its parameters.
#[derive(Debug, Default)]
pub struct Compiled {
    pub where_sql: String,
    pub params: Vec<SqlValue>,
    /// The filter names a `status`; otherwise listings show only live nodes.
    pub has_status: bool,
    /// The first `parents:` term, which drives the query from the parents index.
    pub scope_parent: Option<String>,
}

impl Compiled {
    /// Adds one more condition (a listing's implicit scope).
    pub fn and(&mut self, sql: &str, params: impl IntoIterator<Item = SqlValue>) {
        let base = self.params.len();
        let mut rewritten = String::new();
        // Conditions are written with ?1, ?2…; renumber after the existing parameters.
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '?' {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n: usize = digits.parse().unwrap_or(1);
                rewritten.push_str(&format!("?{}", base + n));
            } else {
                rewritten.push(c);
            }
        }
        if self.where_sql.is_empty() {
            self.where_sql = rewritten;
        } else {
            self.where_sql = format!("{} AND {rewritten}", self.where_sql);
        }
        self.params.extend(params);
    }
}

pub fn compile(filters: &str) -> Result<Compiled, FilterError> {
    let terms = parse(filters)?;
    if terms.len() > MAX_TERMS {
        return Err(FilterError::TooManyTerms(terms.len()));
    }
    let mut compiled = Compiled::default();
    for term in &terms {
        compile_term(term, &mut compiled)?;
    }
    Ok(compiled)
}

// ---- parsing ----

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    source: &'a str,
}

fn parse(input: &str) -> Result<Vec<Term>, FilterError> {
    let mut p = Parser {
        chars: input.chars().collect(),
        pos: 0,
        source: input,
    };
    let mut terms = Vec::new();
    loop {
        p.skip_ws();
        if p.at_end() {
            break;
        }
        if !terms.is_empty() {
            let word = p.word();
            match word.as_str() {
                "AND" => {}
                "OR" | "NOT" | "||" | "&&" => {
                    return Err(FilterError::Syntax(format!(
                        "{word} is not supported; join terms with AND"
                    )));
                }
                _ => {
                    return Err(FilterError::Syntax(format!(
                        "expected AND between terms in {:?}",
                        p.source
                    )));
                }
            }
            p.skip_ws();
        }
        terms.push(p.term()?);
    }
    if terms.is_empty() {
        return Err(FilterError::Syntax("empty filter".into()));
    }
    Ok(terms)
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace()) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn term(&mut self) -> Result<Term, FilterError> {
        if self.peek() == Some('(') {
            return Err(FilterError::Syntax(
                "grouping with parentheses is not supported".into(),
            ));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            self.pos += 1;
        }
        let field: String = self.chars[start..self.pos].iter().collect();
        if field.is_empty() || self.peek() != Some(':') {
            return Err(FilterError::Syntax(format!(
                "expected field:value at position {start} in {:?}",
                self.source
            )));
        }
        self.pos += 1;
        let operand = match self.peek() {
            Some('(') => {
                self.pos += 1;
                let mut values = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(')') {
                        self.pos += 1;
                        break;
                    }
                    if !values.is_empty() {
                        let word = self.word_until_paren();
                        if word != "AND" {
                            return Err(FilterError::Syntax(format!(
                                "only AND may join values inside (), found {word:?}"
                            )));
                        }
                        self.skip_ws();
                    }
                    if self.at_end() {
                        return Err(FilterError::Syntax("unclosed (".into()));
                    }
                    values.push(self.value(&[')'])?);
                }
                Operand::All(values)
            }
            Some(open @ ('[' | '{')) => {
                self.pos += 1;
                self.skip_ws();
                let low = self.bound(open == '[')?;
                self.skip_ws();
                if self.word() != "TO" {
                    return Err(FilterError::Syntax("expected TO in range".into()));
                }
                self.skip_ws();
                let high_start = self.pos;
                let high_value = self.value(&[']', '}'])?;
                let close = self.peek();
                let inclusive = match close {
                    Some(']') => true,
                    Some('}') => false,
                    _ => return Err(FilterError::Syntax("unclosed range".into())),
                };
                self.pos += 1;
                let high = if high_value.text == "*" && self.chars[high_start] == '*' {
                    Bound::Open
                } else {
                    Bound::At(high_value, inclusive)
                };
                Operand::Range(low, high)
            }
            _ => Operand::One(self.value(&[])?),
        };
        Ok(Term { field, operand })
    }

    fn word_until_paren(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn bound(&mut self, inclusive: bool) -> Result<Bound, FilterError> {
        if self.peek() == Some('*')
            && self
                .chars
                .get(self.pos + 1)
                .is_none_or(|c| c.is_whitespace())
        {
            self.pos += 1;
            return Ok(Bound::Open);
        }
        Ok(Bound::At(self.value(&[])?, inclusive))
    }

    /// A quoted or bare value. Bare values end at unescaped whitespace or a `stops` char.
    fn value(&mut self, stops: &[char]) -> Result<Value, FilterError> {
        let mut text = String::new();
        let mut prefix = false;
        if self.peek() == Some('"') {
            self.pos += 1;
            loop {
                match self.peek() {
                    None => return Err(FilterError::Syntax("unclosed quote".into())),
                    Some('"') => {
                        self.pos += 1;
                        break;
                    }
                    Some('\\') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(c) => text.push(c),
                            None => return Err(FilterError::Syntax("dangling \\".into())),
                        }
                        self.pos += 1;
                    }
                    Some(c) => {
                        text.push(c);
                        self.pos += 1;
                    }
                }
            }
            // A `*` straight after the closing quote asks for a prefix match.
            if self.peek() == Some('*') {
                self.pos += 1;
                prefix = true;
            }
        } else {
            let mut last_unescaped_star = false;
            while let Some(c) = self.peek() {
                if c.is_whitespace() || stops.contains(&c) {
                    break;
                }
                self.pos += 1;
                if c == '\\' {
                    match self.peek() {
                        Some(next) => {
                            text.push(next);
                            self.pos += 1;
                            last_unescaped_star = false;
                        }
                        None => return Err(FilterError::Syntax("dangling \\".into())),
                    }
                } else {
                    text.push(c);
                    last_unescaped_star = c == '*';
                }
            }
            if last_unescaped_star && text.len() > 1 {
                text.pop();
                prefix = true;
            }
        }
        if text.is_empty() && !prefix {
            return Err(FilterError::Syntax("empty value".into()));
        }
        Ok(Value { text, prefix })
    }
}

// ---- compiling ----

#[derive(Clone, Copy)]
enum FieldType {
    Bool,
    Text { prefix_ok: bool, fold_case: bool },
    Upper,
    Date,
    Integer,
    ParentList,
    LabelList,
}

fn field(name: &str) -> Option<(&'static str, FieldType)> {
    Some(match name {
        "isRoot" => ("n.is_root", FieldType::Bool),
        "name" => (
            "n.name_lc",
            FieldType::Text {
                prefix_ok: true,
                fold_case: true,
            },
        ),
        "kind" => ("n.kind", FieldType::Upper),
        "status" => ("n.status", FieldType::Upper),
        "modifiedDate" => ("n.modified", FieldType::Date),
        "createdDate" => ("n.created", FieldType::Date),
        "labels" => ("n.labels", FieldType::LabelList),
        "description" => (
            "n.description",
            FieldType::Text {
                prefix_ok: false,
                fold_case: false,
            },
        ),
        "parents" | "parentIds" => ("n.id", FieldType::ParentList),
        "contentProperties.size" => ("n.size", FieldType::Integer),
        "contentProperties.contentType" => (
            "lower(n.content_type)",
            FieldType::Text {
                prefix_ok: true,
                fold_case: true,
            },
        ),
        "contentProperties.md5" => (
            "n.md5",
            FieldType::Text {
                prefix_ok: false,
                fold_case: true,
            },
        ),
        "contentProperties.contentDate" => ("n.content_date", FieldType::Date),
        "contentProperties.extension" => (
            "lower(n.extension)",
            FieldType::Text {
                prefix_ok: false,
                fold_case: true,
            },
        ),
        _ => return None,
    })
}

fn compile_term(term: &Term, out: &mut Compiled) -> Result<(), FilterError> {
    let (column, ty) =
        field(&term.field).ok_or_else(|| FilterError::UnknownField(term.field.clone()))?;
    if term.field == "status" {
        out.has_status = true;
    }
    match &term.operand {
        Operand::One(value) => compile_eq(&term.field, column, ty, value, out),
        Operand::All(values) => {
            for value in values {
                compile_eq(&term.field, column, ty, value, out)?;
            }
            Ok(())
        }
        Operand::Range(low, high) => {
            for (bound, is_low) in [(low, true), (high, false)] {
                let Bound::At(value, inclusive) = bound else {
                    continue;
                };
                let param = match ty {
                    FieldType::Date => SqlValue::Text(date(&term.field, value)?),
                    FieldType::Integer => SqlValue::Integer(integer(&term.field, value)?),
                    _ => {
                        return Err(FilterError::Unsupported {
                            field: term.field.clone(),
                            what: "ranges",
                        });
                    }
                };
                let op = match (is_low, inclusive) {
                    (true, true) => ">=",
                    (true, false) => ">",
                    (false, true) => "<=",
                    (false, false) => "<",
                };
                out.and(&format!("{column} {op} ?1"), [param]);
            }
            Ok(())
        }
    }
}

fn compile_eq(
    field: &str,
    column: &str,
    ty: FieldType,
    value: &Value,
    out: &mut Compiled,
) -> Result<(), FilterError> {
    let bad = || FilterError::BadValue {
        field: field.to_string(),
        value: value.text.clone(),
    };
    if value.prefix
        && !matches!(
            ty,
            FieldType::Text {
                prefix_ok: true,
                ..
            }
        )
    {
        return Err(FilterError::Unsupported {
            field: field.to_string(),
            what: "prefix matches",
        });
    }
    match ty {
        FieldType::Bool => match value.text.as_str() {
            "true" => out.and(&format!("{column} = 1"), []),
            "false" => out.and(&format!("{column} = 0"), []),
            _ => return Err(bad()),
        },
        FieldType::Text { fold_case, .. } => {
            let text = if fold_case {
                value.text.to_lowercase()
            } else {
                value.text.clone()
            };
            if value.prefix {
                out.and(
                    &format!("{column} LIKE ?1 ESCAPE '\\'"),
                    [SqlValue::Text(format!("{}%", like_escape(&text)))],
                );
            } else {
                out.and(&format!("{column} = ?1"), [SqlValue::Text(text)]);
            }
        }
        FieldType::Upper => out.and(
            &format!("{column} = ?1"),
            [SqlValue::Text(value.text.to_uppercase())],
        ),
        FieldType::Date => out.and(
            &format!("{column} = ?1"),
            [SqlValue::Text(date(field, value)?)],
        ),
        FieldType::Integer => out.and(
            &format!("{column} = ?1"),
            [SqlValue::Integer(integer(field, value)?)],
        ),
        FieldType::ParentList if out.scope_parent.is_none() => {
            out.scope_parent = Some(value.text.clone())
        }
        FieldType::ParentList => out.and(
            "n.id IN (SELECT child FROM parents WHERE parent = ?1)",
            [SqlValue::Text(value.text.clone())],
        ),
        FieldType::LabelList => out.and(
            "EXISTS (SELECT 1 FROM json_each(n.labels) WHERE json_each.value = ?1)",
            [SqlValue::Text(value.text.clone())],
        ),
    }
    Ok(())
}

fn date(field: &str, value: &Value) -> Result<String, FilterError> {
    ids::normalize_date(&value.text).ok_or_else(|| FilterError::BadValue {
        field: field.to_string(),
        value: value.text.clone(),
    })
}

fn integer(field: &str, value: &Value) -> Result<i64, FilterError> {
    value.text.parse().map_err(|_| FilterError::BadValue {
        field: field.to_string(),
        value: value.text.clone(),
    })
}

fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `sort=["name ASC"]` (the successor API's form), also `name ASC` or `name`. Returns an
/// SQL ORDER BY list, always ending in insertion order so pages are stable.
pub fn compile_sort(sort: Option<&str>) -> Result<String, FilterError> {
    let mut order = Vec::new();
    if let Some(sort) = sort {
        let items: Vec<String> = match serde_json::from_str::<Vec<String>>(sort) {
            Ok(items) => items,
            Err(_) => sort
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        for item in items {
            let mut words = item.split_whitespace();
            let name = words.next().unwrap_or_default();
            let direction = match words.next().map(str::to_uppercase).as_deref() {
                None | Some("ASC") => "ASC",
                Some("DESC") => "DESC",
                Some(other) => return Err(FilterError::Sort(format!("unknown direction {other}"))),
            };
            let column = match name {
                "name" => "n.name_lc",
                "kind" => "n.kind",
                "modifiedDate" => "n.modified",
                "createdDate" => "n.created",
                "status" => "n.status",
                "contentProperties.size" => "n.size",
                "contentProperties.contentType" => "n.content_type",
                "contentProperties.contentDate" => "n.content_date",
                "contentProperties.extension" => "n.extension",
                other => return Err(FilterError::Sort(format!("{other} is not sortable"))),
            };
            order.push(format!("{column} {direction}"));
        }
    }
    order.push("n.n ASC".into());
    Ok(order.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, prefix: bool) -> Operand {
        Operand::One(Value {
            text: text.into(),
            prefix,
        })
    }

    #[test]
    fn go_acd_lookup_with_escapes_inside_quotes() {
        let terms = parse(r#"parents:"-AbC" AND name:"sp\ ace\ \(1\).txt""#).unwrap();
        assert_eq!(terms[0].operand, one("-AbC", false));
        assert_eq!(terms[1].operand, one("sp ace (1).txt", false));
    }

    #[test]
    fn bare_values_prefixes_and_escaped_stars() {
        let terms = parse(r"kind:FOLDER AND name:sample* AND name:a\*").unwrap();
        assert_eq!(terms[1].operand, one("sample", true));
        assert_eq!(terms[2].operand, one("a*", false));
        // A leading '-' is an ordinary value character.
        assert_eq!(parse("parents:-x").unwrap()[0].operand, one("-x", false));
    }

    #[test]
    fn ranges_with_open_ends_and_mixed_brackets() {
        let terms = parse(r#"modifiedDate:{"2014-12-31T23:59:59.000Z" TO *]"#).unwrap();
        match &terms[0].operand {
            Operand::Range(Bound::At(v, false), Bound::Open) => {
                assert_eq!(v.text, "2014-12-31T23:59:59.000Z")
            }
            other => panic!("unexpected {other:?}"),
        }
        let terms = parse("contentProperties.size:[10 TO 20}").unwrap();
        assert!(matches!(
            &terms[0].operand,
            Operand::Range(Bound::At(_, true), Bound::At(_, false))
        ));
    }

    #[test]
    fn label_groups() {
        let terms = parse("labels:(a AND b)").unwrap();
        assert_eq!(
            terms[0].operand,
            Operand::All(vec![
                Value {
                    text: "a".into(),
                    prefix: false
                },
                Value {
                    text: "b".into(),
                    prefix: false
                },
            ])
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            compile("kind:FILE OR kind:FOLDER"),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            compile("(kind:FILE)"),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            compile("colour:red"),
            Err(FilterError::UnknownField(_))
        ));
        assert!(matches!(
            compile("isRoot:TRUE"),
            Err(FilterError::BadValue { .. })
        ));
        assert!(matches!(compile("name:\"abc"), Err(FilterError::Syntax(_))));
        assert!(matches!(
            compile("kind:(FILE OR FOLDER)"),
            Err(FilterError::Syntax(_))
        ));
        let nine = ["kind:FILE"; 9].join(" AND ");
        assert_eq!(compile(&nine).unwrap_err(), FilterError::TooManyTerms(9));
        assert!(compile(&["kind:FILE"; 8].join(" AND ")).is_ok());
    }

    #[test]
    fn compiled_parameters_are_numbered_in_order() {
        let c =
            compile("parents:P AND name:\"Hello World\" AND status:trash AND parents:Q").unwrap();
        assert!(c.has_status);
        assert_eq!(
            c.scope_parent.as_deref(),
            Some("P"),
            "the first parents term drives the query"
        );
        assert_eq!(c.params.len(), 3);
        assert!(
            c.where_sql.contains("?1") && c.where_sql.contains("?2") && c.where_sql.contains("?3")
        );
        assert_eq!(c.params[0], SqlValue::Text("hello world".into()));
        assert_eq!(c.params[1], SqlValue::Text("TRASH".into()));
        assert_eq!(c.params[2], SqlValue::Text("Q".into()));
    }

    #[test]
    fn sort_forms() {
        assert_eq!(
            compile_sort(Some(r#"["name ASC"]"#)).unwrap(),
            "n.name_lc ASC, n.n ASC"
        );
        assert_eq!(
            compile_sort(Some("modifiedDate DESC")).unwrap(),
            "n.modified DESC, n.n ASC"
        );
        assert!(compile_sort(Some("colour")).is_err());
    }
}
