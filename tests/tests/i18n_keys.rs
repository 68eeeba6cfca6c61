//! The page's translations agree with English and with the code: every `ui/locales/*.ftl`
//! parses, has exactly English's messages with English's variables, and every English
//! message is used by `ui/src` (and every key `ui/src` asks for exists). Every problem is
//! listed, not just the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

const LOCALES: [&str; 5] = ["en", "es", "ru", "zh", "ko"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A message's variables: every `$name` in its value, variants and attributes.
type Messages = BTreeMap<String, BTreeSet<String>>;

fn inline_vars(e: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match e {
        InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, out);
            }
            for a in &arguments.named {
                inline_vars(&a.value, out);
            }
        }
        InlineExpression::TermReference { arguments: Some(arguments), .. } => {
            for a in &arguments.positional {
                inline_vars(a, out);
            }
            for a in &arguments.named {
                inline_vars(&a.value, out);
            }
        }
        InlineExpression::Placeable { expression } => expression_vars(expression, out),
        _ => {}
    }
}

fn expression_vars(e: &Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        Expression::Inline(i) => inline_vars(i, out),
        Expression::Select { selector, variants } => {
            inline_vars(selector, out);
            for v in variants {
                pattern_vars(&v.value, out);
            }
        }
    }
}

fn pattern_vars(p: &Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &p.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

/// Parses one locale's file; parse errors and duplicate or empty messages go to `problems`.
fn load(locale: &str, problems: &mut Vec<String>) -> Messages {
    let path = root().join(format!("ui/locales/{locale}.ftl"));
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!("{locale}: cannot read {}: {e}", path.display()));
            return Messages::new();
        }
    };
    let resource = match fluent_syntax::parser::parse(source.as_str()) {
        Ok(r) => r,
        Err((r, errors)) => {
            for e in errors {
                let line = source[..e.pos.start.min(source.len())].lines().count().max(1);
                problems.push(format!("{locale}.ftl:{line}: parse error: {:?}", e.kind));
            }
            r
        }
    };
    let mut messages = Messages::new();
    for entry in &resource.body {
        match entry {
            Entry::Message(m) => {
                let mut vars = BTreeSet::new();
                match &m.value {
                    Some(v) => pattern_vars(v, &mut vars),
                    None => problems.push(format!("{locale}: message {} has no value", m.id.name)),
                }
                for a in &m.attributes {
                    pattern_vars(&a.value, &mut vars);
                }
                if messages.insert(m.id.name.to_string(), vars).is_some() {
                    problems.push(format!("{locale}: message {} is defined twice", m.id.name));
                }
            }
            Entry::Junk { content } => problems.push(format!("{locale}: unparsable text: {content:?}")),
            _ => {}
        }
    }
    messages
}

/// All of `ui/src`'s Rust source, file by file.
fn sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("ui/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

/// The literal keys in `text` passed as `t("…")`, `t_args("…"` or a key-taking `label="…"`.
fn keys_asked_for(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for opener in ["t(\"", "t_args(\"", "label=\""] {
        let mut rest = text;
        while let Some(at) = rest.find(opener) {
            // `t(` must be the function itself, not the end of another name (`get(`, `set(`).
            let before = rest[..at].chars().next_back();
            rest = &rest[at + opener.len()..];
            if opener.starts_with('t') && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(end) = rest.find('"') {
                keys.insert(rest[..end].to_string());
            }
        }
    }
    keys
}

#[test]
fn every_locale_has_englishs_messages_and_the_page_uses_them() {
    let mut problems = Vec::new();
    let all: BTreeMap<&str, Messages> = LOCALES.iter().map(|l| (*l, load(l, &mut problems))).collect();
    let en = &all["en"];
    assert!(en.len() > 100, "en.ftl holds only {} messages", en.len());

    for (locale, messages) in all.iter().filter(|(l, _)| **l != "en") {
        for (key, vars) in en {
            match messages.get(key) {
                None => problems.push(format!("{locale}: missing {key}")),
                Some(v) if v != vars => problems.push(format!("{locale}: {key} has variables {v:?}, English has {vars:?}")),
                Some(_) => {}
            }
        }
        for key in messages.keys().filter(|k| !en.contains_key(*k)) {
            problems.push(format!("{locale}: {key} is not in en.ftl"));
        }
    }

    let sources = sources();
    let everything: String = sources.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    for key in en.keys() {
        if !everything.contains(&format!("\"{key}\"")) {
            problems.push(format!("en: {key} is not used in ui/src"));
        }
    }
    for (file, text) in &sources {
        for key in keys_asked_for(text) {
            if !en.contains_key(&key) {
                problems.push(format!("{file}: asks for {key:?}, which en.ftl does not have"));
            }
        }
    }

    assert!(problems.is_empty(), "{} problem(s) in the translations:\n{}", problems.len(), problems.join("\n"));
}

/// The checker itself: a broken file, a missing key and a changed variable are all caught.
#[test]
fn the_checks_catch_mistakes() {
    let broken = "ok = fine\nbad = { $x\n";
    assert!(fluent_syntax::parser::parse(broken).is_err(), "an unclosed placeable parses");
    let vars = |src: &'static str| {
        let r = fluent_syntax::parser::parse(src).unwrap();
        let mut out = BTreeSet::new();
        if let Entry::Message(m) = &r.body[0] {
            pattern_vars(m.value.as_ref().unwrap(), &mut out);
        }
        out
    };
    assert_eq!(vars("m = { $count ->\n    [one] one { $name }\n   *[other] many\n}\n"), BTreeSet::from(["count".to_string(), "name".to_string()]));
    assert_ne!(vars("m = { $n } B"), vars("m = { $count } B"));
    assert_eq!(keys_asked_for("x = t(\"a-b\"); y = t_args(\"c\", &[]); z = set(\"no\"); <Stat label=\"d\" />"), BTreeSet::from(["a-b".into(), "c".into(), "d".into()]));
}
