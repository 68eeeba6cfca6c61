//! Human-readable numbers for the UI.

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// Megabytes (10^6) per second, as transfer tools show them.
pub fn rate(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "–".into();
    }
    format!("{:.1} MB/s", bytes as f64 / 1e6 / seconds)
}

pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".into();
    }
    if seconds < 10.0 {
        return format!("{seconds:.1} s");
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A live rate in bytes per second, in MB/s (or kB/s when small).
pub fn rate_per_second(bytes_per_second: f64) -> String {
    if bytes_per_second < 1e6 {
        format!("{:.0} kB/s", bytes_per_second / 1e3)
    } else {
        format!("{:.1} MB/s", bytes_per_second / 1e6)
    }
}
