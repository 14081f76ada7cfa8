//! Importing leads from a CSV file (another system's export, a spreadsheet the front desk kept):
//! upload, match columns to fields (guessed from the headers), preview with each row's problems,
//! then import. Each row goes through the same capture as every other lead, so a person already on
//! file is matched, not doubled, and each row carries a key made from its content, so importing the
//! same file twice adds nothing. Rows with problems are listed by line; the others go in.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::{Extension, Form};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use stride_core::email::EmailAddress;
use stride_core::leads::Origin;
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_core::tz::TimeZoneName;
use stride_store::leads::{Basis, Captured, LeadInput, Touch};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Layout, layout, practice_tz, render, unprocessable};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 5_000;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Ignore,
    FirstName,
    LastName,
    FullName,
    Phone,
    Email,
    Service,
    Payer,
    Source,
    Channel,
    Campaign,
    Date,
    Message,
    PreferredTimes,
}

/// (field, identifier, label, header words that suggest it)
const FIELDS: &[(Field, &str, &str, &[&str])] = &[
    (Field::Ignore, "", "Do not import", &[]),
    (
        Field::FirstName,
        "first_name",
        "First name",
        &["first name", "firstname", "first", "given name"],
    ),
    (
        Field::LastName,
        "last_name",
        "Last name",
        &["last name", "lastname", "last", "surname", "family name"],
    ),
    (
        Field::FullName,
        "name",
        "Full name",
        &["name", "full name", "contact", "patient name", "lead name"],
    ),
    (
        Field::Phone,
        "phone",
        "Phone",
        &[
            "phone",
            "mobile",
            "cell",
            "telephone",
            "phone number",
            "mobile phone",
        ],
    ),
    (
        Field::Email,
        "email",
        "Email",
        &["email", "e-mail", "email address"],
    ),
    (
        Field::Service,
        "service",
        "Service or condition",
        &[
            "service",
            "condition",
            "interest",
            "reason",
            "complaint",
            "injury",
        ],
    ),
    (
        Field::Payer,
        "payer",
        "Insurance",
        &["insurance", "payer", "carrier", "plan"],
    ),
    (
        Field::Source,
        "source",
        "Source",
        &[
            "source",
            "lead source",
            "referral source",
            "how did you hear",
            "utm_source",
        ],
    ),
    (
        Field::Channel,
        "channel",
        "Channel",
        &["channel", "medium", "utm_medium"],
    ),
    (
        Field::Campaign,
        "campaign",
        "Campaign",
        &["campaign", "utm_campaign"],
    ),
    (
        Field::Date,
        "date",
        "Date of inquiry",
        &[
            "date",
            "created",
            "created at",
            "inquiry date",
            "submitted",
            "received",
        ],
    ),
    (
        Field::Message,
        "message",
        "Notes",
        &["notes", "note", "message", "comments", "comment"],
    ),
    (
        Field::PreferredTimes,
        "preferred_times",
        "Preferred times",
        &["preferred times", "availability", "best time"],
    ),
];

impl Field {
    fn id(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map_or("", |f| f.1)
    }

    fn parse(id: &str) -> Field {
        FIELDS
            .iter()
            .find(|f| f.1 == id)
            .map_or(Field::Ignore, |f| f.0)
    }
}

/// The field a header suggests: an exact match of its words first, then a word it contains.
pub fn guess(header: &str) -> Field {
    let h = header
        .trim()
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if h.is_empty() {
        return Field::Ignore;
    }
    let words_of = |w: &str| w.replace(['_', '-'], " ");
    if let Some(f) = FIELDS.iter().find(|f| f.3.iter().any(|w| words_of(w) == h)) {
        return f.0;
    }
    FIELDS
        .iter()
        .find(|f| {
            f.3.iter()
                .any(|w| w.len() > 3 && h.split(' ').any(|part| part == words_of(w)))
        })
        .map_or(Field::Ignore, |f| f.0)
}

/// A CSV file read into a header and rows (each with its line number in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads a CSV export: comma, semicolon or tab separated (whichever the header uses most), a
/// header row first, quoted fields, a byte-order mark, rows of uneven length.
pub fn read_csv(text: &str) -> Result<Table, String> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the file could not be read as CSV: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err("the file is empty: it needs a header row and at least one lead".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the file could not be read as CSV: {e}"))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(format!(
                "the file has more than {MAX_ROWS} leads: split it and import the parts one after the other"
            ));
        }
        let line = record.position().map_or(0, |p| p.line());
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    if rows.is_empty() {
        return Err("the file has a header row but no leads".into());
    }
    Ok(Table { headers, rows })
}

/// A date of inquiry: 2026-03-14, 03/14/2026, 3/14/26, or either with a time after it, at noon
/// in the practice's time zone.
fn parse_date(s: &str, tz: &Option<TimeZoneName>) -> Result<i64, String> {
    let t = s.trim();
    let day = t.split([' ', 'T']).next().unwrap_or_default();
    let date = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d"]
        .iter()
        .find_map(|f| jiff::civil::Date::strptime(f, day).ok())
        .ok_or_else(|| {
            format!(
                "“{}” is not a date like 2026-03-14 or 03/14/2026",
                t.chars().take(30).collect::<String>()
            )
        })?;
    let zone = tz
        .as_ref()
        .map(|z| z.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let at = date
        .at(12, 0, 0, 0)
        .to_zoned_datetime(zone)
        .map_err(|e| e.to_string())?
        .timestamp()
        .as_millisecond();
    if at > jiff::Timestamp::now().as_millisecond() + 86_400_000 {
        return Err(format!("{date} is in the future"));
    }
    Ok(at)
}

/// One row as a lead, or what is wrong with it.
pub fn row_lead(
    mapping: &[Field],
    row: &[String],
    tz: &Option<TimeZoneName>,
) -> Result<LeadInput, String> {
    let get = |f: Field| -> String {
        mapping
            .iter()
            .zip(row)
            .filter(|(m, _)| **m == f)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut input = LeadInput::new(Origin::Import);
    input.first_name = get(Field::FirstName);
    input.last_name = get(Field::LastName);
    let full = get(Field::FullName);
    if input.first_name.is_empty() && !full.is_empty() {
        match full.rsplit_once(' ') {
            Some((first, last)) if input.last_name.is_empty() => {
                input.first_name = first.trim().to_string();
                input.last_name = last.trim().to_string();
            }
            _ => input.first_name = full,
        }
    }
    let phone = get(Field::Phone);
    if !phone.is_empty() {
        input.phone = Some(PhoneE164::parse(&phone).map_err(|e| e.to_string())?);
    }
    let email = get(Field::Email);
    if !email.is_empty() {
        input.email = Some(EmailAddress::parse(&email).map_err(|e| e.to_string())?);
    }
    if input.phone.is_none() && input.email.is_none() {
        return Err("no phone number or email to follow up".into());
    }
    input.service = get(Field::Service);
    input.payer = get(Field::Payer);
    input.message = get(Field::Message);
    input.preferred_times = get(Field::PreferredTimes);
    input.touch = Touch {
        source: get(Field::Source),
        channel: get(Field::Channel).to_lowercase().replace([' ', '-'], "_"),
        campaign: get(Field::Campaign),
        landing: String::new(),
    };
    if !input.touch.is_empty() {
        input.basis = Basis::FrontDesk;
    }
    let date = get(Field::Date);
    if !date.is_empty() {
        input.at = Some(parse_date(&date, tz)?);
    }
    // The same content gives the same key: a file imported twice adds nothing.
    let mut hash = Sha256::new();
    for (f, v) in mapping.iter().zip(row) {
        if *f != Field::Ignore {
            hash.update(f.id().as_bytes());
            hash.update([0x1f]);
            hash.update(v.trim().as_bytes());
            hash.update([0x1e]);
        }
    }
    input.external_key = Some(format!("import:{}", hex::encode(&hash.finalize()[..16])));
    Ok(input)
}

pub struct PreviewRow {
    pub line: u64,
    pub cells: Vec<String>,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "lead_import.html")]
struct ImportPage {
    l: Layout,
    /// The file's text, carried from the preview to the import.
    csv: String,
    headers: Vec<(usize, String, &'static str)>,
    fields: Vec<(&'static str, &'static str)>,
    preview: Vec<PreviewRow>,
    rows: usize,
    bad: usize,
    result: Option<ImportResult>,
    error: Option<String>,
}

pub struct ImportResult {
    pub created: usize,
    pub matched: usize,
    pub skipped: usize,
    pub failed: Vec<(u64, String)>,
}

fn page(l: Layout) -> ImportPage {
    ImportPage {
        l,
        csv: String::new(),
        headers: Vec::new(),
        fields: FIELDS.iter().map(|f| (f.1, f.2)).collect(),
        preview: Vec::new(),
        rows: 0,
        bad: 0,
        result: None,
        error: None,
    }
}

/// `GET /app/leads/import`
pub async fn form(State(state): State<AppState>, Extension(p): Extension<Principal>) -> PageResult {
    p.require(Permission::EditLeads)?;
    let l = layout(&state, &p, "leads", &crate::pages::Done::default()).await?;
    render(&page(l))
}

/// The preview: columns with their guessed fields, the first rows, and every row's problem.
async fn preview(
    state: &AppState,
    p: &Principal,
    csv: String,
    mapping: Option<Vec<Field>>,
) -> PageResult {
    let l = layout(state, p, "leads", &crate::pages::Done::default()).await?;
    let mut out = page(l);
    let table = match read_csv(&csv) {
        Ok(t) => t,
        Err(e) => {
            out.error = Some(e);
            return unprocessable(&out);
        }
    };
    let mapping = mapping.unwrap_or_else(|| table.headers.iter().map(|h| guess(h)).collect());
    let tz = practice_tz(state, p.practice_id).await?;
    out.headers = table
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                i,
                h.clone(),
                mapping.get(i).copied().unwrap_or(Field::Ignore).id(),
            )
        })
        .collect();
    out.rows = table.rows.len();
    for (i, (line, row)) in table.rows.iter().enumerate() {
        let problem = row_lead(&mapping, row, &tz).err();
        out.bad += usize::from(problem.is_some());
        if i < 10 || problem.is_some() && out.preview.len() < 60 {
            out.preview.push(PreviewRow {
                line: *line,
                cells: row.clone(),
                problem: problem.unwrap_or_default(),
            });
        }
    }
    if !mapping
        .iter()
        .any(|f| matches!(f, Field::Phone | Field::Email))
    {
        out.error = Some("choose the column that holds the phone number or the email".into());
    }
    out.csv = csv;
    render(&out)
}

/// `POST /app/leads/import` (a file upload): reads the file and shows the preview.
pub async fn upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    mut multipart: Multipart,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    let mut csv = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?
    {
        if field.name() == Some("file") {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::BadRequest(e.body_text()))?;
            csv = Some(match String::from_utf8(bytes.to_vec()) {
                Ok(s) => s,
                // Spreadsheet programs on Windows still save CSV as Windows-1252.
                Err(e) => e.into_bytes().iter().map(|b| *b as char).collect(),
            });
        }
    }
    match csv {
        Some(text) if !text.trim().is_empty() => preview(&state, &p, text, None).await,
        _ => {
            let l = layout(&state, &p, "leads", &crate::pages::Done::default()).await?;
            let mut out = page(l);
            out.error = Some("choose a CSV file to import".into());
            unprocessable(&out)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RunForm {
    csv: String,
    /// "preview" (show again with the chosen columns) or "import".
    action: String,
    #[serde(flatten)]
    columns: std::collections::HashMap<String, String>,
}

/// `POST /app/leads/import/run`: imports the rows with the chosen columns (or previews again).
pub async fn run(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<RunForm>,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    let table = match read_csv(&f.csv) {
        Ok(t) => t,
        Err(_) => return preview(&state, &p, f.csv, None).await,
    };
    let mapping: Vec<Field> = (0..table.headers.len())
        .map(|i| {
            Field::parse(
                f.columns
                    .get(&format!("col_{i}"))
                    .map_or("", String::as_str),
            )
        })
        .collect();
    if f.action != "import"
        || !mapping
            .iter()
            .any(|m| matches!(m, Field::Phone | Field::Email))
    {
        return preview(&state, &p, f.csv, Some(mapping)).await;
    }
    let tz = practice_tz(&state, p.practice_id).await?;
    let mut result = ImportResult {
        created: 0,
        matched: 0,
        skipped: 0,
        failed: Vec::new(),
    };
    for (line, row) in &table.rows {
        let input = match row_lead(&mapping, row, &tz) {
            Ok(i) => i,
            Err(e) => {
                result.failed.push((*line, e));
                continue;
            }
        };
        match state
            .store
            .capture_lead(p.practice_id, &input, &p.actor)
            .await
        {
            Ok((Captured::Created, _)) => result.created += 1,
            Ok((Captured::Matched, _)) => result.matched += 1,
            Ok((Captured::Duplicate, _)) => result.skipped += 1,
            Err(stride_store::StoreError::Invalid(m)) => result.failed.push((*line, m)),
            Err(e) => return Err(e.into()),
        }
    }
    metrics::counter!("stride_leads_imported_total").increment(result.created as u64);
    let l = layout(&state, &p, "leads", &crate::pages::Done::default()).await?;
    let mut out = page(l);
    out.rows = table.rows.len();
    out.result = Some(result);
    render(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_suggest_their_fields() {
        for (h, f) in [
            ("First Name", Field::FirstName),
            ("last_name", Field::LastName),
            ("Name", Field::FullName),
            ("Mobile Phone", Field::Phone),
            ("E-mail", Field::Email),
            ("Email Address", Field::Email),
            ("Insurance Carrier", Field::Payer),
            ("Lead Source", Field::Source),
            ("utm_campaign", Field::Campaign),
            ("Created At", Field::Date),
            ("Reason for visit", Field::Service),
            ("Internal ID", Field::Ignore),
            ("", Field::Ignore),
        ] {
            assert_eq!(guess(h), f, "{h}");
        }
    }

    #[test]
    fn reads_exports_of_every_common_shape() {
        let t = read_csv("\u{feff}Name;Phone;Notes\n\"Reyes, Ana\";630-555-0101;\"said \"\"call after 5\"\"\"\n\n;;\nBo;;\n").unwrap();
        assert_eq!(t.headers, ["Name", "Phone", "Notes"]);
        assert_eq!(t.rows.len(), 2, "blank rows are skipped");
        assert_eq!(
            t.rows[0].1,
            ["Reyes, Ana", "630-555-0101", "said \"call after 5\""]
        );
        assert_eq!(
            t.rows[1],
            (5, vec!["Bo".to_string(), String::new(), String::new()])
        );
        assert!(read_csv("").is_err());
        assert!(read_csv("Name,Phone\n").is_err());
        let big = format!("Phone\n{}", "6305550101\n".repeat(MAX_ROWS + 1));
        assert!(read_csv(&big).unwrap_err().contains("more than"));
    }

    #[test]
    fn rows_become_leads_or_say_what_is_wrong() {
        let mapping = [
            Field::FullName,
            Field::Phone,
            Field::Email,
            Field::Date,
            Field::Channel,
        ];
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tz = Some(TimeZoneName::parse("America/Chicago").unwrap());
        let ok = row_lead(
            &mapping,
            &row(&[
                "Ana Maria Reyes",
                "(630) 555-0101",
                "",
                "03/14/2026",
                "Paid Search",
            ]),
            &tz,
        )
        .unwrap();
        assert_eq!(
            (ok.first_name.as_str(), ok.last_name.as_str()),
            ("Ana Maria", "Reyes")
        );
        assert_eq!(ok.phone.unwrap().as_str(), "+16305550101");
        assert_eq!(ok.touch.channel, "paid_search");
        assert_eq!(ok.origin, Origin::Import);
        let noon_chicago = jiff::civil::date(2026, 3, 14)
            .at(12, 0, 0, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago").unwrap())
            .unwrap()
            .timestamp()
            .as_millisecond();
        assert_eq!(ok.at, Some(noon_chicago));
        let same = row_lead(
            &mapping,
            &row(&[
                "Ana Maria Reyes",
                "(630) 555-0101",
                "",
                "03/14/2026",
                "Paid Search",
            ]),
            &tz,
        )
        .unwrap();
        assert_eq!(
            ok.external_key, same.external_key,
            "the same row, the same key"
        );
        let other = row_lead(
            &mapping,
            &row(&[
                "Ana Maria Reyes",
                "(630) 555-0102",
                "",
                "03/14/2026",
                "Paid Search",
            ]),
            &tz,
        )
        .unwrap();
        assert_ne!(ok.external_key, other.external_key);
        for (bad, why) in [
            (["Bo", "", "", "", ""], "no phone"),
            (["Bo", "555", "", "", ""], "phone"),
            (["Bo", "", "bo@", "", ""], "email"),
            (["Bo", "6305550101", "", "14.03.2026", ""], "not a date"),
            (["Bo", "6305550101", "", "2099-01-01", ""], "future"),
        ] {
            let e = row_lead(&mapping, &row(&bad), &tz).unwrap_err();
            assert!(e.to_lowercase().contains(why), "{bad:?}: {e}");
        }
    }
}
