//! `samctl user`: the business application's users (Register, Get User Profile, Get Users,
//! Delete User).

use sam_client::{NewUser, all_pages};
use serde_json::json;

use crate::cli::UserCommand;
use crate::out::{json, pretty, show_list};
use crate::{CliError, Context};

/// Runs `samctl user COMMAND`.
pub(crate) fn run(ctx: &Context, command: UserCommand) -> Result<(), CliError> {
    let remote = ctx.remote()?;
    let client = ctx.client(&remote)?;
    let out = &ctx.out;
    match command {
        UserCommand::Create {
            user_id,
            email,
            mobile,
        } => {
            let user = remote.run(client.register_user(&NewUser {
                user_id: user_id.clone(),
                email,
                mobile,
                password: None,
            }))?;
            out.show(&json(&user), || format!("user {user_id} registered"));
        }
        UserCommand::Show { user_id } => {
            let profile = json(&remote.run(client.user_profile(&user_id, None, None, 100))?);
            out.show(&profile, || pretty(&profile));
        }
        UserCommand::List => {
            let client = &client;
            let users = remote.run(all_pages(|after| async move {
                client.users(after.as_deref(), 1000).await
            }))?;
            let users = serde_json::Value::Array(users.iter().map(json).collect());
            show_list(out, &users, |u| {
                u["user_id"].as_str().unwrap_or("?").to_owned()
            });
        }
        UserCommand::Delete { user_id } => {
            remote.run(client.delete_user(&user_id))?;
            out.show(&json!({"deleted": user_id}), || {
                format!("user {user_id} deleted")
            });
        }
    }
    Ok(())
}
