//! The demo practice, "Riverside Physical Therapy": two locations in different US time zones, five
//! clinicians, one user per role, a few patients and messages. Built from fixed data so a refresh is
//! idempotent: running `stride demo` again updates what exists and adds only what is missing.
//! Each later feature adds its own section here, so a newcomer always sees a living clinic.

use anyhow::Context;
use stride_core::email::EmailAddress;
use stride_core::hours::WeeklyHours;
use stride_core::phone::PhoneE164;
use stride_core::role::Role;
use stride_core::slug::Slug;
use stride_core::tz::TimeZoneName;
use stride_store::Store;
use stride_store::audit::Actor;
use stride_store::messages::{Channel, NewMessage};
use stride_store::patients::{PatientInput, PatientQuery};
use stride_store::tenancy::{ClinicianInput, LocationInput};

mod calls;
mod care;
mod leads;
mod schedule;

pub const SLUG: &str = "riverside";
pub const PASSWORD: &str = "riverside-demo";
pub const DOMAIN: &str = "riversidept.example";

/// (role, email, name) of the demo logins.
pub const LOGINS: &[(Role, &str, &str)] = &[
    (Role::Owner, "owner@riversidept.example", "Dana Reyes"),
    (
        Role::FrontDesk,
        "frontdesk@riversidept.example",
        "Marcus Lee",
    ),
    (
        Role::Clinician,
        "clinician@riversidept.example",
        "Dr. Priya Natarajan",
    ),
    (
        Role::Marketer,
        "marketer@brightpath.example",
        "Sam Okafor (BrightPath Marketing)",
    ),
];

const LOCATIONS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Riverside Downtown",
        "410 River St, Suite 200, Naperville, IL 60540",
        "(630) 555-0142",
        "America/Chicago",
        "Mon-Fri 07:00-19:00; Sat 08:00-12:00",
    ),
    (
        "Riverside Lakewood",
        "7550 W Alameda Ave, Lakewood, CO 80226",
        "(303) 555-0187",
        "America/Denver",
        "Mon-Thu 07:00-18:00; Fri 07:00-15:00",
    ),
];

/// (name, credentials, location index)
const CLINICIANS: &[(&str, &str, usize)] = &[
    ("Dr. Priya Natarajan", "PT, DPT, OCS", 0),
    ("Jordan Whitfield", "PT, DPT", 0),
    ("Elena Vasquez", "PT, DPT, SCS", 0),
    ("Michael Chen", "PT, MPT", 1),
    ("Aisha Thompson", "PT, DPT, CSCS", 1),
];

const HOLIDAYS: &[(&str, &str)] = &[
    ("2026-11-26", "Thanksgiving"),
    ("2026-12-25", "Christmas Day"),
    ("2027-01-01", "New Year's Day"),
];

/// (first, last, phone, email, birth date, member id)
const PATIENTS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "Olivia",
        "Martinez",
        "(630) 555-0101",
        "olivia.martinez@example.com",
        "1984-03-27",
        "BCX448120931",
    ),
    (
        "Noah",
        "Johnson",
        "(630) 555-0102",
        "noah.j@example.com",
        "1979-11-02",
        "UHC902334118",
    ),
    (
        "Emma",
        "Williams",
        "(630) 555-0103",
        "emma.w@example.com",
        "1991-06-15",
        "",
    ),
    (
        "Liam",
        "Brown",
        "(303) 555-0104",
        "liam.brown@example.com",
        "1967-01-09",
        "AET55120984",
    ),
    (
        "Ava",
        "Garcia",
        "(303) 555-0105",
        "ava.garcia@example.com",
        "2002-09-30",
        "CIG31877402",
    ),
    (
        "Ethan",
        "Davis",
        "(630) 555-0106",
        "",
        "1958-04-21",
        "MCR1EG4TE5MK73",
    ),
    (
        "Sophia",
        "Rodriguez",
        "(303) 555-0107",
        "sophia.r@example.com",
        "1988-12-03",
        "",
    ),
    (
        "Mason",
        "Wilson",
        "(630) 555-0108",
        "mason.wilson@example.com",
        "1973-07-18",
        "BCX448551207",
    ),
];

/// A second practice that the agency marketer also serves, so the practice switcher has a use.
const OTHER: (&str, &str, &str, &str, &str, &str) = (
    "summit",
    "Summit Sports Rehab",
    "Summit Downtown",
    "(720) 555-0150",
    "America/Denver",
    "Mon-Fri 06:30-19:30",
);

pub struct DemoSummary {
    pub practice_id: i64,
    pub created: bool,
}

pub async fn seed(store: &Store) -> anyhow::Result<DemoSummary> {
    let actor = Actor::system("demo");
    let org = match store
        .find_organization_by_name("Riverside Health Group")
        .await?
    {
        Some(o) => o,
        None => {
            store
                .create_organization("Riverside Health Group", "group")
                .await?
        }
    };
    let (practice, created) = match store.practice_by_slug(SLUG).await {
        Ok(p) => (p, false),
        Err(stride_store::StoreError::NotFound) => (
            store
                .create_practice(org.id, &Slug::parse(SLUG)?, "Riverside Physical Therapy")
                .await?,
            true,
        ),
        Err(e) => return Err(e.into()),
    };
    store
        .update_practice(
            practice.id,
            &stride_store::tenancy::PracticeUpdate {
                name: "Riverside Physical Therapy".into(),
                website: Some("https://riversidept.example".into()),
                idle_timeout_minutes: practice.idle_timeout_minutes,
            },
        )
        .await?;

    // Locations, updated in place by name.
    let existing = store.locations(practice.id).await?;
    let mut location_ids = Vec::new();
    for (name, address, phone, tz, hours) in LOCATIONS {
        let input = LocationInput {
            name: name.to_string(),
            address: address.to_string(),
            main_phone: PhoneE164::parse(phone)?,
            time_zone: TimeZoneName::parse(tz)?,
            hours: WeeklyHours::parse(hours)?,
        };
        let loc = match existing.iter().find(|l| l.name == *name) {
            Some(l) => store.update_location(practice.id, l.id, &input).await?,
            None => store.create_location(practice.id, &input).await?,
        };
        let holidays = store.holidays(practice.id, loc.id).await?;
        for (day, hname) in HOLIDAYS {
            if !holidays.iter().any(|h| h.day == *day) {
                store
                    .add_holiday(practice.id, loc.id, day.parse()?, hname)
                    .await?;
            }
        }
        location_ids.push(loc.id);
    }

    let clinicians = store.clinicians(practice.id).await?;
    for (name, credentials, loc) in CLINICIANS {
        let input = ClinicianInput {
            name: name.to_string(),
            credentials: credentials.to_string(),
            location_id: Some(location_ids[*loc]),
            active: true,
        };
        let clinician = match clinicians.iter().find(|c| c.name == *name) {
            Some(c) => store.update_clinician(practice.id, c.id, &input).await?,
            None => store.create_clinician(practice.id, &input).await?,
        };
        // Weekly hours inside the location's: a morning and an afternoon with lunch between.
        let shifts = stride_core::hours::parse_shifts(match loc {
            0 => "Mon-Fri 07:00-12:00, 13:00-19:00; Sat 08:00-12:00",
            _ => "Mon-Thu 07:00-12:00, 13:00-18:00; Fri 07:00-15:00",
        })?;
        store
            .set_clinician_hours(
                practice.id,
                clinician.id,
                location_ids[*loc],
                &shifts,
                &actor,
            )
            .await?;
    }

    // One login per role; a refresh resets the demo password.
    for (role, email, name) in LOGINS {
        let email = EmailAddress::parse(email)?;
        let user = match store.user_by_email(&email).await? {
            Some(u) => {
                store.set_password(u.id, PASSWORD).await?;
                u
            }
            None => store.create_user(&email, name, PASSWORD).await?,
        };
        store.grant_role(user.id, practice.id, *role).await?;
    }

    if store.patient_count(practice.id).await? == 0 {
        for (first, last, phone, email, birth, member) in PATIENTS {
            let input = PatientInput {
                first_name: first.to_string(),
                last_name: last.to_string(),
                phone: Some(PhoneE164::parse(phone)?),
                email: (!email.is_empty())
                    .then(|| EmailAddress::parse(email))
                    .transpose()?,
                birth_date: Some(birth.parse()?),
                address: None,
                member_id: (!member.is_empty()).then(|| member.to_string()),
                sms_consent: true,
                email_consent: !email.is_empty(),
            };
            store.create_patient(practice.id, &input, &actor).await?;
        }
    }

    // A few messages through the default provider, so the message log shows the flow.
    // The first three of the demo's named patients (not the newest: the schedule adds patients).
    let mut patients = Vec::new();
    for (_, _, phone, _, _, _) in PATIENTS.iter().take(3) {
        patients.extend(
            store
                .patients(
                    practice.id,
                    &PatientQuery::Phone(PhoneE164::parse(phone)?),
                    1,
                    &actor,
                )
                .await?,
        );
    }
    for p in &patients {
        if let Some(phone) = &p.phone {
            store
                .queue_message(
                    practice.id,
                    &NewMessage {
                        channel: Channel::Sms,
                        to: phone.clone(),
                        subject: None,
                        body: format!(
                            "Hi {}, this is Riverside Physical Therapy confirming your visit. Reply C to confirm or call (630) 555-0142. Reply STOP to opt out.",
                            p.first_name
                        ),
                        purpose: "demo reminder".into(),
                        idempotency_key: Some(format!("demo:reminder:{}", p.id)),
                    },
                )
                .await?;
        }
    }

    seed_website(store, practice.id)
        .await
        .context("the demo website")?;

    leads::seed(store, practice.id)
        .await
        .context("the demo leads")?;

    schedule::seed(
        store,
        practice.id,
        "Marcus Lee <frontdesk@riversidept.example>",
    )
    .await
    .context("the demo schedule")?;

    seed_other_practice(store)
        .await
        .context("the second demo practice")?;
    Ok(DemoSummary {
        practice_id: practice.id,
        created,
    })
}

/// The clinic's website with its goals and twelve months of visits (written once).
async fn seed_website(store: &Store, practice_id: i64) -> anyhow::Result<()> {
    use stride_store::website::reports::{GoalCategory, GoalKind};
    let site = match store.sites(practice_id).await?.into_iter().next() {
        Some(site) => site,
        None => {
            store
                .create_site(practice_id, DOMAIN, &["service".to_string()], false)
                .await?
        }
    };
    if store.goals(practice_id, site.id).await?.is_empty() {
        let goals = [
            (
                "Appointment request",
                GoalKind::Event,
                "Appointment Request",
                GoalCategory::LeadAction,
            ),
            (
                "Reached the thank-you page",
                GoalKind::Page,
                "/thank-you*",
                GoalCategory::LeadAction,
            ),
            (
                "Call tap",
                GoalKind::Event,
                "Phone Call",
                GoalCategory::LeadAction,
            ),
            (
                "Back pain guide download",
                GoalKind::Event,
                "Guide Download",
                GoalCategory::EarlyInterest,
            ),
            (
                "Condition page read",
                GoalKind::Page,
                "/conditions/*",
                GoalCategory::EarlyInterest,
            ),
        ];
        for (name, kind, pattern, category) in goals {
            store
                .create_goal(practice_id, site.id, name, kind, pattern, category)
                .await?;
        }
    }
    if store
        .recent_events(practice_id, site.id, 1)
        .await?
        .is_empty()
    {
        crate::traffic::generate(store, &site, 365, 40, 42).await?;
    }
    // The owner and the agency get the weekly summary by email.
    if store.report_emails(practice_id, site.id).await?.is_empty() {
        for (_, email, _) in [LOGINS[0], LOGINS[3]] {
            store
                .add_report_email(
                    practice_id,
                    site.id,
                    &EmailAddress::parse(email)?,
                    &Actor::system("demo"),
                )
                .await?;
        }
    }
    seed_insights(store, practice_id, site.id).await
}

/// The demo's funnel, condition pages, clicked-vs-confirmed pairing and home-page heatmap.
async fn seed_insights(store: &Store, practice_id: i64, site_id: i64) -> anyhow::Result<()> {
    use stride_store::website::insights::FunnelStep;
    use stride_store::website::reports::GoalKind;
    let goals = store.goals(practice_id, site_id).await?;
    let named = |n: &str| {
        goals
            .iter()
            .find(|g| g.name == n)
            .map(|g| (g.id, g.confirmed_by))
    };
    if let (Some((request, None)), Some((thanks, _))) = (
        named("Appointment request"),
        named("Reached the thank-you page"),
    ) {
        store
            .set_goal_confirmation(practice_id, request, Some(thanks))
            .await?;
    }
    if store.funnels(practice_id, site_id).await?.is_empty() {
        let step = |kind, pattern: &str| FunnelStep {
            kind,
            pattern: pattern.into(),
        };
        store
            .create_funnel(
                practice_id,
                site_id,
                "Home page to appointment",
                &[
                    step(GoalKind::Page, "/"),
                    step(GoalKind::Page, "/request-appointment"),
                    step(GoalKind::Event, "Appointment Request"),
                    step(GoalKind::Page, "/thank-you*"),
                ],
            )
            .await?;
    }
    if store
        .condition_pages(practice_id, site_id)
        .await?
        .is_empty()
    {
        for (condition, pattern) in [
            ("Back pain", "/conditions/back-pain*"),
            ("Back pain", "/blog/5-stretches-for-lower-back-pain"),
            ("Knee pain", "/conditions/knee-pain*"),
            ("Sciatica", "/conditions/sciatica*"),
            ("Shoulder pain", "/conditions/shoulder-pain*"),
        ] {
            store
                .add_condition_page(practice_id, site_id, condition, pattern)
                .await?;
        }
    }
    if store.heatmaps(practice_id, site_id).await?.is_empty() {
        store
            .create_heatmap(practice_id, site_id, "/", "#request-appointment")
            .await?;
        for (device, depth) in crate::traffic::home_cta_depths() {
            store.report_cta_depth(site_id, "/", device, depth).await?;
        }
        let site = store.site(practice_id, site_id).await?;
        crate::traffic::generate_clicks(store, &site, 365, 9, 42).await?;
    }
    Ok(())
}

async fn seed_other_practice(store: &Store) -> anyhow::Result<()> {
    let (slug, name, loc_name, phone, tz, hours) = OTHER;
    let org = match store
        .find_organization_by_name("Summit Sports Rehab LLC")
        .await?
    {
        Some(o) => o,
        None => {
            store
                .create_organization("Summit Sports Rehab LLC", "group")
                .await?
        }
    };
    let practice = match store.practice_by_slug(slug).await {
        Ok(p) => p,
        Err(stride_store::StoreError::NotFound) => {
            store
                .create_practice(org.id, &Slug::parse(slug)?, name)
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    if store.locations(practice.id).await?.is_empty() {
        store
            .create_location(
                practice.id,
                &LocationInput {
                    name: loc_name.into(),
                    address: "1600 Wazee St, Denver, CO 80202".into(),
                    main_phone: PhoneE164::parse(phone)?,
                    time_zone: TimeZoneName::parse(tz)?,
                    hours: WeeklyHours::parse(hours)?,
                },
            )
            .await?;
    }
    let marketer = EmailAddress::parse(LOGINS[3].1)?;
    if let Some(u) = store.user_by_email(&marketer).await? {
        store.grant_role(u.id, practice.id, Role::Marketer).await?;
    }
    // The owner of Summit is separate from Riverside's team.
    let owner = EmailAddress::parse("owner@summitrehab.example")?;
    let user = match store.user_by_email(&owner).await? {
        Some(u) => u,
        None => {
            store
                .create_user(&owner, "Chris Albright", PASSWORD)
                .await?
        }
    };
    store.grant_role(user.id, practice.id, Role::Owner).await?;
    // A smaller site than Riverside's, so the agency's view of all its clinics compares two.
    use stride_store::website::reports::{GoalCategory, GoalKind};
    if store.sites(practice.id).await?.is_empty() {
        let site = store
            .create_site(practice.id, "summitrehab.example", &[], false)
            .await?;
        for (name, kind, pattern) in [
            (
                "Appointment request",
                GoalKind::Event,
                "Appointment Request",
            ),
            ("Reached the thank-you page", GoalKind::Page, "/thank-you*"),
            ("Call tap", GoalKind::Event, "Phone Call"),
        ] {
            store
                .create_goal(
                    practice.id,
                    site.id,
                    name,
                    kind,
                    pattern,
                    GoalCategory::LeadAction,
                )
                .await?;
        }
        crate::traffic::generate(store, &site, 365, 15, 43).await?;
    }
    // A quarter of its appointment requests, so the agency's comparison has leads on both sides.
    if store
        .lead_rows(practice.id, stride_store::leads::Inbox::All, 1)
        .await?
        .is_empty()
    {
        use stride_store::leads::{Basis, LeadInput, Touch};
        let names = [
            ("Jordan", "Pike"),
            ("Alexis", "Moreno"),
            ("Tyler", "Brandt"),
            ("Renee", "Walsh"),
            ("Omar", "Haddad"),
            ("Kelsey", "Ng"),
        ];
        let now = stride_store::now_ms();
        for i in 0..27i64 {
            let (first, last) = names[i as usize % names.len()];
            let mut input = LeadInput::new(stride_core::leads::Origin::Form);
            input.first_name = first.into();
            input.last_name = last.into();
            // The fictional 555-02xx range, apart from Riverside's people.
            input.phone = Some(PhoneE164::parse(&format!("(720) 555-02{:02}", 10 + i))?);
            input.service = "Sports injury".into();
            input.basis = Basis::Website;
            let (source, channel) = if i % 3 == 0 {
                ("Facebook", "paid_social")
            } else {
                ("Google", "organic_search")
            };
            input.touch = Touch {
                source: source.into(),
                channel: channel.into(),
                campaign: String::new(),
                landing: "/".into(),
            };
            // One every three or four days, the newest yesterday.
            input.at = Some(now - (1 + i * 10 / 3) * 86_400_000);
            store
                .capture_lead(practice.id, &input, &Actor::system("demo"))
                .await?;
        }
    }
    Ok(())
}
