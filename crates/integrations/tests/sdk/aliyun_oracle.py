"""Oracle for Aliyun SMS (Dysmsapi 2017-05-25) built on the official Python SDK.

  send    reads {endpoint, access_key_id, access_key_secret, phone, sign_name, template_code,
          template_param} as JSON on stdin, sends SendSms through the SDK over plain HTTP and
          prints what the SDK made of the answer.
  verify  reads {access_key_id, access_key_secret, requests: [{method, path, query, headers, body}]}
          and recomputes each request's ACS3 signature with the SDK's own signing function.

Prints one JSON document on stdout.
"""

import json
import sys
import time
import types
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

ALGORITHM = "ACS3-HMAC-SHA256"
REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}


def send(args):
    config = Config(
        access_key_id=args["access_key_id"],
        access_key_secret=args["access_key_secret"],
        endpoint=args["endpoint"],
        protocol="http",
    )
    client = Client(config)
    request = sms_models.SendSmsRequest(
        phone_numbers=args["phone"],
        sign_name=args["sign_name"],
        template_code=args["template_code"],
        template_param=args.get("template_param"),
    )
    runtime = RuntimeOptions(autoretry=False, read_timeout=5000, connect_timeout=5000)
    try:
        body = client.send_sms_with_options(request, runtime).body
        return {"code": body.code, "message": body.message, "biz_id": body.biz_id}
    except Exception as error:  # the SDK raises for gateway errors (HTTP 4xx/5xx)
        return {"error_code": getattr(error, "code", None), "error": str(error)[:300]}


def parse_query(raw):
    # Form decoding, as the gateway does: the SDK itself sends spaces as '+'.
    query = {}
    for pair in filter(None, raw.split("&")):
        name, _, value = pair.partition("=")
        query[unquote_plus(name)] = unquote_plus(value)
    return query


def parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    fields = dict(part.split("=", 1) for part in rest.split(","))
    return algorithm, fields


def verify_one(captured, access_key_id, secret):
    headers = {name.lower(): value for name, value in captured["headers"]}
    authorization = headers.get("authorization", "")
    algorithm, fields = parse_authorization(authorization)
    if algorithm != ALGORITHM:
        return {"ok": False, "reason": f"algorithm {algorithm!r}"}
    if fields.get("Credential") != access_key_id:
        return {"ok": False, "reason": "credential is not the access key id"}
    signed = fields.get("SignedHeaders", "").split(";")
    missing = REQUIRED_SIGNED - set(signed)
    if missing:
        return {"ok": False, "reason": f"headers not signed: {sorted(missing)}"}
    body = captured["body"].encode("utf-8")
    payload_hash = Utils.hash(body, ALGORITHM).hex()
    if headers.get("x-acs-content-sha256") != payload_hash:
        return {"ok": False, "reason": "x-acs-content-sha256 is not the body's hash"}
    date = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if abs(date.timestamp() - time.time()) > 15 * 60:
        return {"ok": False, "reason": "x-acs-date is more than 15 minutes off"}
    # The same shape the SDK signs: method, pathname, decoded query, and the signed headers.
    request = types.SimpleNamespace(
        method=captured["method"],
        pathname=captured["path"],
        query=parse_query(captured["query"]),
        headers={name: headers[name] for name in signed},
    )
    expected = Utils.get_authorization(request, ALGORITHM, payload_hash, access_key_id, secret)
    return {"ok": expected == authorization, "expected": expected, "actual": authorization}


def main():
    mode = sys.argv[1]
    args = json.load(sys.stdin)
    if mode == "send":
        result = send(args)
    elif mode == "verify":
        result = [verify_one(r, args["access_key_id"], args["access_key_secret"]) for r in args["requests"]]
    else:
        raise SystemExit(f"unknown mode {mode}")
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
