// Unit test (Node, no browser) of the 核验 script's signed-note handling: verifier keys whose
// base64 contains "+" and "/" are parsed whole, and a checkpoint signed with such a key is
// verified with WebCrypto's Ed25519, the same API the page uses; a witness's cosignature
// (C2SP tlog-cosignature, cosignature/v1) made by the server's Rust code is verified too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createHash, webcrypto } from 'node:crypto';

const require = createRequire(import.meta.url);
const { parseVerifierKey, verifyNoteSignature, verifyCosignatures } = require('../../crates/server/static/ledger-verify.js');
globalThis.crypto ??= webcrypto;

// A signed-note Ed25519 key pair (0x01 || public key) whose base64 holds both "+" and "/".
async function awkwardKey(name) {
  for (;;) {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const data = Buffer.concat([Buffer.from([1]), raw]);
    const b64 = data.toString('base64');
    if (!b64.includes('+') || !b64.includes('/')) continue;
    const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), data])).digest().subarray(0, 4);
    return { vkey: `${name}+${id.toString('hex')}+${b64}`, id, privateKey: pair.privateKey };
  }
}

async function sign(body, name, key) {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, new TextEncoder().encode(body)));
  return `${body}\n\u2014 ${name} ${Buffer.concat([key.id, sig]).toString('base64')}\n`;
}

test('a verifier key is split on its first two plus signs only', () => {
  const key = 'xiaowei.example/ledger+0a1b2c3d+AQ+/x+y/z+0123456789abcdefghijABCDEFGHIJ+/=';
  assert.deepEqual(parseVerifierKey(key), {
    name: 'xiaowei.example/ledger',
    hash: '0a1b2c3d',
    key: 'AQ+/x+y/z+0123456789abcdefghijABCDEFGHIJ+/=',
  });
});

test('a malformed verifier key is refused', () => {
  for (const bad of ['', 'name', 'name+0a1b2c3d', '+0a1b2c3d+AQ==', 'name+xyz+AQ==', 'name+0a1b2c3d+A Q==']) {
    assert.equal(parseVerifierKey(bad), null, bad);
  }
});

test('a checkpoint signed by a key with plus and slash in its base64 verifies', async () => {
  const name = 'xiaowei.example/ledger';
  const key = await awkwardKey(name);
  const body = `${name}\n7\nq4H0v8eVxhS6KpR9mI3n1a9w0sYQm1b2c3d4e5f6g7h=\n`;
  const note = await sign(body, name, key);
  assert.deepEqual(await verifyNoteSignature(note, key.vkey), { ok: true });
  const altered = note.replace('\n7\n', '\n8\n');
  assert.equal((await verifyNoteSignature(altered, key.vkey)).ok, false);
  const other = await awkwardKey(name);
  assert.equal((await verifyNoteSignature(note, other.vkey)).ok, false);
});

// Made by core::witness::WitnessKey (RFC 8032 test-1 key, the C2SP example checkpoint and time);
// the same vector is asserted in crates/core/src/witness.rs.
const WITNESS = { name: '县纪委监委', vkey: 'witness.example/w1+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea' };
const CHECKPOINT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n'
  + '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n'
  + '\u2014 witness.example/w1 63YswgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/HbuL3AJsp3bv/aNCQ==\n';

test('a witness cosignature made by the server verifies in the browser code', async () => {
  const other = { name: '渊泉镇', vkey: 'witness.example/w2+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea' };
  const r = await verifyCosignatures(CHECKPOINT, [WITNESS, other]);
  assert.deepEqual(r.confirmed, ['县纪委监委']);
  assert.deepEqual(r.bad, ['渊泉镇'], 'a key whose ID does not match its name is refused');
  const altered = await verifyCosignatures(CHECKPOINT.replace('20852163', '20852164'), [WITNESS]);
  assert.deepEqual(altered.bad, ['县纪委监委']);
  const uncosigned = CHECKPOINT.split('\n').slice(0, 5).join('\n') + '\n';
  assert.deepEqual((await verifyCosignatures(uncosigned, [WITNESS])).missing, ['县纪委监委']);
});
