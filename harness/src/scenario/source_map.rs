//! Where each node of a YAML file is written, so that semantic errors found
//! after deserialisation can point at the exact line and column.
//!
//! Paths name nodes the way diagnostics do: the root is `""`, a map entry is
//! `parent.key` (`vars.apn`, `steps[3].send`; a top-level key is just `key`),
//! a list item is `parent[i]` (`steps[3]`, `steps[3].expect[1]`). For a map
//! entry both the key and the value are recorded; list items and the root
//! only have a value. A value that is a block map or list is located at its
//! first entry (`steps[3]` points at the step's first key).

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub fn new(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML syntax error found while building the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Node path → position of its key and of its value.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
    duplicates: Vec<(String, Pos)>,
}

/// `parent.key` (or `key` at the root).
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[i]`.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The parent of a path (`steps[3].send` → `steps[3]` → `steps` → ``), or
/// `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        if let Some(i) = path.rfind('[') {
            return Some(&path[..i]);
        }
    }
    Some(path.rfind('.').map_or("", |i| &path[..i]))
}

impl SourceMap {
    /// Parse `text` (its first document) and record every node's position.
    pub fn parse(text: &str) -> Result<SourceMap, SyntaxError> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        parser
            .load(&mut builder, false)
            .map_err(|e| SyntaxError { pos: to_pos(e.marker()), message: e.info().to_string() })?;
        Ok(builder.map)
    }

    /// Where the key of a map entry is written.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied()
    }

    /// Where a node's value starts.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).copied()
    }

    /// The key of a map entry, else the value (list items, the root).
    pub fn key_or_value(&self, path: &str) -> Option<Pos> {
        self.key(path).or_else(|| self.value(path))
    }

    /// The value, else the key (an entry whose value is empty).
    pub fn value_or_key(&self, path: &str) -> Option<Pos> {
        self.value(path).or_else(|| self.key(path))
    }

    /// Whether the path names a node in the file.
    pub fn contains(&self, path: &str) -> bool {
        self.keys.contains_key(path) || self.values.contains_key(path)
    }

    /// The position of `path`'s value, or of its closest ancestor that is
    /// recorded, or the start of the file.
    pub fn nearest(&self, path: &str) -> Pos {
        let mut p = Some(path);
        while let Some(cur) = p {
            if let Some(pos) = self.value_or_key(cur) {
                return pos;
            }
            p = parent(cur);
        }
        Pos::START
    }

    /// Keys written twice in the same map: the path and the position of
    /// each repetition (the first occurrence is the one [`key`](Self::key) gives).
    pub fn duplicates(&self) -> &[(String, Pos)] {
        &self.duplicates
    }

    /// Every recorded path with its key position (if any) and value position (if any), sorted by path.
    pub fn entries(&self) -> Vec<(String, Option<Pos>, Option<Pos>)> {
        let mut paths: Vec<&String> = self.keys.keys().chain(self.values.keys()).collect();
        paths.sort();
        paths.dedup();
        paths.into_iter().map(|p| (p.clone(), self.key(p), self.value(p))).collect()
    }
}

fn to_pos(m: &Marker) -> Pos {
    // yaml-rust2 lines are 1-based, columns 0-based.
    Pos { line: m.line().max(1), column: m.col() + 1 }
}

enum Frame {
    Seq { path: String, next: usize },
    Map { path: String, key: Option<String>, first: bool },
}

#[derive(Default)]
struct Builder {
    map: SourceMap,
    stack: Vec<Frame>,
    /// Set at the end of the first document: later ones are ignored.
    done: bool,
}

impl Builder {
    /// Record a node starting at `pos`; returns its path, or `None` when the
    /// node is a map key (recorded as such).
    fn node(&mut self, pos: Pos, scalar: Option<&str>) -> Option<String> {
        // A block collection's start event is marked after its first key
        // (at the `:`); the collection starts where its first child does.
        if let Some(Frame::Seq { path, next: 0 } | Frame::Map { path, first: true, .. }) = self.stack.last() {
            if let Some(v) = self.map.values.get_mut(path.as_str()) {
                if pos < *v {
                    *v = pos;
                }
            }
        }
        match self.stack.last_mut() {
            None => {
                self.map.values.entry(String::new()).or_insert(pos);
                Some(String::new())
            }
            Some(Frame::Seq { path, next }) => {
                let p = join_index(path, *next);
                *next += 1;
                self.map.values.insert(p.clone(), pos);
                Some(p)
            }
            Some(Frame::Map { path, key, first }) => match key.take() {
                None => {
                    *first = false;
                    // A key. Complex (non-scalar) keys get a placeholder name.
                    let name = scalar.unwrap_or("?").to_string();
                    let p = join_key(path, &name);
                    match self.map.keys.entry(p) {
                        Entry::Occupied(e) => self.map.duplicates.push((e.key().clone(), pos)),
                        Entry::Vacant(e) => {
                            e.insert(pos);
                        }
                    }
                    *key = Some(name);
                    None
                }
                Some(name) => {
                    let p = join_key(path, &name);
                    self.map.values.entry(p.clone()).or_insert(pos);
                    Some(p)
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done {
            return;
        }
        let pos = to_pos(&mark);
        match ev {
            Event::Scalar(value, ..) => {
                self.node(pos, Some(&value));
            }
            Event::Alias(_) => {
                self.node(pos, Some("*"));
            }
            Event::SequenceStart(..) => {
                let path = self.node(pos, None).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingStart(..) => {
                let path = self.node(pos, None).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Map { path, key: None, first: true });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            Event::DocumentEnd => {
                if self.map.values.contains_key("") {
                    self.done = true;
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
id: phy.redialcount
vars:
  apn: internet
steps:
  - send: AT#REDIALCOUNT?
    expect:
      - \"#REDIALCOUNT: 5\"
      - OK
  - {send: ATZ, expect: OK}
";

    #[test]
    fn keys_and_values() {
        let m = SourceMap::parse(TEXT).unwrap();
        assert_eq!(m.key("id"), Some(Pos::new(1, 1)));
        assert_eq!(m.value("id"), Some(Pos::new(1, 5)));
        assert_eq!(m.key("vars.apn"), Some(Pos::new(3, 3)));
        assert_eq!(m.value("vars.apn"), Some(Pos::new(3, 8)));
        assert_eq!(m.value("steps[0]"), Some(Pos::new(5, 5)));
        assert_eq!(m.key("steps[0].send"), Some(Pos::new(5, 5)));
        assert_eq!(m.value("steps[0].send"), Some(Pos::new(5, 11)));
        assert_eq!(m.value("steps[0].expect[0]"), Some(Pos::new(7, 9)));
        assert_eq!(m.value("steps[0].expect[1]"), Some(Pos::new(8, 9)));
        assert_eq!(m.value("steps[1]"), Some(Pos::new(9, 5)));
        assert_eq!(m.key("steps[1].expect"), Some(Pos::new(9, 17)));
        assert_eq!(m.value("steps[1].expect"), Some(Pos::new(9, 25)));
        assert_eq!(m.value("steps"), Some(Pos::new(5, 3)));
        assert_eq!(m.value("vars"), Some(Pos::new(3, 3)));
    }

    #[test]
    fn nearest_walks_up() {
        let m = SourceMap::parse(TEXT).unwrap();
        assert_eq!(m.nearest("steps[0].idle"), Pos::new(5, 5));
        assert_eq!(m.nearest("nothing.here"), Pos::new(1, 1));
        assert_eq!(parent("steps[3].expect[1]"), Some("steps[3].expect"));
        assert_eq!(parent("steps"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[test]
    fn duplicates_are_listed() {
        let m = SourceMap::parse("a: 1\nb:\n  c: 2\n  c: 3\n").unwrap();
        assert_eq!(m.duplicates(), &[("b.c".to_string(), Pos::new(4, 3))]);
        assert_eq!(m.key("b.c"), Some(Pos::new(3, 3)));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = SourceMap::parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1);
    }
}
