"""wechatpy as an independent implementation of the WeChat official-account protocol.

Reads a JSON list of operations on stdin and prints a JSON list of results:
  {"op": "encrypt", token, aes_key, appid, xml, nonce, timestamp}
      -> {"body", "msg_signature"}: the safe-mode POST body wechatpy builds, and its signature
  {"op": "decrypt", token, aes_key, appid, body, msg_signature, timestamp, nonce}
      -> {"ok": true, "xml", "type", "content", "target", "source"} or {"ok": false, "error"}
  {"op": "parse", xml} -> {"ok", "type", "content", "target", "source"} (a plaintext reply)
  {"op": "sign", token, timestamp, nonce[, encrypt]} -> {"signature"}
  {"op": "check", token, signature, timestamp, nonce} -> {"ok"}
  {"op": "template", touser, template_id, url, data} -> {"body"}: the request body wechatpy's
      send_template posts to message/template/send for these parts
"""
import json
import sys

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, InvalidAppIdException
from wechatpy.utils import WeChatSigner, check_signature


def parsed(xml):
    msg = parse_message(xml)
    return {
        "type": msg.type,
        "content": getattr(msg, "content", None),
        "target": msg.target,
        "source": msg.source,
    }


def run(op):
    kind = op["op"]
    if kind == "encrypt":
        crypto = WeChatCrypto(op["token"], op["aes_key"], op["appid"])
        body = crypto.encrypt_message(op["xml"], op["nonce"], op["timestamp"])
        sig = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        return {"body": body, "msg_signature": sig}
    if kind == "decrypt":
        crypto = WeChatCrypto(op["token"], op["aes_key"], op["appid"])
        try:
            xml = crypto.decrypt_message(op["body"], op["msg_signature"], op["timestamp"], op["nonce"])
        except (InvalidSignatureException, InvalidAppIdException) as e:
            return {"ok": False, "error": type(e).__name__}
        return dict(ok=True, xml=xml, **parsed(xml))
    if kind == "parse":
        return dict(ok=True, **parsed(op["xml"]))
    if kind == "sign":
        parts = [op["token"], op["timestamp"], op["nonce"]]
        if "encrypt" in op:
            parts.append(op["encrypt"])
        signer = WeChatSigner()
        signer.add_data(*parts)
        return {"signature": signer.signature}
    if kind == "check":
        try:
            check_signature(op["token"], op["signature"], op["timestamp"], op["nonce"])
            return {"ok": True}
        except InvalidSignatureException:
            return {"ok": False}
    if kind == "template":
        from wechatpy import WeChatClient

        client = WeChatClient("wx_oracle", "secret", access_token="token")
        posted = {}

        def capture(url, **kwargs):
            posted["url"] = url
            posted["body"] = kwargs.get("data")
            return {"errcode": 0, "msgid": 1}

        client.message._post = capture
        client.message.send_template(op["touser"], op["template_id"], op["data"], url=op["url"])
        body = {k: v for k, v in posted["body"].items() if v is not None}
        return {"body": body, "endpoint": posted["url"]}
    raise ValueError(kind)


print(json.dumps([run(op) for op in json.load(sys.stdin)], ensure_ascii=False))
