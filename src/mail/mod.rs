//! Email notifications through a transactional outbox: a message is written to the outbox in
//! the same transaction as the change that causes it; `worker` claims, sends and records.
//! Templates are files beside this module (text and HTML).

pub mod worker;

use chrono::NaiveDateTime;

use crate::config::MailSettings;
use crate::db::DbConnection;
use crate::db::outbox::{self, OutboxRow};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Acknowledgement,
    RequestInformation,
    Assignment,
    Decision,
    Digest,
    /// An administrator granted someone a role that reads case content: the other
    /// administrators hear of it.
    RoleGranted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Acknowledgement => "acknowledgement",
            Kind::RequestInformation => "request_information",
            Kind::Assignment => "assignment",
            Kind::Decision => "decision",
            Kind::Digest => "digest",
            Kind::RoleGranted => "role_granted",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn templates(self) -> (&'static str, &'static str) {
        match self {
            Kind::Acknowledgement => (
                include_str!("templates/acknowledgement.txt"),
                include_str!("templates/acknowledgement.html"),
            ),
            Kind::RequestInformation => (
                include_str!("templates/request_information.txt"),
                include_str!("templates/request_information.html"),
            ),
            Kind::Assignment => (
                include_str!("templates/assignment.txt"),
                include_str!("templates/assignment.html"),
            ),
            Kind::Decision => (
                include_str!("templates/decision.txt"),
                include_str!("templates/decision.html"),
            ),
            Kind::Digest => (
                include_str!("templates/digest.txt"),
                include_str!("templates/digest.html"),
            ),
            Kind::RoleGranted => (
                include_str!("templates/role_granted.txt"),
                include_str!("templates/role_granted.html"),
            ),
        }
    }
}

/// Which kinds of message go out (`mail.send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds(u8);

impl Kinds {
    pub const NONE: Kinds = Kinds(0);

    pub fn from_settings(m: &MailSettings) -> Self {
        let all = [
            Kind::Acknowledgement,
            Kind::RequestInformation,
            Kind::Assignment,
            Kind::Decision,
            Kind::Digest,
            Kind::RoleGranted,
        ];
        Kinds(
            all.iter()
                .filter(|k| m.send.iter().any(|s| s == k.as_str()))
                .fold(0, |acc, k| acc | k.bit()),
        )
    }

    pub fn has(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Fills `{{name}}` with the value (escaped in HTML) and `{{{name}}}` with it as it is.
pub fn render(template: &str, vars: &[(&str, String)], html: bool) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{{{name}}}}}}}"), value);
        let shown = if html {
            escape_html(value)
        } else {
            value.clone()
        };
        out = out.replace(&format!("{{{{{name}}}}}"), &shown);
    }
    out
}

/// A message to put in the outbox.
pub struct Outgoing<'a> {
    pub kind: Kind,
    pub rfa_id: Option<&'a str>,
    pub recipient: &'a str,
    pub subject: String,
    pub vars: &'a [(&'a str, String)],
    /// At most one message with this key is ever queued (the daily digest).
    pub dedupe_key: Option<String>,
}

/// Writes a message to the outbox, inside the caller's transaction.
pub fn enqueue(c: &mut DbConnection, m: Outgoing<'_>, now: NaiveDateTime) -> Result<(), AppError> {
    let (text, html) = m.kind.templates();
    let id = uuid::Uuid::now_v7().to_string();
    outbox::insert(
        c,
        &OutboxRow {
            message_id: format!("<{id}@rfa-tracker>"),
            id,
            kind: m.kind.as_str().into(),
            rfa_id: m.rfa_id.map(str::to_string),
            recipient: m.recipient.to_string(),
            subject: m.subject,
            text_body: render(text, m.vars, false),
            html_body: render(html, m.vars, true),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            leased_until: None,
            lease_owner: None,
            last_error: None,
            created_at: now,
            sent_at: None,
            dedupe_key: m.dedupe_key,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_escape() {
        let vars = [
            ("reference", "RFA-2026-0001".to_string()),
            ("subject", "<b>Tom & Jerry</b>".to_string()),
        ];
        let html = render("{{reference}}: {{subject}} {{{reference}}}", &vars, true);
        assert_eq!(
            html,
            "RFA-2026-0001: &lt;b&gt;Tom &amp; Jerry&lt;/b&gt; RFA-2026-0001"
        );
        let text = render("{{subject}}", &vars, false);
        assert_eq!(text, "<b>Tom & Jerry</b>");
        for kind in [
            Kind::Acknowledgement,
            Kind::RequestInformation,
            Kind::Assignment,
            Kind::Decision,
            Kind::Digest,
        ] {
            let (t, h) = kind.templates();
            assert!(!t.is_empty() && !h.is_empty());
        }
    }
}
