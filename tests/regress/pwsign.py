"""pwsign.py: an independent signer for tests (python3-cryptography from
Debian), following the reference's canonical string, to check portwing's
verification against code it does not share."""
import base64
import hashlib
import http.client
import os
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def new_key(path):
    k = Ed25519PrivateKey.generate()
    with open(path, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return k


def load(path):
    return serialization.load_pem_private_key(open(path, "rb").read(), None)


def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)


def line(k, comment="", options=""):
    s = "ed25519 " + base64.b64encode(raw_pub(k)).decode()
    if options:
        s = options + " " + s
    return s + (" " + comment if comment else "")


def key_id(k):
    return hashlib.sha256(raw_pub(k)).hexdigest()[:16]


def headers(k, method, target, body=b"", ts=None, nonce=None, version="2",
            canon_override=None, prefix="X-Portwing-"):
    """prefix "X-Lookout-" gives Lookout v0.2's header names (same bytes)."""
    ts = str(int(time.time())) if ts is None else ts
    nonce = os.urandom(16).hex() if nonce is None else nonce
    canon = canon_override or "\n".join(
        [method, target, hashlib.sha256(body).hexdigest(), ts, nonce])
    sig = base64.urlsafe_b64encode(k.sign(canon.encode())).rstrip(b"=").decode()
    h = {prefix + "Key-ID": key_id(k), prefix + "Timestamp": ts,
         prefix + "Nonce": nonce, prefix + "Signature": sig}
    if version:
        h[prefix + "Signature-Version"] = version
    return h


def send(port, method, target, hdrs, body=b"", source=None,
         reason_header="X-Portwing-Reason"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20,
                                   source_address=(source, 0) if source else None)
    c.request(method, target, body=body if body else None, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader(reason_header), data
