//! Path components from a torrent (BEP 3 `name` and each file's `path` list), checked before
//! anything is written: a torrent's paths are peer input, and nothing may land outside the
//! folder the user chose. Pure: components in, a verdict out; no renaming (a torrent with an
//! unsafe path is refused as a whole, with the reason, so the user never gets a folder that
//! silently differs from what its seeders hold).
//!
//! Two rule sets ([`PathRules`]):
//! - [`PathRules::ANY_HOST`], checked by the info dict parser on every platform: each
//!   component is non-empty, not `.` or `..`, at most [`MAX_COMPONENT_BYTES`] bytes of UTF-8,
//!   holds no `/` or `\`, NUL or other control character, and is not a Windows drive
//!   prefix (`C:`, which on Windows would make the path drive-relative); at most
//!   [`MAX_PATH_DEPTH`] components, [`MAX_PATH_BYTES`] bytes in all.
//! - [`PathRules::WINDOWS`] adds what only Windows misreads: reserved device names (`CON`,
//!   `NUL`, `COM1`, … with or without an extension), trailing dots or spaces (stripped by
//!   Win32, so `a.` would alias `a`), and the characters `< > : " | ? *` (`:` opens an
//!   alternate data stream). A writer checks [`PathRules::host`] before it creates files.

/// Longest component, bytes (the common file-system limit).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Most components in one file's path, the torrent's `name` not counted.
pub const MAX_PATH_DEPTH: usize = 64;
/// Longest path, bytes, summed over its components (separators not counted).
pub const MAX_PATH_BYTES: usize = 4096;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("a path has no components")]
    Empty,
    #[error("a path component is empty")]
    EmptyComponent,
    #[error("the path component {0:?} points at a folder itself (. or ..)")]
    Dots(String),
    #[error("a path component is longer than {MAX_COMPONENT_BYTES} bytes")]
    TooLong,
    #[error("a path has more than {MAX_PATH_DEPTH} components or {MAX_PATH_BYTES} bytes")]
    TooDeep,
    #[error("the path component {0:?} holds a path separator")]
    Separator(String),
    #[error("the path component {0:?} holds a NUL or control character")]
    Control(String),
    #[error("the path component {0:?} is a drive prefix")]
    Drive(String),
    #[error("the path component {0:?} is a reserved device name on Windows")]
    Reserved(String),
    #[error("the path component {0:?} ends with a dot or space, which Windows strips")]
    TrailingDotOrSpace(String),
    #[error("the path component {0:?} holds a character Windows forbids in file names")]
    WindowsChar(String),
}

/// Which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathRules {
    pub windows: bool,
}

impl PathRules {
    /// What makes a path unsafe on any platform (the parser's rules).
    pub const ANY_HOST: Self = Self { windows: false };
    /// Also what only Windows misreads.
    pub const WINDOWS: Self = Self { windows: true };

    /// The rules of the platform this code runs on.
    pub fn host() -> Self {
        Self { windows: cfg!(windows) }
    }
}

/// Device names Win32 reserves in every folder, whatever the extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5",
    "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks one component (a file or folder name) under `rules`.
pub fn check_component(c: &str, rules: PathRules) -> Result<(), PathError> {
    if c.is_empty() {
        return Err(PathError::EmptyComponent);
    }
    if c == "." || c == ".." {
        return Err(PathError::Dots(c.to_string()));
    }
    if c.len() > MAX_COMPONENT_BYTES {
        return Err(PathError::TooLong);
    }
    if c.contains(['/', '\\']) {
        return Err(PathError::Separator(c.to_string()));
    }
    if c.chars().any(char::is_control) {
        return Err(PathError::Control(c.to_string()));
    }
    let b = c.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(PathError::Drive(c.to_string()));
    }
    if rules.windows {
        let stem = c.split('.').next().unwrap_or(c).trim_end_matches(' ');
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
            return Err(PathError::Reserved(c.to_string()));
        }
        if c.ends_with(['.', ' ']) {
            return Err(PathError::TrailingDotOrSpace(c.to_string()));
        }
        if c.contains(['<', '>', ':', '"', '|', '?', '*']) {
            return Err(PathError::WindowsChar(c.to_string()));
        }
    }
    Ok(())
}

/// Checks a file's path (its components below the torrent's folder) under `rules`.
pub fn check_path<S: AsRef<str>>(components: &[S], rules: PathRules) -> Result<(), PathError> {
    if components.is_empty() {
        return Err(PathError::Empty);
    }
    let bytes: usize = components.iter().map(|c| c.as_ref().len()).sum();
    if components.len() > MAX_PATH_DEPTH || bytes > MAX_PATH_BYTES {
        return Err(PathError::TooDeep);
    }
    components.iter().try_for_each(|c| check_component(c.as_ref(), rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_pass_everywhere() {
        for c in ["a.txt", "Ünïcødé 文件 🎵.flac", ".hidden", "..a", "a..b", "CONSOLE", "con.d", "ab:c"] {
            check_component(c, PathRules::ANY_HOST).unwrap_or_else(|e| panic!("{c}: {e}"));
        }
        check_path(&["Season 1", "disc 2", "01 - pilot.mkv"], PathRules::WINDOWS).unwrap();
    }

    #[test]
    fn traversal_and_separators_are_refused_everywhere() {
        let bad = [
            ("", PathError::EmptyComponent),
            (".", PathError::Dots(".".into())),
            ("..", PathError::Dots("..".into())),
            ("a/b", PathError::Separator("a/b".into())),
            ("..\\evil", PathError::Separator("..\\evil".into())),
            ("/etc", PathError::Separator("/etc".into())),
            ("a\0b", PathError::Control("a\0b".into())),
            ("line\nbreak", PathError::Control("line\nbreak".into())),
            ("C:", PathError::Drive("C:".into())),
            ("c:evil", PathError::Drive("c:evil".into())),
        ];
        for (c, want) in bad {
            assert_eq!(check_component(c, PathRules::ANY_HOST), Err(want.clone()), "{c:?}");
            assert_eq!(check_component(c, PathRules::WINDOWS), Err(want), "{c:?}");
        }
        assert_eq!(check_component(&"a".repeat(256), PathRules::ANY_HOST), Err(PathError::TooLong));
        check_component(&"é".repeat(127), PathRules::ANY_HOST).unwrap(); // 254 bytes
        assert_eq!(check_path::<&str>(&[], PathRules::ANY_HOST), Err(PathError::Empty));
        assert_eq!(check_path(&vec!["d"; MAX_PATH_DEPTH + 1], PathRules::ANY_HOST), Err(PathError::TooDeep));
    }

    #[test]
    fn windows_only_rules() {
        for c in ["CON", "con.txt", "Aux.tar.gz", "nul ", "COM1", "lpt9.x", "a.", "a ", "a<b", "ab:c", "what?"] {
            assert!(check_component(c, PathRules::WINDOWS).is_err(), "{c:?} passed the Windows rules");
        }
        for c in ["CON", "con.txt", "a.", "a ", "a<b", "ab:c", "what?"] {
            check_component(c, PathRules::ANY_HOST).unwrap_or_else(|e| panic!("{c}: {e}"));
        }
    }

    proptest! {
        /// Whatever passes cannot leave the folder it is joined to: joined under a root, the
        /// path's normal form stays below the root, one level per component.
        #[test]
        fn what_passes_stays_inside(parts in proptest::collection::vec("(\\PC|[./\\\\:]){0,12}", 1..6), windows: bool) {
            let rules = PathRules { windows };
            if check_path(&parts, rules).is_ok() {
                let root = std::path::Path::new("/root/target");
                let mut joined = root.to_path_buf();
                for p in &parts {
                    joined.push(p);
                }
                let comps: Vec<_> = joined.strip_prefix(root).expect("below the root").components().collect();
                prop_assert_eq!(comps.len(), parts.len());
                for c in comps {
                    prop_assert!(matches!(c, std::path::Component::Normal(_)));
                }
            }
        }

        /// The Windows rules only ever refuse more.
        #[test]
        fn windows_rules_are_stricter(c in "\\PC{0,20}") {
            if check_component(&c, PathRules::WINDOWS).is_ok() {
                prop_assert!(check_component(&c, PathRules::ANY_HOST).is_ok());
            }
        }
    }
}
