//! The demo's year of leads: campaigns with monthly spend (one paid campaign stopped four months ago,
//! a mailer that ran for two months), about 35 inquiries a month by form, call and front desk from
//! every channel, each worked through its lifecycle at realistic times, a faster callback habit in
//! the last six months, and a few fresh leads still waiting in the inbox. Written once, when the
//! practice has no lead yet.

use jiff::{Span, Timestamp, ToSpan};
use stride_core::email::EmailAddress;
use stride_core::leads::{
    CampaignKind, Fit, Interest, Likelihood, LostReason, Origin, Qualification, Stage,
};
use stride_core::phone::PhoneE164;
use stride_store::Store;
use stride_store::audit::Actor;
use stride_store::campaigns::CampaignInput;
use stride_store::leads::{Basis, Captured, ContactKind, LeadInput, Touch};

use crate::traffic::Rng;

/// A campaign: name, kind, UTM source / medium / campaign, monthly spend in dollars, and the
/// months (0 = this month, 11 = eleven months ago) it ran.
struct DemoCampaign {
    name: &'static str,
    kind: CampaignKind,
    utm: (&'static str, &'static str, &'static str),
    monthly: i64,
    months: std::ops::RangeInclusive<i64>,
}

const CAMPAIGNS: &[DemoCampaign] = &[
    DemoCampaign {
        name: "Google Ads: back pain",
        kind: CampaignKind::PaidAds,
        utm: ("google", "cpc", "Back pain – search"),
        monthly: 1_400,
        months: 0..=11,
    },
    DemoCampaign {
        name: "Facebook: spring open house",
        kind: CampaignKind::PaidAds,
        utm: ("facebook", "paid_social", "Spring open house"),
        monthly: 750,
        months: 4..=11,
    },
    DemoCampaign {
        name: "SEO and blog (BrightPath retainer)",
        kind: CampaignKind::Seo,
        utm: ("", "", ""),
        monthly: 900,
        months: 0..=11,
    },
    DemoCampaign {
        name: "Monthly newsletter",
        kind: CampaignKind::Email,
        utm: ("newsletter", "email", "Monthly newsletter"),
        monthly: 60,
        months: 0..=11,
    },
    DemoCampaign {
        name: "Health fair flyers",
        kind: CampaignKind::DirectMail,
        utm: ("flyer", "print", "Health fair flyer"),
        monthly: 2_200,
        months: 7..=8,
    },
    DemoCampaign {
        name: "Physician office outreach",
        kind: CampaignKind::ColdCalling,
        utm: ("", "", ""),
        monthly: 400,
        months: 0..=5,
    },
];

/// Where an inquiry came from: source, channel, the campaign (by index into CAMPAIGNS), and how
/// likely such a lead qualifies (percent).
struct Inflow {
    source: &'static str,
    channel: &'static str,
    campaign: Option<usize>,
    /// The tracking number (index into the calls section's numbers) such callers dial.
    number: Option<usize>,
    qualifies: u64,
}

const ORGANIC: Inflow = Inflow {
    source: "Google",
    channel: "organic_search",
    campaign: Some(2),
    number: Some(0),
    qualifies: 70,
};
const PAID_SEARCH: Inflow = Inflow {
    source: "Google",
    channel: "paid_search",
    campaign: Some(0),
    number: Some(1),
    qualifies: 66,
};
const PAID_SOCIAL: Inflow = Inflow {
    source: "Facebook",
    channel: "paid_social",
    campaign: Some(1),
    number: Some(2),
    qualifies: 45,
};
const NEWSLETTER: Inflow = Inflow {
    source: "newsletter",
    channel: "email",
    campaign: Some(3),
    number: None,
    qualifies: 75,
};
const FLYER: Inflow = Inflow {
    source: "flyer",
    channel: "offline",
    campaign: Some(4),
    number: Some(3),
    qualifies: 55,
};
const PHYSICIAN: Inflow = Inflow {
    source: "drsmithortho.com",
    channel: "referral",
    campaign: Some(5),
    number: Some(4),
    qualifies: 85,
};
const YELP: Inflow = Inflow {
    source: "Yelp",
    channel: "referral",
    campaign: None,
    number: Some(5),
    qualifies: 65,
};
const DIRECT: Inflow = Inflow {
    source: "Direct",
    channel: "direct",
    campaign: None,
    number: None,
    qualifies: 70,
};
/// "A friend told me": recorded by the front desk, no channel.
const WORD_OF_MOUTH: Inflow = Inflow {
    source: "Word of mouth",
    channel: "",
    campaign: None,
    number: None,
    qualifies: 80,
};

const FIRST: &[&str] = &[
    "Grace", "Henry", "Chloe", "Owen", "Zoe", "Caleb", "Nora", "Isaac", "Lily", "Wyatt", "Hannah",
    "Julian", "Aria", "Levi", "Ellie", "Gabriel", "Stella", "Hudson", "Violet", "Miles",
];
const LAST: &[&str] = &[
    "Patel",
    "Nguyen",
    "Kowalski",
    "O'Brien",
    "Schmidt",
    "Okonkwo",
    "Larsen",
    "Romero",
    "Fischer",
    "Haddad",
    "Novak",
    "Sullivan",
    "Ivanova",
    "Castillo",
    "Yamamoto",
    "Becker",
    "Duarte",
    "Lindqvist",
];
const SERVICES: &[(&str, &str, u64)] = &[
    ("Back pain", "/conditions/back-pain", 30),
    ("Knee pain", "/conditions/knee-pain", 20),
    ("Sciatica", "/conditions/sciatica", 15),
    ("Shoulder pain", "/conditions/shoulder-pain", 12),
    ("Dry needling", "/services/dry-needling", 8),
    ("Sports injury", "/", 10),
    ("Post-surgery rehab", "/", 5),
];
const PAYERS: &[(&str, u64)] = &[
    ("Blue Cross Blue Shield", 30),
    ("UnitedHealthcare", 18),
    ("Aetna", 12),
    ("Medicare", 14),
    ("Cigna", 8),
    ("Self-pay", 14),
    ("Humana", 4),
];
const AREA_CODES: &[&str] = &["630", "331", "708", "303", "720"];

/// The inquiries of a month `back` months ago, by where they came from: the paid social campaign's
/// leads fade after its spend stopped, the flyers bring a burst, organic search grows with the SEO work.
fn inflow(back: i64) -> Vec<(&'static Inflow, u64)> {
    let social = match back {
        4..=11 => 6,
        3 => 3,
        2 => 2,
        1 => 1,
        _ => 0,
    };
    let flyer = match back {
        7 | 8 => 9,
        6 => 3,
        _ => 0,
    };
    let physician = if back <= 5 { 4 } else { 1 };
    vec![
        (&ORGANIC, 8 + (11 - back as u64) / 2),
        (&PAID_SEARCH, 7),
        (&PAID_SOCIAL, social),
        (&NEWSLETTER, 2),
        (&FLYER, flyer),
        (&PHYSICIAN, physician),
        (&YELP, 2),
        (&DIRECT, 3),
        (&WORD_OF_MOUTH, 3),
    ]
}

pub(super) async fn seed(store: &Store, practice_id: i64) -> anyhow::Result<()> {
    let front_desk = store
        .user_by_email(&EmailAddress::parse(super::LOGINS[1].1)?)
        .await?;
    let actor = match front_desk {
        Some(u) => Actor {
            label: format!("{} <{}>", u.name, u.email),
            user_id: Some(u.id),
            token_id: None,
            ip: String::new(),
        },
        None => Actor::system("demo"),
    };
    let campaign_ids = seed_campaigns(store, practice_id, &actor).await?;
    super::calls::seed_numbers(store, practice_id, &campaign_ids, &actor).await?;
    if store.new_patient_value(practice_id).await? == 0 {
        store
            .set_new_patient_value(practice_id, 115_000, &actor)
            .await?;
    }

    // Written once: the history is replayed from one random stream, so a second pass would not
    // line up with the first.
    if !store
        .lead_rows(practice_id, stride_store::leads::Inbox::All, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let tz = store.practice_time_zone(practice_id).await?;
    let now = stride_store::now_ms();
    let today = Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let this_month = today.first_of_month();
    let morning = today
        .to_zoned_datetime(tz.clone())?
        .checked_add(Span::new().hours(9))?
        .timestamp()
        .as_millisecond();
    let mut rng = Rng(0x1ead_5eed);
    let mut n = 0usize;
    let mut months = Vec::new();
    for back in (0..12).rev() {
        let month = this_month.checked_sub(back.months())?;
        let days = if back == 0 {
            i64::from(today.day())
        } else {
            i64::from(month.days_in_month())
        };
        months.push((
            month
                .to_zoned_datetime(tz.clone())?
                .timestamp()
                .as_millisecond(),
            days,
        ));
        let weights = inflow(back);
        let per_month = weights.iter().map(|w| w.1).sum::<u64>();
        // Scaled to the days of the month that have passed.
        let count = per_month * days as u64 / i64::from(month.days_in_month()) as u64;
        for _ in 0..count {
            n += 1;
            let day = month.checked_add(Span::new().days(rng.below(days as u64) as i64))?;
            let minute = 7 * 60 + rng.below(13 * 60) as i64;
            let at = day
                .to_zoned_datetime(tz.clone())?
                .checked_add(Span::new().minutes(minute))?
                .timestamp()
                .as_millisecond();
            if at > now {
                continue;
            }
            let inflow = *rng.pick(&weights);
            lead(
                store,
                practice_id,
                &actor,
                &mut rng,
                n,
                at,
                now,
                back,
                inflow,
                &campaign_ids,
                morning,
            )
            .await?;
        }
    }
    super::calls::seed_other_calls(store, practice_id, &actor, &months).await?;
    super::calls::seed_website_calls(store, practice_id, &actor).await
}

async fn seed_campaigns(
    store: &Store,
    practice_id: i64,
    actor: &Actor,
) -> anyhow::Result<Vec<i64>> {
    let existing = store.campaigns(practice_id).await?;
    let tz = store.practice_time_zone(practice_id).await?;
    let this_month = Timestamp::now()
        .to_zoned_datetime(tz)
        .date()
        .first_of_month();
    let mut ids = Vec::new();
    for c in CAMPAIGNS {
        if let Some(found) = existing.iter().find(|e| e.name == c.name) {
            ids.push(found.id);
            continue;
        }
        let (utm_source, utm_medium, utm_campaign) = c.utm;
        let campaign = store
            .create_campaign(
                practice_id,
                &CampaignInput {
                    name: c.name.into(),
                    kind: c.kind,
                    utm_source: utm_source.into(),
                    utm_medium: utm_medium.into(),
                    utm_campaign: utm_campaign.into(),
                    archived: false,
                },
                actor,
            )
            .await?;
        for back in c.months.clone() {
            let month = this_month.checked_sub(back.months())?;
            store
                .set_campaign_spend(
                    practice_id,
                    campaign.id,
                    &format!("{:04}-{:02}", month.year(), month.month()),
                    c.monthly * 100,
                    actor,
                )
                .await?;
        }
        ids.push(campaign.id);
    }
    Ok(ids)
}

/// A follow-up due between 9 am and 5 pm today or tomorrow (`morning`: 9 am today, local).
fn due(rng: &mut Rng, morning: i64) -> i64 {
    morning + rng.below(2) as i64 * DAY + rng.below(8 * 4) as i64 * 15 * MINUTE
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One inquiry and what the front desk did with it, each step at its own time; steps that would lie
/// in the future are left for the staff to do.
#[allow(clippy::too_many_arguments)]
async fn lead(
    store: &Store,
    practice_id: i64,
    actor: &Actor,
    rng: &mut Rng,
    n: usize,
    at: i64,
    now: i64,
    back: i64,
    inflow: &Inflow,
    campaign_ids: &[i64],
    morning: i64,
) -> anyhow::Result<()> {
    let (service, landing) = {
        let picks: Vec<((&str, &str), u64)> =
            SERVICES.iter().map(|(s, l, w)| ((*s, *l), *w)).collect();
        *rng.pick(&picks)
    };
    let first = FIRST[rng.below(FIRST.len() as u64) as usize];
    let last = LAST[rng.below(LAST.len() as u64) as usize];
    // Unique numbers in the fictional 555-01xx range, so no two demo people match by accident.
    let phone = format!(
        "({}) 555-01{:02}",
        AREA_CODES[n % AREA_CODES.len()],
        10 + (n / AREA_CODES.len()) % 90
    );
    let website = !matches!(inflow.channel, "" | "offline") && rng.chance(75);
    let origin = if inflow.channel.is_empty() {
        Origin::FrontDesk
    } else if website {
        Origin::Form
    } else {
        Origin::Call
    };
    let campaign = inflow.campaign.and_then(|i| campaign_ids.get(i).copied());
    let utm_campaign = inflow.campaign.map(|i| CAMPAIGNS[i].utm.2).unwrap_or("");
    let mut input = LeadInput::new(origin);
    input.first_name = first.into();
    input.last_name = last.into();
    let phone = PhoneE164::parse(&phone)?;
    input.phone = Some(phone.clone());
    input.email = rng
        .chance(70)
        .then(|| {
            EmailAddress::parse(&format!(
                "{}.{}{n}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace('\'', "")
            ))
        })
        .transpose()?;
    input.service = service.into();
    input.payer = rng.pick(PAYERS).to_string();
    input.sms_consent = rng.chance(80);
    input.email_consent = input.email.is_some() && rng.chance(60);
    input.preferred_times =
        ["Mornings", "After 4 pm", "Lunchtime", "Any weekday", ""][rng.below(5) as usize].into();
    // Without a website visit, the source is what the caller told the front desk.
    input.basis = if website {
        Basis::Website
    } else {
        Basis::FrontDesk
    };
    input.touch = Touch {
        source: inflow.source.into(),
        channel: inflow.channel.into(),
        campaign: utm_campaign.into(),
        landing: if website {
            landing.into()
        } else {
            String::new()
        },
    };
    input.campaign_id = campaign;
    input.external_key = Some(format!("demo:lead:{n}"));
    input.at = Some(at);
    // A caller dials the number listed where they found the clinic: the call makes the lead (a
    // number only) and the front desk's entry below adds the name and what it is about.
    let mut call = None;
    let mut missed = false;
    if origin == Origin::Call
        && let Some(i) = inflow.number
    {
        missed = rng.chance(15);
        let seconds = if missed {
            0
        } else {
            120 + rng.below(360) as i64
        };
        let sid = super::calls::sid(0, n as u64);
        call = super::calls::call(store, super::calls::NUMBERS[i].0, &sid, &phone, at, seconds)
            .await?;
    }
    let (captured, row) = store.capture_lead(practice_id, &input, actor).await?;
    if captured == Captured::Duplicate {
        return Ok(());
    }
    let id = row.id;
    if let Some(c) = &call {
        super::calls::review(store, practice_id, c, actor, rng, now).await?;
    }

    // First contact: slow in the first half of the year, within minutes once the practice adopted a
    // callback rule six months ago. The newest leads are still waiting.
    let wait = if back >= 6 {
        [20 * MINUTE, 2 * HOUR, 5 * HOUR, 26 * HOUR][rng.below(4) as usize]
            + rng.below(30) as i64 * MINUTE
    } else {
        [2 * MINUTE, 4 * MINUTE, 9 * MINUTE, 45 * MINUTE][rng.below(4) as usize]
            + rng.below(3) as i64 * MINUTE
    };
    let mut t = at + if missed { wait / 2 } else { wait };
    if t > now {
        return Ok(());
    }
    // A few slip through the cracks: never reached, closed after two weeks.
    if rng.chance(4) {
        if at + 14 * DAY <= now {
            store
                .move_lead_at(
                    practice_id,
                    id,
                    Stage::Lost,
                    Some(LostReason::NoResponse),
                    actor,
                    at + 14 * DAY,
                )
                .await?;
            for task in store.lead_tasks(practice_id, Some(id), 10).await? {
                if task.done_at.is_none() {
                    store
                        .complete_lead_task(practice_id, task.id, actor)
                        .await?;
                }
            }
        }
        return Ok(());
    }
    let kind = if input.sms_consent && rng.chance(30) {
        ContactKind::Text
    } else {
        ContactKind::Call
    };
    let note = match kind {
        ContactKind::Text => "Texted to offer evaluation times this week.",
        _ => "Called back; talked through the evaluation and insurance.",
    };
    store
        .log_lead_contact_at(practice_id, id, kind, note, actor, t)
        .await?;
    // Some callers ring again before they are booked: a lead follow-up on the same lead.
    if let (Some(c), Some(i)) = (&call, inflow.number)
        && rng.chance(20)
    {
        let again = t + (1 + rng.below(20) as i64) * HOUR;
        if again < now {
            let sid = super::calls::sid(3, n as u64);
            let seconds = 60 + rng.below(240) as i64;
            if let Some(f) = super::calls::call(
                store,
                super::calls::NUMBERS[i].0,
                &sid,
                &phone,
                again,
                seconds,
            )
            .await?
            {
                debug_assert_eq!(f.lead_id, c.lead_id);
                super::calls::review(store, practice_id, &f, actor, rng, now).await?;
            }
        }
    }
    if missed {
        for task in store.lead_tasks(practice_id, Some(id), 10).await? {
            if task.done_at.is_none() {
                store
                    .complete_lead_task(practice_id, task.id, actor)
                    .await?;
            }
        }
    }

    let lose =
        |reason, at| store.move_lead_at(practice_id, id, Stage::Lost, Some(reason), actor, at);
    if !rng.chance(inflow.qualifies) {
        if t + DAY <= now {
            let reason = *rng.pick(&[
                (LostReason::NoResponse, 5),
                (LostReason::Insurance, 2),
                (LostReason::NotAFit, 2),
                (LostReason::Price, 1),
            ]);
            lose(reason, t + DAY).await?;
        }
        return Ok(());
    }
    // Qualified on the first call, or after the front desk checked the benefits.
    t += if rng.chance(60) {
        6 * MINUTE
    } else {
        (20 + rng.below(28) as i64) * HOUR
    };
    if t > now {
        store
            .add_lead_task(
                practice_id,
                id,
                "Verify insurance benefits and call back",
                due(rng, morning),
                actor,
            )
            .await?;
        return Ok(());
    }
    let fit = if input.payer == "Self-pay" && rng.chance(30) {
        Fit::Unsure
    } else {
        Fit::Yes
    };
    let q = Qualification {
        interest: *rng.pick(&[
            (Interest::High, 5),
            (Interest::Medium, 4),
            (Interest::Low, 1),
        ]),
        fit,
        likelihood: *rng.pick(&[
            (Likelihood::Likely, 5),
            (Likelihood::Maybe, 4),
            (Likelihood::Unlikely, 1),
        ]),
    };
    store.qualify_lead_at(practice_id, id, q, actor, t).await?;

    t += (1 + rng.below(70) as i64) * HOUR;
    if t > now {
        store
            .add_lead_task(
                practice_id,
                id,
                "Call back with evaluation times",
                due(rng, morning),
                actor,
            )
            .await?;
        return Ok(());
    }
    if !rng.chance(72) {
        let reason = *rng.pick(&[
            (LostReason::ChoseAnotherClinic, 3),
            (LostReason::NoResponse, 3),
            (LostReason::Price, 2),
            (LostReason::Insurance, 1),
        ]);
        lose(reason, t).await?;
        return Ok(());
    }
    store
        .move_lead_at(practice_id, id, Stage::EvaluationBooked, None, actor, t)
        .await?;

    // The evaluation happens some days later; most people come.
    t += (2 + rng.below(11) as i64) * DAY;
    if t > now {
        return Ok(());
    }
    if rng.chance(86) {
        store
            .move_lead_at(practice_id, id, Stage::BecamePatient, None, actor, t)
            .await?;
    } else {
        store
            .log_lead_contact_at(
                practice_id,
                id,
                ContactKind::Note,
                "Did not come to the evaluation.",
                actor,
                t,
            )
            .await?;
        lose(LostReason::NoResponse, t + DAY).await?;
    }
    Ok(())
}
