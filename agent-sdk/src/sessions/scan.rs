//! Reading a transcript's metadata without parsing it whole: the first and
//! last 64 KiB of the file, searched for `"key":"value"` pairs.
//!
//! The CLI appends metadata entries (titles, tags, the last prompt) as the
//! session goes, so the newest value of a field is near the end of the file
//! and the first prompt near its start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde_json::Value;

/// How much of the head and of the tail is read.
pub(crate) const LITE_READ_BUF_SIZE: usize = 64 * 1024;

/// A prompt longer than this is cut and ends with `…`.
const FIRST_PROMPT_MAX_CHARS: usize = 200;

/// The head and tail of a transcript file, with its size and modification time.
#[derive(Debug)]
pub(crate) struct LiteFile {
    pub(crate) mtime_ms: i64,
    pub(crate) size: u64,
    pub(crate) head: String,
    pub(crate) tail: String,
}

/// Reads head and tail of `path`; `None` when it is missing, unreadable or empty.
pub(crate) fn read_lite(path: &Path) -> Option<LiteFile> {
    let mut file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    let size = meta.len();
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let head_bytes = read_up_to(&mut file, LITE_READ_BUF_SIZE)?;
    if head_bytes.is_empty() {
        return None;
    }
    let head = String::from_utf8_lossy(&head_bytes).into_owned();
    let tail_offset = size.saturating_sub(LITE_READ_BUF_SIZE as u64);
    let tail = if tail_offset == 0 {
        head.clone()
    } else {
        file.seek(SeekFrom::Start(tail_offset)).ok()?;
        String::from_utf8_lossy(&read_up_to(&mut file, LITE_READ_BUF_SIZE)?).into_owned()
    };
    Some(LiteFile {
        mtime_ms,
        size,
        head,
        tail,
    })
}

fn read_up_to(file: &mut File, limit: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit);
    file.take(limit as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The two spellings of `"key":"` the CLI and other writers use.
fn field_patterns(key: &str) -> [String; 2] {
    [format!("\"{key}\":\""), format!("\"{key}\": \"")]
}

/// The end of the JSON string starting at `start` (index of its closing quote).
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A raw JSON string body unescaped; left as is when it does not parse.
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned())
}

/// The first `"key":"value"` in `text`.
pub(crate) fn first_string_field(text: &str, key: &str) -> Option<String> {
    for pattern in field_patterns(key) {
        let Some(at) = text.find(&pattern) else {
            continue;
        };
        let start = at + pattern.len();
        if let Some(end) = string_end(text.as_bytes(), start) {
            return Some(unescape(&text[start..end]));
        }
    }
    None
}

/// The last `"key":"value"` in `text` (the spaced spelling wins when both occur).
pub(crate) fn last_string_field(text: &str, key: &str) -> Option<String> {
    let mut last = None;
    for pattern in field_patterns(key) {
        let mut from = 0;
        while let Some(at) = text[from..].find(&pattern).map(|i| i + from) {
            let start = at + pattern.len();
            match string_end(text.as_bytes(), start) {
                Some(end) => {
                    last = Some(unescape(&text[start..end]));
                    from = end + 1;
                }
                None => break,
            }
        }
    }
    last
}

/// `last_string_field`, with an empty value treated as absent.
pub(crate) fn last_nonempty_field(text: &str, key: &str) -> Option<String> {
    last_string_field(text, key).filter(|v| !v.is_empty())
}

/// The first real user prompt in `head`, cut to 200 characters.
///
/// Skipped: tool results, meta and compact-summary entries, interrupts, IDE
/// context and other generated text. A slash command is the fallback when
/// nothing else was typed.
pub(crate) fn first_prompt(head: &str) -> Option<String> {
    let mut command_fallback: Option<String> = None;
    for line in head.split('\n') {
        if !(line.contains("\"type\":\"user\"") || line.contains("\"type\": \"user\"")) {
            continue;
        }
        if line.contains("\"tool_result\"")
            || line.contains("\"isMeta\":true")
            || line.contains("\"isMeta\": true")
            || line.contains("\"isCompactSummary\":true")
            || line.contains("\"isCompactSummary\": true")
        {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry.get("type").and_then(Value::as_str) != Some("user") {
            continue;
        }
        for text in user_texts(&entry) {
            let result = text.replace('\n', " ");
            let result = result.trim();
            if result.is_empty() {
                continue;
            }
            if let Some(command) = command_name(result) {
                if command_fallback.as_deref().is_none_or(str::is_empty) {
                    command_fallback = Some(command.to_owned());
                }
                continue;
            }
            if is_generated_prompt(result) {
                continue;
            }
            return Some(cut_prompt(result));
        }
    }
    command_fallback.filter(|c| !c.is_empty())
}

/// The text of a user entry: its string content, or its text blocks.
pub(crate) fn user_texts(entry: &Value) -> Vec<&str> {
    let Some(message) = entry.get("message").filter(|m| m.is_object()) else {
        return Vec::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn cut_prompt(prompt: &str) -> String {
    if prompt.chars().count() <= FIRST_PROMPT_MAX_CHARS {
        return prompt.to_owned();
    }
    let cut: String = prompt.chars().take(FIRST_PROMPT_MAX_CHARS).collect();
    format!("{}\u{2026}", cut.trim_end())
}

/// The name inside `<command-name>...</command-name>`, if any.
pub(crate) fn command_name(text: &str) -> Option<&str> {
    const OPEN: &str = "<command-name>";
    const CLOSE: &str = "</command-name>";
    let mut from = 0;
    while let Some(open) = text[from..].find(OPEN).map(|i| i + from) {
        let start = open + OPEN.len();
        if let Some(len) = text[start..].find(CLOSE) {
            let name = &text[start..start + len];
            if !name.contains('\n') {
                return Some(name);
            }
        }
        from = start;
    }
    None
}

/// Text the CLI or an IDE put in a user turn rather than the user.
pub(crate) fn is_generated_prompt(text: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "<local-command-stdout>",
        "<session-start-hook>",
        "<tick>",
        "<goal>",
    ];
    const WRAPPERS: [(&str, &str); 2] = [
        ("<ide_opened_file>", "</ide_opened_file>"),
        ("<ide_selection>", "</ide_selection>"),
    ];
    const INTERRUPTED: &str = "[Request interrupted by user";
    if PREFIXES.iter().any(|p| text.starts_with(p)) {
        return true;
    }
    if let Some(rest) = text.strip_prefix(INTERRUPTED) {
        return rest.contains(']');
    }
    let trimmed = text.trim();
    WRAPPERS.iter().any(|(open, close)| {
        trimmed.len() >= open.len() + close.len()
            && trimmed.starts_with(open)
            && trimmed.ends_with(close)
    })
}

/// An ISO 8601 timestamp (`2026-01-15T10:30:00.000Z`, `...+02:00`) in epoch
/// milliseconds. A timestamp without offset is read as UTC.
pub(crate) fn parse_iso_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
        })
    };
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut second = 0;
    let mut millis = 0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1..i + 3)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return None;
            }
            let frac = &text[start..end.min(start + 3)];
            millis = format!("{frac:0<3}").parse().ok()?;
            i = end;
        }
    }
    let offset_minutes = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Epoch milliseconds as the CLI writes timestamps: `2026-01-15T10:30:00.000Z`.
pub(crate) fn format_iso_millis(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil and its inverse.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_fields_first_and_last() {
        let text = r#"{"foo":"bar","baz":"qux"}"#;
        assert_eq!(first_string_field(text, "foo").as_deref(), Some("bar"));
        assert_eq!(first_string_field(text, "baz").as_deref(), Some("qux"));
        assert_eq!(first_string_field(text, "missing"), None);
        assert_eq!(
            first_string_field(r#"{"foo": "bar"}"#, "foo").as_deref(),
            Some("bar")
        );
        assert_eq!(
            first_string_field(r#"{"foo":"bar\"baz"}"#, "foo").as_deref(),
            Some("bar\"baz")
        );
        let many = "{\"summary\":\"first\"}\n{\"summary\":\"second\"}\n{\"summary\":\"third\"}";
        assert_eq!(last_string_field(many, "summary").as_deref(), Some("third"));
        // An unterminated value (a head cut mid-line) is not a value.
        assert_eq!(first_string_field(r#"{"foo":"ba"#, "foo"), None);
    }

    fn line(value: Value) -> String {
        format!("{value}\n")
    }

    #[test]
    fn first_prompt_skips_what_the_user_did_not_type() {
        let head = line(json!({"type":"user","isMeta":true,"message":{"content":"meta"}}))
            + &line(
                json!({"type":"user","message":{"content":[{"type":"tool_result","content":"x"}]}}),
            )
            + &line(json!({"type":"user","message":{"content":"[Request interrupted by user]"}}))
            + &line(
                json!({"type":"user","message":{"content":"<ide_selection>x</ide_selection>"}}),
            )
            + &line(
                json!({"type":"user","message":{"content":[{"type":"text","text":"real\nprompt"}]}}),
            );
        assert_eq!(first_prompt(&head).as_deref(), Some("real prompt"));
        assert_eq!(first_prompt(""), None);
        assert_eq!(first_prompt("{\"type\":\"assistant\"}\n"), None);
    }

    #[test]
    fn first_prompt_is_cut_and_falls_back_to_a_command() {
        let long = first_prompt(&line(
            json!({"type":"user","message":{"content":"x".repeat(300)}}),
        ))
        .unwrap();
        assert_eq!(long.chars().count(), 201);
        assert!(long.ends_with('\u{2026}'));
        let command = line(
            json!({"type":"user","message":{"content":"<command-name>/help</command-name>stuff"}}),
        );
        assert_eq!(first_prompt(&command).as_deref(), Some("/help"));
    }

    #[test]
    fn iso_timestamps_round_trip() {
        assert_eq!(
            parse_iso_millis("2026-01-15T10:30:00.000Z"),
            Some(1_768_473_000_000)
        );
        assert_eq!(
            parse_iso_millis("2026-01-15T10:30:00+00:00"),
            Some(1_768_473_000_000)
        );
        assert_eq!(
            parse_iso_millis("2026-01-15T12:30:00+02:00"),
            Some(1_768_473_000_000)
        );
        assert_eq!(
            parse_iso_millis("2026-01-15T10:30:00.123456Z"),
            Some(1_768_473_000_123)
        );
        assert_eq!(parse_iso_millis("not-a-valid-iso-date"), None);
        assert_eq!(parse_iso_millis("2026-02-30T10:30:00Z"), None);
        assert_eq!(
            format_iso_millis(1_768_473_000_123),
            "2026-01-15T10:30:00.123Z"
        );
        for millis in [0, 951_782_400_000, 1_768_473_000_123, 4_102_444_800_999] {
            assert_eq!(parse_iso_millis(&format_iso_millis(millis)), Some(millis));
        }
    }
}
