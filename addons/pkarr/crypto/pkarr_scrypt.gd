class_name PkarrScrypt
extends RefCounted
## scrypt (RFC 7914) for the addon's sidecar-free paths: the short invite codes of lobbies need
## [code]scrypt(host key, "pkarr-godot-short-code:v1", N = 2^14, r = 8, p = 1, 7 bytes)[/code]
## (sidecar/src/lobby/short-code.ts).
##
## [codeblock]
## var scrypt := PkarrScrypt.new()
## var key: PackedByteArray = await scrypt.derive(password, salt, 16384, 8, 1, 64)
## var fingerprint: PackedByteArray = await scrypt.short_code_fingerprint(host_public_key)
## if fingerprint.is_empty():
##     push_warning("%s: %s" % [scrypt.last_error, scrypt.last_error_message])
## [/codeblock]
## Only in a browser: PBKDF2-HMAC-SHA256 runs in WebCrypto ([code]crypto.subtle.deriveBits[/code])
## and ROMix (Salsa20/8 BlockMix, 128·N·r bytes of memory: 16 MiB for short codes) in JavaScript
## installed through [code]JavaScriptBridge.eval[/code]: in a Web Worker, so the game keeps
## running (about 0.1 s for the short-code parameters), or on the page's thread when the page may
## not start a worker. Pure GDScript would take minutes per derivation, so elsewhere
## (and with [member force_pure]) every call returns an empty array with [member last_error] =
## [constant ERR_UNAVAILABLE]. Bad parameters give [constant ERR_INVALID_ARGUMENT].

## scrypt cannot run here (not a browser, no WebCrypto, or [member force_pure]).
const ERR_UNAVAILABLE := "SCRYPT_UNAVAILABLE"
## N is not a power of two ≥ 2, r or p < 1, the output length outside 1..1024, or the memory
## (128·N·r bytes) above [constant MAX_MEMORY_BYTES].
const ERR_INVALID_ARGUMENT := "INVALID_ARGUMENT"
## The browser refused or failed the derivation (the message names the JS error).
const ERR_FAILED := "SCRYPT_FAILED"
## Memory bound of one ROMix (like Node's default maxmem of 32 MiB).
const MAX_MEMORY_BYTES := 32 * 1024 * 1024
## The short-code scheme v1 (sidecar/src/lobby/short-code.ts).
const SHORT_CODE_SALT := "pkarr-godot-short-code:v1"
const SHORT_CODE_N := 16384
const SHORT_CODE_R := 8
const SHORT_CODE_P := 1
const SHORT_CODE_BYTES := 7

## Behave as where scrypt is unavailable (tests).
var force_pure: bool = false
## The error code of the last call that failed ("" after a success).
var last_error: String = ""
## A human-readable explanation of [member last_error].
var last_error_message: String = ""

const _JS := """
(function () {
  if (window.__pkarrScrypt) return;
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const toB64 = (u) => {
    let s = '';
    for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s);
  };
  const pbkdf2 = async (password, salt, bytes) => {
    const key = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    const params = { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 1 };
    return new Uint8Array(await subtle.deriveBits(params, key, bytes * 8));
  };
  const rotl = (a, b) => (a << b) | (a >>> (32 - b));
  // x = Salsa20/8(x), in place (16 words).
  const salsa8 = (x) => {
    let x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
    let x8 = x[8], x9 = x[9], x10 = x[10], x11 = x[11],
      x12 = x[12], x13 = x[13], x14 = x[14], x15 = x[15];
    for (let i = 0; i < 4; i++) {
      x4 ^= rotl(x0 + x12, 7); x8 ^= rotl(x4 + x0, 9);
      x12 ^= rotl(x8 + x4, 13); x0 ^= rotl(x12 + x8, 18);
      x9 ^= rotl(x5 + x1, 7); x13 ^= rotl(x9 + x5, 9);
      x1 ^= rotl(x13 + x9, 13); x5 ^= rotl(x1 + x13, 18);
      x14 ^= rotl(x10 + x6, 7); x2 ^= rotl(x14 + x10, 9);
      x6 ^= rotl(x2 + x14, 13); x10 ^= rotl(x6 + x2, 18);
      x3 ^= rotl(x15 + x11, 7); x7 ^= rotl(x3 + x15, 9);
      x11 ^= rotl(x7 + x3, 13); x15 ^= rotl(x11 + x7, 18);
      x1 ^= rotl(x0 + x3, 7); x2 ^= rotl(x1 + x0, 9);
      x3 ^= rotl(x2 + x1, 13); x0 ^= rotl(x3 + x2, 18);
      x6 ^= rotl(x5 + x4, 7); x7 ^= rotl(x6 + x5, 9);
      x4 ^= rotl(x7 + x6, 13); x5 ^= rotl(x4 + x7, 18);
      x11 ^= rotl(x10 + x9, 7); x8 ^= rotl(x11 + x10, 9);
      x9 ^= rotl(x8 + x11, 13); x10 ^= rotl(x9 + x8, 18);
      x12 ^= rotl(x15 + x14, 7); x13 ^= rotl(x12 + x15, 9);
      x14 ^= rotl(x13 + x12, 13); x15 ^= rotl(x14 + x13, 18);
    }
    x[0] += x0; x[1] += x1; x[2] += x2; x[3] += x3; x[4] += x4; x[5] += x5; x[6] += x6; x[7] += x7;
    x[8] += x8; x[9] += x9; x[10] += x10; x[11] += x11;
    x[12] += x12; x[13] += x13; x[14] += x14; x[15] += x15;
  };
  // out = BlockMix(b) for 2r blocks of 16 words; x is scratch.
  const blockMix = (b, out, r, x) => {
    x.set(b.subarray((2 * r - 1) * 16, 2 * r * 16));
    for (let i = 0; i < 2 * r; i++) {
      for (let k = 0; k < 16; k++) x[k] ^= b[i * 16 + k];
      salsa8(x);
      out.set(x, ((i & 1) === 0 ? i >> 1 : r + (i >> 1)) * 16);
    }
  };
  const roMix = (bytes, n, r) => {
    const words = 32 * r;
    let a = new Uint32Array(words);
    let b = new Uint32Array(words);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < words; i++) a[i] = view.getUint32(i * 4, true);
    const v = new Uint32Array(words * n);
    const x = new Uint32Array(16);
    for (let i = 0; i < n; i++) {
      v.set(a, i * words);
      blockMix(a, b, r, x);
      [a, b] = [b, a];
    }
    for (let i = 0; i < n; i++) {
      const j = a[(2 * r - 1) * 16] & (n - 1);
      for (let k = 0; k < words; k++) a[k] ^= v[j * words + k];
      blockMix(a, b, r, x);
      [a, b] = [b, a];
    }
    const out = new Uint8Array(words * 4);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < words; i++) outView.setUint32(i * 4, a[i], true);
    return out;
  };
  // ROMix runs in a Web Worker (the same functions, sent as text) so the page's thread stays free;
  // inline when the page may not start one (e.g. a CSP without blob: workers) or it fails.
  let worker = null;
  let workerBroken = false;
  let nextId = 1;
  const waiting = new Map();
  const startWorker = () => {
    const src = `const rotl = ${rotl}; const salsa8 = ${salsa8}; const blockMix = ${blockMix};
      const roMix = ${roMix};
      onmessage = (e) => {
        const out = roMix(e.data.bytes, e.data.n, e.data.r);
        postMessage({ id: e.data.id, out }, [out.buffer]);
      };`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    w.onmessage = (e) => {
      const entry = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      if (entry) entry.resolve(e.data.out);
    };
    w.onerror = () => {
      workerBroken = true;
      worker = null;
      for (const entry of waiting.values()) entry.reject(new Error('worker failed'));
      waiting.clear();
    };
    return w;
  };
  const roMixInline = (bytes, n, r) => {
    api.lastMode = 'inline';
    return roMix(bytes, n, r);
  };
  const roMixAsync = (bytes, n, r) => {
    if (!api.useWorker || workerBroken) return Promise.resolve(roMixInline(bytes, n, r));
    try {
      worker = worker || startWorker();
    } catch (e) {
      workerBroken = true;
      return Promise.resolve(roMixInline(bytes, n, r));
    }
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, bytes: bytes.slice(), n, r });
    }).then((out) => {
      api.lastMode = 'worker';
      return out;
    }, () => roMixInline(bytes, n, r));
  };
  const api = {
    useWorker: true,
    lastMode: '',
    derive(password, salt, n, r, p, length, cb) {
      Promise.resolve()
        .then(async () => {
          if (!subtle) {
            throw Object.assign(new Error('no crypto.subtle'), { name: 'NotSupportedError' });
          }
          const pw = fromB64(password);
          const b = await pbkdf2(pw, fromB64(salt), p * 128 * r);
          const len = 128 * r;
          for (let i = 0; i < p; i++) {
            b.set(await roMixAsync(b.subarray(i * len, (i + 1) * len), n, r), i * len);
          }
          return [1, toB64(await pbkdf2(pw, b, length))];
        })
        .then((res) => cb(res[0], res[1]), (e) => cb(-1, String((e && e.name) || e)));
    },
  };
  window.__pkarrScrypt = api;
})();
"""

static var _installed: bool = false


## True where [method derive] can work (a web export with JavaScriptBridge).
static func is_possible() -> bool:
	return PkarrWebCrypto.is_possible()


## scrypt(password, salt, N, r, p) with [param length] output bytes, or an empty array and
## [member last_error] set.
func derive(password: PackedByteArray, salt: PackedByteArray, n: int, r: int, p: int,
		length: int) -> PackedByteArray:
	last_error = ""
	last_error_message = ""
	if n < 2 or (n & (n - 1)) != 0 or r < 1 or p < 1 or p > 16 or length < 1 or length > 1024:
		return _fail(ERR_INVALID_ARGUMENT,
				"need N a power of two >= 2, r >= 1, 1 <= p <= 16, length 1..1024")
	if 128 * n * r > MAX_MEMORY_BYTES:
		return _fail(ERR_INVALID_ARGUMENT,
				"128·N·r = %d bytes is above %d" % [128 * n * r, MAX_MEMORY_BYTES])
	if force_pure or not is_possible():
		return _fail(ERR_UNAVAILABLE,
				"scrypt runs only in a browser (WebCrypto + JavaScript): pure GDScript is too slow")
	var js: Object = PkarrWebCrypto.bridge()
	if not _installed:
		js.eval(_JS, true)
		_installed = true
	var api: Object = js.get_interface("__pkarrScrypt")
	if api == null:
		return _fail(ERR_UNAVAILABLE, "the JavaScript part did not load")
	var pending := PkarrWebCrypto.Pending.new(js)
	api.derive(PkarrWebCrypto.b64(password), PkarrWebCrypto.b64(salt), n, r, p, length,
			pending.callback)
	var result: Array = await pending.finished
	if result[0] != 1:
		return _fail(ERR_FAILED, "the browser failed: %s" % result[1])
	return Marshalls.base64_to_raw(result[1])


## The 7-byte short-code fingerprint of a 32-byte host public key (scheme v1).
func short_code_fingerprint(public_key: PackedByteArray) -> PackedByteArray:
	if public_key.size() != 32:
		return _fail(ERR_INVALID_ARGUMENT, "a public key is 32 bytes, got %d" % public_key.size())
	return await derive(public_key, SHORT_CODE_SALT.to_utf8_buffer(), SHORT_CODE_N, SHORT_CODE_R,
			SHORT_CODE_P, SHORT_CODE_BYTES)


func _fail(code: String, message: String) -> PackedByteArray:
	last_error = code
	last_error_message = message
	return PackedByteArray()
