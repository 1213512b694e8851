//! The outbox worker inside each server instance: it claims due messages with a lease (so a
//! crashed worker's messages are taken again when the lease runs out, and two instances never
//! claim the same message), sends them, records the result, and retries failures with
//! exponential backoff until `mail.max_attempts`, then marks them failed. It also queues the
//! daily digest, once per supervisor and day across all instances.

use std::time::Duration;

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone, Timelike};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{FileTransport, Message, SmtpTransport, Transport as _};

use crate::clock::now;
use crate::config::{MailSettings, MailTransport, Settings, SmtpSecurity};
use crate::db::Database;
use crate::db::outbox::{self, OutboxRow};
use crate::error::AppError;
use crate::mail::{Kind, Kinds, Outgoing, enqueue};

pub enum Transport {
    Smtp(Box<SmtpTransport>),
    File(FileTransport),
    None,
}

impl Transport {
    pub fn from_settings(m: &MailSettings, data_dir: &std::path::Path) -> Result<Self, String> {
        Ok(match m.transport {
            MailTransport::None => Transport::None,
            MailTransport::File => {
                let dir = if m.file_dir.as_os_str().is_empty() {
                    data_dir.join("mail")
                } else {
                    m.file_dir.clone()
                };
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("mail.file_dir {}: {e}", dir.display()))?;
                Transport::File(FileTransport::new(&dir))
            }
            MailTransport::Smtp => {
                let builder = match m.smtp_security {
                    SmtpSecurity::None => SmtpTransport::builder_dangerous(&m.smtp_host),
                    SmtpSecurity::Starttls => SmtpTransport::starttls_relay(&m.smtp_host)
                        .map_err(|e| format!("mail.smtp_host: {e}"))?,
                    SmtpSecurity::Tls => SmtpTransport::relay(&m.smtp_host)
                        .map_err(|e| format!("mail.smtp_host: {e}"))?,
                };
                let mut builder = builder
                    .port(m.smtp_port)
                    .timeout(Some(Duration::from_secs(15)));
                if !m.smtp_username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        m.smtp_username.clone(),
                        m.smtp_password.clone(),
                    ));
                }
                Transport::Smtp(Box::new(builder.build()))
            }
        })
    }

    /// Sends one message; `Ok(false)` when the transport is `none` (nothing sent).
    fn send(&self, message: &Message) -> Result<bool, String> {
        match self {
            Transport::Smtp(t) => t.send(message).map(|_| true).map_err(|e| e.to_string()),
            Transport::File(t) => t.send(message).map(|_| true).map_err(|e| e.to_string()),
            Transport::None => Ok(false),
        }
    }
}

fn build(from: &Mailbox, row: &OutboxRow) -> Result<Message, String> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            row.html_body.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// Work the worker runs in each round before it queues the digest, given by whoever starts
/// it (the daily eligibility check: the digest of a day lists what that day's check changed).
pub type BeforeDigest =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// What the worker works with: the database and the configuration, nothing of the RFA
/// services (what it runs of them comes in `before_digest`).
#[derive(Clone)]
pub struct Worker {
    pub db: Database,
    pub settings: Arc<Settings>,
    pub before_digest: Option<BeforeDigest>,
}

/// Starts the worker on the current runtime; it runs until the runtime stops.
pub fn spawn(worker: Worker) -> Result<tokio::task::JoinHandle<()>, String> {
    let settings = worker.settings.mail.clone();
    let transport = Arc::new(Transport::from_settings(
        &settings,
        &worker.settings.data_dir,
    )?);
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| format!("mail.from: {e}"))?;
    let owner = format!("worker-{}", uuid::Uuid::now_v7().simple());
    Ok(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(settings.poll_interval_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // First the day's check, then the digest that lists what it changed. A failed
            // check still lets the digest go: what it changes later is in the next one.
            if let Some(before) = &worker.before_digest {
                before().await;
            }
            if let Err(e) = queue_digest(&worker).await {
                tracing::warn!(error = %e, "queueing the daily digest failed");
            }
            match tick(&worker, &transport, &from, &owner).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sent = n, "outbox messages handled"),
                Err(e) => tracing::warn!(error = %e, "outbox round failed"),
            }
        }
    }))
}

/// One round: claim what is due, send it, record each result. Returns how many were handled.
pub async fn tick(
    worker: &Worker,
    transport: &Arc<Transport>,
    from: &Mailbox,
    owner: &str,
) -> Result<usize, AppError> {
    let m = worker.settings.mail.clone();
    let owner_claim = owner.to_string();
    let lease = chrono::Duration::seconds(i64::try_from(m.lease_secs).unwrap_or(60));
    let claimed: Vec<OutboxRow> = worker
        .db
        .run(move |c| {
            let now = now();
            let mut rows = Vec::new();
            for id in outbox::due(c, now, 20)? {
                let got = c.write(|c| outbox::claim(c, &id, &owner_claim, now, now + lease))?;
                if got == 1
                    && let Some(row) = outbox::find(c, &id)?
                {
                    rows.push(row);
                }
            }
            Ok(rows)
        })
        .await?;
    let n = claimed.len();
    for row in claimed {
        let message = build(from, &row);
        let transport = transport.clone();
        let result =
            tokio::task::spawn_blocking(move || message.and_then(|msg| transport.send(&msg)))
                .await
                .map_err(|e| AppError::internal(format!("send task: {e}")))?;
        let owner = owner.to_string();
        let (max, base) = (
            i64::from(m.max_attempts),
            i64::try_from(m.retry_base_secs).unwrap_or(30),
        );
        worker
            .db
            .run(move |c| {
                let now = now();
                c.write(|c| {
                    match result {
                        Ok(true) => outbox::mark_sent(c, &row.id, &owner, now)?,
                        Ok(false) => skip(c, &row.id, &owner, now)?,
                        Err(e) => {
                            let attempts = i64::from(row.attempts);
                            let next = (attempts < max).then(|| {
                                let wait = base.saturating_mul(1 << (attempts - 1).clamp(0, 16)).min(3600);
                                now + chrono::Duration::seconds(wait)
                            });
                            tracing::warn!(message = %row.id, attempt = attempts, error = %e, "sending failed");
                            outbox::mark_failed_attempt(c, &row.id, &owner, &e, next)?
                        }
                    };
                    Ok::<_, AppError>(())
                })
            })
            .await?;
    }
    Ok(n)
}

/// With `mail.transport = "none"` a message is recorded as skipped, not sent.
fn skip(
    c: &mut crate::db::DbConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let n = outbox::mark_sent(c, id, owner, now)?;
    use crate::db::schema::outbox as t;
    use diesel::prelude::*;
    diesel::update(t::table.find(id))
        .set(t::status.eq("skipped"))
        .execute(c)?;
    Ok(n)
}

/// From `mail.digest_hour` in the reporting time zone, each active supervisor gets one digest
/// a day of requests due within `mail.digest_days` and overdue ones, and of the requests whose
/// eligibility decision the daily check changed since the supervisor's last digest. The
/// outbox's unique dedupe key makes that one across every instance.
pub async fn queue_digest(worker: &Worker) -> Result<(), AppError> {
    queue_digest_at(worker, now()).await
}

/// [`queue_digest`] as of `now` (tests give a fixed moment).
pub async fn queue_digest_at(worker: &Worker, now: NaiveDateTime) -> Result<(), AppError> {
    let settings = &worker.settings;
    if !Kinds::from_settings(&settings.mail).has(Kind::Digest) {
        return Ok(());
    }
    let tz = settings.time_zone().unwrap_or(chrono_tz::UTC);
    let local = tz.from_utc_datetime(&now);
    if local.hour() < settings.mail.digest_hour {
        return Ok(());
    }
    let today = local.date_naive();
    let days = settings.mail.digest_days;
    worker
        .db
        .run(move |c| {
            for (id, email, name) in crate::db::users::active_supervisors(c)? {
                let key = format!("digest:{today}:{id}");
                if outbox::dedupe_exists(c, &key)? {
                    continue;
                }
                let horizon = today + chrono::Duration::days(i64::from(days));
                let due = crate::db::rfas::open_due_by(c, horizon, 200)?;
                let lines: Vec<String> = due
                    .iter()
                    .map(|(r, s, d)| {
                        format!(
                            "{r}  due {d}{}  {s}",
                            if *d < today { " (overdue)" } else { "" }
                        )
                    })
                    .collect();
                let items: Vec<String> = due
                    .iter()
                    .map(|(r, s, d)| {
                        format!(
                            "<li><strong>{}</strong> due {d}{} — {}</li>",
                            super::escape_html(r),
                            if *d < today { " (overdue)" } else { "" },
                            super::escape_html(s)
                        )
                    })
                    .collect();
                let since = outbox::latest_queued(c, Kind::Digest.as_str(), &email)?
                    .unwrap_or(now - chrono::Duration::days(1));
                let changes: Vec<Change> = crate::db::calendar::changes_since(c, since, 200)?
                    .iter()
                    .map(|(reference, details)| Change::of(reference, details))
                    .collect();
                let change_lines: Vec<String> = changes
                    .iter()
                    .map(|ch| {
                        format!(
                            "{}  {} -> {}  ({})",
                            ch.reference, ch.from, ch.to, ch.trigger
                        )
                    })
                    .collect();
                let change_items: Vec<String> = changes
                    .iter()
                    .map(|ch| {
                        format!(
                            "<li><strong>{}</strong> {} → {} ({})</li>",
                            super::escape_html(&ch.reference),
                            super::escape_html(&ch.from),
                            super::escape_html(&ch.to),
                            super::escape_html(&ch.trigger)
                        )
                    })
                    .collect();
                let none = "None.".to_string();
                let vars = [
                    ("supervisor", name.clone()),
                    ("horizon", horizon.to_string()),
                    (
                        "lines",
                        if due.is_empty() {
                            none.clone()
                        } else {
                            lines.join("\n")
                        },
                    ),
                    ("items", items.join("\n")),
                    ("count", due.len().to_string()),
                    (
                        "change_lines",
                        if changes.is_empty() {
                            none
                        } else {
                            change_lines.join("\n")
                        },
                    ),
                    ("change_items", change_items.join("\n")),
                    ("change_count", changes.len().to_string()),
                ];
                if due.is_empty() && changes.is_empty() {
                    // Nothing to tell yet today; look again at the next round.
                    continue;
                }
                let mut subject = format!("RFA digest for {today}: {} due or overdue", due.len());
                if !changes.is_empty() {
                    subject.push_str(&format!(", {} eligibility change(s)", changes.len()));
                }
                let queued = c.write(|c| {
                    enqueue(
                        c,
                        Outgoing {
                            kind: Kind::Digest,
                            rfa_id: None,
                            recipient: &email,
                            subject,
                            vars: &vars,
                            dedupe_key: Some(key.clone()),
                        },
                        now,
                    )
                });
                match queued {
                    // Another instance queued it first.
                    Err(AppError::Conflict(_)) => {}
                    other => other?,
                }
            }
            Ok(())
        })
        .await
}

/// A decision the daily check changed, as the digest lists it (from its event's details).
struct Change {
    reference: String,
    from: String,
    to: String,
    trigger: String,
}

impl Change {
    fn of(reference: &str, details: &str) -> Self {
        let d: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("none").replace('_', " ");
        Self {
            reference: reference.to_string(),
            from: text(&d["previous_outcome"]),
            to: text(&d["decision"]["outcome"]),
            trigger: d["trigger"].as_str().unwrap_or_default().to_string(),
        }
    }
}
