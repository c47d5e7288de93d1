//! `samctl key`: the users' signing keys — Key Generation, a certification request under the
//! user's approval (Get CSR), Import and Get Certificate, Key Delete.

use std::time::Duration;

use serde_json::json;

use crate::cli::KeyCommand;
use crate::out::{json, pretty};
use crate::{CliError, Context, pem_certificates};

/// Runs `samctl key COMMAND`.
pub(crate) fn run(ctx: &Context, command: KeyCommand) -> Result<(), CliError> {
    let remote = ctx.remote()?;
    let client = ctx.client(&remote)?;
    let out = &ctx.out;
    match command {
        KeyCommand::Generate { user_id, profile } => {
            let key = remote.run(client.generate_key(&user_id, profile))?;
            out.show(&json(&key), || {
                format!("key {} ({}) generated for {user_id}", key.key_id, key.spec)
            });
        }
        KeyCommand::Csr {
            key_id,
            user,
            subject,
            out: path,
            wait,
        } => {
            if path.exists() {
                return Err(CliError::Usage(format!("{} exists", path.display())));
            }
            let started = remote.run(client.authorise_csr(&key_id, &user, &subject))?;
            let id = started.request_id;
            out.note(&format!(
                "request {id}: the certification request awaits {user}'s approval"
            ));
            crate::sign::wait_for_approval(&remote, &client, &id, Duration::from_secs(wait), out)?;
            let der = remote.run(client.get_csr(&key_id, &id))?;
            let pem =
                der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
                    .map_err(|e| CliError::Crypto(e.to_string()))?;
            std::fs::write(&path, pem).map_err(|e| CliError::File {
                what: "certification request".into(),
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.show(
                &json!({"request_id": id, "csr": path.display().to_string()}),
                || format!("certification request written to {}", path.display()),
            );
        }
        KeyCommand::ImportCert {
            key_id,
            certificate,
            chain,
        } => {
            let certificate = pem_certificates(&certificate)?;
            let chain = chain
                .as_deref()
                .map(pem_certificates)
                .transpose()?
                .unwrap_or_default();
            let view = remote.run(client.import_certificate(&key_id, &certificate[0], &chain))?;
            out.show(&json(&view), || {
                format!("certificate of key {key_id} imported")
            });
        }
        KeyCommand::Show { key_id } => {
            let view = json(&remote.run(client.certificate(&key_id))?);
            out.show(&view, || pretty(&view));
        }
        KeyCommand::Delete { key_id } => {
            remote.run(client.delete_key(&key_id))?;
            out.show(&json!({"deleted": key_id}), || {
                format!("key {key_id} deleted")
            });
        }
    }
    Ok(())
}
