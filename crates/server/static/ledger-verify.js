// 公开账本核验: checks in the browser that one leaf of the publication ledger is included in the
// latest signed checkpoint. Reads only the public C2SP files (/ledger/checkpoint and
// /ledger/tile/...), verifies the checkpoint's Ed25519 note signature with WebCrypto, hashes the
// leaf from its entry bundle (RFC 6962: SHA-256(0x00 || leaf)), rebuilds the inclusion proof
// from hash tiles and checks it against the checkpoint's root (RFC 9162 §2.1.3.2), and checks
// the witnesses' cosignatures on the checkpoint against the witness keys the page carries.
// No inline script: the page's Content-Security-Policy forbids it.

// A signed-note verifier key is `name+hash+base64`: the name may not contain "+", the base64
// may, so only the first two "+" separate fields.
function parseVerifierKey(vkey) {
  "use strict";
  var first = vkey.indexOf("+");
  var second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (first <= 0 || second < 0) return null;
  var key = vkey.slice(second + 1);
  if (!/^[0-9a-f]{8}$/.test(vkey.slice(first + 1, second)) || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return null;
  return { name: vkey.slice(0, first), hash: vkey.slice(first + 1, second), key: key };
}

// Checks the signed note `text` (C2SP signed-note) against `vkey` with WebCrypto's Ed25519:
// { ok: true }, { ok: false, why } or, when the browser lacks Ed25519, { ok: null, why }.
async function verifyNoteSignature(text, vkey) {
  "use strict";
  function bytes(b64text) {
    var bin = atob(b64text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  var cut = text.lastIndexOf("\n\n");
  if (cut < 0) return { ok: false, why: "检查点格式不正确" };
  var body = new TextEncoder().encode(text.slice(0, cut + 1));
  var parts = parseVerifierKey(vkey);
  if (!parts) return { ok: false, why: "本站公钥格式不正确" };
  var key = bytes(parts.key);
  var line = text.slice(cut + 2).split("\n").filter(function (l) { return l.indexOf("\u2014 " + parts.name + " ") === 0; })[0];
  if (!line || key[0] !== 1 || key.length !== 33) return { ok: false, why: "检查点上没有本站公钥的签名" };
  var sig;
  try { sig = bytes(line.split(" ")[2]); } catch (e) { return { ok: false, why: "检查点签名格式不正确" }; }
  var id = Array.prototype.map.call(sig.slice(0, 4), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  if (id !== parts.hash) return { ok: false, why: "签名的密钥编号与本站公钥不符" };
  var k;
  try {
    k = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    return { ok: null, why: "此浏览器不支持 Ed25519，未能核对签名（其余核验照常进行）" };
  }
  var good = await crypto.subtle.verify({ name: "Ed25519" }, k, sig.slice(4), body);
  return good ? { ok: true } : { ok: false, why: "签名与检查点内容不符" };
}

// Checks the witnesses' cosignatures (C2SP tlog-cosignature, cosignature/v1: Ed25519 over
// "cosignature/v1\ntime <t>\n" and the checkpoint's note text, key ID SHA-256(name || "\n" ||
// 0x04 || key)[:4]) on the signed checkpoint `text`, for `witnesses` = [{ name, vkey }]. Resolves
// { confirmed, missing, bad } (lists of names) or, when the browser lacks Ed25519, { unsupported }.
async function verifyCosignatures(text, witnesses) {
  "use strict";
  function bytes(b64text) {
    var bin = atob(b64text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(b) {
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  var out = { confirmed: [], missing: [], bad: [], unsupported: false };
  var cut = text.lastIndexOf("\n\n");
  if (cut < 0) return out;
  var body = text.slice(0, cut + 1);
  var lines = text.slice(cut + 2).split("\n");
  for (var i = 0; i < witnesses.length; i++) {
    var w = witnesses[i];
    var parts = parseVerifierKey(w.vkey);
    var key;
    try { key = parts && bytes(parts.key); } catch (e) { key = null; }
    if (!key || key[0] !== 4 || key.length !== 33) { out.bad.push(w.name); continue; }
    var idInput = new Uint8Array(new TextEncoder().encode(parts.name + "\n").length + 33);
    idInput.set(new TextEncoder().encode(parts.name + "\n"));
    idInput.set(key, idInput.length - 33);
    var id = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", idInput)).slice(0, 4));
    if (id !== parts.hash) { out.bad.push(w.name); continue; }
    var sig = null;
    for (var j = 0; j < lines.length && !sig; j++) {
      if (lines[j].indexOf("\u2014 " + parts.name + " ") !== 0) continue;
      var blob;
      try { blob = bytes(lines[j].split(" ")[2]); } catch (e) { continue; }
      if (hex(blob.slice(0, 4)) === id) sig = blob;
    }
    if (!sig) { out.missing.push(w.name); continue; }
    if (sig.length !== 4 + 8 + 64) { out.bad.push(w.name); continue; }
    var time = 0;
    for (var k = 4; k < 12; k++) time = time * 256 + sig[k];
    var msg = new TextEncoder().encode("cosignature/v1\ntime " + time + "\n" + body);
    var ck;
    try {
      ck = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      out.unsupported = true;
      return out;
    }
    if (await crypto.subtle.verify({ name: "Ed25519" }, ck, sig.slice(12), msg)) out.confirmed.push(w.name);
    else out.bad.push(w.name);
  }
  return out;
}
if (typeof module === "object" && module.exports) {
  module.exports = {
    parseVerifierKey: parseVerifierKey,
    verifyNoteSignature: verifyNoteSignature,
    verifyCosignatures: verifyCosignatures,
  };
}

(function () {
  "use strict";
  if (typeof document === "undefined") return;
  var leafBox = document.getElementById("verify");
  var pageBox = document.getElementById("page-check");
  if (!leafBox && !pageBox) return;
  var MISMATCH = "本页内容与公开账本记录不一致";

  function reporter(list) {
    return function (ok, text) {
      var li = document.createElement("li");
      li.textContent = (ok === true ? "✔ " : ok === false ? "✘ " : "… ") + text;
      list.appendChild(li);
    };
  }
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function b64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function concat(parts) {
    var len = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(len);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  function leafHash(leaf) { return sha256(concat([new Uint8Array([0]), leaf])); }
  function nodeHash(l, r) { return sha256(concat([new Uint8Array([1]), l, r])); }
  async function fetchBytes(path) {
    var r = await fetch(path, { cache: "no-cache" });
    if (!r.ok) throw new Error("无法取得 " + path + "（" + r.status + "）");
    return new Uint8Array(await r.arrayBuffer());
  }

  // C2SP tlog-tiles path of tile `n` at `level` ("entries" for entry bundles), width `w`.
  function tilePath(level, n, w) {
    var s = ("00" + (n % 1000)).slice(-3);
    n = Math.floor(n / 1000);
    while (n > 0) {
      s = "x" + ("00" + (n % 1000)).slice(-3) + "/" + s;
      n = Math.floor(n / 1000);
    }
    return "/ledger/tile/" + level + "/" + s + (w === 256 ? "" : ".p/" + w);
  }

  var size = 0;
  var tiles = {};
  // The hashes of tile `n` at tile level `tl`, as wide as the tree of `size` leaves allows.
  async function tile(tl, n) {
    var available = Math.floor(size / Math.pow(256, tl));
    var w = Math.min(256, available - n * 256);
    var path = tilePath(tl, n, w);
    if (!tiles[path]) tiles[path] = fetchBytes(path);
    return tiles[path];
  }
  // MTH of the complete subtree of 2^level leaves starting at leaf k·2^level.
  async function subtree(level, k) {
    var tl = Math.floor(level / 8);
    var r = level % 8;
    var first = k * Math.pow(2, r);
    var data = await tile(tl, Math.floor(first / 256));
    var off = first % 256;
    var hashes = [];
    for (var i = 0; i < Math.pow(2, r); i++) hashes.push(data.slice((off + i) * 32, (off + i + 1) * 32));
    if (hashes.some(function (h) { return h.length !== 32; })) throw new Error("瓦片数据不完整");
    while (hashes.length > 1) {
      var next = [];
      for (var j = 0; j < hashes.length; j += 2) next.push(await nodeHash(hashes[j], hashes[j + 1]));
      hashes = next;
    }
    return hashes[0];
  }
  // MTH(D[lo:hi]): the complete subtrees from the left, folded from the right.
  async function range(lo, hi) {
    var parts = [];
    while (lo < hi) {
      var level = 0;
      while (lo % Math.pow(2, level + 1) === 0 && lo + Math.pow(2, level + 1) <= hi) level++;
      parts.push(await subtree(level, lo / Math.pow(2, level)));
      lo += Math.pow(2, level);
    }
    var h = parts.pop();
    while (parts.length) h = await nodeHash(parts.pop(), h);
    return h;
  }
  // RFC 6962 §2.1.1 PATH(m, D[lo:hi]).
  async function path(m, lo, hi) {
    if (hi - lo === 1) return [];
    var k = 1;
    while (k * 2 < hi - lo) k *= 2;
    if (m < lo + k) return (await path(m, lo, lo + k)).concat([await range(lo + k, hi)]);
    return (await path(m, lo + k, hi)).concat([await range(lo, lo + k)]);
  }
  // RFC 9162 §2.1.3.2.
  async function rootFromProof(leaf, m, n, proof) {
    var fn = m, sn = n - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(proof[i], r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await nodeHash(r, proof[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  // Checks leaf `index` against the latest checkpoint: the checkpoint's signature, the leaf
  // from its entry bundle, its hash against `expected`, and its inclusion proof. Resolves
  // { ok, text, leaf }, `text` saying what failed.
  // The witnesses' cosignatures on the checkpoint: a bad one is a failure, a missing one only
  // a note (a witness may not have caught up yet).
  async function checkWitnesses(text, witnesses, say) {
    if (!witnesses.length) return true;
    var w = await verifyCosignatures(text, witnesses);
    if (w.unsupported) {
      say(null, "此浏览器不支持 Ed25519，未能核对见证方副署");
      return true;
    }
    if (w.bad.length) {
      say(false, "见证方副署核验未通过：" + w.bad.join("、"));
      return false;
    }
    if (w.confirmed.length) {
      say(true, "已由 " + w.confirmed.length + " 个见证方确认（共 " + witnesses.length + " 个）：" + w.confirmed.join("、"));
    }
    if (w.missing.length) say(null, "尚未确认当前检查点的见证方：" + w.missing.join("、"));
    return true;
  }

  async function checkLeaf(index, expected, vkey, say, witnesses) {
    var text = new TextDecoder().decode(await fetchBytes("/ledger/checkpoint"));
    var lines = text.split("\n");
    size = Number(lines[1]);
    var root = b64(lines[2]);
    if (!(size > index) || root.length !== 32) {
      say(false, "最新检查点不包含第 " + index + " 号记录");
      return { ok: false, text: "不一致：最新检查点中没有这条记录。" };
    }
    say(true, "已取得最新检查点：账本共 " + size + " 条记录");
    var sig = await verifyNoteSignature(text, vkey);
    if (sig.ok === false) {
      say(false, sig.why);
      return { ok: false, text: "不一致：检查点签名核验未通过，它可能不是本站签发的。" };
    }
    say(sig.ok, sig.ok ? "检查点签名核验通过（Ed25519，本站公钥）" : sig.why);
    if (!(await checkWitnesses(text, witnesses || [], say))) {
      return { ok: false, text: "不一致：检查点上的见证方副署核验未通过。" };
    }
    var n = Math.floor(index / 256);
    var bundle = await fetchBytes(tilePath("entries", n, Math.min(256, size - n * 256)));
    var at = 0, leaf = null;
    for (var i = 0; at + 2 <= bundle.length; i++) {
      var len = bundle[at] * 256 + bundle[at + 1];
      if (i === index % 256) leaf = bundle.slice(at + 2, at + 2 + len);
      at += 2 + len;
    }
    if (!leaf) {
      say(false, "账本数据中找不到这条记录");
      return { ok: false, text: "不一致：账本数据中找不到这条记录。" };
    }
    var lh = await leafHash(leaf);
    if (hex(lh) !== expected) {
      say(false, "账本中这条记录的哈希与本页显示的不同");
      return { ok: false, text: "不一致：本页显示的记录与账本中的不同。" };
    }
    say(true, "账本中第 " + index + " 号记录的哈希与本页显示的一致");
    var proof = await path(index, 0, size);
    var computed = await rootFromProof(lh, index, size, proof);
    if (!computed || !equal(computed, root)) {
      say(false, "包含证明与检查点的根哈希对不上");
      return { ok: false, text: "不一致：这条记录不在最新检查点的账本里，账本可能被改写过。" };
    }
    say(true, "包含证明（" + proof.length + " 个哈希）与检查点根哈希一致");
    return { ok: true, text: "", leaf: leaf };
  }

  // The leaf format's cell escaping (core::ledger): \ → \\, newline → \n, CR → \r, tab → \t.
  function escapeCell(c) {
    return String(c).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  }
  function unescapeValue(v) {
    return v.replace(/\\(.)/g, function (_, c) { return c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c; });
  }
  async function rowsDigest(rows) {
    var text = rows.map(function (r) { return r.map(escapeCell).join("\t") + "\n"; }).join("");
    return hex(await sha256(new TextEncoder().encode(text)));
  }
  // Fen as the pages show yuan: 1,234.50.
  function yuan(fen) {
    var n = Number(fen);
    var whole = String(Math.floor(Math.abs(n) / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (n < 0 ? "-" : "") + whole + "." + ("0" + (Math.abs(n) % 100)).slice(-2);
  }
  function shown(value, format) { return format === "yuan" ? yuan(value) : String(value); }
  function clean(text) { return text.replace(/\s+/g, " ").trim(); }

  // Compares what the page displays with the copy: elements marked data-ledger-field show a
  // leaf field, tables marked data-ledger-rows show the rows behind a digest. Returns the
  // first difference, or "".
  function displayedDifference(fields, rows) {
    var marked = document.querySelectorAll("[data-ledger-field]");
    for (var i = 0; i < marked.length; i++) {
      var el = marked[i];
      var key = el.dataset.ledgerField;
      if (!(key in fields) || clean(el.textContent) !== clean(shown(fields[key], el.dataset.ledgerFormat))) {
        return (el.dataset.ledgerLabel || key) + "：本页显示“" + clean(el.textContent) + "”";
      }
    }
    var tables = document.querySelectorAll("table[data-ledger-rows]");
    for (var t = 0; t < tables.length; t++) {
      var table = tables[t];
      var list = rows[table.dataset.ledgerRows] || [];
      var offset = Number(table.dataset.ledgerOffset || 0);
      var cells = table.dataset.ledgerCells.split(",");
      var trs = table.tBodies[0] ? table.tBodies[0].rows : [];
      for (var r = 0; r < trs.length; r++) {
        var row = list[offset + r];
        if (!row) return "第 " + (offset + r + 1) + " 行：内容副本中没有这一行";
        for (var c = 0; c < cells.length && c < trs[r].cells.length; c++) {
          if (cells[c] === "-") continue;
          var spec = cells[c].split(":");
          var want = shown(row[Number(spec[0])], spec[1]);
          var got = trs[r].cells[c].textContent;
          if (clean(got) !== clean(want)) return "第 " + (offset + r + 1) + " 行：本页显示“" + clean(got) + "”";
        }
      }
    }
    return "";
  }

  // 核验本页: the leaf, then the page's copy rebuilt into the leaf's text, then the displayed
  // text against the copy.
  async function checkPage(say) {
    var copy = JSON.parse(document.getElementById("ledger-copy").textContent);
    var index = Number(pageBox.dataset.index);
    var r = await checkLeaf(index, pageBox.dataset.hash, pageBox.dataset.vkey, say, witnessList(pageBox));
    if (!r.ok) return r;
    if (copy.index !== index || !copy.lines.length) {
      say(false, "本页没有这条记录的内容副本");
      return { ok: false, text: MISMATCH + "：本页缺少可核对的内容副本。" };
    }
    var lines = [];
    for (var i = 0; i < copy.lines.length; i++) {
      var m = /^([a-z_]+)_sha256=/.exec(copy.lines[i]);
      if (m && copy.rows[m[1]]) lines.push(m[1] + "_sha256=" + (await rowsDigest(copy.rows[m[1]])));
      else lines.push(copy.lines[i]);
    }
    var rebuilt = new TextEncoder().encode(lines.join("\n") + "\n");
    if (!equal(rebuilt, r.leaf)) {
      var leafLines = new TextDecoder().decode(r.leaf).split("\n");
      var keys = lines.filter(function (l, k) { return l !== leafLines[k]; }).map(function (l) { return l.split("=")[0]; });
      say(false, "由本页内容重新计算的记录与账本第 " + index + " 号记录不同（" + keys.join("、") + "）");
      return { ok: false, text: MISMATCH + "：本页内容在记入账本后被改动过。" };
    }
    say(true, "由本页内容重新计算的摘要与账本记录一致");
    var fields = {};
    lines.forEach(function (l) {
      var at = l.indexOf("=");
      if (at > 0) fields[l.slice(0, at)] = unescapeValue(l.slice(at + 1));
    });
    var diff = displayedDifference(fields, copy.rows);
    if (diff) {
      say(false, diff);
      return { ok: false, text: MISMATCH + "：本页显示的文字与记录不符。" };
    }
    say(true, "本页显示的文字与账本记录一致");
    return { ok: true, text: "一致：本页内容与公开账本第 " + index + " 号记录一致，账本未被改写。" };
  }

  function witnessList(box) {
    try { return JSON.parse(box.dataset.witnesses || "[]"); } catch (e) { return []; }
  }

  var hasCrypto = window.crypto && crypto.subtle;
  if (leafBox) {
    var verdict = document.getElementById("verdict");
    var say = reporter(document.getElementById("steps"));
    var finish = function (ok, text) {
      verdict.textContent = text;
      verdict.className = "verdict " + (ok ? "ok" : "bad");
      leafBox.classList.add(ok ? "ok" : "bad");
      leafBox.dataset.result = ok ? "match" : "mismatch";
    };
    if (!hasCrypto) return finish(false, "此浏览器无法进行核验（缺少加密功能），请换用较新的浏览器。");
    checkLeaf(Number(leafBox.dataset.index), leafBox.dataset.hash, leafBox.dataset.vkey, say, witnessList(leafBox)).then(function (r) {
      finish(r.ok, r.ok ? "一致：本页内容确实记入了公开账本，账本未被改写。" : r.text);
    }).catch(function (e) {
      say(false, String(e && e.message ? e.message : e));
      finish(false, "核验未能完成：网络或数据出错，请稍后重试。");
    });
  }
  if (pageBox && hasCrypto) {
    var button = document.getElementById("page-check-run");
    var pageVerdict = document.getElementById("page-verdict");
    var pageSteps = document.getElementById("page-steps");
    var report = document.getElementById("page-report");
    var done = function (ok, text, mismatch) {
      pageVerdict.textContent = text;
      pageVerdict.className = "verdict " + (ok ? "ok" : "bad");
      pageBox.dataset.result = ok ? "match" : "mismatch";
      report.hidden = !mismatch || !pageBox.dataset.report;
      button.disabled = false;
    };
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      pageSteps.textContent = "";
      pageSteps.hidden = false;
      pageVerdict.hidden = false;
      pageVerdict.className = "verdict";
      pageVerdict.textContent = "正在核验，请稍候……";
      report.hidden = true;
      delete pageBox.dataset.result;
      tiles = {};
      checkPage(reporter(pageSteps)).then(function (r) {
        done(r.ok, r.text, !r.ok);
      }).catch(function (e) {
        reporter(pageSteps)(false, String(e && e.message ? e.message : e));
        done(false, "核验未能完成：网络或数据出错，请稍后重试。", false);
      });
    });
  }
})();
