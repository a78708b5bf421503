//! Text forms: human sizes, `ls -l` mode strings, dates, glob matching, size filters.

use zerofs_client::{FileType, Metadata};

/// `1023`, `1.5K`, `23M`, `4.0G` (powers of 1024, as `ls -h`).
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if v < 10.0 {
        format!("{:.1}{}", (v * 10.0).ceil() / 10.0, UNITS[i])
    } else {
        format!("{:.0}{}", v.ceil(), UNITS[i])
    }
}

/// A size, human or exact.
pub fn size(n: u64, human_sizes: bool) -> String {
    if human_sizes { human(n) } else { n.to_string() }
}

/// The type word used in JSON.
pub fn type_word(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "dir",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "char-device",
        FileType::BlockDevice => "block-device",
        FileType::Unknown => "unknown",
    }
}

/// `drwxr-xr-x` for a metadata record.
pub fn mode_string(m: &Metadata) -> String {
    let t = match m.file_type {
        FileType::Dir => 'd',
        FileType::Symlink => 'l',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        FileType::CharDevice => 'c',
        FileType::BlockDevice => 'b',
        _ => '-',
    };
    let p = m.mode;
    let mut s = String::with_capacity(10);
    s.push(t);
    let bit = |mask: u32, c: char| if p & mask != 0 { c } else { '-' };
    let exec = |x: u32, special: u32, set: char, unset: char| match (p & x != 0, p & special != 0) {
        (true, true) => set,
        (false, true) => unset,
        (true, false) => 'x',
        (false, false) => '-',
    };
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(exec(0o100, 0o4000, 's', 'S'));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(exec(0o010, 0o2000, 's', 'S'));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(exec(0o001, 0o1000, 't', 'T'));
    s
}

/// `YYYY-MM-DD HH:MM` in UTC for seconds since the epoch.
pub fn date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Whether `name` matches the glob `pat` (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\` escapes),
/// byte-wise, as `find -name` does.
pub fn glob(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some(p);
                    mark = n;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = class(&pat[p..], name[n])
                        && matched
                    {
                        p += len;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && pat[p + 1] == name[n] => {
                    p += 2;
                    n += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() => {}
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some(s) => {
                p = s + 1;
                mark += 1;
                n = mark;
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `pat`: whether `c` is in it, and the class's length.
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < pat.len() && (first || pat[i] != b']') {
        first = false;
        let lo = pat[i];
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&h| h != b']') {
            hit |= (lo..=pat[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    (i < pat.len()).then_some((hit != negate, i + 1))
}

/// A `find --size` filter: `N`, `+N`, `-N` with an optional K/M/G suffix.
pub fn size_filter(s: &str) -> Result<impl Fn(u64) -> bool + use<>, String> {
    let bad = || format!("--size {s:?}: expected [+-]N[K|M|G]");
    let (cmp, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => (0, s),
    };
    let (digits, mult) = match rest.as_bytes().last() {
        Some(b'k' | b'K') => (&rest[..rest.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&rest[..rest.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&rest[..rest.len() - 1], 1 << 30),
        Some(b'c') => (&rest[..rest.len() - 1], 1),
        _ => (rest, 1),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let limit = n.checked_mul(mult).ok_or_else(bad)?;
    Ok(move |size: u64| match cmp {
        1 => size > limit,
        -1 => size < limit,
        _ => size == limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0");
        assert_eq!(human(1023), "1023");
        assert_eq!(human(1024), "1.0K");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(23 << 20), "23M");
        assert_eq!(human(4 << 30), "4.0G");
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_600_000_000), "2020-09-13 12:26");
        assert_eq!(date(951_782_400), "2000-02-29 00:00");
    }

    #[test]
    fn globs() {
        assert!(glob(b"*.txt", b"a.txt"));
        assert!(!glob(b"*.txt", b"a.txt.gz"));
        assert!(glob(b"a?c", b"abc"));
        assert!(glob(b"[a-c]x", b"bx"));
        assert!(!glob(b"[!a-c]x", b"bx"));
        assert!(glob(b"*", b"\xff\xfe"));
        assert!(glob(b"f*o*", b"foo"));
        assert!(glob(b"\\*", b"*"));
        assert!(!glob(b"\\*", b"a"));
        assert!(!glob(b"abc", b"ab"));
    }

    #[test]
    fn size_filters() {
        let f = size_filter("+1K").unwrap();
        assert!(f(1025) && !f(1024));
        let f = size_filter("-2M").unwrap();
        assert!(f(1) && !f(2 << 20));
        let f = size_filter("5").unwrap();
        assert!(f(5) && !f(6));
        assert!(size_filter("x").is_err());
    }

    #[test]
    fn mode_strings() {
        let m = |mode| Metadata {
            mode,
            file_type: FileType::from_mode(mode),
            ..zerofs_client::Metadata::from_stat(&Default::default())
        };
        assert_eq!(mode_string(&m(0o040755)), "drwxr-xr-x");
        assert_eq!(mode_string(&m(0o104644)), "-rwSr--r--");
        assert_eq!(mode_string(&m(0o041777)), "drwxrwxrwt");
    }
}
