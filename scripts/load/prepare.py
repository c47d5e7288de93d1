"""Creates N authorisation requests (raw P-256 signatures, one document each) for the
end-to-end sign measurement (scripts/load-sign): keep-alive HTTPS with HTTP Basic, standard
library only. Prints the request ids, one per line, and the rate it reached on stderr."""

import base64
import hashlib
import http.client
import json
import os
import ssl
import sys
import time


def main() -> None:
    host, port, ca, user, key, count = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        sys.argv[4],
        sys.argv[5],
        int(sys.argv[6]),
    )
    client_id = os.environ["SAM_CLIENT_ID"]
    secret = os.environ["SAM_CLIENT_SECRET"]
    context = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection(host, port, context=context)
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
    started = time.monotonic()
    for i in range(count):
        digest = hashlib.sha256(f"document {i}".encode()).digest()
        body = json.dumps(
            {
                "user_id": user,
                "key_id": key,
                "hash_algorithm": "sha-256",
                "format": "raw",
                "documents": [
                    {"label": f"doc-{i}.txt", "digest": base64.b64encode(digest).decode()}
                ],
            }
        )
        connection.request("POST", "/api/v1/authorisations", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 201:
            sys.exit(f"Authorise {i}: HTTP {response.status}: {answer.decode()}")
        print(json.loads(answer)["request_id"], flush=True)
    elapsed = time.monotonic() - started
    print(
        f"authorise: {count} requests in {elapsed:.2f} s ({count / elapsed:.0f}/s, one connection)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
