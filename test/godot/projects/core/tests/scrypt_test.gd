extends PkarrTestCase
## Short codes of host keys and the host a short-code slot names (PkarrShortCode through the
## crypto helper's PkarrScrypt) against the sidecar's shortCodeOf / hostOfSlot.

var _scrypt := PkarrScrypt.new()


func test_short_codes_of_host_keys_match_the_sidecar() -> void:
	timeout_sec = 30.0
	var s: Dictionary = CoreCases.all()["lobby"]["shortCodes"]
	for c: Dictionary in s["codes"]:
		var code: PkarrResult = await PkarrShortCode.code_of(_scrypt, PkarrZ32.decode(c["key"]).value)
		assert_eq(code.value, c["code"], "%s: %s" % [c["key"], code])
	var bad: PkarrResult = await PkarrShortCode.code_of(_scrypt, PackedByteArray([1, 2, 3]))
	assert_eq(bad.error_code, "INVALID_ARGUMENT", "not a key")


func test_a_slot_names_the_host_whose_fingerprint_is_the_code() -> void:
	timeout_sec = 30.0
	var s: Dictionary = CoreCases.all()["lobby"]["shortCodes"]
	var records := CoreCases.records_of(s["body"], s["slotZ32"])
	var code: String = (s["codes"][2] as Dictionary)["code"]
	var host: PkarrResult = await PkarrShortCode.host_of_slot(_scrypt, records, s["slotZ32"], code,
			PkarrKeyDerivation.is_valid_point)
	assert_eq(host.value, s["hostOfSlot"], str(host))
	assert_eq(host.value, (s["codes"][2] as Dictionary)["key"])
	var squatted: PkarrResult = await PkarrShortCode.host_of_slot(_scrypt, records, s["slotZ32"], s["unlisted"])
	assert_eq(squatted.value, "", "no candidate has the code: %s" % squatted)
	var pure := PkarrScrypt.new()
	pure.force_pure = true
	var unavailable: PkarrResult = await PkarrShortCode.host_of_slot(pure, records, s["slotZ32"], code)
	assert_eq(unavailable.error_code, PkarrScrypt.ERR_UNAVAILABLE, "fails clearly where scrypt cannot run")
