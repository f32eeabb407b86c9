extends PkarrTestCase
## PkarrScrypt (WebCrypto PBKDF2 + ROMix in JavaScript) against RFC 7914 §12 and the sidecar's
## short-code fingerprints (config "short_codes", computed by the vitest file with the sidecar).

const RFC7914 := [
	["", "", 16, 1, 1, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"],
	["password", "NaCl", 1024, 8, 16, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"],
	["pleaseletmein", "SodiumChloride", 16384, 8, 1, "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"],
]


func test_rfc7914_vectors() -> void:
	timeout_sec = 60.0
	var scrypt := PkarrScrypt.new()
	for v: Array in RFC7914:
		var key: PackedByteArray = await scrypt.derive(v[0].to_utf8_buffer(), v[1].to_utf8_buffer(), v[2], v[3], v[4], 64)
		assert_eq(scrypt.last_error, "", "%s: no error (%s)" % [v[0], scrypt.last_error_message])
		assert_eq(key.hex_encode(), v[5], "scrypt(%s, N=%d, r=%d, p=%d)" % [v[0], v[2], v[3], v[4]])


func test_romix_runs_in_a_web_worker_or_inline() -> void:
	timeout_sec = 60.0
	var scrypt := PkarrScrypt.new()
	var v: Array = RFC7914[1]
	var password: PackedByteArray = v[0].to_utf8_buffer()
	var salt: PackedByteArray = v[1].to_utf8_buffer()
	var key: PackedByteArray = await scrypt.derive(password, salt, v[2], v[3], v[4], 64)
	assert_eq(key.hex_encode(), v[5])
	assert_eq(JavaScriptBridge.eval("window.__pkarrScrypt.lastMode", true), "worker",
			"Chromium starts the worker")
	JavaScriptBridge.eval("window.__pkarrScrypt.useWorker = false", true)
	key = await scrypt.derive(password, salt, v[2], v[3], v[4], 64)
	assert_eq(key.hex_encode(), v[5], "inline gives the same bytes")
	assert_eq(JavaScriptBridge.eval("window.__pkarrScrypt.lastMode", true), "inline")
	JavaScriptBridge.eval("window.__pkarrScrypt.useWorker = true", true)


func test_short_code_fingerprints_match_the_sidecar() -> void:
	timeout_sec = 60.0
	var cases: Array = config.get("short_codes", [])
	assert_eq(cases.size(), 3, "cases from the vitest file")
	var scrypt := PkarrScrypt.new()
	for c: Dictionary in cases:
		var fingerprint: PackedByteArray = await scrypt.short_code_fingerprint(c["public_key"].hex_decode())
		assert_eq(fingerprint.hex_encode(), c["fingerprint"], c["public_key"])


func test_where_unavailable_it_says_so() -> void:
	var scrypt := PkarrScrypt.new()
	scrypt.force_pure = true
	var key: PackedByteArray = await scrypt.derive("p".to_utf8_buffer(), "s".to_utf8_buffer(), 16, 1, 1, 16)
	assert_eq(key, PackedByteArray())
	assert_eq(scrypt.last_error, PkarrScrypt.ERR_UNAVAILABLE)
	assert_has(scrypt.last_error_message, "browser")


func test_bad_parameters_are_refused() -> void:
	var scrypt := PkarrScrypt.new()
	for args: Array in [[15, 1, 1, 16], [1, 1, 1, 16], [16, 0, 1, 16], [16, 1, 0, 16], [16, 1, 1, 0],
			[16, 1, 1, 2000], [1 << 20, 8, 1, 16]]:
		var key: PackedByteArray = await scrypt.derive(PackedByteArray(), PackedByteArray(), args[0], args[1], args[2], args[3])
		assert_eq(key, PackedByteArray(), str(args))
		assert_eq(scrypt.last_error, PkarrScrypt.ERR_INVALID_ARGUMENT, str(args))
	var short: PackedByteArray = await scrypt.short_code_fingerprint(PackedByteArray([1, 2]))
	assert_eq(short, PackedByteArray())
	assert_eq(scrypt.last_error, PkarrScrypt.ERR_INVALID_ARGUMENT)
