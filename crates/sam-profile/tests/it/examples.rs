//! The example profiles of `docs/profiles.md` load and validate, as written.

use sam_profile::{AuthorisationMode, ProfileCatalogue, ProfileSettings, Scal};

use crate::fixtures::Env;

const PROFILES_MD: &str = include_str!("../../../../docs/profiles.md");

/// The TOML blocks of docs/profiles.md that start with `name = `: the example profiles.
fn examples() -> Vec<String> {
    sam_testkit::code_blocks(PROFILES_MD, "toml")
        .into_iter()
        .filter(|block| block.starts_with("name = "))
        .collect()
}

#[test]
fn the_four_documented_profiles_validate() {
    let examples = examples();
    assert_eq!(
        examples.len(),
        4,
        "docs/profiles.md should hold four example profiles"
    );
    let env = Env::json();
    let mut catalogue = ProfileCatalogue::new();
    let mut loaded = Vec::new();
    for text in &examples {
        let settings =
            ProfileSettings::from_toml(text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        // Each example round-trips and is accepted by the catalogue.
        assert_eq!(
            ProfileSettings::from_toml(&settings.to_toml().unwrap()).unwrap(),
            settings
        );
        let id = catalogue
            .create(settings.clone(), &env.ctx())
            .unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        loaded.push((id, settings));
    }
    let [rsa, idp, ml_dsa, seal] = &loaded[..] else {
        unreachable!()
    };
    assert_eq!(rsa.1.signing_key.key.to_string(), "RSA-3072");
    assert_eq!(rsa.1.signing_key.scal, Scal::Scal2);
    assert_eq!(idp.1.signing_key.scal, Scal::Scal1);
    assert!(idp.1.delegated_idp.as_ref().is_some_and(|i| i.enabled));
    assert_eq!(ml_dsa.1.signing_key.key.to_string(), "ML-DSA-65");
    assert_eq!(
        seal.1.signing_key.authorisation_mode,
        AuthorisationMode::OnceUntilSadExpiry
    );
}
