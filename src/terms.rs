//! What a collection service collects and the licence its dataset is published under:
//! what a visitor is shown and agrees to before anything leaves their browser, what the
//! service checks before it pools an upload, and what every export says.

use serde::{Deserialize, Serialize};

/// The licence a service collects under unless its operator sets another.
pub const DEFAULT_LICENCE: &str = "CC-BY-4.0";

/// What is collected from a contributor, as the page lists it before asking consent.
pub const COLLECTED: [&str; 4] = [
    "each demonstration you make for the crowd: the task, its seed and your gripper's motion at every step",
    "how long each took and when it was recorded",
    "an anonymous contributor id, and a display name only if you choose one",
    "your network address, kept with the tasks you are assigned, to limit abuse (never published)",
];

/// A service's terms: the licence (an SPDX identifier) and where to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub licence: String,
    /// The licence's text (known for the usual data licences).
    pub licence_url: Option<String>,
}

impl Terms {
    /// The terms of a service collecting under `licence`, or why it cannot: an SPDX
    /// identifier is letters, digits, `.`, `-` and `+`.
    pub fn new(licence: &str) -> Result<Terms, String> {
        let valid = !licence.is_empty() && licence.len() <= 64 && licence.chars().all(|c| c.is_ascii_alphanumeric() || "-.+".contains(c));
        if !valid {
            return Err(format!("{licence:?} is not an SPDX licence identifier (for example {DEFAULT_LICENCE} or CC0-1.0)"));
        }
        Ok(Terms { licence: licence.to_string(), licence_url: known_url(licence).map(str::to_string) })
    }

    /// The licence as the Hugging Face Hub's dataset cards name it (SPDX, lower case).
    pub fn hub_licence(&self) -> String {
        self.licence.to_ascii_lowercase()
    }
}

impl Default for Terms {
    fn default() -> Self {
        Terms::new(DEFAULT_LICENCE).expect("a valid identifier")
    }
}

/// Where the usual open-data licences are published.
fn known_url(licence: &str) -> Option<&'static str> {
    Some(match licence.to_ascii_uppercase().as_str() {
        "CC-BY-4.0" => "https://creativecommons.org/licenses/by/4.0/",
        "CC-BY-SA-4.0" => "https://creativecommons.org/licenses/by-sa/4.0/",
        "CC-BY-NC-4.0" => "https://creativecommons.org/licenses/by-nc/4.0/",
        "CC0-1.0" => "https://creativecommons.org/publicdomain/zero/1.0/",
        "ODC-BY-1.0" => "https://opendatacommons.org/licenses/by/1-0/",
        "CDLA-PERMISSIVE-2.0" => "https://cdla.dev/permissive-2-0/",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_licence_is_an_spdx_identifier_with_its_text_where_known() {
        let terms = Terms::default();
        assert_eq!(terms.licence, "CC-BY-4.0");
        assert_eq!(terms.licence_url.as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
        assert_eq!(terms.hub_licence(), "cc-by-4.0");
        assert_eq!(Terms::new("LicenseRef-Acme-1").unwrap().licence_url, None);
        for bad in ["", "CC BY 4.0", "cc/by", &"x".repeat(65)] {
            assert!(Terms::new(bad).is_err(), "{bad:?}");
        }
    }
}
