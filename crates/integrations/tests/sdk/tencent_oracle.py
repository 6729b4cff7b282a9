"""Oracle for Tencent Cloud SMS (sms 2021-01-11) built on the official Python SDK.

  send    reads {endpoint, secret_id, secret_key, region, sdk_app_id, sign_name, template_id,
          phone_numbers, template_params} as JSON on stdin, sends SendSms through the SDK's
          SmsClient over plain HTTP and prints what the SDK made of the answer.
  verify  reads {secret_id, secret_key, region, requests: [{method, path, query, headers, body}]}
          and recomputes each request's TC3-HMAC-SHA256 signature with the SDK's own signing code.

Prints one JSON document on stdout.
"""

import json
import sys
import time
from datetime import datetime, timezone

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client


def client(args, endpoint=None):
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=5))
    return sms_client.SmsClient(credential.Credential(args["secret_id"], args["secret_key"]), args["region"], profile)


def send(args):
    request = models.SendSmsRequest()
    request.PhoneNumberSet = args["phone_numbers"]
    request.SmsSdkAppId = args["sdk_app_id"]
    request.SignName = args["sign_name"]
    request.TemplateId = args["template_id"]
    request.TemplateParamSet = args["template_params"]
    try:
        response = client(args, args["endpoint"]).SendSms(request)
        status = response.SendStatusSet[0]
        return {"code": status.Code, "message": status.Message, "serial_no": status.SerialNo}
    except TencentCloudSDKException as error:
        return {"error_code": error.code, "error": str(error)[:300]}


def verify_one(sdk, captured, secret_id, secret_key):
    headers = {name.lower(): value for name, value in captured["headers"]}
    authorization = headers.get("authorization", "")
    prefix = "TC3-HMAC-SHA256 Credential="
    if not authorization.startswith(prefix):
        return {"ok": False, "reason": "not a TC3-HMAC-SHA256 authorization"}
    credential_scope = authorization[len(prefix):].split(",")[0]
    key_id, date, service, terminator = credential_scope.split("/")
    if key_id != secret_id or service != "sms" or terminator != "tc3_request":
        return {"ok": False, "reason": f"credential scope {credential_scope!r}"}
    timestamp = int(headers["x-tc-timestamp"])
    if abs(timestamp - time.time()) > 5 * 60:
        return {"ok": False, "reason": "X-TC-Timestamp is more than 5 minutes off"}
    if datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d") != date:
        return {"ok": False, "reason": "credential date is not the timestamp's UTC date"}
    for name, wanted in (("x-tc-action", "SendSms"), ("x-tc-version", "2021-01-11")):
        if headers.get(name) != wanted:
            return {"ok": False, "reason": f"{name} is {headers.get(name)!r}"}
    # Rebuild the request the way the SDK holds it just before signing, then let the SDK sign it.
    request = RequestInternal(headers["host"], captured["method"], captured["path"])
    request.header["Content-Type"] = headers.get("content-type", "")
    request.header["Host"] = headers["host"]
    request.header["X-TC-Timestamp"] = headers["x-tc-timestamp"]
    request.data = captured["body"]
    signature = sdk._get_tc3_signature(None, request, date, service, secret_key)
    expected = "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s" % (
        secret_id, date, service, signature)
    return {"ok": expected == authorization, "expected": expected, "actual": authorization}


def main():
    mode = sys.argv[1]
    args = json.load(sys.stdin)
    if mode == "send":
        result = send(args)
    elif mode == "verify":
        sdk = client(args)
        result = [verify_one(sdk, r, args["secret_id"], args["secret_key"]) for r in args["requests"]]
    else:
        raise SystemExit(f"unknown mode {mode}")
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
