extends PkarrTestCase
## PkarrSha512 against the FIPS 180-2 examples and block-boundary lengths.


func test_fips_and_boundary_vectors() -> void:
	var vectors: Array = CryptoVectors.load_list("sha512")
	assert_true(vectors.size() >= 12, "vectors loaded")
	for v: Dictionary in vectors:
		var digest: PackedByteArray = PkarrSha512.hash(CryptoVectors.hex(v["message"]))
		assert_eq(digest.hex_encode(), v["digest"], v["name"])


func test_matches_the_engine_sha256_style_api_shape() -> void:
	# The digest is always 64 bytes and does not alter its input.
	var data := PackedByteArray([1, 2, 3])
	var digest: PackedByteArray = PkarrSha512.hash(data)
	assert_eq(digest.size(), 64)
	assert_eq(data, PackedByteArray([1, 2, 3]), "input untouched")
