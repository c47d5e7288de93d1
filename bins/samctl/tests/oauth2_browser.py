"""sam's OAuth 2.0 pages in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium. The samctl test
`the_oauth2_pages_work_in_a_real_browser` runs it against samd.

    oauth2_browser.py CONFIG

CONFIG is a JSON file: {"server", "ca", "client_id", "client_secret", "callback_port",
"credential", "public_key" (base64 DER SubjectPublicKeyInfo), "user", "password",
"device": {"samctl", "key_file", "cwd", "env"}, "axe" (axe.min.js), "screenshots" (a
directory, or null)}.

This script is the OAuth client: it sends the user's browser to sam's authorisation endpoint
with PKCE and a fresh `state`, receives the redirect on its own loopback callback, and
exchanges the code at the token endpoint. The user logs in on sam's page; their device
(samctl's software device) approves in the background while the page waits, and the page
goes back to the client by itself; the token signs the document's hash with
`signatures/signHash` and no SAD, and python `cryptography` verifies the signature with the
credential's public key. A decline and an expiry are shown on the page, with the way back
(`access_denied`). Replaying the code, or the page's form after it was used, is refused.
axe-core (run in the same Chromium) finds no serious or critical violation on any page.
Exit 0 when all holds; the steps are printed.
"""

import base64
import hashlib
import http.server
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CONFIG = json.load(open(sys.argv[1]))
ISSUER = "https://" + CONFIG["server"]
CALLBACK = "http://127.0.0.1:%d/callback" % CONFIG["callback_port"]
TLS = ssl.create_default_context(cafile=CONFIG["ca"])
SHA256 = "2.16.840.1.101.3.4.2.1"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the client's callback --------------------------------------------------------------

RECEIVED = []


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/callback":  # not the browser's /favicon.ico
            RECEIVED.append(dict(urllib.parse.parse_qsl(url.query)))
        body = b"<!doctype html><html lang=en><title>Example client</title><h1>Back</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_callback():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", CONFIG["callback_port"]), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_for_callback(count, seconds=30):
    deadline = time.time() + seconds
    while len(RECEIVED) < count:
        assert time.time() < deadline, "the browser never came back to the client"
        time.sleep(0.1)
    return RECEIVED[count - 1]


# --- HTTP as the client -----------------------------------------------------------------


def post(path, form=None, json_body=None, basic=None, bearer=None):
    headers = {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(basic).encode()).decode()
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    request = urllib.request.Request(ISSUER + path, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, context=TLS, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text else None)


def exchange(code, verifier):
    return post(
        "/csc/v2/oauth2/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        basic=(CONFIG["client_id"], CONFIG["client_secret"]),
    )


# --- the user's device ------------------------------------------------------------------


def samctl(*args):
    d = CONFIG["device"]
    argv = [d["samctl"], "device", *args, "--key-file", d["key_file"]]
    return subprocess.Popen(
        argv,
        cwd=d["cwd"],
        env={**os.environ, **d["env"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process):
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, (out, err)
    return out


def pending_request():
    deadline = time.time() + 30
    while True:
        listed = json.loads(finished(samctl("pending", "--json")))["requests"]
        if listed:
            return listed[-1]["request_id"]
        assert time.time() < deadline, "no pending request"
        time.sleep(0.2)


# --- the browser ------------------------------------------------------------------------


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        # The development CA is not in Chromium's store; the client checks it (TLS above).
        "--ignore-certificate-errors",
        "--window-size=1000,900",
        "--lang=en-US",
    ]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


AXE = open(CONFIG["axe"]).read()


def accessible(driver, page):
    """axe-core's WCAG 2.x A/AA rules on the page: no serious or critical violation."""
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'best-practice']}}).then(r => done(r.violations.map(v =>"
        " ({id: v.id, impact: v.impact, nodes: v.nodes.length}))), e => done(String(e)));"
    )
    assert isinstance(result, list), result
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, (page, serious)
    print("axe %s: %d violations, none serious (%s)" % (page, len(result), result))


def screenshot(driver, name):
    if CONFIG.get("screenshots"):
        driver.save_screenshot(os.path.join(CONFIG["screenshots"], "oauth2-%s.png" % name))


def begin(driver, documents):
    """Sends the browser to sam for a credential-scope authorisation of `documents`:
    (state, verifier, digests)."""
    verifier = b64url(secrets.token_bytes(32))
    state = b64url(secrets.token_bytes(12))
    digests = [hashlib.sha256(d).digest() for d in documents]
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CONFIG["client_id"],
            "redirect_uri": CALLBACK,
            "state": state,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            "scope": "credential",
            "credentialID": CONFIG["credential"],
            "numSignatures": str(len(documents)),
            "hashes": ",".join(b64url(d) for d in digests),
            "hashAlgorithmOID": SHA256,
            "description": "Rental contract",
        }
    )
    driver.get(ISSUER + "/csc/v2/oauth2/authorize?" + query)
    return state, verifier, digests


def log_in(driver):
    wait = WebDriverWait(driver, 20)
    user = wait.until(EC.presence_of_element_located((By.ID, "user_id")))
    # Labels name the fields (what a screen reader says).
    assert driver.find_element(By.CSS_SELECTOR, "label[for=user_id]").text == "User id"
    user.send_keys(CONFIG["user"])
    driver.find_element(By.ID, "password").send_keys(CONFIG["password"])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    try:
        wait.until(EC.presence_of_element_located((By.ID, "status")))
    except Exception:
        print("after the login:", driver.current_url, driver.page_source, file=sys.stderr)
        raise


def main():
    callback = serve_callback()
    driver = browser()
    try:
        # 1. The whole code flow: login, the device approves while the page waits, back to
        #    the client with the code; the token signs exactly the document's hash.
        state, verifier, digests = begin(driver, [b"rental contract of alice, page 1 of 1"])
        assert "Log in to authorise" in driver.title, driver.title
        assert digests[0].hex() in driver.page_source
        accessible(driver, "login")
        screenshot(driver, "login")
        used_id = driver.find_element(By.NAME, "authorization_id").get_attribute("value")
        log_in(driver)
        assert "Approve on your device" in driver.page_source
        assert not driver.find_element(By.ID, "continue").is_displayed(), "script hides it"
        accessible(driver, "device")
        screenshot(driver, "device")
        finished(samctl("approve", "--yes", "--wait", "30"))
        back = wait_for_callback(1)
        assert back.get("state") == state, back
        assert back.get("iss") == ISSUER, back
        status, tokens = exchange(back["code"], verifier)
        assert status == 200, tokens
        assert tokens["scope"] == "credential" and tokens["credentialID"] == CONFIG["credential"]
        status, signed = post(
            "/csc/v2/signatures/signHash",
            json_body={
                "credentialID": CONFIG["credential"],
                "hashes": [base64.b64encode(digests[0]).decode()],
                "hashAlgorithmOID": SHA256,
                "signAlgo": "1.2.840.10045.4.3.2",
            },
            bearer=tokens["access_token"],
        )
        assert status == 200, signed
        signature = base64.b64decode(signed["signatures"][0])
        public_key = serialization.load_der_public_key(base64.b64decode(CONFIG["public_key"]))
        public_key.verify(signature, digests[0], ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        print("approved on the device, signed, verified by python cryptography")

        # Replays: the code again; the login form of the used authorisation, posted again
        # from sam's own origin in the same browser (its cookie sent).
        status, again = exchange(back["code"], verifier)
        assert status == 400 and again["error"] == "invalid_grant", again
        driver.get(ISSUER + "/csc/v2/oauth2/authorize")
        assert "cannot go on" in driver.page_source, driver.page_source
        driver.execute_script(
            "const f = document.createElement('form'); f.method = 'post';"
            "f.action = '/csc/v2/oauth2/authorize/login';"
            "for (const [k, v] of Object.entries(arguments[0])) {"
            "  const i = document.createElement('input'); i.name = k; i.value = v;"
            "  f.appendChild(i); }"
            "document.body.appendChild(f); f.submit();",
            {"authorization_id": used_id, "user_id": CONFIG["user"], "password": CONFIG["password"]},
        )
        WebDriverWait(driver, 20).until(EC.title_contains("cannot go on"))
        assert "not open in this browser at this step" in driver.page_source, driver.page_source
        print("replayed code and replayed login refused")

        # 2. A decline: the page says so and offers the way back, which carries the error.
        state, _, _ = begin(driver, [b"a contract alice declines"])
        log_in(driver)
        finished(samctl("decline", pending_request()))
        wait = WebDriverWait(driver, 20)
        wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "declined"))
        link = wait.until(EC.visibility_of_element_located((By.ID, "back-link")))
        accessible(driver, "declined")
        screenshot(driver, "declined")
        link.click()
        back = wait_for_callback(2)
        assert back.get("error") == "access_denied" and back.get("state") == state, back
        print("decline shown, back to the client with access_denied")

        # 3. An expiry: nobody answers; the page says the request expired.
        state, _, _ = begin(driver, [b"a contract nobody answers"])
        log_in(driver)
        WebDriverWait(driver, CONFIG["request_expiry_secs"] + 20).until(
            EC.text_to_be_present_in_element((By.ID, "status"), "expired")
        )
        WebDriverWait(driver, 5).until(EC.visibility_of_element_located((By.ID, "back-link")))
        screenshot(driver, "expired")
        print("expiry shown")
        print("done")
    finally:
        driver.quit()
        callback.shutdown()


if __name__ == "__main__":
    main()
