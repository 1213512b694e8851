//! The registry's vocabularies: what a jurisdiction, an authority and a request can say.
//! Values travel as snake_case strings on the wire and in the database.

vocabulary!(
    /// Crimes alleged in a request. All but `other` are within the mandate.
    Crime {
        WarCrimes = "war_crimes",
        CrimesAgainstHumanity = "crimes_against_humanity",
        Genocide = "genocide",
        Torture = "torture",
        EnforcedDisappearance = "enforced_disappearance",
        Other = "other",
    }
);

vocabulary!(
    /// Grounds on which a jurisdiction can pursue crimes.
    CompetenceBasis {
        UniversalJurisdiction = "universal_jurisdiction",
        ActivePersonality = "active_personality",
        PassivePersonality = "passive_personality",
        Territorial = "territorial",
        Other = "other",
    }
);

vocabulary!(
    DeathPenaltyStatus {
        AbolishedAllCrimes = "abolished_all_crimes",
        AbolishedOrdinaryCrimes = "abolished_ordinary_crimes",
        AbolishedInPractice = "abolished_in_practice",
        Retentionist = "retentionist",
    }
);

vocabulary!(
    /// The result of a human-rights assessment of a jurisdiction.
    AssessmentOutcome {
        Meets = "meets",
        Concerns = "concerns",
        Fails = "fails",
    }
);

vocabulary!(
    /// The kind of body that sends requests. All are bodies the mandate may assist.
    AuthorityKind {
        Court = "court",
        Prosecution = "prosecution",
        InvestigatingJudge = "investigating_judge",
        LawEnforcement = "law_enforcement",
        OtherJudicial = "other_judicial",
    }
);

vocabulary!(
    /// The proceedings a request serves.
    ProceedingType {
        Investigation = "investigation",
        Prosecution = "prosecution",
        Trial = "trial",
        Appeal = "appeal",
        NonCriminalLiability = "non_criminal_liability",
    }
);

vocabulary!(
    /// Instruments of cooperation between the mechanism and a jurisdiction.
    FrameworkKind {
        MemorandumOfUnderstanding = "memorandum_of_understanding",
        CooperationAgreement = "cooperation_agreement",
        ExchangeOfLetters = "exchange_of_letters",
        Other = "other",
    }
);

impl AuthorityKind {
    pub fn describe(self) -> &'static str {
        match self {
            AuthorityKind::Court => "court",
            AuthorityKind::Prosecution => "prosecution service",
            AuthorityKind::InvestigatingJudge => "investigating judge",
            AuthorityKind::LawEnforcement => "law-enforcement authority",
            AuthorityKind::OtherJudicial => "judicial body",
        }
    }
}

impl DeathPenaltyStatus {
    pub fn describe(self) -> &'static str {
        match self {
            DeathPenaltyStatus::AbolishedAllCrimes => "abolished for all crimes",
            DeathPenaltyStatus::AbolishedOrdinaryCrimes => "abolished for ordinary crimes only",
            DeathPenaltyStatus::AbolishedInPractice => "abolished in practice only",
            DeathPenaltyStatus::Retentionist => "retained",
        }
    }
}

/// ISO 3166-1 alpha-2 codes currently assigned (plus XK, used for Kosovo by the UN system's
/// partners). A code outside this list is refused rather than stored.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

// One basis of a jurisdiction's competence and the crimes it lets the jurisdiction pursue
// (a plain comment: a doc comment would change the OpenAPI document).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetenceBasisEntry {
    pub basis: CompetenceBasis,
    /// The crimes this basis lets the jurisdiction pursue.
    pub crimes: Vec<Crime>,
}

/// A country code in upper case, if it is an assigned ISO 3166-1 alpha-2 code.
pub fn country_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    (code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code)).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_through_their_wire_names() {
        for c in Crime::ALL {
            assert_eq!(Crime::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(
            DeathPenaltyStatus::parse("abolished_all_crimes"),
            Some(DeathPenaltyStatus::AbolishedAllCrimes)
        );
        assert_eq!(AuthorityKind::parse("police"), None);
    }

    #[test]
    fn country_codes_are_checked() {
        assert_eq!(country_code("de"), Some("DE".into()));
        assert_eq!(country_code("SY"), Some("SY".into()));
        for bad in ["", "D", "DEU", "ZZ", "1A", "  "] {
            assert_eq!(country_code(bad), None, "{bad:?}");
        }
    }
}
