//! The OpenAPI 3.1 document for `/api/v1`, written as data next to the router that serves it; a test
//! checks that every documented path answers and that every API route is documented.

use serde_json::{Value, json};

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The permission the caller's role needs ("any" for every role).
    pub permission: &'static str,
    /// The request body's schema name, if any.
    pub body: Option<&'static str>,
    pub status: u16,
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    permission: &'static str,
    body: Option<&'static str>,
    status: u16,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        permission,
        body,
        status,
    }
}

pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/api/v1/practices",
        "Practices the caller can work in",
        "any",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/practices/{id}",
        "One practice",
        "any",
        None,
        200,
    ),
    op(
        "patch",
        "/api/v1/practices/{id}",
        "Change practice settings",
        "manage_practice",
        Some("PracticePatch"),
        200,
    ),
    op(
        "get",
        "/api/v1/locations",
        "Locations of the practice",
        "any",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/locations",
        "Add a location",
        "manage_practice",
        Some("Location"),
        201,
    ),
    op(
        "get",
        "/api/v1/locations/{id}",
        "One location",
        "any",
        None,
        200,
    ),
    op(
        "patch",
        "/api/v1/locations/{id}",
        "Change a location",
        "manage_practice",
        Some("Location"),
        200,
    ),
    op(
        "get",
        "/api/v1/clinicians",
        "Clinicians of the practice",
        "any",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/clinicians",
        "Add a clinician",
        "manage_practice",
        Some("Clinician"),
        201,
    ),
    op(
        "get",
        "/api/v1/clinicians/{id}",
        "One clinician",
        "any",
        None,
        200,
    ),
    op(
        "patch",
        "/api/v1/clinicians/{id}",
        "Change a clinician",
        "manage_practice",
        Some("Clinician"),
        200,
    ),
    op(
        "get",
        "/api/v1/users",
        "Users with a role in the practice",
        "manage_users",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/users",
        "Give a user a role (creating the account if new)",
        "manage_users",
        Some("UserGrant"),
        201,
    ),
    op(
        "get",
        "/api/v1/patients",
        "Patients, newest first (audited)",
        "view_patients",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/patients",
        "Add a patient",
        "edit_patients",
        Some("Patient"),
        201,
    ),
    op(
        "post",
        "/api/v1/patients/search",
        "Find patients by exact last name, phone or email (audited)",
        "view_patients",
        Some("PatientSearch"),
        200,
    ),
    op(
        "get",
        "/api/v1/patients/{id}",
        "One patient (audited)",
        "view_patients",
        None,
        200,
    ),
    op(
        "patch",
        "/api/v1/patients/{id}",
        "Change a patient",
        "edit_patients",
        Some("Patient"),
        200,
    ),
    op(
        "get",
        "/api/v1/messages",
        "The message log (audited)",
        "view_message_log",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/messages",
        "Queue an SMS or email",
        "edit_patients",
        Some("MessageRequest"),
        202,
    ),
    op(
        "get",
        "/api/v1/sites",
        "Websites tracked for the practice",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/sites",
        "Register a website domain for tracking",
        "manage_website",
        Some("Site"),
        201,
    ),
    op(
        "get",
        "/api/v1/sites/{id}/goals",
        "A site's goals",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/sites/{id}/goals",
        "Add a goal (an event name or a page pattern)",
        "manage_website",
        Some("Goal"),
        201,
    ),
    op(
        "get",
        "/api/v1/sites/{id}/report",
        "Visitors, visits, pageviews, bounce rate, duration, daily series, goals with conversion rates, bands and clicked-vs-confirmed gaps, sources, channels, campaigns, pages, devices, funnels and condition pages ranked by leads; ?period=7d|30d|90d|12mo or ?from=YYYY-MM-DD&to=YYYY-MM-DD; filter with ?source=, ?channel=, ?campaign=, ?page= (a pattern, * for anything) and ?device=; ?limit=1..500 rows per breakdown. Breakdown rows carry visitors, visits, converting (visitors with a lead action) and conversion_rate; channel rows also their label and direction (inbound or outbound). The period compared with is `previous_range` (from and to in milliseconds: as many local days just before, and for a period still under way only up to the same time of day). Goals and rows carry `previous` (visitors and converting visitors in the period just before) when it can be compared",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/sites/{id}/funnels",
        "A site's funnels",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/sites/{id}/funnels",
        "Add a funnel: 2 to 8 ordered steps, each an event name or a page pattern",
        "manage_website",
        Some("Funnel"),
        201,
    ),
    op(
        "get",
        "/api/v1/sites/{id}/condition-pages",
        "Pages tagged with the condition they are about",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/sites/{id}/condition-pages",
        "Tag pages (a pattern) with a condition, e.g. Sciatica",
        "manage_website",
        Some("ConditionPage"),
        201,
    ),
    op(
        "get",
        "/api/v1/sites/{id}/heatmaps",
        "Pages where clicks are recorded, and stopped ones (`stopped`: true) whose clicks are kept",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/sites/{id}/heatmaps",
        "Start recording clicks on pages of a pattern, optionally naming the main call to action; a stopped pattern resumes",
        "manage_website",
        Some("Heatmap"),
        201,
    ),
    op(
        "get",
        "/api/v1/heatmaps/{id}/report",
        "Click map points, dead clicks with suggestions, rage clicks, most-clicked elements, scroll depth and forms; ?device=desktop|tablet|mobile and the report's period or from/to",
        "view_aggregates",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/leads",
        "Leads, ?view=newest (open, newest first; default), untouched (never contacted, longest waiting first) or all. With view_leads: names and contact details (audited); otherwise, with view_aggregates, the same leads without identity",
        "view_leads or view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/leads",
        "Record an inquiry: 201 with a new lead, or 200 when the same phone or email already has one (the inquiry joins it) or the external_key was seen before",
        "edit_leads",
        Some("Lead"),
        201,
    ),
    op(
        "get",
        "/api/v1/leads/{id}",
        "One lead with its timeline and open tasks (audited); without identity for view_aggregates",
        "view_leads or view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/leads/{id}/stage",
        "Move a lead: new, qualified, evaluation_booked, became_patient, or lost with a lost_reason",
        "edit_leads",
        Some("LeadStage"),
        200,
    ),
    op(
        "post",
        "/api/v1/leads/{id}/qualification",
        "Record the screening (interest, payer or budget fit, likelihood); gives a score and makes a new lead qualified (SQL)",
        "edit_leads",
        Some("LeadQualification"),
        200,
    ),
    op(
        "post",
        "/api/v1/leads/{id}/activities",
        "Log a call, text, email or note; the first call, text or email stops the speed-to-lead clock",
        "edit_leads",
        Some("LeadActivity"),
        201,
    ),
    op(
        "post",
        "/api/v1/leads/{id}/tasks",
        "Add a follow-up task with a due time",
        "edit_leads",
        Some("LeadTask"),
        201,
    ),
    op(
        "post",
        "/api/v1/leads/{id}/merge",
        "Merge another lead of the same person into this one; both histories are kept",
        "edit_leads",
        Some("LeadMerge"),
        200,
    ),
    op(
        "get",
        "/api/v1/campaigns",
        "Campaigns with their kind (inbound or outbound), UTM values, and monthly spend",
        "view_aggregates or manage_campaigns",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/campaigns",
        "Add a campaign",
        "manage_campaigns",
        Some("Campaign"),
        201,
    ),
    op(
        "patch",
        "/api/v1/campaigns/{id}",
        "Change or archive a campaign",
        "manage_campaigns",
        Some("Campaign"),
        200,
    ),
    op(
        "post",
        "/api/v1/campaigns/{id}/spend",
        "Set a campaign's spend for a month (0 clears it)",
        "manage_campaigns",
        Some("CampaignSpend"),
        200,
    ),
    op(
        "get",
        "/api/v1/lead-report",
        "Leads, SQLs, evaluations booked and new patients by ?by=channel|source|campaign, with conversion between stages, spend, cost per lead, SQL and new patient, leads per month inbound vs outbound, each campaign's months and its lead flow after its spend stopped, and speed to lead (median time to first contact); period or from/to",
        "view_aggregates or manage_campaigns",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/calls",
        "Calls to the tracking numbers in a period (period or from/to, limit), newest first: number, source, campaign, visit, answered or missed, duration, key pressed, automatic and confirmed class, lead; the caller's number only for roles that see leads",
        "view_leads or view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/calls/{id}/class",
        "Confirm or correct a call's class (a call corrected to a new-patient inquiry gets its lead)",
        "edit_leads",
        Some("CallClass"),
        200,
    ),
    op(
        "get",
        "/api/v1/call-report",
        "Calls answered and missed, missed new callers called back, calls by class, how often the automatic class was right, and calls per source; period or from/to",
        "view_leads or view_aggregates",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/tracking-numbers",
        "The practice's tracking numbers: fixed per source or campaign, or a website pool",
        "view_leads or view_aggregates",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/tracking-numbers",
        "Add a tracking number (its Twilio webhooks: /hooks/twilio/voice, /hooks/twilio/voice-status, /hooks/twilio/sms)",
        "manage_campaigns",
        Some("TrackingNumber"),
        201,
    ),
    op(
        "get",
        "/api/v1/appointment-types",
        "Appointment types with duration, buffers, cash price and whether the deposit applies",
        "view_schedule",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/availability",
        "Open slots for ?type_id=&location_id=[&clinician_id=][&days=14] and the earliest of them, from clinicians' hours minus appointments (with buffers), time off and holidays, with two hours' notice",
        "view_schedule",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/attendance-report",
        "No-show and late-cancel rates for ?period=30d|3mo|6mo|12mo: overall, before and since the deposit policy, by week, payer, clinician and visit type, with the 10% target",
        "view_schedule",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/patients/{id}/fhir",
        "The patient's record as a FHIR R4 Bundle (application/fhir+json): Patient, Coverage, Condition, EpisodeOfCare and CarePlan per plan of care, Goal, Appointment, Encounter and Procedure per billed CPT line of a signed note",
        "view_clinical_notes",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/care/completion",
        "Plan-of-care completion and drop-off for ?period=12mo|YYYY against the 80% and 20% targets: overall, by clinician, payer and month, with visits and revenue lost to drop-offs per clinician per year",
        "view_schedule",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/appointments",
        "Book an open slot; 409 with the next open times when it was just taken or is not open",
        "edit_schedule",
        Some("Booking"),
        201,
    ),
    op(
        "post",
        "/api/v1/appointments/{id}/cancel",
        "Cancel an appointment: its time is open again",
        "edit_schedule",
        None,
        200,
    ),
    op(
        "post",
        "/api/v1/lead-tasks/{id}/done",
        "Mark a follow-up task done",
        "edit_leads",
        None,
        200,
    ),
    op(
        "get",
        "/api/v1/audit-log",
        "Audit entries, newest first; page with ?before=ID&limit=N",
        "view_audit_log",
        None,
        200,
    ),
];

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for Operation {
        method,
        path,
        summary,
        permission,
        body,
        status,
    } in OPERATIONS
    {
        let mut op = json!({
            "summary": summary,
            "description": format!("Requires the permission `{permission}`."),
            "security": [{"bearer": []}],
            "responses": {
                status.to_string(): {"description": "Success", "content": {"application/json": {"schema": {"type": "object", "properties": {"data": {}}}}}},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"}
            }
        });
        if path.contains("{id}") {
            op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
        }
        if let Some(schema) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    let s = |t: &str| json!({"type": t});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Stride API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Practice data for one practice per token. Create tokens under Settings → API tokens or with `stride token create`. Errors are {\"error\":{\"code\",\"message\"}}."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": s("string"), "message": s("string")}}}},
                "PracticePatch": {"type": "object", "additionalProperties": false, "properties": {"name": s("string"), "website": {"type": ["string", "null"]}, "idle_timeout_minutes": {"type": "integer", "minimum": 1, "maximum": 720}}},
                "Location": {"type": "object", "additionalProperties": false, "properties": {"name": s("string"), "address": s("string"), "main_phone": s("string"), "time_zone": {"type": "string", "description": "IANA time zone, e.g. America/Chicago"}, "hours": {"type": "string", "description": "e.g. Mon-Fri 07:00-19:00; Sat 08:00-12:00"}}},
                "Clinician": {"type": "object", "additionalProperties": false, "properties": {"name": s("string"), "credentials": s("string"), "location_id": {"type": ["integer", "null"]}, "active": s("boolean")}},
                "UserGrant": {"type": "object", "additionalProperties": false, "required": ["email", "role"], "properties": {"email": s("string"), "name": s("string"), "password": {"type": "string", "minLength": 10}, "role": {"enum": ["owner", "front_desk", "clinician", "marketer"]}}},
                "Patient": {"type": "object", "additionalProperties": false, "properties": {"first_name": s("string"), "last_name": s("string"), "phone": s("string"), "email": s("string"), "birth_date": {"type": "string", "format": "date"}, "address": s("string"), "member_id": s("string"), "sms_consent": s("boolean"), "email_consent": s("boolean")}},
                "PatientSearch": {"type": "object", "additionalProperties": false, "required": ["q"], "properties": {"q": {"type": "string", "description": "an exact last name, phone number or email address"}}},
                "Site": {"type": "object", "additionalProperties": false, "required": ["domain"], "properties": {"domain": s("string"), "allowed_params": {"type": "array", "items": s("string")}, "honor_dnt": s("boolean")}},
                "Goal": {"type": "object", "additionalProperties": false, "required": ["name", "kind", "pattern", "category"], "properties": {"name": s("string"), "kind": {"enum": ["event", "page"]}, "pattern": {"type": "string", "description": "an event name, or a page path where * matches anything, e.g. /thank-you*"}, "category": {"enum": ["lead_action", "early_interest"]}}},
                "Funnel": {"type": "object", "additionalProperties": false, "required": ["name", "steps"], "properties": {"name": s("string"), "steps": {"type": "array", "minItems": 2, "maxItems": 8, "items": {"type": "object", "required": ["kind", "pattern"], "properties": {"kind": {"enum": ["event", "page"]}, "pattern": s("string")}}}}},
                "ConditionPage": {"type": "object", "additionalProperties": false, "required": ["condition", "pattern"], "properties": {"condition": s("string"), "pattern": {"type": "string", "description": "a page path where * matches anything, e.g. /conditions/sciatica*"}}},
                "Heatmap": {"type": "object", "additionalProperties": false, "required": ["pattern"], "properties": {"pattern": s("string"), "cta_selector": {"type": "string", "description": "CSS selector of the page's main call to action"}}},
                "MessageRequest": {"type": "object", "additionalProperties": false, "required": ["channel", "to", "body"], "properties": {"channel": {"enum": ["sms", "email"]}, "to": s("string"), "subject": s("string"), "body": s("string"), "idempotency_key": s("string")}}
            }
        }
    });
    if let (Some(all), Value::Object(more)) =
        (doc["components"]["schemas"].as_object_mut(), lead_schemas())
    {
        all.extend(more);
    }
    doc
}

/// Request bodies of the leads API.
fn lead_schemas() -> Value {
    let s = |t: &str| json!({"type": t});
    json!({
                "Lead": {"type": "object", "additionalProperties": false, "description": "a phone or an email is required", "properties": {"first_name": s("string"), "last_name": s("string"), "phone": s("string"), "email": s("string"), "service": {"type": "string", "description": "the service or condition of interest"}, "payer": {"type": "string", "description": "a payer's name, or Self-pay"}, "preferred_times": s("string"), "message": s("string"), "sms_consent": s("boolean"), "email_consent": s("boolean"), "origin": {"enum": ["api", "front_desk", "call", "chat", "form", "booking", "import"]}, "source": {"type": "string", "description": "where the person heard of the practice"}, "channel": {"type": "string", "description": "e.g. organic_search, referral, offline"}, "campaign": s("string"), "external_key": {"type": "string", "description": "a repeated request with the same key changes nothing"}}},
                "LeadStage": {"type": "object", "additionalProperties": false, "required": ["stage"], "properties": {"stage": {"enum": ["new", "qualified", "evaluation_booked", "became_patient", "lost"]}, "lost_reason": {"enum": ["no_response", "chose_another_clinic", "insurance", "price", "not_a_fit"]}}},
                "LeadQualification": {"type": "object", "additionalProperties": false, "required": ["interest", "fit", "likelihood"], "properties": {"interest": {"enum": ["low", "medium", "high"]}, "fit": {"enum": ["no", "unsure", "yes"]}, "likelihood": {"enum": ["unlikely", "maybe", "likely"]}}},
                "LeadActivity": {"type": "object", "additionalProperties": false, "required": ["kind"], "properties": {"kind": {"enum": ["call", "text", "email", "note"]}, "body": s("string")}},
                "LeadTask": {"type": "object", "additionalProperties": false, "required": ["title", "due_at"], "properties": {"title": s("string"), "due_at": {"type": "string", "format": "date-time"}}},
                "Campaign": {"type": "object", "additionalProperties": false, "properties": {"name": s("string"), "kind": {"enum": ["seo", "content", "social", "email", "media_pr", "cold_calling", "direct_mail", "paid_ads", "display"]}, "utm_source": s("string"), "utm_medium": s("string"), "utm_campaign": s("string"), "archived": s("boolean")}},
        "CampaignSpend": {"type": "object", "additionalProperties": false, "required": ["month", "amount_cents"], "properties": {"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "amount_cents": {"type": "integer", "minimum": 0}}},
        "LeadMerge": {"type": "object", "additionalProperties": false, "required": ["other_id"], "properties": {"other_id": s("integer")}},
        "Booking": {"type": "object", "additionalProperties": false, "required": ["type_id", "location_id", "clinician_id", "start"], "properties": {"type_id": s("integer"), "location_id": s("integer"), "clinician_id": s("integer"), "start": {"type": "string", "format": "date-time"}, "patient_id": s("integer"), "lead_id": s("integer")}},
        "CallClass": {"type": "object", "additionalProperties": false, "required": ["class"], "properties": {"class": {"enum": ["new_patient", "existing_patient", "lead_follow_up", "general"]}}},
        "TrackingNumber": {"type": "object", "additionalProperties": false, "required": ["number"], "properties": {"number": {"type": "string", "description": "E.164 or a US number"}, "label": s("string"), "source": s("string"), "channel": {"type": "string", "description": "e.g. organic_search, offline"}, "campaign_id": s("integer"), "location_id": {"type": "integer", "description": "calls ring this location's main line (default: the first location)"}, "pool": {"type": "boolean", "description": "a website pool number, shown to one visitor at a time"}}}
    })
}
