class_name SignatureCases
extends PkarrTestCase
## The PkarrSignatures cases, run once per path: tests/signatures_webcrypto_test.gd and
## tests/signatures_pure_test.gd override [method _pure].

## L, the group order, little-endian (for S + L: same value mod L, not canonical).
const L_HEX := "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
## Not a curve point (32 bytes): pkarr refuses it as a key (also in test/signed-packet.test.ts).
const OFF_CURVE_HEX := "6482a31e25b0007a31038ae9a2d3835afa10df86366fb3c4bacaf70a1e9f5867"
## y = p + 1 (the non-canonical twin of the identity's encoding 01 00 .. 00).
const NON_CANONICAL_Y_HEX := "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"


## Whether this suite forces the pure-GDScript path.
func _pure() -> bool:
	return false


func _path() -> String:
	return "gdscript" if _pure() else "webcrypto"


func _signatures() -> PkarrSignatures:
	var s := PkarrSignatures.new()
	s.force_pure = _pure()
	return s


func test_uses_the_expected_backend() -> void:
	var which: String = await _signatures().backend()
	assert_eq(which, "gdscript" if _pure() else "webcrypto",
			"Chromium has WebCrypto Ed25519; force_pure selects GDScript")


func test_rfc8032_vectors() -> void:
	timeout_sec = 60.0
	var s := _signatures()
	var vectors: Array = CryptoVectors.load_list("rfc8032")
	assert_eq(vectors.size(), 5)
	for v: Dictionary in vectors:
		var seed: PackedByteArray = CryptoVectors.hex(v["seed"])
		var msg: PackedByteArray = CryptoVectors.hex(v["message"])
		var public_key: PackedByteArray = await s.public_key_from_seed(seed)
		assert_eq(public_key.hex_encode(), v["public_key"], "%s public key" % v["name"])
		assert_eq(s.last_path, _path(), "public key computed on the expected path")
		var signature: PackedByteArray = await s.sign(seed, msg)
		assert_eq(signature.hex_encode(), v["signature"], "%s signature" % v["name"])
		assert_eq(s.last_path, _path(), "signed on the expected path")
		var ok: bool = await s.verify(public_key, msg, CryptoVectors.hex(v["signature"]))
		assert_true(ok, "%s verifies" % v["name"])
		assert_eq(s.last_path, _path(), "verified on the expected path")


func test_pkarr_vectors_sign_and_verify_the_bep44_signable() -> void:
	timeout_sec = 60.0
	var s := _signatures()
	var vectors: Array = CryptoVectors.load_list("pkarr")
	assert_eq(vectors.size(), 5, "the JS 1.3.0 packet, V1-V3, BEP44 test 1")
	for v: Dictionary in vectors:
		var public_key: PackedByteArray = CryptoVectors.hex(v["public_key"])
		var signable: PackedByteArray = CryptoVectors.hex(v["signable"])
		if v.has("dns"):
			# The signable is built from the packet's parts, as the relay backend does.
			var prefix: String = "3:seqi%se1:v%d:" % [v["timestamp"], CryptoVectors.hex(v["dns"]).size()]
			assert_eq((prefix.to_utf8_buffer() + CryptoVectors.hex(v["dns"])).hex_encode(), v["signable"])
		var ok: bool = await s.verify(public_key, signable, CryptoVectors.hex(v["signature"]))
		assert_true(ok, "%s verifies" % v["name"])
		if v["seed"] != "":
			var signature: PackedByteArray = await s.sign(CryptoVectors.hex(v["seed"]), signable)
			assert_eq(signature.hex_encode(), v["signature"], "%s re-signed" % v["name"])


func test_tampered_message_signature_and_key_are_rejected() -> void:
	timeout_sec = 60.0
	var s := _signatures()
	var v: Dictionary = CryptoVectors.load_list("pkarr")[1] # V1
	var public_key: PackedByteArray = CryptoVectors.hex(v["public_key"])
	var msg: PackedByteArray = CryptoVectors.hex(v["signable"])
	var signature: PackedByteArray = CryptoVectors.hex(v["signature"])
	assert_true(await s.verify(public_key, msg, signature), "the untouched packet verifies")
	assert_eq(s.last_path, _path())
	assert_false(await s.verify(public_key, CryptoVectors.flipped(msg, msg.size() - 1), signature), "message")
	assert_false(await s.verify(public_key, msg + PackedByteArray([0]), signature), "message extended")
	assert_false(await s.verify(public_key, CryptoVectors.flipped(msg, 3), signature), "timestamp digit")
	assert_false(await s.verify(public_key, msg, CryptoVectors.flipped(signature, 5)), "R")
	assert_false(await s.verify(public_key, msg, CryptoVectors.flipped(signature, 40)), "S")
	assert_false(await s.verify(CryptoVectors.flipped(public_key, 7), msg, signature), "key")
	var other_key: PackedByteArray = CryptoVectors.hex(CryptoVectors.load_list("rfc8032")[0]["public_key"])
	assert_false(await s.verify(other_key, msg, signature), "another valid key")


func test_non_canonical_s_is_rejected() -> void:
	var s := _signatures()
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[0] # TEST 1: S + L < 2^256
	var public_key: PackedByteArray = CryptoVectors.hex(v["public_key"])
	var signature: PackedByteArray = CryptoVectors.hex(v["signature"])
	var big_l: PackedByteArray = CryptoVectors.hex(L_HEX)
	var bumped: PackedByteArray = signature.duplicate()
	var carry: int = 0
	for i in 32:
		var sum: int = signature[32 + i] + big_l[i] + carry
		bumped[32 + i] = sum & 0xff
		carry = sum >> 8
	assert_eq(carry, 0, "S + L fits in 32 bytes")
	assert_true(await s.verify(public_key, PackedByteArray(), signature), "S verifies")
	assert_false(await s.verify(public_key, PackedByteArray(), bumped), "S + L (same residue) is refused")
	assert_eq(s.last_path, "", "refused by the shared encoding checks, before either path")
	var s_equal_l: PackedByteArray = signature.slice(0, 32) + big_l
	assert_false(await s.verify(public_key, PackedByteArray(), s_equal_l), "S = L is refused")


func test_bad_keys_and_lengths_are_rejected() -> void:
	timeout_sec = 30.0
	var s := _signatures()
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[1] # TEST 2
	var public_key: PackedByteArray = CryptoVectors.hex(v["public_key"])
	var msg: PackedByteArray = CryptoVectors.hex(v["message"])
	var signature: PackedByteArray = CryptoVectors.hex(v["signature"])
	assert_false(await s.verify(public_key.slice(0, 31), msg, signature), "31-byte key")
	assert_false(await s.verify(public_key + PackedByteArray([0]), msg, signature), "33-byte key")
	assert_false(await s.verify(public_key, msg, signature.slice(0, 63)), "63-byte signature")
	assert_false(await s.verify(public_key, msg, signature + PackedByteArray([0])), "65-byte signature")
	assert_false(await s.verify(PackedByteArray(), msg, PackedByteArray()), "empty")
	assert_false(await s.verify(CryptoVectors.hex(OFF_CURVE_HEX), msg, signature), "key off the curve")
	assert_false(await s.verify(CryptoVectors.hex(NON_CANONICAL_Y_HEX), msg, signature), "y >= p")


func test_small_order_key_is_rejected() -> void:
	# With A = identity, [k]A vanishes: R = encode(B), S = 1 passes a non-strict verifier for
	# every message. Strict verification refuses the key.
	var s := _signatures()
	var identity: PackedByteArray = CryptoVectors.hex("01" + "00".repeat(31))
	var one: PackedByteArray = CryptoVectors.hex("01" + "00".repeat(31))
	var base_point: PackedByteArray = PkarrEd25519.encode_point(PkarrEd25519._base_mul(one))
	assert_eq(base_point.hex_encode(), "5866666666666666666666666666666666666666666666666666666666666666")
	var forged: PackedByteArray = base_point + one
	assert_false(await s.verify(identity, "any message".to_utf8_buffer(), forged), "identity key")
	for hex: String in PkarrEd25519Tables.SMALL_ORDER_HEX:
		assert_false(await s.verify(CryptoVectors.hex(hex), "m".to_utf8_buffer(), forged), hex)
	# The x = 0 points (identity, (0, -1)) with the sign bit set: RFC 8032 decoding refuses them,
	# a lenient decoder takes them as the small-order points themselves.
	for hex: String in ["01" + "00".repeat(30) + "80", "ec" + "ff".repeat(31)]:
		assert_false(await s.verify(CryptoVectors.hex(hex), "any message".to_utf8_buffer(), forged),
				"sign bit set: " + hex)


func test_bad_seeds_give_an_empty_result_and_a_code() -> void:
	var s := _signatures()
	var signature: PackedByteArray = await s.sign(PackedByteArray([1, 2, 3]), PackedByteArray())
	assert_eq(signature, PackedByteArray())
	assert_eq(s.last_error, PkarrSignatures.ERR_INVALID_SEED)
	assert_has(s.last_error_message, "32 bytes")
	var public_key: PackedByteArray = await s.public_key_from_seed(PackedByteArray())
	assert_eq(public_key, PackedByteArray())
	assert_eq(s.last_error, PkarrSignatures.ERR_INVALID_SEED)
	var good: PackedByteArray = await s.public_key_from_seed(CryptoVectors.hex("00".repeat(32)))
	assert_eq(good.hex_encode(), "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
			"the zero seed's public key, as pkarr derives it")
	assert_eq(s.last_error, "", "a success clears the error")


func test_signs_and_verifies_its_own_signatures() -> void:
	timeout_sec = 30.0
	var s := _signatures()
	var seed: PackedByteArray = PackedByteArray()
	for i in 32:
		seed.append((i * 37 + 11) & 0xff)
	var public_key: PackedByteArray = await s.public_key_from_seed(seed)
	for n in [0, 1, 111, 112, 500]:
		var msg := PackedByteArray()
		for i in n:
			msg.append((i * 7) & 0xff)
		var signature: PackedByteArray = await s.sign(seed, msg)
		assert_eq(signature, PkarrEd25519.sign(seed, msg), "both paths sign alike (%d bytes)" % n)
		assert_true(await s.verify(public_key, msg, signature), "%d-byte message" % n)


func test_many_calls_in_flight_all_complete_correctly() -> void:
	timeout_sec = 60.0
	var s := _signatures()
	var vectors: Array = CryptoVectors.load_list("rfc8032")
	var state: Dictionary = {"done": 0, "wrong": []}
	var started: int = 0
	for round_index in 4:
		for v: Dictionary in vectors:
			_check_one(s, v, round_index % 2 == 1, state)
			started += 1
	var finished: bool = await wait_until(func() -> bool: return state["done"] == started, 50.0)
	assert_true(finished, "all %d calls completed" % started)
	assert_eq(state["wrong"], [], "every call gave the right answer")


func _check_one(s: PkarrSignatures, v: Dictionary, tamper: bool, state: Dictionary) -> void:
	var msg: PackedByteArray = CryptoVectors.hex(v["message"])
	var signature: PackedByteArray = CryptoVectors.hex(v["signature"])
	if tamper:
		signature = CryptoVectors.flipped(signature, 10)
	var ok: bool = await s.verify(CryptoVectors.hex(v["public_key"]), msg, signature)
	if ok == tamper:
		state["wrong"].append("verify %s tampered=%s" % [v["name"], tamper])
	var signed: PackedByteArray = await s.sign(CryptoVectors.hex(v["seed"]), msg)
	if signed.hex_encode() != v["signature"]:
		state["wrong"].append("sign %s" % v["name"])
	state["done"] += 1
