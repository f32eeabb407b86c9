extends PkarrTestCase
## Random keys and messages signed by Node's Ed25519 (config "node_cases", made fresh by the
## vitest file on every run): the pure-GDScript path and WebCrypto agree with Node, and a random
## bit flip is caught. Also BoringSSL's S-bound cases (S = L - 1 region valid, S >= L refused).


func test_pure_gdscript_matches_node() -> void:
	timeout_sec = 120.0
	var cases: Array = config.get("node_cases", [])
	assert_eq(cases.size(), 40)
	var rng := RandomNumberGenerator.new()
	for c: Dictionary in cases:
		var seed: PackedByteArray = c["seed"].hex_decode()
		var msg: PackedByteArray = c["message"].hex_decode()
		var public_key: PackedByteArray = c["public_key"].hex_decode()
		var signature: PackedByteArray = c["signature"].hex_decode()
		assert_eq(PkarrEd25519.public_key_from_seed(seed).hex_encode(), c["public_key"], "key " + c["seed"])
		assert_eq(PkarrEd25519.sign(seed, msg).hex_encode(), c["signature"], "signature " + c["seed"])
		assert_true(PkarrEd25519.verify(public_key, msg, signature), "verifies " + c["seed"])
		var bad: PackedByteArray = signature.duplicate()
		bad[rng.randi_range(0, 63)] ^= 1 << rng.randi_range(0, 7)
		assert_false(PkarrEd25519.verify(public_key, msg, bad), "bit flip caught " + c["seed"])


func test_webcrypto_matches_node() -> void:
	timeout_sec = 60.0
	var signatures := PkarrSignatures.new()
	for c: Dictionary in config.get("node_cases", []):
		var msg: PackedByteArray = c["message"].hex_decode()
		var ok: bool = await signatures.verify(c["public_key"].hex_decode(), msg, c["signature"].hex_decode())
		assert_true(ok, "verifies " + c["seed"])
		assert_eq(signatures.last_path, "webcrypto")
		var signature: PackedByteArray = await signatures.sign(c["seed"].hex_decode(), msg)
		assert_eq(signature.hex_encode(), c["signature"], "signature " + c["seed"])


func test_s_bound_cases() -> void:
	# BoringSSL ed25519_test.cc (David Benjamin): S just under L verifies, S just above is refused.
	var public_key: PackedByteArray = "100fdf47fb94f1536a4f7c3fda27383fa03375a8f527c537e6f1703c47f94f86".hex_decode()
	var under_msg: PackedByteArray = "124e583f8b8eca58bb29c271b41d36986bbc45541f8e51f9cb0133eca447601e".hex_decode()
	var under_sig: PackedByteArray = ("dac119d6ca87fc59ae611c157048f4d4fc932a149dbe20ec6effd1436abf83ea"
			+ "05c7df0fef06147241259113909bc71bd3c53ba4464ffcad3c0968f2ffffff0f").hex_decode()
	var above_msg: PackedByteArray = "6a0bc2b0057cedfc0fa2e3f7f7d39279b30f454a69dfd1117c758d86b19d85e0".hex_decode()
	var above_sig: PackedByteArray = ("0971f86d2c9c78582524a103cb9cf949522ae528f8054dc20107d999be673ff4"
			+ "e25ebf2f2928766b1248bec6e91697775f8446639ede46ad4df4053000000010").hex_decode()
	assert_true(PkarrEd25519.verify(public_key, under_msg, under_sig), "pure: S just under L")
	assert_false(PkarrEd25519.verify(public_key, above_msg, above_sig), "pure: S just above L")
	var signatures := PkarrSignatures.new()
	assert_true(await signatures.verify(public_key, under_msg, under_sig), "webcrypto: S just under L")
	assert_false(await signatures.verify(public_key, above_msg, above_sig), "webcrypto: S just above L")
