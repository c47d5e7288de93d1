//! How samctl shows what it did: for people on stdout, or as JSON (`--json`, `--field`) for
//! scripts; remarks, progress bars and spinners on stderr, never with `--json`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// How results are shown: for people, or as JSON for scripts.
pub(crate) struct Out {
    /// `--json`.
    pub(crate) json: bool,
    /// `--field NAME`.
    pub(crate) field: Option<String>,
}

impl Out {
    /// Shows a result: its JSON with `--json`, `human()` otherwise (stdout).
    #[allow(clippy::print_stdout)]
    pub(crate) fn show(&self, value: &Value, human: impl FnOnce() -> String) {
        if let Some(field) = &self.field {
            match value.get(field) {
                Some(Value::String(text)) => println!("{text}"),
                Some(other) => println!("{other}"),
                None => println!(),
            }
        } else if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
            );
        } else {
            println!("{}", human());
        }
    }

    /// Whether only the result is printed (`--json`, `--field`).
    pub(crate) fn quiet(&self) -> bool {
        self.json || self.field.is_some()
    }

    /// A remark on the way (stderr, not with `--json` or `--field`).
    #[allow(clippy::print_stderr)]
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet() {
            eprintln!("{}", text.trim_end());
        }
    }

    /// A progress bar over `total` bytes (hidden with `--json` or off a terminal).
    pub(crate) fn progress(&self, total: u64, message: &str) -> ProgressBar {
        if self.quiet() {
            return crate::sign::hidden();
        }
        ProgressBar::new(total)
            .with_style(crate::sign::bar_style())
            .with_message(message.to_owned())
    }

    /// A spinner while waiting.
    pub(crate) fn spinner(&self, message: &str) -> ProgressBar {
        if self.quiet() {
            return crate::sign::hidden();
        }
        let spinner = ProgressBar::new_spinner().with_message(message.to_owned());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }
}

/// A typed answer as the JSON samctl shows (the server's own document: the client crate's
/// types write back the fields they read).
pub(crate) fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Shows a list: one line per entry for people (`(none)` when empty), the array as JSON.
pub(crate) fn show_list(out: &Out, value: &Value, line: impl Fn(&Value) -> String) {
    out.show(value, || {
        value.as_array().map_or_else(
            || value.to_string(),
            |items| {
                if items.is_empty() {
                    "(none)".to_owned()
                } else {
                    items.iter().map(&line).collect::<Vec<_>>().join("\n")
                }
            },
        )
    });
}

/// A profile in a list: id, status, name.
pub(crate) fn profile_line(p: &Value) -> String {
    format!(
        "{:>4}  {:<8}  {}",
        p["id"].as_u64().unwrap_or(0),
        p["settings"]["status"].as_str().unwrap_or("?"),
        p["settings"]["name"].as_str().unwrap_or("?")
    )
}

/// JSON for people.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
