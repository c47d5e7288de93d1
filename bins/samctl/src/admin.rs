//! `samctl admin`: the operator's commands over `sam-client`'s `AdminClient` — SAM profiles
//! (from TOML or JSON files checked here first), clients and their secrets, their OAuth 2.0
//! clients, service plans, crypto sources and the audit log.

use std::path::Path;

use sam_client::{AdminClient, ClientSettings, all_pages};
use serde_json::{Value, json};

use crate::cli::{
    AdminCommand, AuditCommand, ClientCommand, OAuthClientCommand, PlanCommand, ProfileCommand,
};
use crate::out::{json, pretty, profile_line, show_list};
use crate::remote::Remote;
use crate::{CliError, Context, pem_certificates, secret_from_env};

/// Every page of a list, as one JSON array.
fn every<T: serde::Serialize>(items: Vec<T>) -> Value {
    Value::Array(items.iter().map(json).collect())
}

/// Reads profile settings from TOML (or JSON, by extension) and checks them locally.
fn profile_settings(file: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| CliError::File {
        what: "profile".into(),
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    let settings = if file.extension().is_some_and(|e| e == "json") {
        sam_profile::ProfileSettings::from_json(&text)
    } else {
        sam_profile::ProfileSettings::from_toml(&text)
    }
    .map_err(|e| CliError::File {
        what: "profile".into(),
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    serde_json::to_value(&settings).map_err(|e| CliError::Usage(e.to_string()))
}

/// Runs `samctl admin COMMAND`.
pub(crate) fn run(ctx: &Context, command: AdminCommand) -> Result<(), CliError> {
    let remote = ctx.remote()?;
    let admin = remote.admin(&secret_from_env(&ctx.global.admin_token_env)?);
    match command {
        AdminCommand::Profile(command) => profile(ctx, &remote, &admin, command),
        AdminCommand::Client(command) => client(ctx, &remote, &admin, command),
        AdminCommand::Plan(command) => plan(ctx, &remote, &admin, command),
        AdminCommand::OauthClient(command) => oauth_client(ctx, &remote, &admin, command),
        AdminCommand::CryptoSources => {
            let list = every(remote.run(admin.crypto_sources())?);
            show_list(&ctx.out, &list, |s| {
                format!(
                    "{}  {}",
                    s["name"].as_str().unwrap_or("?"),
                    if s["available"].as_bool() == Some(true) {
                        "available".to_owned()
                    } else {
                        format!("unavailable: {}", s["reason"].as_str().unwrap_or("?"))
                    }
                )
            });
            Ok(())
        }
        AdminCommand::Audit(AuditCommand::Export { from, limit }) => {
            let limit = u32::try_from(limit)
                .map_err(|_| CliError::Usage(format!("--limit {limit} is not 1 to 10000")))?;
            let records = every(remote.run(admin.audit(from, limit))?);
            ctx.out.show(&records, || pretty(&records));
            Ok(())
        }
        AdminCommand::Audit(AuditCommand::Verify) => {
            let report = remote.run(admin.audit_verify())?;
            if report["intact"].as_bool() != Some(true) {
                ctx.out.show(&report, || pretty(&report));
                return Err(CliError::Refused(format!(
                    "the audit chain is broken at record {}: {}",
                    report["seq"],
                    report["reason"].as_str().unwrap_or("?")
                )));
            }
            ctx.out.show(&report, || {
                format!("the audit chain is intact: {} records", report["records"])
            });
            Ok(())
        }
    }
}

/// The page size samctl reads lists with.
const PAGE: u32 = 1000;

fn profile(
    ctx: &Context,
    remote: &Remote,
    admin: &AdminClient,
    command: ProfileCommand,
) -> Result<(), CliError> {
    let out = &ctx.out;
    match command {
        ProfileCommand::Create { file } => {
            let created = remote.run(admin.create_profile(&profile_settings(&file)?))?;
            out.show(&created, || {
                format!(
                    "profile {} created: {}",
                    created["id"].as_u64().unwrap_or(0),
                    created["settings"]["name"].as_str().unwrap_or("?")
                )
            });
        }
        ProfileCommand::Edit { id, file } => {
            let edited = remote.run(admin.edit_profile(id, &profile_settings(&file)?))?;
            out.show(&edited, || format!("profile {id} changed"));
        }
        ProfileCommand::List { sort, desc } => {
            let order = if desc { "descending" } else { "ascending" };
            let sort = sort.as_str();
            let list = remote.run(all_pages(|after| async move {
                admin
                    .profiles(Some(sort), Some(order), after.as_deref(), PAGE)
                    .await
            }))?;
            show_list(out, &Value::Array(list), profile_line);
        }
        ProfileCommand::Search {
            status,
            id,
            name,
            key_algorithm,
            key_length,
            security_level,
            crypto_profile,
        } => {
            let criteria: serde_json::Map<String, Value> = [
                ("status", status.map(|v| json!(v))),
                ("id", id.map(|v| json!(v))),
                ("name", name.map(|v| json!(v))),
                ("key_algorithm", key_algorithm.map(|v| json!(v))),
                ("key_length", key_length.map(|v| json!(v))),
                ("security_level", security_level.map(|v| json!(v))),
                ("crypto_profile", crypto_profile.map(|v| json!(v))),
            ]
            .into_iter()
            .filter_map(|(field, value)| Some((field.to_owned(), value?)))
            .collect();
            let criteria = &Value::Object(criteria);
            let list = remote.run(all_pages(|after| async move {
                admin
                    .search_profiles(criteria, after.as_deref(), PAGE)
                    .await
            }))?;
            show_list(out, &Value::Array(list), profile_line);
        }
        ProfileCommand::Show { id } => {
            let p = remote.run(admin.profile(id))?;
            out.show(&p, || pretty(&p));
        }
        ProfileCommand::Copy {
            id,
            name,
            description,
        } => {
            let copy = remote.run(admin.copy_profile(id, &name, description.as_deref()))?;
            out.show(&copy, || {
                format!(
                    "profile {id} copied as profile {}",
                    copy["id"].as_u64().unwrap_or(0)
                )
            });
        }
        ProfileCommand::Activate { id } | ProfileCommand::Deactivate { id } => {
            let active = matches!(command, ProfileCommand::Activate { .. });
            let p = remote.run(admin.set_profile_status(id, active))?;
            let status = if active { "active" } else { "inactive" };
            out.show(&p, || format!("profile {id} is {status}"));
        }
        ProfileCommand::Usage => {
            let mut usage = serde_json::Map::new();
            let mut after: Option<String> = None;
            loop {
                let page = remote.run(admin.usage_map(after.as_deref(), PAGE))?;
                for (profile, clients) in page.usage {
                    let all = usage
                        .entry(profile)
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(all) = all.as_array_mut() {
                        all.extend(clients.into_iter().map(Value::String));
                    }
                }
                match page.next {
                    Some(next) if after.as_deref() != Some(next.as_str()) => after = Some(next),
                    _ => break,
                }
            }
            let map = Value::Object(usage);
            out.show(&map, || pretty(&map));
        }
    }
    Ok(())
}

fn client(
    ctx: &Context,
    remote: &Remote,
    admin: &AdminClient,
    command: ClientCommand,
) -> Result<(), CliError> {
    let out = &ctx.out;
    match command {
        ClientCommand::Create {
            client_id,
            secret_env,
            profiles,
            default_profile,
            tls_certificates,
            basic_with_tls,
        } => {
            let secret = secret_env.as_deref().map(secret_from_env).transpose()?;
            let mut certificates = Vec::new();
            for path in &tls_certificates {
                certificates.extend(pem_certificates(path)?);
            }
            let settings = ClientSettings {
                client_id: client_id.clone(),
                selected_profiles: (!profiles.is_empty()).then_some(profiles),
                default_profile,
                tls_certificates: certificates,
                basic_with_tls: Some(basic_with_tls),
                ..ClientSettings::default()
            };
            let created = remote.run(admin.register_client(&settings))?;
            if let Some(secret) = secret {
                remote.run(admin.set_client_secret(&client_id, &secret))?;
            }
            out.show(&json(&created), || format!("client {client_id} registered"));
        }
        ClientCommand::Show { client_id } => {
            let c = json(&remote.run(admin.client(&client_id))?);
            out.show(&c, || pretty(&c));
        }
        ClientCommand::List => {
            let list = every(remote.run(all_pages(|after| async move {
                admin.clients(after.as_deref(), PAGE).await
            }))?);
            show_list(out, &list, |c| {
                c["client_id"].as_str().unwrap_or("?").to_owned()
            });
        }
        ClientCommand::Secret {
            client_id,
            secret_env,
        } => {
            let secret = secret_from_env(&secret_env)?;
            remote.run(admin.set_client_secret(&client_id, &secret))?;
            out.show(&json!({"client_id": client_id}), || {
                format!("secret of {client_id} set")
            });
        }
    }
    Ok(())
}

fn oauth_client(
    ctx: &Context,
    remote: &Remote,
    admin: &AdminClient,
    command: OAuthClientCommand,
) -> Result<(), CliError> {
    let out = &ctx.out;
    match command {
        OAuthClientCommand::Create {
            client_id,
            name,
            redirect_uris,
            public,
        } => {
            let created = remote.run(admin.register_oauth_client(
                &client_id,
                &name,
                &redirect_uris,
                !public,
            ))?;
            out.show(&json(&created), || match &created.client_secret {
                Some(secret) => format!(
                    "OAuth client {} of {client_id} registered (confidential)\n\
                     client_secret: {secret}\n(shown this once; sam keeps only its hash)",
                    created.oauth_client_id
                ),
                None => format!(
                    "OAuth client {} of {client_id} registered (public: PKCE, no secret)",
                    created.oauth_client_id
                ),
            });
        }
        OAuthClientCommand::List { client_id } => {
            let list = json(&remote.run(admin.oauth_clients(&client_id))?);
            show_list(out, &list, |c| {
                format!(
                    "{}  {}  {}  {}",
                    c["oauth_client_id"].as_str().unwrap_or("?"),
                    if c["confidential"].as_bool() == Some(true) {
                        "confidential"
                    } else {
                        "public"
                    },
                    c["name"].as_str().unwrap_or("?"),
                    c["redirect_uris"]
                        .as_array()
                        .map(|u| u
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" "))
                        .unwrap_or_default()
                )
            });
        }
        OAuthClientCommand::Delete {
            client_id,
            oauth_client_id,
        } => {
            remote.run(admin.delete_oauth_client(&client_id, &oauth_client_id))?;
            out.show(
                &json!({"client_id": client_id, "oauth_client_id": oauth_client_id}),
                || format!("OAuth client {oauth_client_id} of {client_id} deleted"),
            );
        }
    }
    Ok(())
}

fn plan(
    ctx: &Context,
    remote: &Remote,
    admin: &AdminClient,
    command: PlanCommand,
) -> Result<(), CliError> {
    let out = &ctx.out;
    match command {
        PlanCommand::Set { client_id, file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| CliError::File {
                what: "plan".into(),
                path: file.clone(),
                message: e.to_string(),
            })?;
            let settings: sam_plan::PlanSettings =
                serde_json::from_str(&text).map_err(|e| CliError::File {
                    what: "plan".into(),
                    path: file.clone(),
                    message: e.to_string(),
                })?;
            let body =
                serde_json::to_value(&settings).map_err(|e| CliError::Usage(e.to_string()))?;
            let period = remote.run(admin.set_plan(&client_id, &body))?;
            out.show(&period, || format!("plan of {client_id} set"));
        }
        PlanCommand::Show { client_id } => {
            let status = remote.run(admin.plan(&client_id))?;
            out.show(&status, || pretty(&status));
        }
        PlanCommand::Renew { client_id } => {
            let period = remote.run(admin.renew_plan(&client_id))?;
            out.show(&period, || format!("plan of {client_id} renewed"));
        }
    }
    Ok(())
}
