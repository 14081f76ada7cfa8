//! Call tracking rules: what a call to a tracking number was about, whether it was missed, and what
//! an inbound text's keyword asks for. Pure functions; the store and the webhooks apply them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::leads::{VocabularyError, vocabulary};

/// What a call was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallClass {
    /// Someone new asking about care: a lead.
    NewPatient,
    /// A patient of the practice, usually to reschedule.
    ExistingPatient,
    /// Someone who already has an open lead calling back.
    LeadFollowUp,
    /// Insurance, services, directions, hours.
    General,
}

vocabulary!(CallClass, "call class", {
    NewPatient => "new_patient", "New-patient inquiry";
    ExistingPatient => "existing_patient", "Existing patient";
    LeadFollowUp => "lead_follow_up", "Lead follow-up";
    General => "general", "General question";
});

/// The keypad menu a practice can turn on: press 1, 2 or 3.
pub const IVR_MENU: &[(char, CallClass)] = &[
    ('1', CallClass::NewPatient),
    ('2', CallClass::ExistingPatient),
    ('3', CallClass::General),
];

/// What the menu says, in order of its keys.
pub const IVR_PROMPT: &str = "Thank you for calling. If you are a new patient, press 1. \
     To change an appointment, press 2. For anything else, press 3.";

/// An answered call shorter than this, from someone unknown, is taken for a quick question.
pub const SHORT_CALL_SECONDS: i64 = 45;

/// What is known about a call when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// The caller's number is a patient's.
    pub caller_is_patient: bool,
    /// The caller's number is on an open lead.
    pub caller_has_open_lead: bool,
    /// The key pressed in the menu, if the menu was on and a key was pressed.
    pub digit: Option<char>,
    pub answered: bool,
    /// Seconds the forwarded call lasted (0 when missed).
    pub duration_s: i64,
}

/// Classifies a call: the caller's own choice in the menu first, then who the caller is, then how
/// the call went. A missed call from an unknown number counts as a possible new patient, since
/// those are the calls a practice cannot afford to lose.
pub fn classify(f: &CallFacts) -> CallClass {
    if let Some(class) = f
        .digit
        .and_then(|d| IVR_MENU.iter().find(|(k, _)| *k == d).map(|(_, c)| *c))
    {
        // A patient who pressed "new patient" is still a patient.
        return match class {
            CallClass::NewPatient if f.caller_is_patient => CallClass::ExistingPatient,
            CallClass::NewPatient if f.caller_has_open_lead => CallClass::LeadFollowUp,
            c => c,
        };
    }
    if f.caller_is_patient {
        CallClass::ExistingPatient
    } else if f.caller_has_open_lead {
        CallClass::LeadFollowUp
    } else if f.answered && f.duration_s < SHORT_CALL_SECONDS {
        CallClass::General
    } else {
        CallClass::NewPatient
    }
}

/// Whether a new-patient call from this caller should become (or join) a lead.
pub fn makes_lead(class: CallClass) -> bool {
    matches!(class, CallClass::NewPatient | CallClass::LeadFollowUp)
}

/// How a call ended, from Twilio's `DialCallStatus` (the forwarded leg) or, when the caller hung up
/// before the forward, the call's own `CallStatus`.
pub fn answered(dial_status: Option<&str>) -> bool {
    dial_status == Some("completed")
}

/// Twilio's final call statuses.
pub fn is_final_status(status: &str) -> bool {
    matches!(
        status,
        "completed" | "busy" | "no-answer" | "failed" | "canceled"
    )
}

/// What an inbound text asks for, by the keywords carriers and Twilio honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsKeyword {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT: no more texts.
    Stop,
    /// START, YES, UNSTOP: texts again.
    Start,
    /// HELP, INFO: who is texting and how to stop.
    Help,
    /// C, CONFIRM: the answer to a reminder, "I am coming".
    Confirm,
    /// Anything else: a message for the front desk.
    Other,
}

/// The keyword of an inbound text: the whole message, trimmed, in any case.
pub fn sms_keyword(body: &str) -> SmsKeyword {
    let word = body
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => {
            SmsKeyword::Stop
        }
        "START" | "YES" | "UNSTOP" => SmsKeyword::Start,
        "HELP" | "INFO" => SmsKeyword::Help,
        "C" | "CONFIRM" | "CONFIRMED" => SmsKeyword::Confirm,
        _ => SmsKeyword::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts() -> CallFacts {
        CallFacts {
            answered: true,
            duration_s: 180,
            ..CallFacts::default()
        }
    }

    #[test]
    fn an_unknown_caller_with_a_real_conversation_is_a_new_patient() {
        assert_eq!(classify(&facts()), CallClass::NewPatient);
    }

    #[test]
    fn a_quick_answered_call_from_a_stranger_is_a_question() {
        let f = CallFacts {
            duration_s: 20,
            ..facts()
        };
        assert_eq!(classify(&f), CallClass::General);
    }

    #[test]
    fn a_missed_call_from_a_stranger_is_a_possible_new_patient() {
        let f = CallFacts {
            answered: false,
            duration_s: 0,
            ..CallFacts::default()
        };
        assert_eq!(classify(&f), CallClass::NewPatient);
    }

    #[test]
    fn known_callers_are_patients_or_leads_calling_back() {
        let patient = CallFacts {
            caller_is_patient: true,
            caller_has_open_lead: true,
            ..facts()
        };
        assert_eq!(classify(&patient), CallClass::ExistingPatient);
        let lead = CallFacts {
            caller_has_open_lead: true,
            ..facts()
        };
        assert_eq!(classify(&lead), CallClass::LeadFollowUp);
    }

    #[test]
    fn the_menu_choice_wins_but_a_patient_stays_a_patient() {
        for (digit, class) in IVR_MENU {
            let f = CallFacts {
                digit: Some(*digit),
                duration_s: 5,
                ..facts()
            };
            assert_eq!(classify(&f), *class);
        }
        let f = CallFacts {
            digit: Some('1'),
            caller_is_patient: true,
            ..facts()
        };
        assert_eq!(classify(&f), CallClass::ExistingPatient);
        let f = CallFacts {
            digit: Some('9'),
            duration_s: 10,
            ..facts()
        };
        assert_eq!(
            classify(&f),
            CallClass::General,
            "an unknown key is ignored"
        );
    }

    #[test]
    fn keywords_follow_carrier_rules() {
        for stop in [
            "STOP",
            "stop",
            " Stop. ",
            "unsubscribe",
            "Cancel",
            "quit",
            "END",
        ] {
            assert_eq!(sms_keyword(stop), SmsKeyword::Stop, "{stop}");
        }
        for start in ["START", "yes", "Unstop"] {
            assert_eq!(sms_keyword(start), SmsKeyword::Start);
        }
        for help in ["HELP", "help!", "info"] {
            assert_eq!(sms_keyword(help), SmsKeyword::Help);
        }
        for confirm in ["C", " c ", "Confirm", "confirmed."] {
            assert_eq!(sms_keyword(confirm), SmsKeyword::Confirm, "{confirm}");
        }
        for other in ["Stop by at 3?", "Can I move my visit?", "CC", ""] {
            assert_eq!(sms_keyword(other), SmsKeyword::Other, "{other}");
        }
    }

    #[test]
    fn classes_parse_identifiers_and_labels() {
        for c in CallClass::ALL {
            assert_eq!(c.as_str().parse::<CallClass>(), Ok(*c));
            assert_eq!(c.label().parse::<CallClass>(), Ok(*c));
        }
        assert!("fax".parse::<CallClass>().is_err());
    }

    proptest! {
        #[test]
        fn classify_never_calls_a_patient_new(
            patient in any::<bool>(), lead in any::<bool>(), digit in proptest::option::of(any::<char>()),
            answered in any::<bool>(), duration_s in 0i64..10_000,
        ) {
            let class = classify(&CallFacts { caller_is_patient: patient, caller_has_open_lead: lead, digit, answered, duration_s });
            if patient {
                prop_assert_ne!(class, CallClass::NewPatient);
            }
        }
    }
}
