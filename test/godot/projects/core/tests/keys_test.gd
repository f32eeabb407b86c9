extends PkarrTestCase
## Keypairs anyone can derive (directory slots, short-code slots) through PkarrSignatures,
## against the keys the sidecar derives.

var _signatures := PkarrSignatures.new()


func test_directory_slot_keys_match_the_sidecar() -> void:
	timeout_sec = 60.0
	var d: Dictionary = CoreCases.all()["lobby"]["directory"]
	for s: Dictionary in d["seeds"]:
		var slot: PkarrResult = await PkarrKeyDerivation.directory_slot_keypair(_signatures, d["game"],
				d["gameVersion"], int(d["window"]), int(s["slot"]))
		if assert_true(slot.is_ok(), str(slot)):
			assert_eq(slot.value["z32"], s["z32"], "slot %d" % s["slot"])
			assert_eq(PkarrBytes.to_hex(slot.value["seed"]), s["seed"])
	assert_eq((d["seeds"] as Array).size(), 8)
	var refused: PkarrResult = await PkarrKeyDerivation.directory_slot_keypair(_signatures, "demo", "1.0", 0, 8)
	assert_eq(refused.error_code, PkarrResult.INVALID_ARGUMENT)


func test_short_code_slot_key_matches_the_sidecar() -> void:
	timeout_sec = 30.0
	var seed: Dictionary = CoreCases.all()["lobby"]["shortCodes"]["slotSeed"]
	var slot: PkarrResult = await PkarrKeyDerivation.short_code_slot_keypair(_signatures, "k7m4q-x9pt2")
	if assert_true(slot.is_ok(), str(slot)):
		assert_eq(slot.value["z32"], seed["z32"])
		assert_eq(slot.value["z32"], CoreCases.all()["lobby"]["shortCodes"]["slotZ32"])
	var refused: PkarrResult = await PkarrKeyDerivation.short_code_slot_keypair(_signatures, "not a code")
	assert_eq(refused.error_code, PkarrResult.INVALID_ARGUMENT)
	var short: PkarrResult = await PkarrKeyDerivation.keypair_of_seed(_signatures, PackedByteArray([1, 2]))
	assert_eq(short.error_code, PkarrResult.INVALID_ARGUMENT)


func test_curve_points() -> void:
	var zero_seed_key := PkarrBytes.from_hex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
	assert_true(PkarrKeyDerivation.is_valid_point(zero_seed_key))
	assert_false(PkarrKeyDerivation.is_valid_point(
			PkarrBytes.from_hex("6482a31e25b0007a31038ae9a2d3835afa10df86366fb3c4bacaf70a1e9f5867")), "spec 6.1 B")
	assert_false(PkarrKeyDerivation.is_valid_point(zero_seed_key.slice(1)))
