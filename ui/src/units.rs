//! Human-readable numbers for the UI, in the page's language: the number through the
//! browser's `Intl.NumberFormat` (1.5 in English, 1,5 in Spanish and Russian), the unit
//! through Fluent where it is a word (`units-*` messages); dates through `Intl.DateTimeFormat`.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

use crate::i18n::{locale, t_args, Locale};

thread_local! {
    /// `Intl.NumberFormat`s by locale and fraction digits (they are costly to make).
    static FORMATS: RefCell<Vec<((Locale, u8), js_sys::Function)>> = const { RefCell::new(Vec::new()) };
}

fn number_format(locale: Locale, digits: u8) -> js_sys::Function {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"minimumFractionDigits".into(), &digits.into());
    let _ = js_sys::Reflect::set(&options, &"maximumFractionDigits".into(), &digits.into());
    // Values shown with a unit stay below 10,000; no grouping keeps them as short as before.
    let _ = js_sys::Reflect::set(&options, &"useGrouping".into(), &false.into());
    // No "-0" for a value that rounds to zero from below.
    let _ = js_sys::Reflect::set(&options, &"signDisplay".into(), &"negative".into());
    let locales = js_sys::Array::of1(&locale.code().into());
    js_sys::Intl::NumberFormat::new(&locales, &options).format()
}

/// `value` with exactly `digits` fraction digits, written the current locale's way.
pub fn number(value: f64, digits: u8) -> String {
    // An empty f64 sum is -0.0, which Intl (unlike `format!`) writes as "-0".
    let value = if value == 0.0 { 0.0 } else { value };
    let locale = locale();
    FORMATS.with(|f| {
        let mut formats = f.borrow_mut();
        let format = match formats.iter().find(|(k, _)| *k == (locale, digits)) {
            Some((_, format)) => format.clone(),
            None => {
                let format = number_format(locale, digits);
                formats.push(((locale, digits), format.clone()));
                format
            }
        };
        format.call1(&JsValue::NULL, &value.into()).ok().and_then(|s| s.as_string())
    })
    .unwrap_or_else(|| format!("{value:.*}", usize::from(digits)))
}

/// A percentage of `fraction` (0..=1), e.g. "12.5 %".
pub fn percent(fraction: f64, digits: u8) -> String {
    t_args("units-percent", &[("n", number(fraction * 100.0, digits).into())])
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["units-b", "units-kib", "units-mib", "units-gib", "units-tib"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = if unit == 0 { number(n as f64, 0) } else { number(value, 1) };
    t_args(UNITS[unit], &[("n", shown.into())])
}

/// Megabytes (10^6) per second, as transfer tools show them.
pub fn rate(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "–".into();
    }
    t_args("units-mb-per-s", &[("n", number(bytes as f64 / 1e6 / seconds, 1).into())])
}

pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".into();
    }
    if seconds < 10.0 {
        return t_args("units-seconds", &[("s", number(seconds, 1).into())]);
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => t_args("units-seconds", &[("s", number(s as f64, 0).into())]),
        60..=3599 => t_args("units-min-s", &[("min", (s / 60).into()), ("s", (s % 60).into())]),
        _ => t_args("units-h-min", &[("h", (s / 3600).into()), ("min", (s % 3600 / 60).into())]),
    }
}

/// A live rate in bytes per second, in MB/s (or kB/s when small).
pub fn rate_per_second(bytes_per_second: f64) -> String {
    if bytes_per_second < 1e6 {
        t_args("units-kb-per-s", &[("n", number(bytes_per_second / 1e3, 0).into())])
    } else {
        t_args("units-mb-per-s", &[("n", number(bytes_per_second / 1e6, 1).into())])
    }
}

fn date_format(options: &[(&str, &str)], ms: f64) -> String {
    let o = js_sys::Object::new();
    for (k, v) in options {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
    }
    let locales = js_sys::Array::of1(&locale().code().into());
    let format = js_sys::Intl::DateTimeFormat::new(&locales, &o).format();
    format.call1(&JsValue::NULL, &js_sys::Date::new(&ms.into())).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// The time of day of `ms` (milliseconds since the epoch), the current locale's way.
pub fn time(ms: f64) -> String {
    date_format(&[("hour", "numeric"), ("minute", "2-digit"), ("second", "2-digit")], ms)
}

/// The date of `ms`, the current locale's way.
pub fn date(ms: f64) -> String {
    date_format(&[("year", "numeric"), ("month", "numeric"), ("day", "numeric")], ms)
}

/// Date and time of `ms`, the current locale's way.
pub fn date_time(ms: f64) -> String {
    date_format(&[("year", "numeric"), ("month", "numeric"), ("day", "numeric"), ("hour", "numeric"), ("minute", "2-digit")], ms)
}
