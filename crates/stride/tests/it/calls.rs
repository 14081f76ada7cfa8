//! Call tracking through Twilio's webhooks, with Twilio's exact parameters and signature scheme:
//! forwarding TwiML, the keypad menu, answered and missed calls, leads, tasks and text-backs,
//! classes corrected by the front desk, texts with STOP/START/HELP, forged and replayed requests.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use stride_core::calls::CallClass;
use stride_core::phone::PhoneE164;
use stride_core::role::Role;
use stride_store::audit::Actor;
use stride_store::calls::NumberInput;
use stride_store::messages::MessageProviders;
use stride_store::tenancy::Practice;

use crate::helpers::*;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfacecafe0123456789abcdef0123";
const NUMBER: &str = "+13125550199";
const CALLER: &str = "+17735550123";

/// Signs like Twilio: base64(HMAC-SHA1(token, URL + sorted name/value pairs)). Written here
/// independently of Stride's own verifier.
fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Twilio's voice webhook parameters for a call from `from` to the tracking number.
fn voice_params<'a>(sid: &'a str, from: &'a str, status: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Called", NUMBER),
        ("CalledCity", "CHICAGO"),
        ("CalledCountry", "US"),
        ("CalledState", "IL"),
        ("Caller", from),
        ("CallerCountry", "US"),
        ("Direction", "inbound"),
        ("From", from),
        ("FromCountry", "US"),
        ("To", NUMBER),
        ("ToCountry", "US"),
    ]
}

struct Twilio<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

impl Twilio<'_> {
    async fn post(&self, path: &str, params: &[(&str, &str)], token: &str) -> (u16, String) {
        let url = self.app.url(path);
        let resp = self
            .client
            .post(&url)
            .header("X-Twilio-Signature", sign(token, &url, params))
            .form(params)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// A whole call: the voice webhook, the forwarded leg's result, and the status callback.
    async fn call(&self, sid: &str, from: &str, dial: &str, seconds: &str) {
        let (status, twiml) = self
            .post(
                "/hooks/twilio/voice",
                &voice_params(sid, from, "ringing"),
                TOKEN,
            )
            .await;
        assert_eq!(status, 200, "{twiml}");
        let mut action = voice_params(sid, from, "in-progress");
        action.extend([("DialCallStatus", dial), ("DialCallDuration", seconds)]);
        assert_eq!(
            self.post("/hooks/twilio/voice-status", &action, TOKEN)
                .await
                .0,
            200
        );
        let mut done = voice_params(sid, from, "completed");
        done.extend([
            ("CallDuration", seconds),
            ("Timestamp", "Mon, 30 Nov 2026 15:04:05 +0000"),
        ]);
        assert_eq!(
            self.post("/hooks/twilio/voice-status", &done, TOKEN)
                .await
                .0,
            200
        );
    }
}

async fn set_up(app: &TestApp) -> Practice {
    let practice = app.practice("alpha").await;
    app.store
        .set_message_providers(
            practice.id,
            &MessageProviders {
                sms_provider: "log".into(),
                twilio_account_sid: ACCOUNT.into(),
                twilio_auth_token: Some(TOKEN.into()),
                twilio_from: NUMBER.into(),
                ..MessageProviders::default()
            },
        )
        .await
        .unwrap();
    let campaign = app
        .store
        .create_campaign(
            practice.id,
            &stride_store::campaigns::CampaignInput {
                name: "Spring mailer".into(),
                kind: stride_core::leads::CampaignKind::DirectMail,
                utm_source: String::new(),
                utm_medium: String::new(),
                utm_campaign: "spring_mailer".into(),
                archived: false,
            },
            &Actor::system("test"),
        )
        .await
        .unwrap();
    app.store
        .create_tracking_number(
            practice.id,
            &NumberInput {
                number: PhoneE164::parse(NUMBER).unwrap(),
                label: "Mailer number".into(),
                source: "Postcard".into(),
                channel: "offline".into(),
                campaign_id: Some(campaign.id),
                location_id: None,
                pool: false,
                active: true,
            },
            &Actor::system("test"),
        )
        .await
        .unwrap();
    practice
}

#[tokio::test]
async fn a_call_is_forwarded_attributed_classified_and_becomes_a_lead() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let twilio = Twilio {
        app: &app,
        client: reqwest::Client::new(),
    };

    // The incoming call is forwarded to the location's main line, and the leg's result comes back.
    let (status, twiml) = twilio
        .post(
            "/hooks/twilio/voice",
            &voice_params("CA00000000000000000000000000000001", CALLER, "ringing"),
            TOKEN,
        )
        .await;
    assert_eq!(status, 200);
    assert!(twiml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"));
    assert!(
        twiml.contains("<Dial action=\"/hooks/twilio/voice-status\"")
            && twiml.contains(">+13125550100</Dial>"),
        "{twiml}"
    );
    assert!(
        !twiml.contains("<Gather"),
        "no menu unless the practice turns it on"
    );
    twilio
        .call(
            "CA00000000000000000000000000000001",
            CALLER,
            "completed",
            "212",
        )
        .await;

    let actor = Actor::system("test");
    let now = stride_store::now_ms();
    let calls = app
        .store
        .calls(practice.id, now - 3_600_000, now + 1, 10, &actor)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.caller.as_deref(), Some(CALLER));
    assert!(call.row.answered && !call.row.missed);
    assert_eq!(call.row.duration_s, 212);
    assert_eq!(call.row.auto_class, Some(CallClass::NewPatient));
    assert_eq!(
        (
            call.row.source.as_str(),
            call.row.channel.as_str(),
            call.row.campaign.as_str()
        ),
        ("Postcard", "offline", "spring_mailer")
    );
    // The caller is a lead, attributed to the tracking number and its campaign.
    let lead = app
        .store
        .lead(practice.id, call.row.lead_id.expect("a lead"), &actor)
        .await
        .unwrap();
    assert_eq!(lead.phone.as_deref(), Some(CALLER));
    assert_eq!(lead.row.origin, stride_core::leads::Origin::Call);
    assert_eq!(
        lead.row.attribution,
        stride_store::leads::Basis::TrackingNumber
    );
    assert_eq!(lead.row.first_touch.source, "Postcard");
    assert_eq!(lead.row.campaign_id, call.row.campaign_id);

    // Twilio retries every webhook: the same CallSid changes nothing.
    twilio
        .call(
            "CA00000000000000000000000000000001",
            CALLER,
            "completed",
            "212",
        )
        .await;
    let again = app
        .store
        .calls(practice.id, now - 3_600_000, now + 1, 10, &actor)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].row.lead_id, call.row.lead_id);
    let leads = app
        .store
        .lead_rows(practice.id, stride_store::leads::Inbox::All, 10)
        .await
        .unwrap();
    assert_eq!(leads.len(), 1, "one lead, however often Twilio retries");

    // The same person calls again later: a lead follow-up on the same lead.
    twilio
        .call(
            "CA00000000000000000000000000000002",
            CALLER,
            "completed",
            "95",
        )
        .await;
    let second = app
        .store
        .call_by_sid(practice.id, "CA00000000000000000000000000000002")
        .await
        .unwrap();
    assert_eq!(second.auto_class, Some(CallClass::LeadFollowUp));
    assert_eq!(second.lead_id, call.row.lead_id);

    // A patient calling is an existing patient, and makes no lead.
    app.store
        .create_patient(
            practice.id,
            &stride_store::patients::PatientInput {
                first_name: "Pat".into(),
                last_name: "Ient".into(),
                phone: Some(PhoneE164::parse("+17735550999").unwrap()),
                email: None,
                birth_date: None,
                address: None,
                member_id: None,
                sms_consent: true,
                email_consent: false,
            },
            &actor,
        )
        .await
        .unwrap();
    twilio
        .call(
            "CA00000000000000000000000000000003",
            "+17735550999",
            "completed",
            "140",
        )
        .await;
    let patient_call = app
        .store
        .call_by_sid(practice.id, "CA00000000000000000000000000000003")
        .await
        .unwrap();
    assert_eq!(patient_call.auto_class, Some(CallClass::ExistingPatient));
    assert!(patient_call.lead_id.is_none() && patient_call.patient_id.is_some());

    // A short question from a stranger.
    twilio
        .call(
            "CA00000000000000000000000000000004",
            "+17735550444",
            "completed",
            "30",
        )
        .await;
    let question = app
        .store
        .call_by_sid(practice.id, "CA00000000000000000000000000000004")
        .await
        .unwrap();
    assert_eq!(question.auto_class, Some(CallClass::General));
    assert!(question.lead_id.is_none());

    // The front desk corrects one class with one click and confirms another; the report shows how
    // often the automatic class was right, and the corrected call gets its lead.
    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    let resp = desk
        .post_form(
            &format!("/app/calls/{}/class", question.id),
            &[("class", "new_patient")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    desk.post_form(
        &format!("/app/calls/{}/class", call.row.id),
        &[("class", "new_patient")],
    )
    .await;
    let corrected = app
        .store
        .call_by_sid(practice.id, "CA00000000000000000000000000000004")
        .await
        .unwrap();
    assert_eq!(corrected.class, Some(CallClass::NewPatient));
    assert!(
        corrected.lead_id.is_some(),
        "a corrected new-patient call gets its lead"
    );
    let report = app
        .store
        .call_report(practice.id, now - 3_600_000, now + 60_000)
        .await
        .unwrap();
    assert_eq!((report.calls, report.answered, report.missed), (4, 4, 0));
    assert_eq!((report.reviewed, report.auto_right), (2, 1));
    assert_eq!(report.by_class.get("new_patient"), Some(&2));
    let (status, page) = desk.text("/app/calls").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("(773) 555-0123"),
        "the front desk sees callers"
    );
    assert!(page.contains("right for 1 of the 2 calls"), "{page}");

    // A marketer sees counts and sources, never a caller.
    let marketer = app.login(&app.user(&practice, Role::Marketer).await).await;
    let (status, page) = marketer.text("/app/calls").await;
    assert_eq!(status, 200);
    assert!(page.contains("Postcard"));
    assert!(!page.contains("555-0123") && !page.contains("5550123"));

    // The API: callers for the front desk, none for a marketer; classes and numbers.
    let desk_api = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let (status, body) = desk_api.get("/api/v1/calls?period=7d").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 4);
    assert!(body.to_string().contains(CALLER));
    let marketer_api = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    let (status, body) = marketer_api.get("/api/v1/calls?period=7d").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 4);
    assert!(!body.to_string().contains("5550123"), "{body}");
    let (_, report) = marketer_api.get("/api/v1/call-report?period=7d").await;
    assert_eq!(report["data"]["reviewed"], 2);
    let (status, _) = marketer_api
        .call(
            "POST",
            &format!("/api/v1/calls/{}/class", question.id),
            Some(serde_json::json!({"class": "general"})),
        )
        .await;
    assert_eq!(status, 403, "a marketer does not classify calls");
    let (status, err) = desk_api
        .call(
            "POST",
            &format!("/api/v1/calls/{}/class", question.id),
            Some(serde_json::json!({"class": "fax"})),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    for (body, code) in [
        (
            serde_json::json!({"number": "(312) 555-0188", "label": "Billboard", "channel": "offline"}),
            201,
        ),
        (serde_json::json!({"number": "(312) 555-0188"}), 409),
        (serde_json::json!({"number": "call me"}), 422),
        (
            serde_json::json!({"number": "(312) 555-0189", "pool": true, "campaign_id": 1}),
            422,
        ),
    ] {
        let (status, r) = marketer_api
            .call("POST", "/api/v1/tracking-numbers", Some(body))
            .await;
        assert_eq!(status, code, "{r}");
    }
    let (_, numbers) = marketer_api.get("/api/v1/tracking-numbers").await;
    assert_eq!(numbers["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missed_call_makes_a_lead_a_task_and_one_text_back() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let actor = Actor::system("test");
    app.store
        .set_call_settings(
            practice.id,
            true,
            "Sorry we missed you! Reply here or call back.",
            &actor,
        )
        .await
        .unwrap();
    let twilio = Twilio {
        app: &app,
        client: reqwest::Client::new(),
    };

    // With the menu on, the call first gathers a key; the key is recorded, then the call forwards.
    let sid = "CA00000000000000000000000000000009";
    let (_, twiml) = twilio
        .post(
            "/hooks/twilio/voice",
            &voice_params(sid, CALLER, "ringing"),
            TOKEN,
        )
        .await;
    assert!(
        twiml.contains("<Gather numDigits=\"1\"")
            && twiml.contains("action=\"/hooks/twilio/voice?step=menu\"")
            && twiml.contains("new patient, press 1"),
        "{twiml}"
    );
    let mut menu = voice_params(sid, CALLER, "in-progress");
    menu.extend([("Digits", "1"), ("FinishedOnKey", "")]);
    let (status, twiml) = twilio
        .post("/hooks/twilio/voice?step=menu", &menu, TOKEN)
        .await;
    assert_eq!(status, 200);
    assert!(twiml.contains("<Dial"), "{twiml}");
    // Nobody picked up.
    let mut action = voice_params(sid, CALLER, "in-progress");
    action.extend([("DialCallStatus", "no-answer"), ("DialCallDuration", "0")]);
    let (_, twiml) = twilio
        .post("/hooks/twilio/voice-status", &action, TOKEN)
        .await;
    assert!(twiml.contains("<Hangup/>"));
    let mut done = voice_params(sid, CALLER, "completed");
    done.push(("CallDuration", "31"));
    for _ in 0..2 {
        assert_eq!(
            twilio
                .post("/hooks/twilio/voice-status", &done, TOKEN)
                .await
                .0,
            200
        );
    }

    let call = app.store.call_by_sid(practice.id, sid).await.unwrap();
    assert!(call.missed && !call.answered);
    assert_eq!(call.digit.as_deref(), Some("1"));
    assert_eq!(call.auto_class, Some(CallClass::NewPatient));
    let lead_id = call
        .lead_id
        .expect("a missed call from a new number makes a lead");
    let tasks = app
        .store
        .lead_tasks(practice.id, Some(lead_id), 10)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "one follow-up task: {tasks:?}");
    assert_eq!(tasks[0].title, "Call back: missed call");
    let texts: Vec<_> = app
        .store
        .messages(practice.id, 10, &actor)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.purpose == "missed-call text-back")
        .collect();
    assert_eq!(
        texts.len(),
        1,
        "one text-back, however often Twilio retries"
    );
    assert_eq!(texts[0].to, CALLER);
    assert_eq!(call.text_back_id, Some(texts[0].id));
    let report = app
        .store
        .call_report(practice.id, 0, stride_store::now_ms() + 60_000)
        .await
        .unwrap();
    assert_eq!((report.missed, report.missed_called_back), (1, 0));
}

#[tokio::test]
async fn forged_and_foreign_webhooks_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let twilio = Twilio {
        app: &app,
        client: reqwest::Client::new(),
    };
    let params = voice_params("CA00000000000000000000000000000077", CALLER, "ringing");
    // Signed with the wrong token.
    let (status, _) = twilio
        .post("/hooks/twilio/voice", &params, "not-the-token")
        .await;
    assert_eq!(status, 403);
    // Signed over another URL.
    let url = app.url("/hooks/twilio/voice");
    let resp = reqwest::Client::new()
        .post(&url)
        .header(
            "X-Twilio-Signature",
            sign(TOKEN, &format!("{url}?x=1"), &params),
        )
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // No signature at all, and a tampered parameter.
    let resp = reqwest::Client::new()
        .post(&url)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let mut tampered = params.clone();
    let signature = sign(TOKEN, &url, &params);
    tampered[4] = ("Called", "+19995550000");
    let resp = reqwest::Client::new()
        .post(&url)
        .header("X-Twilio-Signature", signature)
        .form(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // A number that is not a tracking number.
    let mut other = params.clone();
    other[13] = ("To", "+13125550111");
    assert_eq!(
        twilio.post("/hooks/twilio/voice", &other, TOKEN).await.0,
        403
    );
    let now = stride_store::now_ms();
    assert!(
        app.store
            .call_rows(practice.id, 0, now + 1, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing recorded from a refused request"
    );
}

#[tokio::test]
async fn texts_are_logged_and_stop_start_and_help_are_honoured() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let twilio = Twilio {
        app: &app,
        client: reqwest::Client::new(),
    };
    let text = |sid: &'static str, body: &'static str| {
        vec![
            ("AccountSid", ACCOUNT),
            ("ApiVersion", "2010-04-01"),
            ("Body", body),
            ("From", CALLER),
            ("FromCountry", "US"),
            ("MessageSid", sid),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("SmsMessageSid", sid),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("To", NUMBER),
            ("ToCountry", "US"),
        ]
    };
    let (status, twiml) = twilio
        .post("/hooks/twilio/sms", &text("SM0001", "HELP"), TOKEN)
        .await;
    assert_eq!(status, 200);
    assert!(
        twiml.contains("<Message>alpha PT: texts about your appointments. Call +13125550100")
            && twiml.contains("Reply STOP to opt out"),
        "{twiml}"
    );
    let caller = PhoneE164::parse(CALLER).unwrap();
    let (status, _) = twilio
        .post("/hooks/twilio/sms", &text("SM0002", "Stop"), TOKEN)
        .await;
    assert_eq!(status, 200);
    assert!(app.store.is_opted_out(practice.id, &caller).await.unwrap());
    let refused = app
        .store
        .queue_message(
            practice.id,
            &stride_store::messages::NewMessage {
                channel: stride_store::messages::Channel::Sms,
                to: CALLER.into(),
                subject: None,
                body: "Your visit is tomorrow".into(),
                purpose: "reminder".into(),
                idempotency_key: None,
            },
        )
        .await;
    assert!(
        refused.is_err(),
        "no text goes to a number that texted STOP"
    );
    // A replayed STOP, then START.
    twilio
        .post("/hooks/twilio/sms", &text("SM0002", "Stop"), TOKEN)
        .await;
    let (_, twiml) = twilio
        .post("/hooks/twilio/sms", &text("SM0003", "start"), TOKEN)
        .await;
    assert!(twiml.contains("again"));
    assert!(!app.store.is_opted_out(practice.id, &caller).await.unwrap());
    twilio
        .post(
            "/hooks/twilio/sms",
            &text("SM0004", "Can I move my Tuesday visit?"),
            TOKEN,
        )
        .await;
    let inbox = app
        .store
        .inbound_sms(practice.id, 10, &Actor::system("test"))
        .await
        .unwrap();
    assert_eq!(inbox.len(), 4, "each text once, the replay ignored");
    assert_eq!(inbox[0].body, "Can I move my Tuesday visit?");
    assert_eq!(inbox[0].from.as_deref(), Some(CALLER));
    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    let (_, page) = desk.text("/app/calls").await;
    assert!(
        page.contains("Can I move my Tuesday visit?") && page.contains("opted out"),
        "the front desk reads texts on the calls page"
    );
    // Forged text.
    assert_eq!(
        twilio
            .post("/hooks/twilio/sms", &text("SM0005", "STOP"), "wrong")
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_reply_c_to_a_reminder_confirms_the_senders_next_visit() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let actor = Actor::system("test");
    let (location, clinician) =
        crate::scheduling::clinician_with_hours(&app, practice.id, "Mon-Sun 00:00-23:55").await;
    let patient = patient_with_phone(&app, practice.id, "Ana", "Ruiz", CALLER, true).await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, slot) = app
        .store
        .earliest_available(
            practice.id,
            eval.id,
            location.id,
            None,
            stride_store::now_ms(),
        )
        .await
        .unwrap()
        .unwrap();
    let mut request = stride_store::scheduling::NewAppointment::new(
        location.id,
        clinician.id,
        eval.id,
        slot.start,
        "front desk",
    );
    request.patient_id = Some(patient.id);
    let booked = app
        .store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    let twilio = Twilio {
        app: &app,
        client: reqwest::Client::new(),
    };
    let reply = |from: &'static str| {
        vec![
            ("AccountSid", ACCOUNT),
            ("ApiVersion", "2010-04-01"),
            ("Body", "C"),
            ("From", from),
            (
                "MessageSid",
                if from == CALLER { "SM0101" } else { "SM0102" },
            ),
            ("NumMedia", "0"),
            ("To", NUMBER),
        ]
    };
    let (status, twiml) = twilio
        .post("/hooks/twilio/sms", &reply(CALLER), TOKEN)
        .await;
    assert_eq!(status, 200);
    assert!(twiml.contains("your visit is confirmed"), "{twiml}");
    assert_eq!(
        app.store
            .appointment(practice.id, booked.id)
            .await
            .unwrap()
            .status,
        "confirmed"
    );
    let (_, twiml) = twilio
        .post("/hooks/twilio/sms", &reply("+17735550999"), TOKEN)
        .await;
    assert!(
        twiml.contains("no upcoming visit for this number"),
        "{twiml}"
    );
}

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

async fn shown(app: &TestApp, ua: &str, url: &str, referrer: &str) -> serde_json::Value {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}?{}",
            app.url("/api/numbers"),
            serde_urlencoded::to_string([("d", "alpha.example"), ("u", url), ("r", referrer)])
                .unwrap()
        ))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_website_shows_each_visitor_a_number_and_their_call_converts_their_visit() {
    let app = TestApp::spawn().await;
    let practice = set_up(&app).await;
    let actor = Actor::system("test");
    let site = app
        .store
        .create_site(practice.id, "alpha.example", &[], false)
        .await
        .unwrap();
    // Nothing to swap until a number fits.
    assert_eq!(
        shown(
            &app,
            CHROME,
            "https://alpha.example/",
            "https://www.google.com/"
        )
        .await,
        serde_json::json!({})
    );
    for n in ["+13125550301", "+13125550302"] {
        app.store
            .create_tracking_number(
                practice.id,
                &NumberInput {
                    number: PhoneE164::parse(n).unwrap(),
                    label: "Website pool".into(),
                    source: String::new(),
                    channel: String::new(),
                    campaign_id: None,
                    location_id: None,
                    pool: true,
                    active: true,
                },
                &actor,
            )
            .await
            .unwrap();
    }
    // A visitor from Google gets a pool number in place of the main line, and keeps it.
    let first = shown(
        &app,
        CHROME,
        "https://alpha.example/",
        "https://www.google.com/",
    )
    .await;
    assert_eq!(first["find"], serde_json::json!(["3125550100"]));
    assert_eq!(first["tel"], "+13125550301");
    assert_eq!(first["display"], "(312) 555-0301");
    let again = shown(
        &app,
        CHROME,
        "https://alpha.example/insurance",
        "https://alpha.example/",
    )
    .await;
    assert_eq!(
        again["tel"], first["tel"],
        "the number sticks for the visit"
    );
    // Another visitor gets the other pool number; a mailer visitor gets the mailer's own number.
    let other = shown(&app, SAFARI, "https://alpha.example/", "").await;
    assert_eq!(other["tel"], "+13125550302");
    let mailer = shown(
        &app,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
        "https://alpha.example/?utm_source=postcard&utm_campaign=spring_mailer",
        "",
    )
    .await;
    assert_eq!(mailer["tel"], NUMBER);
    // Bots hold no number.
    assert_eq!(
        shown(
            &app,
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            "https://alpha.example/",
            ""
        )
        .await,
        serde_json::json!({})
    );

    // The Chrome visitor's page view, then their call to the number they were shown.
    let resp = reqwest::Client::new()
        .post(app.url("/api/event"))
        .header("user-agent", CHROME)
        .header("content-type", "text/plain")
        .body(r#"{"n":"pageview","u":"https://alpha.example/conditions/sciatica","d":"alpha.example","r":"https://www.google.com/"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    eventually("the page view is stored", || async {
        !app.store
            .recent_events(practice.id, site.id, 5)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    let sid = "CA00000000000000000000000000000301";
    let mut params = voice_params(sid, CALLER, "ringing");
    for p in params.iter_mut() {
        if p.0 == "To" || p.0 == "Called" {
            p.1 = "+13125550301";
        }
    }
    let url = app.url("/hooks/twilio/voice");
    let resp = reqwest::Client::new()
        .post(&url)
        .header("X-Twilio-Signature", sign(TOKEN, &url, &params))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut done = params.clone();
    done.extend([("DialCallStatus", "completed"), ("DialCallDuration", "180")]);
    let url = app.url("/hooks/twilio/voice-status");
    let resp = reqwest::Client::new()
        .post(&url)
        .header("X-Twilio-Signature", sign(TOKEN, &url, &done))
        .form(&done)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let call = app.store.call_by_sid(practice.id, sid).await.unwrap();
    assert!(
        call.visit_id.is_some(),
        "the call found the visit that was shown the number"
    );
    assert_eq!(
        (call.source.as_str(), call.channel.as_str()),
        ("Google", "organic_search")
    );
    let lead = app
        .store
        .lead(practice.id, call.lead_id.unwrap(), &actor)
        .await
        .unwrap();
    assert_eq!(lead.row.attribution, stride_store::leads::Basis::Website);
    assert_eq!(lead.row.first_touch.landing, "/");
    // The call is a conversion of that visit in the website reports.
    eventually("the call is recorded on the visit", || async {
        app.store
            .recent_events(practice.id, site.id, 10)
            .await
            .unwrap()
            .iter()
            .any(|e| e.name == "Tracked Call" && e.source == "Google" && e.props.contains("yes"))
    })
    .await;
    let now = stride_store::now_ms();
    let goals = app
        .store
        .goal_results(&stride_store::website::reports::Scope::new(
            practice.id,
            site.id,
            stride_store::website::reports::Range {
                from: now - 3_600_000,
                to: now + 60_000,
            },
        ))
        .await
        .unwrap();
    let tracked = goals
        .iter()
        .find(|g| g.goal.name == "Tracked call")
        .expect("a pool number brings a lead-action goal for tracked calls");
    assert_eq!(
        tracked.converting_visitors, 1,
        "the call converts the visit"
    );
}
