class_name PkarrWebCrypto
extends RefCounted
## Ed25519 through the browser's WebCrypto ([code]crypto.subtle[/code]) for web exports
## (internal: use [PkarrSignatures]). Every call is a coroutine:
## [codeblock]
## var r: Array = await PkarrWebCrypto.verify(public_key, message, signature)  # [status, ""]
## var s: Array = await PkarrWebCrypto.sign(seed, message)                      # [status, sig]
## [/codeblock]
## [code]status[/code] is 1 (done; for verify: valid), 0 (verify: invalid) or -1 (WebCrypto
## refused; the second element names the JS error, e.g. [code]NotSupportedError[/code] when the
## browser has no Ed25519). There is no native Promise await in Godot: each call hands the
## promise's [code]then[/code] a [method JavaScriptBridge.create_callback] callback that emits a
## signal the coroutine awaits. Bytes cross the bridge as base64. Signing imports the 32-byte
## seed as a PKCS#8 key (RFC 8410 prefix + seed).

## Defines window.__pkarrWebCrypto once. Every result reaches the callback asynchronously (never
## during the call), so the GDScript side is always awaiting when it fires.
const _JS := """
(function () {
  if (window.__pkarrWebCrypto) return;
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  const alg = { name: 'Ed25519' };
  const PKCS8 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
    0x04, 0x22, 0x04, 0x20];
  const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const toB64 = (buf) => {
    const u = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s);
  };
  const pkcs8 = (seed) => {
    const der = new Uint8Array(48);
    der.set(PKCS8);
    der.set(fromB64(seed), 16);
    return der;
  };
  const run = (cb, work) => {
    Promise.resolve()
      .then(() => {
        if (!subtle) {
          throw Object.assign(new Error('no crypto.subtle'), { name: 'NotSupportedError' });
        }
        return work();
      })
      .then((r) => cb(r[0], r[1]), (e) => cb(-1, String((e && e.name) || e)));
  };
  window.__pkarrWebCrypto = {
    verify(pub, msg, sig, cb) {
      run(cb, () => subtle.importKey('raw', fromB64(pub), alg, false, ['verify'])
        .then((k) => subtle.verify(alg, k, fromB64(sig), fromB64(msg)))
        .then((ok) => [ok ? 1 : 0, '']));
    },
    sign(seed, msg, cb) {
      run(cb, () => subtle.importKey('pkcs8', pkcs8(seed), alg, false, ['sign'])
        .then((k) => subtle.sign(alg, k, fromB64(msg)))
        .then((s) => [1, toB64(s)]));
    },
    publicKey(seed, cb) {
      run(cb, () => subtle.importKey('pkcs8', pkcs8(seed), alg, true, ['sign'])
        .then((k) => subtle.exportKey('jwk', k))
        .then((jwk) => [1, jwk.x]));
    },
  };
})();
"""

static var _installed: bool = false
## Calls in flight (and those whose callback fired this frame).
static var _live: Array = []


## One pending WebCrypto call: the JS callback and the signal it fires.
class Pending:
	extends RefCounted
	signal finished(status: int, value: String)
	var callback: Object # a JavaScriptObject (typed loosely: the class exists only on the web)

	func _init(js: Object) -> void:
		callback = js.create_callback(_on_result)
		PkarrWebCrypto._live.append(self)

	func _on_result(args: Array) -> void:
		var status: int = int(args[0]) if args.size() > 0 else -1
		var value: String = str(args[1]) if args.size() > 1 else ""
		# The emission resumes the awaiting coroutines right here, inside the JS callback; they
		# may drop this object. As a precaution it stays in PkarrWebCrypto._live until the
		# deferred release, so the JS callback is freed in the main loop, not while it runs.
		_release.call_deferred()
		finished.emit(status, value)

	func _release() -> void:
		callback = null
		PkarrWebCrypto._live.erase(self)


## True on a web export (JavaScriptBridge present). Whether the browser has Ed25519 is only known
## after a call: see [PkarrSignatures].
static func is_possible() -> bool:
	return OS.has_feature("web") and Engine.has_singleton("JavaScriptBridge")


## [status, ""]: status 1 = valid, 0 = invalid, -1 = WebCrypto refused (see the class doc).
static func verify(public_key: PackedByteArray, message: PackedByteArray,
		signature: PackedByteArray) -> Array:
	return await _call("verify", [b64(public_key), b64(message), b64(signature)])


## [status, signature]: status 1 with the 64-byte signature, or [-1, empty, reason] (also for a
## seed that is not 32 bytes).
static func sign(seed: PackedByteArray, message: PackedByteArray) -> Array:
	if seed.size() != 32:
		return [-1, PackedByteArray(), "seed is not 32 bytes"]
	var result: Array = await _call("sign", [b64(seed), b64(message)])
	if result[0] != 1:
		return [-1, PackedByteArray(), result[1]]
	return [1, Marshalls.base64_to_raw(result[1])]


## [status, public_key]: the 32-byte public key of a seed (from the key's JWK export), or
## [-1, empty, reason].
static func public_key_from_seed(seed: PackedByteArray) -> Array:
	if seed.size() != 32:
		return [-1, PackedByteArray(), "seed is not 32 bytes"]
	var result: Array = await _call("publicKey", [b64(seed)])
	if result[0] != 1:
		return [-1, PackedByteArray(), result[1]]
	# JWK "x" is base64url without padding.
	var text: String = str(result[1]).replace("-", "+").replace("_", "/")
	while text.length() % 4 != 0:
		text += "="
	return [1, Marshalls.base64_to_raw(text)]


## The JavaScriptBridge singleton, or null off the web. Looked up by name so that this script
## also parses where the web classes do not exist. (Also used by [PkarrScrypt].)
static func bridge() -> Object:
	if not is_possible():
		return null
	return Engine.get_singleton("JavaScriptBridge")


## Base64 of bytes ("" for none: Marshalls refuses an empty array).
static func b64(bytes: PackedByteArray) -> String:
	return "" if bytes.is_empty() else Marshalls.raw_to_base64(bytes)


## [status, value] of window.__pkarrWebCrypto[method](args..., callback) once the JS callback
## fires, or [-1, "NotSupportedError"] off the web.
static func _call(method: String, args: Array) -> Array:
	var js: Object = bridge()
	if js == null:
		return [-1, "NotSupportedError"]
	if not _installed:
		js.eval(_JS, true)
		_installed = true
	var api: Object = js.get_interface("__pkarrWebCrypto")
	if api == null:
		return [-1, "NotSupportedError"]
	var pending := Pending.new(js)
	api.callv(method, args + [pending.callback])
	var result: Array = await pending.finished
	return result
