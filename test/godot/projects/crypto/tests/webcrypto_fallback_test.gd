extends PkarrTestCase
## A browser without WebCrypto Ed25519 (importKey refuses the algorithm, as in older Safari):
## PkarrSignatures detects it and answers on the pure-GDScript path.

const _BREAK_JS := """
crypto.subtle.importKey = function (...args) {
  const alg = args[2];
  if ((alg && alg.name) === 'Ed25519' || alg === 'Ed25519') {
    return Promise.reject(Object.assign(new Error('no Ed25519'), { name: 'NotSupportedError' }));
  }
  return SubtleCrypto.prototype.importKey.apply(crypto.subtle, args);
};
true;
"""
const _RESTORE_JS := "delete crypto.subtle.importKey; true;"


func after_each() -> void:
	JavaScriptBridge.eval(_RESTORE_JS, true)
	PkarrSignatures.reset_detection()


func test_without_ed25519_in_the_browser_the_pure_path_answers() -> void:
	timeout_sec = 30.0
	JavaScriptBridge.eval(_BREAK_JS, true)
	PkarrSignatures.reset_detection()
	var s := PkarrSignatures.new()
	assert_eq(await s.backend(), "gdscript", "detection sees no Ed25519")
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[2] # TEST 3
	var seed: PackedByteArray = CryptoVectors.hex(v["seed"])
	var msg: PackedByteArray = CryptoVectors.hex(v["message"])
	var signature: PackedByteArray = await s.sign(seed, msg)
	assert_eq(signature.hex_encode(), v["signature"])
	assert_eq(s.last_path, "gdscript")
	assert_true(await s.verify(CryptoVectors.hex(v["public_key"]), msg, signature))
	assert_eq(s.last_path, "gdscript")
	assert_false(await s.verify(CryptoVectors.hex(v["public_key"]), msg, CryptoVectors.flipped(signature, 33)))


func test_the_browser_answers_again_once_ed25519_is_back() -> void:
	JavaScriptBridge.eval(_RESTORE_JS, true)
	PkarrSignatures.reset_detection()
	var s := PkarrSignatures.new()
	assert_eq(await s.backend(), "webcrypto")
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[2]
	assert_true(await s.verify(CryptoVectors.hex(v["public_key"]), CryptoVectors.hex(v["message"]),
			CryptoVectors.hex(v["signature"])))
	assert_eq(s.last_path, "webcrypto")
