//! The OAuth setup wizard, as a pure state machine: name → client_id → client_secret →
//! auth_url → token_url → how to authorize → waiting (URL, QR, paste) → outcome. Every
//! field is checked as it is left; Esc goes back one step; nothing is written until the
//! user accepts the outcome.

use crate::config::NewRemote;
use crate::config::options::{DEFAULT_AUTH_URL, DEFAULT_ENDPOINT_URL, DEFAULT_TOKEN_URL};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Name,
    ClientId,
    ClientSecret,
    AuthUrl,
    TokenUrl,
    Method,
    Waiting,
    Outcome,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Name,
        Step::ClientId,
        Step::ClientSecret,
        Step::AuthUrl,
        Step::TokenUrl,
        Step::Method,
        Step::Waiting,
        Step::Outcome,
    ];

    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Name => "Name the remote",
            Step::ClientId => "Client ID",
            Step::ClientSecret => "Client secret",
            Step::AuthUrl => "Authorization URL",
            Step::TokenUrl => "Token URL",
            Step::Method => "How to authorize",
            Step::Waiting => "Waiting for Amazon",
            Step::Outcome => "Outcome",
        }
    }

    /// What the step is for, in the words of the API reference.
    pub fn explain(self) -> &'static [&'static str] {
        match self {
            Step::Name => &[
                "A short name for this Amazon Drive, as rclone would call it (for example acd).",
                "It becomes a section of the config file, which rclone reads too.",
            ],
            Step::ClientId => &[
                "Amazon lets only registered apps in: create a Login with Amazon security",
                "profile (developer.amazon.com) whose allowed return URL is",
                "http://127.0.0.1:53682/ and paste its client ID here",
                "(it starts with amzn1.application-oa2-client.).",
            ],
            Step::ClientSecret => {
                &["The security profile's client secret (stored in the config file)."]
            }
            Step::AuthUrl => &[
                "Where the browser signs in. Leave it empty for Amazon's",
                "(https://www.amazon.com/ap/oa); set it for a proxy or for acd-emu.",
            ],
            Step::TokenUrl => &[
                "Where codes become tokens. Leave it empty for Amazon's",
                "(https://api.amazon.com/auth/o2/token).",
            ],
            Step::Method => &[
                "A browser on this machine: acdc opens it and listens for Amazon's answer.",
                "On SSH or without a browser: open the address elsewhere, then forward the",
                "port or paste back where the browser ended.",
            ],
            Step::Waiting => &[],
            Step::Outcome => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Browser,
    Headless,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    pub step: Step,
    pub remote: NewRemote,
    /// What is being typed in the current step.
    pub input: String,
    pub method: Method,
    pub error: Option<String>,
    /// The authorize address, once the backend made it.
    pub url: Option<String>,
    pub redirect: String,
    /// "listening on …", or why the loopback listener could not start.
    pub listening: Option<String>,
    pub browser_opened: bool,
    pub failure: Option<String>,
    /// Remote names already in the config.
    pub taken: Vec<String>,
    /// Re-authorizing an existing remote: only its token is replaced.
    pub reauthorize: bool,
}

impl Wizard {
    /// A new remote; `defaults` fills the fields (the demo points them at acd-emu).
    pub fn new(defaults: NewRemote, taken: Vec<String>) -> Wizard {
        let mut w = Wizard {
            step: Step::Name,
            input: String::new(),
            remote: defaults,
            method: Method::Browser,
            error: None,
            url: None,
            redirect: String::new(),
            listening: None,
            browser_opened: false,
            failure: None,
            taken,
            reauthorize: false,
        };
        w.input = w.field(Step::Name);
        w
    }

    /// An existing remote whose token was refused: straight to the authorize step.
    pub fn reauthorize(remote: NewRemote, why: String) -> Wizard {
        let mut w = Wizard::new(remote, Vec::new());
        w.reauthorize = true;
        w.step = Step::Method;
        w.input.clear();
        w.error = Some(why);
        w
    }

    fn field(&self, step: Step) -> String {
        let r = &self.remote;
        match step {
            Step::Name => r.name.clone(),
            Step::ClientId => r.client_id.clone(),
            Step::ClientSecret => r.client_secret.clone(),
            Step::AuthUrl if r.auth_url != DEFAULT_AUTH_URL => r.auth_url.clone(),
            Step::TokenUrl if r.token_url != DEFAULT_TOKEN_URL => r.token_url.clone(),
            _ => String::new(),
        }
    }

    /// Checks the field being left and keeps it; the reason when it will not do.
    fn keep(&mut self) -> Result<(), String> {
        let text = self.input.trim().to_string();
        let url = |text: &str, default: &str| -> Result<String, String> {
            if text.is_empty() {
                return Ok(default.to_string());
            }
            match url::Url::parse(text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(text.to_string()),
                _ => Err(format!(
                    "{text:?} is not an http(s) address; leave it empty for Amazon's"
                )),
            }
        };
        match self.step {
            Step::Name => {
                if let Some(problem) = crate::config::remote_name_problem(&text) {
                    return Err(problem);
                }
                if self.taken.iter().any(|t| t == &text) {
                    return Err(format!("{text} exists already; pick another name"));
                }
                self.remote.name = text;
            }
            Step::ClientId | Step::ClientSecret => {
                if text.is_empty() || text.contains(char::is_whitespace) {
                    return Err(format!(
                        "paste the {} from the security profile (no spaces)",
                        if self.step == Step::ClientId {
                            "client ID"
                        } else {
                            "client secret"
                        }
                    ));
                }
                if self.step == Step::ClientId {
                    self.remote.client_id = text;
                } else {
                    self.remote.client_secret = text;
                }
            }
            Step::AuthUrl => self.remote.auth_url = url(&text, DEFAULT_AUTH_URL)?,
            Step::TokenUrl => self.remote.token_url = url(&text, DEFAULT_TOKEN_URL)?,
            Step::Method | Step::Waiting | Step::Outcome => {}
        }
        Ok(())
    }

    fn go(&mut self, step: Step) {
        self.step = step;
        self.error = None;
        self.input = self.field(step);
    }

    /// Enter: the next step, or what the backend is to do.
    pub fn advance(&mut self) -> Option<WizardRequest> {
        match self.step {
            Step::Name | Step::ClientId | Step::ClientSecret | Step::AuthUrl | Step::TokenUrl => {
                if let Err(e) = self.keep() {
                    self.error = Some(e);
                    return None;
                }
                let i = self.step.number();
                self.go(Step::ALL[i]);
                None
            }
            Step::Method => {
                self.go(Step::Waiting);
                self.url = None;
                self.failure = None;
                Some(WizardRequest::Start {
                    remote: self.remote.clone(),
                    open_browser: self.method == Method::Browser,
                })
            }
            Step::Waiting => {
                let pasted = self.input.trim().to_string();
                if pasted.is_empty() {
                    self.error = Some(
                        "paste the address the browser ended on, its code, or the token from `acdc authorize`"
                            .into(),
                    );
                    return None;
                }
                self.input.clear();
                Some(WizardRequest::Paste(pasted))
            }
            Step::Outcome => {
                if self.failure.is_some() || self.remote.token.is_empty() {
                    self.go(Step::Method);
                    return None;
                }
                Some(WizardRequest::Save {
                    remote: self.remote.clone(),
                    token_only: self.reauthorize,
                })
            }
        }
    }

    /// Esc: one step back; None at the first step (the wizard closes).
    pub fn back(&mut self) -> Option<Option<WizardRequest>> {
        let first = if self.reauthorize {
            Step::Method
        } else {
            Step::Name
        };
        if self.step == first {
            return None;
        }
        let cancel = (self.step == Step::Waiting).then_some(WizardRequest::Cancel);
        let previous = match self.step {
            Step::Waiting | Step::Outcome => Step::Method,
            other => Step::ALL[other.number() - 2],
        };
        self.go(previous);
        Some(cancel)
    }

    pub fn authorized(&mut self, result: Result<String, String>) {
        self.step = Step::Outcome;
        self.error = None;
        match result {
            Ok(token) => {
                self.remote.token = token;
                self.failure = None;
            }
            Err(e) => self.failure = Some(e),
        }
    }

    pub fn typing(&self) -> bool {
        !matches!(self.step, Step::Method | Step::Outcome)
    }
}

/// What the wizard needs the backend for.
#[derive(Debug, Clone, PartialEq)]
pub enum WizardRequest {
    /// Make the authorize URL, listen for the redirect, open a browser if asked.
    Start {
        remote: NewRemote,
        open_browser: bool,
    },
    /// What the user pasted: a redirect URL, a code or a token JSON.
    Paste(String),
    Cancel,
    /// Write the remote (or only its new token) to the config.
    Save {
        remote: NewRemote,
        token_only: bool,
    },
}

/// Empty fields with Amazon's addresses: the wizard's start for a real account.
pub fn amazon_defaults() -> NewRemote {
    NewRemote {
        name: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        auth_url: DEFAULT_AUTH_URL.into(),
        token_url: DEFAULT_TOKEN_URL.into(),
        endpoint_url: DEFAULT_ENDPOINT_URL.into(),
        token: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(w: &mut Wizard, text: &str) -> Option<WizardRequest> {
        w.input = text.into();
        w.advance()
    }

    #[test]
    fn every_field_is_checked_and_esc_goes_back() {
        let mut w = Wizard::new(amazon_defaults(), vec!["acd".into()]);
        assert_eq!(typed(&mut w, "acd"), None);
        assert_eq!(w.step, Step::Name);
        assert!(w.error.as_deref().unwrap().contains("exists already"));
        typed(&mut w, "my:drive");
        assert!(
            w.error
                .as_deref()
                .unwrap()
                .contains("cannot be a remote name")
        );
        typed(&mut w, "home");
        assert_eq!((w.step, w.error.clone()), (Step::ClientId, None));
        typed(&mut w, "");
        assert!(w.error.is_some());
        typed(&mut w, "amzn1.application-oa2-client.abc");
        typed(&mut w, "s3cret");
        assert_eq!(w.step, Step::AuthUrl);
        assert_eq!(w.input, "", "Amazon's default shows as empty");
        typed(&mut w, "ftp://x");
        assert!(w.error.as_deref().unwrap().contains("http(s)"));
        // Esc: back to the secret, which is still there.
        assert_eq!(w.back(), Some(None));
        assert_eq!((w.step, w.input.as_str()), (Step::ClientSecret, "s3cret"));
        w.advance();
        typed(&mut w, "");
        typed(&mut w, "");
        assert_eq!(w.step, Step::Method);
        assert_eq!(w.remote.auth_url, DEFAULT_AUTH_URL);
        w.method = Method::Headless;
        let start = w.advance();
        assert_eq!(
            start,
            Some(WizardRequest::Start {
                remote: w.remote.clone(),
                open_browser: false
            })
        );
        assert_eq!(w.step, Step::Waiting);
        assert_eq!(typed(&mut w, "  "), None, "an empty paste is refused");
        assert_eq!(
            typed(&mut w, "http://127.0.0.1:53682/?code=abc&state=x"),
            Some(WizardRequest::Paste(
                "http://127.0.0.1:53682/?code=abc&state=x".into()
            ))
        );
        // Esc while waiting cancels the authorization.
        assert_eq!(w.back(), Some(Some(WizardRequest::Cancel)));
        assert_eq!(w.step, Step::Method);
    }

    #[test]
    fn the_outcome_saves_or_tries_again() {
        let mut w = Wizard::reauthorize(
            NewRemote {
                name: "acd".into(),
                ..amazon_defaults()
            },
            "the refresh token was revoked".into(),
        );
        assert_eq!(w.step, Step::Method);
        assert_eq!(w.back(), None, "re-authorizing starts (and ends) here");
        w.advance();
        w.authorized(Err("the code was refused".into()));
        assert_eq!(w.advance(), None);
        assert_eq!(w.step, Step::Method);
        w.advance();
        w.authorized(Ok("{\"access_token\":\"a\"}".into()));
        let Some(WizardRequest::Save { remote, token_only }) = w.advance() else {
            panic!()
        };
        assert!(token_only);
        assert_eq!(remote.token, "{\"access_token\":\"a\"}");
    }
}
