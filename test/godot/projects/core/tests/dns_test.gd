extends PkarrTestCase
## The GDScript DNS codec against the sidecar: decoding (valid, hand-made, truncated, flipped
## and garbage messages) gives the sidecar's resolve JSON or its error code; encoding publish
## JSON gives the sidecar's bytes or its error code.


func test_decodes_like_the_sidecar() -> void:
	var dns: Dictionary = CoreCases.all()["dns"]
	var cases: Array = dns["decode"]
	assert_true(cases.size() > 500, "%d decode cases" % cases.size())
	var mismatches := 0
	var errors := 0
	for c: Dictionary in cases:
		var expect: Dictionary = c["expect"]
		var result := PkarrDnsDecoder.decode(PkarrBytes.from_hex(c["hex"]), dns["origin"])
		var same: bool = result.is_ok() == expect["ok"]
		if same and not result.is_ok():
			same = result.error_code == expect["code"]
			errors += 1
		elif same and expect.has("records"):
			same = CoreCases.diff(result.value, expect["records"]) == ""
		if not same:
			mismatches += 1
			if mismatches <= 5:
				assert_eq(result.value if result.is_ok() else result.error_code,
						expect.get("records", expect.get("code")), c["name"])
	assert_eq(mismatches, 0, "decodes that differ from the sidecar")
	assert_true(errors > 100, "%d malformed messages refused" % errors)


func test_encodes_like_the_sidecar() -> void:
	var dns: Dictionary = CoreCases.all()["dns"]
	var cases: Array = dns["encode"]
	assert_true(cases.size() > 80, "%d encode cases" % cases.size())
	var refused := 0
	for c: Dictionary in cases:
		var expect: Dictionary = c["expect"]
		var result := PkarrSignedPacket.encode_dns(c["records"], dns["origin"])
		if expect["ok"]:
			if assert_true(result.is_ok(), "%s: %s" % [c["name"], result]):
				assert_eq(PkarrBytes.to_hex(result.value), expect["hex"], c["name"])
		else:
			refused += 1
			assert_eq(result.error_code, expect["code"], "%s: %s" % [c["name"], result.error_message])
	assert_true(refused > 40, "%d records refused" % refused)


func test_decoded_records_encode_to_the_same_message() -> void:
	var dns: Dictionary = CoreCases.all()["dns"]
	for c: Dictionary in dns["decode"]:
		if not (c["name"] as String).begins_with("set-"):
			continue
		var decoded := PkarrDnsDecoder.decode(PkarrBytes.from_hex(c["hex"]), dns["origin"])
		var encoded := PkarrDnsEncoder.encode(decoded.value, dns["origin"])
		if assert_true(encoded.is_ok(), "%s: %s" % [c["name"], encoded]):
			assert_eq(PkarrBytes.to_hex(encoded.value), c["hex"], c["name"])


func test_owner_names_normalise_like_pkarr() -> void:
	var o := "ed4mn3aoazuf1ahpy9rz1nyswhukbj5483ryefwkue7fbp3egkzo"
	for name: String in [".", "@", "@.", o, o + ".", "foo.@", "foo.."]:
		assert_eq(PkarrDnsEncoder.normalize_name(name, o), o, name)
	assert_eq(PkarrDnsEncoder.normalize_name("_derp_region.irorh", o), "_derp_region.irorh." + o)
	assert_eq(PkarrDnsEncoder.normalize_name("_derp_region.irorh.%s." % o, o), "_derp_region.irorh." + o)
	assert_eq(PkarrDnsDecoder.relative_name(o, o), "@")
	assert_eq(PkarrDnsDecoder.relative_name("_lobby." + o, o), "_lobby")
	assert_eq(PkarrDnsDecoder.relative_name("example.com", o), "example.com")


func test_a_bad_origin_is_an_invalid_argument() -> void:
	for origin: String in ["", "a.b", "x".repeat(64)]:
		assert_eq(PkarrDnsEncoder.encode([], origin).error_code, PkarrResult.INVALID_ARGUMENT, origin)
	for records: Variant in [null, "A", {}, 5]:
		assert_eq(PkarrSignedPacket.encode_dns(records, "origin").error_code, PkarrResult.INVALID_RECORD, str(records))
