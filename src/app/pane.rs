//! One pane: where it is, what it lists, the sorted and filtered view of it, the cursor,
//! the scroll position and the selection. Sorting and filtering happen here, when the
//! entries or the order change, never while drawing.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::fs::{Entry, Key, Space};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Local,
    Drive,
}

/// A Drive folder on the way down from the root: its node id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crumb {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Local(PathBuf),
    /// The Drive folder at the end of the crumbs; no crumbs is the root.
    Drive(Vec<Crumb>),
    /// The Drive's trash.
    Trash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Name,
    Size,
    Date,
}

impl Sort {
    pub fn next(self) -> Sort {
        match self {
            Sort::Name => Sort::Size,
            Sort::Size => Sort::Date,
            Sort::Date => Sort::Name,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Size => "size",
            Sort::Date => "date",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pane {
    pub side: Side,
    pub place: Place,
    /// The Drive folder to return to when the trash view closes.
    pub before_trash: Option<Place>,
    pub entries: Vec<Entry>,
    /// Indices into `entries`, sorted and filtered: what is shown, in order.
    pub view: Vec<usize>,
    /// Position in `view`.
    pub cursor: usize,
    /// First row shown.
    pub offset: usize,
    /// Changed only through the methods below, which keep `selected_bytes` true.
    selected: HashSet<Key>,
    /// The selection's total size, kept as it changes so drawing never sums 100,000 rows.
    selected_bytes: u64,
    /// How many entries the view was last built from.
    sorted: usize,
    /// A refresh is under way: the entries shown are the previous listing's.
    refreshing: bool,
    pub sort: Sort,
    pub filter: String,
    pub loading: bool,
    /// The listing this pane waits for or shows; replies to any other are dropped.
    pub listing: u64,
    pub space: Option<Space>,
    pub error: Option<String>,
    /// A name to put the cursor on when the listing arrives (the folder we came up from).
    pub remember: Option<String>,
}

impl Pane {
    pub fn new(side: Side, place: Place) -> Pane {
        Pane {
            side,
            place,
            before_trash: None,
            entries: Vec::new(),
            view: Vec::new(),
            cursor: 0,
            offset: 0,
            selected: HashSet::new(),
            selected_bytes: 0,
            sorted: 0,
            refreshing: false,
            sort: Sort::Name,
            filter: String::new(),
            loading: false,
            listing: 0,
            space: None,
            error: None,
            remember: None,
        }
    }

    pub fn title(&self, remote: &str) -> String {
        match &self.place {
            Place::Local(path) => path.display().to_string(),
            Place::Drive(crumbs) => {
                let path: Vec<&str> = crumbs.iter().map(|c| c.name.as_str()).collect();
                format!("{remote}:/{}", path.join("/"))
            }
            Place::Trash => format!("{remote}: trash"),
        }
    }

    pub fn in_trash(&self) -> bool {
        self.place == Place::Trash
    }

    /// The same folder listed again: the old entries stay on screen until the first page
    /// of the new listing replaces them, and the cursor keeps its entry.
    pub fn begin_refresh(&mut self, listing: u64) {
        self.listing = listing;
        self.loading = true;
        self.error = None;
        self.refreshing = true;
    }

    /// A new listing starts: the old entries go, the cursor will find `remember`.
    pub fn begin_listing(&mut self, listing: u64) {
        self.listing = listing;
        self.loading = true;
        self.error = None;
        if self.remember.is_none() {
            self.remember = self.cursor_entry().map(|e| e.name.clone());
        }
        self.entries.clear();
        self.view.clear();
        self.sorted = 0;
        self.refreshing = false;
        self.cursor = 0;
        self.offset = 0;
    }

    pub fn add_page(&mut self, mut entries: Vec<Entry>, done: bool) {
        if self.refreshing {
            self.refreshing = false;
            if self.remember.is_none() {
                self.remember = self.cursor_entry().map(|e| e.name.clone());
            }
            self.entries.clear();
            self.view.clear();
            self.sorted = 0;
        }
        let keep = self.cursor_entry().map(|e| e.key.clone());
        self.entries.append(&mut entries);
        if done {
            self.loading = false;
            let present: HashSet<&Key> = self.entries.iter().map(|e| &e.key).collect();
            self.selected.retain(|k| present.contains(k));
            self.selected_bytes = self
                .entries
                .iter()
                .filter(|e| self.selected.contains(&e.key))
                .map(|e| e.size)
                .sum();
        }
        // Sorting the whole folder for every page would cost pages × n log n on a folder
        // of 100,000; sort when it has doubled since the last sort, and at the end.
        if !done && self.sorted > 0 && self.entries.len() < 2 * self.sorted {
            return;
        }
        self.rebuild_view();
        match self.remember.clone() {
            Some(name) => {
                if let Some(pos) = self.view.iter().position(|&i| self.entries[i].name == name) {
                    self.cursor = pos;
                }
            }
            None => {
                if let Some(key) = keep {
                    self.put_cursor_on(&key);
                }
            }
        }
        if done {
            self.remember = None;
        }
    }

    fn put_cursor_on(&mut self, key: &Key) {
        if let Some(pos) = self.view.iter().position(|&i| &self.entries[i].key == key) {
            self.cursor = pos;
        }
    }

    /// Sorts and filters `entries` into `view`: folders first, then by the chosen order.
    pub fn rebuild_view(&mut self) {
        let needle = self.filter.to_lowercase();
        let mut view: Vec<usize> = (0..self.entries.len())
            .filter(|&i| needle.is_empty() || self.entries[i].name.to_lowercase().contains(&needle))
            .collect();
        let entries = &self.entries;
        match self.sort {
            Sort::Name => view.sort_by_cached_key(|&i| {
                let e = &entries[i];
                (!e.is_dir, e.name.to_lowercase())
            }),
            Sort::Size => view.sort_by_cached_key(|&i| {
                let e = &entries[i];
                (!e.is_dir, std::cmp::Reverse(e.size), e.name.to_lowercase())
            }),
            Sort::Date => view.sort_by_cached_key(|&i| {
                let e = &entries[i];
                (
                    !e.is_dir,
                    std::cmp::Reverse(e.modified),
                    e.name.to_lowercase(),
                )
            }),
        }
        self.view = view;
        self.sorted = self.entries.len();
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
    }

    pub fn set_sort(&mut self, sort: Sort) {
        let keep = self.cursor_entry().map(|e| e.key.clone());
        self.sort = sort;
        self.rebuild_view();
        if let Some(k) = keep {
            self.put_cursor_on(&k);
        }
    }

    pub fn set_filter(&mut self, filter: &str) {
        let keep = self.cursor_entry().map(|e| e.key.clone());
        self.filter = filter.to_string();
        self.rebuild_view();
        match keep {
            Some(k) if self.view.iter().any(|&i| self.entries[i].key == k) => {
                self.put_cursor_on(&k)
            }
            _ => self.cursor = 0,
        }
    }

    pub fn cursor_entry(&self) -> Option<&Entry> {
        self.view.get(self.cursor).map(|&i| &self.entries[i])
    }

    /// Moves the cursor by `delta` rows and keeps it in the `rows` shown.
    pub fn move_cursor(&mut self, delta: isize, rows: usize) {
        let last = self.view.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
        self.scroll_to_cursor(rows);
    }

    pub fn scroll_to_cursor(&mut self, rows: usize) {
        let rows = rows.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + rows {
            self.offset = self.cursor + 1 - rows;
        }
        let max_offset = self.view.len().saturating_sub(rows);
        self.offset = self.offset.min(max_offset);
    }

    pub fn toggle_select(&mut self) {
        if let Some(&i) = self.view.get(self.cursor) {
            let on = !self.selected.contains(&self.entries[i].key);
            self.set_selected(i, on);
        }
    }

    /// Selects or unselects `entries[i]`, keeping the total.
    fn set_selected(&mut self, i: usize, on: bool) {
        let entry = &self.entries[i];
        if on {
            if self.selected.insert(entry.key.clone()) {
                self.selected_bytes += entry.size;
            }
        } else if self.selected.remove(&entry.key) {
            self.selected_bytes -= entry.size;
        }
    }

    pub fn is_selected(&self, key: &Key) -> bool {
        self.selected.contains(key)
    }

    pub fn clear_selection(&mut self) {
        self.selected.clear();
        self.selected_bytes = 0;
    }

    pub fn invert_selection(&mut self) {
        for v in 0..self.view.len() {
            let i = self.view[v];
            let on = !self.selected.contains(&self.entries[i].key);
            self.set_selected(i, on);
        }
    }

    /// Selects (or unselects) the shown entries whose name matches `pattern` (a glob,
    /// case-insensitive like the Drive). Returns how many matched.
    pub fn select_glob(&mut self, pattern: &str, select: bool) -> Result<usize, String> {
        let glob = globset::GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("{pattern:?} is not a pattern: {e}"))?
            .compile_matcher();
        let matching: Vec<usize> = self
            .view
            .iter()
            .copied()
            .filter(|&i| glob.is_match(&self.entries[i].name))
            .collect();
        for &i in &matching {
            self.set_selected(i, select);
        }
        Ok(matching.len())
    }

    /// What an operation acts on: the selection, or else the entry under the cursor.
    pub fn targets(&self) -> Vec<Entry> {
        if self.selected.is_empty() {
            return self.cursor_entry().cloned().into_iter().collect();
        }
        self.view
            .iter()
            .map(|&i| &self.entries[i])
            .filter(|e| self.selected.contains(&e.key))
            .cloned()
            .collect()
    }

    /// Count and total size of the selection.
    pub fn selection_total(&self) -> (usize, u64) {
        (self.selected.len(), self.selected_bytes)
    }

    /// The place one level up, and the name to put the cursor on there.
    pub fn parent(&self) -> Option<(Place, String)> {
        match &self.place {
            Place::Local(path) => {
                let parent = path.parent()?;
                let name = path.file_name()?.to_string_lossy().into_owned();
                Some((Place::Local(parent.to_path_buf()), name))
            }
            Place::Drive(crumbs) => {
                let (last, rest) = crumbs.split_last()?;
                Some((Place::Drive(rest.to_vec()), last.name.clone()))
            }
            Place::Trash => None,
        }
    }

    /// The place an entry of this pane opens to, if it is a folder.
    pub fn child(&self, entry: &Entry) -> Option<Place> {
        if !entry.is_dir {
            return None;
        }
        match (&self.place, &entry.key) {
            (Place::Local(_), Key::Local(path)) => Some(Place::Local(path.clone())),
            (Place::Drive(crumbs), Key::Drive(id)) => {
                let mut crumbs = crumbs.clone();
                crumbs.push(Crumb {
                    id: id.clone(),
                    name: entry.name.clone(),
                });
                Some(Place::Drive(crumbs))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64, modified: i64) -> Entry {
        Entry {
            name: name.into(),
            key: Key::Drive(name.into()),
            is_dir: false,
            size,
            modified: Some(modified),
            md5: None,
        }
    }

    fn folder(name: &str) -> Entry {
        Entry {
            is_dir: true,
            ..file(name, 0, 0)
        }
    }

    fn names(p: &Pane) -> Vec<&str> {
        p.view.iter().map(|&i| p.entries[i].name.as_str()).collect()
    }

    #[test]
    fn folders_first_then_each_order() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        p.add_page(
            vec![
                file("b", 10, 3),
                folder("Z"),
                file("A", 5, 9),
                file("c", 99, 1),
            ],
            true,
        );
        assert_eq!(names(&p), ["Z", "A", "b", "c"]);
        p.set_sort(Sort::Size);
        assert_eq!(names(&p), ["Z", "c", "b", "A"]);
        p.set_sort(Sort::Date);
        assert_eq!(names(&p), ["Z", "A", "b", "c"]);
    }

    #[test]
    fn a_big_folder_is_sorted_as_it_doubles_and_at_the_end() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        let page = |from: usize| {
            (from..from + 100)
                .map(|i| file(&format!("f{i:05}"), 1, 1))
                .collect()
        };
        p.add_page(page(0), false);
        assert_eq!(p.view.len(), 100, "the first page shows at once");
        p.add_page(page(100), false);
        assert_eq!(p.view.len(), 200);
        p.add_page(page(200), false);
        assert_eq!(p.view.len(), 200, "not sorted again until it doubles");
        p.add_page(page(300), true);
        assert_eq!(p.view.len(), 400, "all of it at the end");
    }

    #[test]
    fn a_refresh_keeps_the_old_entries_until_new_ones_come() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        p.add_page(
            vec![file("a", 1, 1), file("b", 1, 1), file("c", 1, 1)],
            true,
        );
        p.move_cursor(1, 10);
        p.begin_refresh(2);
        assert_eq!(p.view.len(), 3, "still shown while the refresh loads");
        p.add_page(vec![file("c", 1, 1)], false);
        p.add_page(vec![file("b", 1, 1)], true);
        assert_eq!(names(&p), ["b", "c"]);
        assert_eq!(
            p.cursor_entry().unwrap().name,
            "b",
            "the cursor kept its entry"
        );
    }

    #[test]
    fn filter_keeps_the_cursor_on_its_entry() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        p.add_page(
            vec![file("alpha", 1, 1), file("beta", 1, 1), file("alps", 1, 1)],
            true,
        );
        p.move_cursor(2, 10);
        assert_eq!(p.cursor_entry().unwrap().name, "beta");
        p.set_filter("AL");
        assert_eq!(names(&p), ["alpha", "alps"]);
        assert_eq!(p.cursor, 0);
        p.set_filter("");
        assert_eq!(p.view.len(), 3);
    }

    #[test]
    fn scrolling_keeps_the_cursor_in_view() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        p.add_page(
            (0..100).map(|i| file(&format!("f{i:03}"), 1, 1)).collect(),
            true,
        );
        p.move_cursor(50, 10);
        assert_eq!((p.cursor, p.offset), (50, 41));
        p.move_cursor(-45, 10);
        assert_eq!((p.cursor, p.offset), (5, 5));
        p.move_cursor(1_000, 10);
        assert_eq!((p.cursor, p.offset), (99, 90));
    }

    #[test]
    fn glob_selection_is_case_insensitive() {
        let mut p = Pane::new(Side::Drive, Place::Drive(vec![]));
        p.begin_listing(1);
        p.add_page(
            vec![
                file("a.JPG", 1, 1),
                file("b.jpg", 2, 1),
                file("c.png", 4, 1),
            ],
            true,
        );
        assert_eq!(p.select_glob("*.jpg", true), Ok(2));
        assert_eq!(p.selection_total(), (2, 3));
        p.invert_selection();
        assert_eq!(p.selection_total(), (1, 4));
        assert!(p.select_glob("[", true).is_err());
    }

    #[test]
    fn parent_remembers_where_it_came_from() {
        let p = Pane::new(
            Side::Drive,
            Place::Drive(vec![Crumb {
                id: "x".into(),
                name: "Photos".into(),
            }]),
        );
        assert_eq!(p.parent(), Some((Place::Drive(vec![]), "Photos".into())));
        assert_eq!(p.title("acd"), "acd:/Photos");
    }
}
