extends PkarrTestCase
## z-base-32, key texts, hex/base64 and lossy UTF-8 of addons/pkarr/core against the sidecar.


func test_z32_encodes_and_decodes_like_the_sidecar() -> void:
	var cases: Array = CoreCases.all()["text"]["z32"]
	assert_eq(cases.size(), 41, "cases loaded")
	for c: Dictionary in cases:
		var bytes := PkarrBytes.from_hex(c["hex"])
		assert_eq(PkarrZ32.encode(bytes), c["text"], "encode %s" % c["hex"])
		var decoded := PkarrZ32.decode(c["text"])
		if assert_true(decoded.is_ok(), "decode %s" % c["text"]):
			assert_eq(PkarrBytes.to_hex(decoded.value), c["hex"], "decode %s" % c["text"])


func test_z32_refuses_characters_outside_the_alphabet() -> void:
	for text: String in CoreCases.all()["text"]["zbad"]:
		var decoded := PkarrZ32.decode(text)
		assert_false(decoded.is_ok(), text)
		assert_eq(decoded.error_code, PkarrResult.INVALID_ZBASE32, text)


func test_key_texts_parse_like_the_sidecar() -> void:
	var probe: Dictionary = CoreCases.all()["probe"]
	var parsed := PkarrZ32.parse_public_key(probe["z32"])
	assert_eq(PkarrBytes.to_hex(parsed.value["bytes"]), probe["hex"], "spec vector 6.1 A")
	for c: Dictionary in CoreCases.all()["text"]["keys"]:
		var result := PkarrZ32.parse_public_key(c["input"])
		if c["ok"]:
			if assert_true(result.is_ok(), "parses %s" % c["input"]):
				assert_eq(PkarrKeyDerivation.parse_public_key(c["input"]).value["z32"], c["z32"], c["input"])
				assert_eq(result.value["z32"], c["z32"], c["input"])
				assert_eq(PkarrBytes.to_hex(result.value["bytes"]), c["hex"], c["input"])
		elif c["code"] == "INVALID_ED25519_PUBLIC_KEY":
			# Not a curve point: PkarrZ32 does not look at the curve, PkarrKeyDerivation does.
			assert_true(result.is_ok(), "32 bytes of z32 parse: %s" % c["input"])
			assert_eq(PkarrKeyDerivation.parse_public_key(c["input"]).error_code, c["code"], c["input"])
		else:
			assert_eq(result.error_code, c["code"], "refuses %s" % c["input"])


func test_canonical_keys() -> void:
	var key: String = CoreCases.all()["probe"]["z32"]
	assert_true(PkarrZ32.is_canonical_key(key))
	assert_false(PkarrZ32.is_canonical_key(key.left(51) + "h"), "pad bits set")
	assert_false(PkarrZ32.is_canonical_key(key.to_upper()))
	assert_false(PkarrZ32.is_canonical_key(key.left(50)))
	assert_eq(PkarrZ32.extract_key_text("https://foo@bar.%s.:8888?q=v#x" % key), key)


func test_utf8_decodes_like_text_decoder() -> void:
	var cases: Array = CoreCases.all()["text"]["utf8"]
	assert_eq(cases.size(), 120)
	var wrong := 0
	for c: Dictionary in cases:
		if PkarrBytes.utf8_lossy(PkarrBytes.from_hex(c["hex"])) != c["text"]:
			wrong += 1
			if wrong <= 5:
				assert_eq(PkarrBytes.utf8_lossy(PkarrBytes.from_hex(c["hex"])), c["text"], c["hex"])
	assert_eq(wrong, 0, "UTF-8 decodes that differ from TextDecoder")


func test_hex_and_base64_refuse_malformed_text() -> void:
	assert_eq(PkarrBytes.to_hex(PkarrBytes.from_hex("00fFaB")), "00ffab")
	for text: String in ["abc", "zz", "0x00", " 00"]:
		assert_false(PkarrBytes.is_hex(text), text)
		assert_eq(PkarrBytes.from_hex(text).size(), 0, text)
	assert_eq(PkarrBytes.to_base64(PackedByteArray([0, 3, 1, 2, 3])), "AAMBAgM=")
	assert_eq(PkarrBytes.from_base64("AAMBAgM="), PackedByteArray([0, 3, 1, 2, 3]))
	for text: String in ["AAE", "A=AA", "AA=A", "not base64!", "AAA==="]:
		assert_false(PkarrBytes.is_base64(text), text)
	assert_true(PkarrBytes.is_base64(""))
