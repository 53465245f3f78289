//! The doctor's report: one line per link (ok, FAIL or skip, and what it found), as text or
//! JSON, always in the links' order.

use super::Link;
use std::fmt::Write;

/// What is wrong at a link, and what to do about it.
#[derive(Debug)]
pub struct Wrong {
    what: String,
    fix: Option<String>,
}

impl Wrong {
    /// A finding and its remedy.
    pub fn new(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { what: what.into(), fix: Some(fix.into()) }
    }

    /// A finding that already says what to try (an error of a command, with its hint).
    pub fn plain(what: impl Into<String>) -> Self {
        Self { what: what.into(), fix: None }
    }
}

/// A link's outcome: what it found (handed on to the links after it) and its line, or wrong.
pub type Verdict<T> = Result<(T, String), Wrong>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Fail,
    Skip,
}

struct Line {
    link: Link,
    status: Status,
    detail: String,
}

/// The lines so far.
#[derive(Default)]
pub struct Report {
    lines: Vec<Line>,
}

impl Report {
    /// Runs one link's check and records its line.
    pub fn check<T>(&mut self, link: Link, f: impl FnOnce() -> Verdict<T>) -> Option<T> {
        match f() {
            Ok((found, detail)) => {
                self.ok(link, detail);
                Some(found)
            }
            Err(w) => {
                self.fail(link, w);
                None
            }
        }
    }

    /// Records an ok line.
    pub fn ok(&mut self, link: Link, detail: impl Into<String>) {
        self.lines.push(Line { link, status: Status::Ok, detail: detail.into() });
    }

    /// Records a failed link.
    pub fn fail(&mut self, link: Link, w: Wrong) {
        let detail = match w.fix {
            Some(fix) => format!("{}; {fix}", w.what),
            None => w.what,
        };
        self.lines.push(Line { link, status: Status::Fail, detail });
    }

    /// Records a link not checked because an earlier one failed.
    pub fn skip<T>(&mut self, link: Link, why: &str) -> Option<T> {
        self.lines.push(Line { link, status: Status::Skip, detail: format!("not checked: {why}") });
        None
    }

    /// Records a verdict found apart from its check.
    pub fn record(&mut self, link: Link, verdict: Verdict<()>) {
        match verdict {
            Ok(((), detail)) => self.ok(link, detail),
            Err(w) => self.fail(link, w),
        }
    }

    fn sorted(&self) -> Vec<&Line> {
        let mut lines: Vec<&Line> = self.lines.iter().collect();
        lines.sort_by_key(|l| l.link as u8);
        lines
    }

    /// The first link that failed, in the chain's order.
    pub fn first_failure(&self) -> Option<Link> {
        self.sorted().into_iter().find(|l| l.status == Status::Fail).map(|l| l.link)
    }

    /// One aligned line per link.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in self.sorted() {
            let status = match l.status {
                Status::Ok => "ok",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            // One line per link, whatever a server put in its message.
            let detail: String = l.detail.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            let _ = writeln!(out, "{status:<5}{:<12}{detail}", l.link.name());
        }
        out
    }

    /// `{"links":[{"link":..,"status":..,"detail":..}],"exit":N}`.
    pub fn json(&self) -> String {
        let links: Vec<String> = self
            .sorted()
            .iter()
            .map(|l| {
                let status = match l.status {
                    Status::Ok => "ok",
                    Status::Fail => "fail",
                    Status::Skip => "skip",
                };
                format!(
                    r#"{{"link":"{}","status":"{status}","code":{},"detail":{}}}"#,
                    l.link.name(),
                    l.link.code(),
                    json_string(&l.detail)
                )
            })
            .collect();
        format!(r#"{{"links":[{}],"exit":{}}}"#, links.join(","), self.first_failure().map_or(0, Link::code))
    }
}

/// A JSON string literal (RFC 8259 7).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_in_chain_order_and_the_first_failure_sets_the_status() {
        let mut r = Report::default();
        r.ok(Link::Tcp, "127.0.0.1:445");
        r.fail(Link::Ticket, Wrong::new("the KDC knows no cifs/x", "register the SPN"));
        r.record(Link::Clock, Err(Wrong::new("1 h ahead", "sync the clock")));
        r.ok(Link::Name, "x → 127.0.0.1");
        assert_eq!(r.first_failure(), Some(Link::Clock));
        let text = r.text();
        let names: Vec<&str> = text.lines().map(|l| l.split_whitespace().nth(1).unwrap_or("")).collect();
        assert_eq!(names, ["name", "tcp", "clock", "ticket"]);
        assert!(text.contains("FAIL clock       1 h ahead; sync the clock"), "{text}");
        assert!(r.json().ends_with(r#""exit":13}"#), "{}", r.json());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }
}
