//! Notifications reach a file mailbox (mode 600, one JSON line each) and a real HTTP webhook
//! (with its bearer token); failures are errors that never contain the code.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use sam_service::{
    Channel, FileMailbox, Notification, NotificationKind, Notifier, NotifyError, Router, Webhook,
};
use zeroize::Zeroizing;

fn otp(channel: Channel) -> Notification {
    Notification {
        kind: NotificationKind::Otp,
        channel,
        recipient: "alice@example.com".into(),
        client_id: "client-a".into(),
        user_id: Some("alice".into()),
        subject: "Your signing code".into(),
        text: "Use this code to approve signing contract.pdf.".into(),
        code: Some(Zeroizing::new("493817".into())),
    }
}

/// A one-shot HTTP server: answers `status` and hands the raw request to the test.
fn server(status: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap_or(0);
            data.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&data).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .to_ascii_lowercase()
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if data.len() >= end + 4 + length || n == 0 {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let _ = stream.write_all(
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        tx.send(String::from_utf8_lossy(&data).into_owned())
            .unwrap();
    });
    (url, rx)
}

#[test]
fn the_file_mailbox_appends_private_json_lines() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mailbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mailbox.jsonl");
    let _ = std::fs::remove_file(&path);
    let mailbox = FileMailbox::new(&path);
    mailbox.notify(&otp(Channel::Email)).unwrap();
    mailbox.notify(&otp(Channel::Sms)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["code"], "493817");
    assert_eq!(lines[0]["kind"], "otp");
    assert_eq!(lines[1]["channel"], "sms");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let unwritable = FileMailbox::new(dir.join("no-such-dir").join("mailbox.jsonl"));
    assert!(matches!(
        unwritable.notify(&otp(Channel::Email)),
        Err(NotifyError::Config(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_webhook_posts_json_with_its_token_and_reports_failures_without_the_code() {
    let (url, requests) = server("204 No Content");
    let hook = Webhook::new(&url, Duration::from_secs(5))
        .unwrap()
        .with_bearer_token("s3cret-token");
    hook.notify(&otp(Channel::Sms)).unwrap();
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(request.starts_with("POST /notify HTTP/1.1"), "{request}");
    assert!(
        request.contains("Authorization: Bearer s3cret-token")
            || request.contains("authorization: Bearer s3cret-token"),
        "{request}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&request[request.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["code"], "493817");
    assert_eq!(body["recipient"], "alice@example.com");

    let (url, _requests) = server("503 Service Unavailable");
    let err = Webhook::new(&url, Duration::from_secs(5))
        .unwrap()
        .notify(&otp(Channel::Sms))
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert!(!err.to_string().contains("493817"));

    // Nothing listens on the discard port.
    let err = Webhook::new("http://127.0.0.1:9/x", Duration::from_secs(2))
        .unwrap()
        .notify(&otp(Channel::Sms))
        .unwrap_err();
    assert!(matches!(err, NotifyError::Delivery(_)));
    assert!(!err.to_string().contains("493817"));
    assert!(matches!(
        Webhook::new("https://gateway.example/x", Duration::from_secs(1)),
        Err(NotifyError::Config(_))
    ));
}

#[test]
fn the_router_sends_each_channel_its_way_and_debug_hides_the_code() {
    let (url, requests) = server("200 OK");
    let router = Router::new().sms(Webhook::new(&url, Duration::from_secs(5)).unwrap());
    router.notify(&otp(Channel::Sms)).unwrap();
    assert!(
        requests
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .contains("493817")
    );
    let err = router.notify(&otp(Channel::Email)).unwrap_err();
    assert!(matches!(err, NotifyError::Config(_)), "{err}");
    let shown = format!("{:?}", otp(Channel::Email));
    assert!(
        shown.contains("<redacted>") && !shown.contains("493817"),
        "{shown}"
    );
}
