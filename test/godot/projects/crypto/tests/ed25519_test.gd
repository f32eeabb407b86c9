extends PkarrTestCase
## The pure-GDScript PkarrEd25519: RFC 8032 §7.1 vectors, the pkarr vectors, strictness.


func test_rfc8032_vectors() -> void:
	timeout_sec = 60.0
	var vectors: Array = CryptoVectors.load_list("rfc8032")
	assert_eq(vectors.size(), 5, "TEST 1, 2, 3, 1024, SHA(abc)")
	for v: Dictionary in vectors:
		var seed: PackedByteArray = CryptoVectors.hex(v["seed"])
		var msg: PackedByteArray = CryptoVectors.hex(v["message"])
		var pub: PackedByteArray = PkarrEd25519.public_key_from_seed(seed)
		assert_eq(pub.hex_encode(), v["public_key"], "%s public key" % v["name"])
		assert_eq(PkarrEd25519.sign(seed, msg).hex_encode(), v["signature"], "%s signature" % v["name"])
		assert_true(PkarrEd25519.verify(pub, msg, CryptoVectors.hex(v["signature"])), "%s verifies" % v["name"])
