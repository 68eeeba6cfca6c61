//! `--config FILE` (env `CHIRAL_CONFIG`): the relay's flags in a TOML file, under the
//! command line and the environment. Precedence, highest first: a flag, its `CHIRAL_*`
//! variable, the file, the default.
//!
//! The file's keys are the flags' long names (`data-dir`, or `data_dir`), at the top level:
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! public-url = "https://relay.example.org"
//! trusted-proxy = ["127.0.0.1"]
//! bridge-max-files = 128
//! no-dht = true
//! ```
//!
//! How: before clap parses, each key the environment does not already set becomes that
//! flag's `CHIRAL_*` variable ([`apply`]), so clap's own precedence (flag over variable over
//! default) gives the rest, and every value goes through the flag's own parser. A list
//! becomes a comma-separated variable, so only flags that take comma-separated lists accept
//! one. Unknown keys, tables and dates are errors, not ignored: a typo in a config file
//! must not pass silently. [`render`] prints the effective configuration in the same
//! format (`--print-config`), each value's source in a comment, so its output is itself a
//! valid config file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

/// The largest config file read, bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Flags that are about the file itself, never set from it.
const NOT_FROM_FILE: [&str; 4] = ["config", "print_config", "help", "version"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path}: unknown key `{key}` (keys are the relay's flag names, e.g. `listen`, `data-dir`; see relay --help)")]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {path}: `{key}` cannot be set in a config file")]
    NotSettable { path: PathBuf, key: String },
    #[error("config file {path}: `{key}` {problem}")]
    BadValue { path: PathBuf, key: String, problem: &'static str },
}

/// A value the file set: the flag's id and the variable that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromFile {
    pub id: String,
    pub env: String,
    pub value: String,
}

/// The config file named on the command line (`--config FILE` or `--config=FILE`), else by
/// `CHIRAL_CONFIG`.
pub fn path_from(args: &[OsString], env: Option<OsString>) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    env.map(PathBuf::from)
}

/// Reads the file and maps its keys onto `cmd`'s flags: the variables to set (all of them;
/// [`apply`] skips those already in the environment).
///
/// Errors: unreadable, over [`MAX_FILE_BYTES`], not TOML, an unknown key, a key that is not
/// a flag with a variable, a value of the wrong shape.
pub fn read(cmd: &Command, path: &Path) -> Result<Vec<FromFile>, ConfigError> {
    let read_err = |source| ConfigError::Read { path: path.to_owned(), source };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge { path: path.to_owned() });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    parse(cmd, path, &text)
}

/// [`read`] on text already read (`path` only names it in errors).
pub fn parse(cmd: &Command, path: &Path, text: &str) -> Result<Vec<FromFile>, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax { path: path.to_owned(), message: e.to_string() })?;
    let mut out = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
            .ok_or_else(|| ConfigError::UnknownKey { path: path.to_owned(), key: key.clone() })?;
        let not_settable = || ConfigError::NotSettable { path: path.to_owned(), key: key.clone() };
        if NOT_FROM_FILE.contains(&arg.get_id().as_str()) {
            return Err(not_settable());
        }
        let env = arg.get_env().ok_or_else(not_settable)?.to_string_lossy().into_owned();
        let bad = |problem| ConfigError::BadValue { path: path.to_owned(), key: key.clone(), problem };
        let value = match value {
            toml::Value::Array(items) => {
                if arg.get_value_delimiter() != Some(',') && items.len() > 1 {
                    return Err(bad("takes one value, not a list"));
                }
                let items: Result<Vec<String>, _> = items.into_iter().map(|v| scalar(v).ok_or(())).collect();
                let items = items.map_err(|_| bad("must be a list of strings, numbers or booleans"))?;
                if items.iter().any(|i| i.contains(',')) {
                    return Err(bad("list items cannot contain commas"));
                }
                items.join(",")
            }
            other => scalar(other).ok_or_else(|| bad("must be a string, number, boolean or list"))?,
        };
        out.push(FromFile { id: arg.get_id().to_string(), env, value });
    }
    Ok(out)
}

fn scalar(v: toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Sets each value's variable unless the environment already has it (the environment wins);
/// returns those set. Call before any thread starts (it changes the process environment).
pub fn apply(values: Vec<FromFile>) -> Vec<FromFile> {
    values
        .into_iter()
        .filter(|v| std::env::var_os(&v.env).is_none())
        .inspect(|v| std::env::set_var(&v.env, &v.value))
        .collect()
}

/// The effective configuration as TOML: every flag of `cmd` that a file may set, with its
/// value in `matches` and where it came from (`flag`, `environment`, `config file`,
/// `default`); flags with no value are listed commented out. `from_file`: what [`apply`] set.
pub fn render(cmd: &Command, matches: &ArgMatches, from_file: &[FromFile]) -> String {
    let mut out = String::from("# The relay's effective configuration (precedence: flag > environment > config file > default).\n");
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        if NOT_FROM_FILE.contains(&id) || arg.get_env().is_none() {
            continue;
        }
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) if from_file.iter().any(|f| f.id == id) => "config file",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) => "default",
            _ => {
                out.push_str(&format!("# {long} = (unset)\n"));
                continue;
            }
        };
        if id.contains("secret") {
            // Never printed: the output is meant to be shared and pasted.
            out.push_str(&format!("# {long} = (set, hidden)  # {source}\n"));
            continue;
        }
        let value = render_value(arg, matches);
        out.push_str(&format!("{long} = {value}  # {source}\n"));
    }
    out
}

fn render_value(arg: &Arg, matches: &ArgMatches) -> toml::Value {
    let id = arg.get_id().as_str();
    if !arg.get_action().takes_values() {
        return toml::Value::Boolean(matches.get_flag(id));
    }
    let raw: Vec<String> = matches.get_raw(id).into_iter().flatten().map(|v| v.to_string_lossy().into_owned()).collect();
    let one = |s: &String| s.parse::<i64>().map_or_else(|_| toml::Value::String(s.clone()), toml::Value::Integer);
    let many = matches!(arg.get_action(), clap::ArgAction::Append) || arg.get_value_delimiter().is_some();
    if many {
        toml::Value::Array(raw.iter().flat_map(|s| s.split(',').map(str::to_owned).collect::<Vec<_>>()).map(|s| one(&s)).collect())
    } else {
        raw.first().map(one).unwrap_or_else(|| toml::Value::String(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn cmd() -> Command {
        crate::config::Cli::command()
    }

    #[test]
    fn keys_are_flag_names_and_values_become_variables() {
        let v = parse(&cmd(), Path::new("relay.toml"), "listen = \"0.0.0.0:9000\"\nbridge_max_files = 7\nno-dht = true\ntrusted-proxy = [\"127.0.0.1\", \"10.0.0.0/8\"]\n").unwrap();
        let get = |env: &str| v.iter().find(|f| f.env == env).map(|f| f.value.as_str());
        assert_eq!(get("CHIRAL_LISTEN"), Some("0.0.0.0:9000"));
        assert_eq!(get("CHIRAL_BRIDGE_MAX_FILES"), Some("7"));
        assert_eq!(get("CHIRAL_NO_DHT"), Some("true"));
        assert_eq!(get("CHIRAL_TRUSTED_PROXY"), Some("127.0.0.1,10.0.0.0/8"));
    }

    #[test]
    fn the_shipped_example_config_is_accepted() {
        let values = parse(&cmd(), Path::new("relay/dist/relay.toml"), include_str!("../dist/relay.toml")).unwrap();
        assert!(values.iter().any(|v| v.env == "CHIRAL_PUBLIC_URL" && v.value == "https://relay.example.org"));
    }

    #[test]
    fn mistakes_are_errors_naming_the_key() {
        let err = |text: &str| parse(&cmd(), Path::new("relay.toml"), text).unwrap_err().to_string();
        assert!(err("lisen = \"x\"").contains("unknown key `lisen`"));
        assert!(err("config = \"other.toml\"").contains("`config` cannot be set"));
        assert!(err("listen = [\"a\", \"b\"]").contains("takes one value"));
        assert!(err("listen = { a = 1 }").contains("must be a string"));
        assert!(err("listen = ").contains("not valid TOML"));
    }

    #[test]
    fn the_config_path_comes_from_the_flag_then_the_environment() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(path_from(&args(&["relay", "--config", "a.toml"]), Some("b.toml".into())), Some(PathBuf::from("a.toml")));
        assert_eq!(path_from(&args(&["relay", "serve", "--config=a.toml"]), None), Some(PathBuf::from("a.toml")));
        assert_eq!(path_from(&args(&["relay"]), Some("b.toml".into())), Some(PathBuf::from("b.toml")));
        assert_eq!(path_from(&args(&["relay", "--", "--config", "x"]), None), None);
    }

    #[test]
    fn the_printed_configuration_names_sources_and_reads_back() {
        let matches = cmd().try_get_matches_from(["relay", "--listen", "127.0.0.1:9999", "--trusted-proxy", "127.0.0.1,10.0.0.0/8"]).unwrap();
        let text = render(&cmd(), &matches, &[]);
        assert!(text.contains("listen = \"127.0.0.1:9999\"  # flag"), "{text}");
        assert!(text.contains("bridge-max-files = 64  # default"), "{text}");
        assert!(text.contains("trusted-proxy = [\"127.0.0.1/32\", \"10.0.0.0/8\"]  # flag") || text.contains("trusted-proxy = [\"127.0.0.1\", \"10.0.0.0/8\"]  # flag"), "{text}");
        assert!(text.contains("no-dht = false  # default"), "{text}");
        assert!(text.contains("# www = (unset)"), "{text}");
        let secret = cmd().try_get_matches_from(["relay", "--turn-secret", "hunter2hunter2"]).unwrap();
        let text = render(&cmd(), &secret, &[]);
        assert!(!text.contains("hunter2") && text.contains("# turn-secret = (set, hidden)  # flag"), "{text}");
        // What it prints is a config file the relay accepts.
        parse(&cmd(), Path::new("printed.toml"), &text).unwrap();
    }
}
