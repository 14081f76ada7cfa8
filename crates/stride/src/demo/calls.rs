//! The demo's call tracking: fixed numbers for the places the clinic's number is listed, a website
//! pool for dynamic number insertion, the keypad menu off and a missed-call text on, and a year of
//! calls of every class through the same path Twilio's webhooks take: patients rescheduling,
//! quick questions, and (from the leads section) new patients, some of them missed. Most calls
//! were reviewed by the front desk, a few corrected.

use stride_core::calls::CallClass;
use stride_core::phone::PhoneE164;
use stride_store::Store;
use stride_store::audit::Actor;
use stride_store::calls::{CallRow, NumberInput, tracked_call_event};
use stride_store::leads::Touch;
use stride_store::website::VisitCache;

use crate::traffic::Rng;

/// number, label, source, channel, campaign (index into the leads section's campaigns), pool
type DemoNumber = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<usize>,
    bool,
);

pub(super) const NUMBERS: &[DemoNumber] = &[
    (
        "(872) 555-0140",
        "Google Business Profile",
        "Google",
        "organic_search",
        Some(2),
        false,
    ),
    (
        "(872) 555-0141",
        "Google Ads call extension",
        "Google",
        "paid_search",
        Some(0),
        false,
    ),
    (
        "(872) 555-0142",
        "Facebook ad",
        "Facebook",
        "paid_social",
        Some(1),
        false,
    ),
    (
        "(872) 555-0143",
        "Health fair flyer",
        "flyer",
        "offline",
        Some(4),
        false,
    ),
    (
        "(872) 555-0144",
        "Physician referral line",
        "drsmithortho.com",
        "referral",
        Some(5),
        false,
    ),
    (
        "(872) 555-0145",
        "Yelp listing",
        "Yelp",
        "referral",
        None,
        false,
    ),
    ("(872) 555-0150", "Website pool", "", "", None, true),
    ("(872) 555-0151", "Website pool", "", "", None, true),
    ("(872) 555-0152", "Website pool", "", "", None, true),
];

pub(super) const MISSED_TEXT: &str = "Sorry we missed your call! This is Riverside Physical Therapy. \
     Reply here with a good time to call back, or book an evaluation at riversidept.example.";

/// The tracking numbers (created once) and the call settings.
pub(super) async fn seed_numbers(
    store: &Store,
    practice_id: i64,
    campaign_ids: &[i64],
    actor: &Actor,
) -> anyhow::Result<()> {
    let existing = store.tracking_numbers(practice_id).await?;
    let downtown = store.locations(practice_id).await?.first().map(|l| l.id);
    for (number, label, source, channel, campaign, pool) in NUMBERS {
        let number = PhoneE164::parse(number)?;
        if existing.iter().any(|n| n.number == number.as_str()) {
            continue;
        }
        store
            .create_tracking_number(
                practice_id,
                &NumberInput {
                    number,
                    label: label.to_string(),
                    source: source.to_string(),
                    channel: channel.to_string(),
                    campaign_id: campaign.and_then(|i| campaign_ids.get(i).copied()),
                    location_id: downtown,
                    pool: *pool,
                    active: true,
                },
                actor,
            )
            .await?;
    }
    let (ivr, text) = store.call_settings(practice_id).await?;
    if !ivr && text.is_empty() {
        store
            .set_call_settings(practice_id, false, MISSED_TEXT, actor)
            .await?;
    }
    Ok(())
}

/// A call from `from` to the tracking number `number` at `at`: answered for `seconds`, or missed
/// when 0. Idempotent on the call's `sid`.
pub(super) async fn call(
    store: &Store,
    number: &str,
    sid: &str,
    from: &PhoneE164,
    at: i64,
    seconds: i64,
) -> anyhow::Result<Option<CallRow>> {
    let Some(route) = store
        .number_route(PhoneE164::parse(number)?.as_str())
        .await?
    else {
        return Ok(None);
    };
    let (_, created) = store
        .start_call(&route, sid, Some(from), "ringing", at)
        .await?;
    if created {
        let dial = if seconds > 0 {
            "completed"
        } else {
            "no-answer"
        };
        store
            .call_dialed(route.practice_id, sid, dial, seconds)
            .await?;
    }
    let done = store
        .finish_call(
            route.practice_id,
            sid,
            "completed",
            at + (seconds.max(25)) * 1000,
        )
        .await?;
    Ok(Some(done.call))
}

/// A CallSid as Twilio writes them: "CA" and 32 hex digits.
pub(super) fn sid(kind: u8, n: u64) -> String {
    format!("CA{kind:02x}{n:030x}")
}

/// Calls that are not new patients: patients (mostly rescheduling) and quick questions, a year
/// of them, most reviewed by the front desk and a few corrected.
pub(super) async fn seed_other_calls(
    store: &Store,
    practice_id: i64,
    actor: &Actor,
    starts: &[(i64, i64)],
) -> anyhow::Result<()> {
    let patients = store
        .patients(
            practice_id,
            &stride_store::patients::PatientQuery::All,
            50,
            &Actor::system("demo"),
        )
        .await?;
    let phones: Vec<PhoneE164> = patients
        .iter()
        .filter_map(|p| p.phone.as_deref().and_then(|s| PhoneE164::parse(s).ok()))
        .collect();
    let now = stride_store::now_ms();
    // A few texts to the Google Business Profile number.
    if let Some(route) = store
        .number_route(PhoneE164::parse(NUMBERS[0].0)?.as_str())
        .await?
    {
        for (i, (from, body, hours_ago)) in [
            (
                "(815) 555-0131",
                "Do you take Aetna? My doctor says I need PT for my knee",
                30,
            ),
            ("(815) 555-0132", "What time do you open on Saturday?", 6),
            ("(815) 555-0133", "STOP", 3),
        ]
        .into_iter()
        .enumerate()
        {
            store
                .receive_sms(
                    &route,
                    &format!("SM{:032x}", i + 1),
                    &PhoneE164::parse(from)?,
                    body,
                    now - hours_ago * 3_600_000,
                )
                .await?;
        }
    }
    let mut rng = Rng(0xca11_5eed);
    let mut n = 0u64;
    for (month_start, days) in starts {
        for _ in 0..26 {
            n += 1;
            let at = month_start
                + rng.below(*days as u64) as i64 * 86_400_000
                + (13 + rng.below(10) as i64) * 3_600_000
                + rng.below(60) as i64 * 60_000;
            if at > now - 600_000 {
                continue;
            }
            let number = NUMBERS[if rng.chance(70) { 0 } else { 6 }].0;
            let (from, seconds, kind) = if rng.chance(65) && !phones.is_empty() {
                let p = &phones[rng.below(phones.len() as u64) as usize];
                let seconds = if rng.chance(12) {
                    0
                } else {
                    60 + rng.below(200) as i64
                };
                (p.clone(), seconds, 1)
            } else {
                let unknown = PhoneE164::parse(&format!("(815) 555-01{:02}", rng.below(90) + 10))?;
                (unknown, 15 + rng.below(28) as i64, 2)
            };
            let Some(c) = call(store, number, &sid(kind, n), &from, at, seconds).await? else {
                continue;
            };
            review(store, practice_id, &c, actor, &mut rng, now).await?;
        }
    }
    Ok(())
}

/// Calls from website visitors to the number the site showed them (the pool), as the voice webhook
/// records them: about one mobile visit in 50 of those no fixed number serves calls a minute after
/// its last page, and becomes a `Tracked Call` event of that visit, which the "Tracked call" goal
/// counts. Written once.
pub(super) async fn seed_website_calls(
    store: &Store,
    practice_id: i64,
    actor: &Actor,
) -> anyhow::Result<()> {
    if store.call_by_sid(practice_id, &sid(3, 1)).await.is_ok() {
        return Ok(());
    }
    let Some(site) = store.sites(practice_id).await?.into_iter().next() else {
        return Ok(());
    };
    let visits = sqlx::query(
        "SELECT id FROM visits WHERE site_id = $1 AND device = 'mobile' ORDER BY started_at",
    )
    .bind(site.id)
    .fetch_all(store.pool())
    .await?;
    let now = stride_store::now_ms();
    let mut rng = Rng(0x0dd_ca11);
    let mut cache = VisitCache::default();
    let mut n = 0u64;
    for row in visits {
        let visit_id: i64 = sqlx::Row::try_get(&row, "id")?;
        if !rng.chance(2) {
            continue;
        }
        let Some((site_id, visitor_id, visit)) = store.visit_by_id(practice_id, visit_id).await?
        else {
            continue;
        };
        let at = visit.last_at + 60_000;
        if at > now - 600_000 {
            continue;
        }
        let touch = Touch {
            source: visit.source.clone(),
            channel: visit.channel.clone(),
            campaign: visit.campaign.clone(),
            landing: visit.entry_path.clone(),
        };
        let Some(number) = store
            .number_for_visitor(practice_id, site_id, visitor_id, &touch, visit.started_at)
            .await?
            .filter(|number| number.pool)
        else {
            continue;
        };
        n += 1;
        let from = PhoneE164::parse(&format!("(331) 555-01{:02}", 10 + n % 90))?;
        let seconds = if rng.chance(15) {
            0
        } else {
            90 + rng.below(400) as i64
        };
        let Some(c) = call(store, &number.number, &sid(3, n), &from, at, seconds).await? else {
            continue;
        };
        review(store, practice_id, &c, actor, &mut rng, now).await?;
        if c.visit_id != Some(visit_id) {
            continue;
        }
        let event = tracked_call_event(site_id, practice_id, visitor_id, &visit, &c);
        store.insert_events(&[event], &mut cache).await?;
    }
    // The server may have rolled up those days meanwhile.
    store.forget_digests(practice_id).await?;
    Ok(())
}

/// The front desk reviews most calls older than a day: confirms the class, and now and then
/// corrects a quick "question" that was really a patient calling from another phone.
pub(super) async fn review(
    store: &Store,
    practice_id: i64,
    c: &CallRow,
    actor: &Actor,
    rng: &mut Rng,
    now: i64,
) -> anyhow::Result<()> {
    if c.class.is_some() || c.started_at > now - 86_400_000 || !rng.chance(75) {
        return Ok(());
    }
    let Some(auto) = c.auto_class else {
        return Ok(());
    };
    let class = if auto == CallClass::General && rng.chance(25) {
        CallClass::ExistingPatient
    } else {
        auto
    };
    store
        .set_call_class(practice_id, c.id, class, actor)
        .await?;
    Ok(())
}
