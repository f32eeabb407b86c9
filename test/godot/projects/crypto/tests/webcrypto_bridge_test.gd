extends PkarrTestCase
## PkarrWebCrypto directly (no facade, no fallback): the browser's own answers.


func test_signs_verifies_and_derives_keys_in_the_browser() -> void:
	assert_true(PkarrWebCrypto.is_possible(), "a web export")
	for v: Dictionary in CryptoVectors.load_list("rfc8032"):
		var seed: PackedByteArray = CryptoVectors.hex(v["seed"])
		var msg: PackedByteArray = CryptoVectors.hex(v["message"])
		var signature: PackedByteArray = CryptoVectors.hex(v["signature"])
		var key: Array = await PkarrWebCrypto.public_key_from_seed(seed)
		assert_eq(key[0], 1, "%s: key exported" % v["name"])
		assert_eq((key[1] as PackedByteArray).hex_encode(), v["public_key"], "%s: public key" % v["name"])
		var signed: Array = await PkarrWebCrypto.sign(seed, msg)
		assert_eq(signed[0], 1, "%s: signed" % v["name"])
		assert_eq((signed[1] as PackedByteArray).hex_encode(), v["signature"], "%s: signature" % v["name"])
		var good: Array = await PkarrWebCrypto.verify(CryptoVectors.hex(v["public_key"]), msg, signature)
		assert_eq(good[0], 1, "%s: valid" % v["name"])
		var bad: Array = await PkarrWebCrypto.verify(CryptoVectors.hex(v["public_key"]), msg,
				CryptoVectors.flipped(signature, 0))
		assert_eq(bad[0], 0, "%s: tampered R is invalid" % v["name"])


func test_refusals_come_back_as_status_minus_one() -> void:
	# A 31-byte raw key: WebCrypto's importKey refuses, the bridge reports it with the JS error.
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[0]
	var short_key: PackedByteArray = CryptoVectors.hex(v["public_key"]).slice(0, 31)
	var r: Array = await PkarrWebCrypto.verify(short_key, PackedByteArray(), CryptoVectors.hex(v["signature"]))
	assert_eq(r[0], -1)
	assert_eq(r[1], "DataError")
	var signed: Array = await PkarrWebCrypto.sign(PackedByteArray([1, 2, 3, 4, 5]), PackedByteArray())
	assert_eq(signed[0], -1, "a seed that is not 32 bytes never reaches WebCrypto")
	assert_eq(signed[1], PackedByteArray())
