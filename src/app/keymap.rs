//! Keys to named actions, per mode. The default map is assets/keymap.toml; a user's file
//! replaces the keys of the actions it names. The hint line and help are drawn from the
//! map, so a remapped key is never lied about.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const DEFAULT: &str = include_str!("../../assets/keymap.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Panes,
    Trash,
    Queue,
    Confirm,
    Input,
    Help,
    Wizard,
    Conflict,
}

impl Mode {
    pub const ALL: [Mode; 8] = [
        Mode::Panes,
        Mode::Trash,
        Mode::Queue,
        Mode::Confirm,
        Mode::Input,
        Mode::Help,
        Mode::Wizard,
        Mode::Conflict,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Mode::Panes => "panes",
            Mode::Trash => "trash",
            Mode::Queue => "queue",
            Mode::Confirm => "confirm",
            Mode::Input => "input",
            Mode::Help => "help",
            Mode::Wizard => "wizard",
            Mode::Conflict => "conflict",
        }
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal : $what:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// What it does, for the help screen.
            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $what,)* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    SwitchPane = "switch_pane": "switch pane",
    Up = "up": "up",
    Down = "down": "down",
    PageUp = "page_up": "page up",
    PageDown = "page_down": "page down",
    Home = "home": "first entry",
    End = "end": "last entry",
    Open = "open": "open folder",
    Parent = "parent": "parent folder",
    Select = "select": "select and move down",
    Invert = "invert": "invert selection",
    SelectGlob = "select_glob": "select by pattern",
    UnselectGlob = "unselect_glob": "unselect by pattern",
    Copy = "copy": "copy to the other pane",
    Move = "move": "move to the other pane (copy, verify, trash the original)",
    Rename = "rename": "rename",
    Mkdir = "mkdir": "new folder",
    Delete = "delete": "delete (to the trash)",
    Filter = "filter": "filter as you type",
    Sort = "sort": "cycle sort (name, size, date)",
    Refresh = "refresh": "refresh",
    TrashView = "trash_view": "the Drive's trash",
    Info = "info": "info",
    FocusQueue = "focus_queue": "focus the queue",
    ToggleQueue = "toggle_queue": "show/hide the queue",
    Log = "log": "recent errors and the log file",
    NewRemote = "new_remote": "set up a new remote (the wizard)",
    Help = "help": "help",
    Quit = "quit": "quit",
    Restore = "restore": "restore from the trash",
    Close = "close": "close",
    Cancel = "cancel": "cancel",
    CancelAll = "cancel_all": "cancel all",
    Pause = "pause": "pause/resume the queue",
    Retry = "retry": "retry failed",
    PriorityUp = "priority_up": "raise priority",
    PriorityDown = "priority_down": "lower priority",
    MoreTransfers = "more_transfers": "more at once",
    FewerTransfers = "fewer_transfers": "fewer at once",
    Grow = "grow": "taller queue",
    Shrink = "shrink": "shorter queue",
    Back = "back": "back to the panes",
    Yes = "yes": "yes",
    No = "no": "no",
    Accept = "accept": "accept / next",
    Overwrite = "overwrite": "replace them",
    KeepBoth = "keep_both": "keep both (the copy gets a number)",
    Skip = "skip": "skip them",
}

/// One key with its modifiers, as written in the keymap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// KeyCode has no ordering; the keys this map can hold do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
];

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("C-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("A-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = if rest == "Space" {
            KeyCodeOrd::Char(' ')
        } else if let Some((name, _)) = NAMED.iter().find(|(n, _)| *n == rest) {
            KeyCodeOrd::Named(name)
        } else if let Some(n) = rest
            .strip_prefix('F')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            KeyCodeOrd::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCodeOrd::Char(c),
                _ => return Err(format!("{text:?} is not a key")),
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    /// The key crossterm reported, or None for keys no map binds (media keys and such).
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, c)| *c == other)?.0),
        };
        Some(Key {
            code,
            // Shift is already in the character ('G', '*'); Ctrl and Alt are not.
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }

    pub fn f(n: u8) -> Key {
        Key {
            code: KeyCodeOrd::F(n),
            ctrl: false,
            alt: false,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("C-")?;
        }
        if self.alt {
            f.write_str("A-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::Named(n) => f.write_str(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    modes: Bindings,
}

type KeymapFile = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Per mode, each action's keys in the order written (the first is the one hinted).
type Bindings = BTreeMap<Mode, Vec<(Action, Vec<Key>)>>;

fn parse_file(text: &str, origin: &str) -> Result<Bindings, String> {
    let file: KeymapFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    let mut modes = BTreeMap::new();
    for (table, actions) in file {
        let mode = Mode::ALL
            .into_iter()
            .find(|m| m.table() == table)
            .ok_or_else(|| format!("{origin}: [{table}] is not a mode of acdc's keymap"))?;
        let mut bound = Vec::new();
        for (name, keys) in actions {
            let action = Action::from_name(&name)
                .ok_or_else(|| format!("{origin}: [{table}] {name} is not an action"))?;
            let keys = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("{origin}: [{table}] {name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            bound.push((action, keys));
        }
        modes.insert(mode, bound);
    }
    Ok(modes)
}

impl Keymap {
    pub fn default_map() -> Keymap {
        // The default is part of the binary and checked by a test.
        Keymap::with_overrides(None).unwrap_or_else(|_| Keymap {
            modes: BTreeMap::new(),
        })
    }

    /// The defaults, with the user's file (its text) laid over them.
    pub fn with_overrides(user: Option<&str>) -> Result<Keymap, String> {
        let mut modes = parse_file(DEFAULT, "the default keymap")?;
        // The hint line's order is Action's (serde's map would sort by name).
        for bound in modes.values_mut() {
            bound.sort_by_key(|(a, _)| *a);
        }
        if let Some(text) = user {
            for (mode, overrides) in parse_file(text, "keymap.toml")? {
                let bound = modes.entry(mode).or_default();
                for (action, keys) in overrides {
                    // A key given to one action is taken from any other in that mode.
                    for (_, other) in bound.iter_mut() {
                        other.retain(|k| !keys.contains(k));
                    }
                    match bound.iter_mut().find(|(a, _)| *a == action) {
                        Some((_, old)) => *old = keys,
                        None => bound.push((action, keys)),
                    }
                }
            }
        }
        Ok(Keymap { modes })
    }

    pub fn action(&self, mode: Mode, key: &Key) -> Option<Action> {
        self.modes
            .get(&mode)?
            .iter()
            .find(|(_, keys)| keys.contains(key))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, mode: Mode, action: Action) -> &[Key] {
        self.modes
            .get(&mode)
            .and_then(|b| b.iter().find(|(a, _)| *a == action))
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// Every action of a mode with its keys, in the map's order.
    pub fn bindings(&self, mode: Mode) -> &[(Action, Vec<Key>)] {
        self.modes.get(&mode).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn default_parses_and_binds_no_key_twice_in_a_mode() {
        let map = Keymap::with_overrides(None).expect("default keymap parses");
        for mode in Mode::ALL {
            let mut seen = HashSet::new();
            let bindings = map.bindings(mode);
            assert!(!bindings.is_empty(), "{mode:?} has no keys");
            for (action, keys) in bindings {
                assert!(!keys.is_empty(), "{mode:?} {action:?} has no key");
                for key in keys {
                    assert!(seen.insert(*key), "{key} bound twice in {mode:?}");
                }
            }
        }
    }

    #[test]
    fn every_key_written_reads_back_the_same() {
        for text in [
            "F5", "C-r", "A-x", "Space", "PageDown", "`", "G", "*", "C-b",
        ] {
            assert_eq!(
                Key::parse(text).map(|k| k.to_string()),
                Ok(text.to_string())
            );
        }
        assert!(Key::parse("F13").is_err());
        assert!(Key::parse("Ctrl+x").is_err());
    }

    #[test]
    fn override_replaces_keys_and_frees_them_elsewhere() {
        let map = Keymap::with_overrides(Some("[panes]\ncopy = [\"y\", \"d\"]\n")).unwrap();
        let y = Key::parse("y").unwrap();
        let d = Key::parse("d").unwrap();
        assert_eq!(map.action(Mode::Panes, &y), Some(Action::Copy));
        assert_eq!(map.action(Mode::Panes, &d), Some(Action::Copy));
        assert_eq!(map.action(Mode::Panes, &Key::f(5)), None);
        // d was delete's; delete keeps its other keys.
        assert_eq!(map.keys(Mode::Panes, Action::Delete)[0], Key::f(8));
    }

    #[test]
    fn bad_user_files_name_what_is_wrong() {
        let err = Keymap::with_overrides(Some("[panes]\nfly = [\"f\"]\n")).unwrap_err();
        assert!(err.contains("fly is not an action"), "{err}");
        let err = Keymap::with_overrides(Some("[panes]\ncopy = [\"Ctrl+c\"]\n")).unwrap_err();
        assert!(err.contains("is not a key"), "{err}");
        let err = Keymap::with_overrides(Some("[nowhere]\n")).unwrap_err();
        assert!(err.contains("not a mode"), "{err}");
    }
}
