extends PkarrTestCase
## Relay bodies, canonical bytes and the BEP44 signable against the sidecar and the spec vectors.


func test_relay_bodies_split_like_the_sidecar() -> void:
	var cases: Array = CoreCases.all()["packets"]["ok"]
	assert_eq(cases.size(), 5, "spec 6.1 D + four signed packets (V1, V3, V2, big)")
	for c: Dictionary in cases:
		var parts := PkarrSignedPacket.parse_relay_body(PkarrBytes.from_hex(c["body"]))
		if not assert_true(parts.is_ok(), str(parts)):
			continue
		assert_eq(PkarrBytes.to_hex(parts.value["signature"]), c["signature"])
		assert_eq(str(parts.value["timestamp"]), c["timestamp"])
		assert_eq(PkarrBytes.to_hex(parts.value["dns"]), c["dns"])
		assert_eq(PkarrBytes.to_hex(parts.value["signable"]), c["signable"])
		var records := PkarrSignedPacket.decode_records(parts.value["dns"], c["key"])
		assert_eq(records.value, c["records"], "records of %s" % c["key"])
		var built := PkarrSignedPacket.build_relay_body(parts.value["signature"], parts.value["timestamp"],
				parts.value["dns"])
		assert_eq(PkarrBytes.to_hex(built.value), c["body"], "built back")
		var key: PackedByteArray = PkarrZ32.parse_public_key(c["key"]).value["bytes"]
		var canonical := PkarrSignedPacket.parse_canonical(PkarrSignedPacket.canonical_bytes(key, built.value))
		assert_eq(canonical.value["z32"], c["key"])
		assert_eq(canonical.value["dns"], parts.value["dns"])


func test_spec_vectors_v1_v2_v3() -> void:
	var cases: Array = CoreCases.all()["packets"]["ok"]
	# The reference's V1-V3 (as in test/signed-packet.test.ts): the same records, compressed,
	# give these exact DNS bytes.
	assert_eq((cases[1] as Dictionary)["dns"], "000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6fc00c001000010000001e000403626172")
	assert_eq((cases[2] as Dictionary)["dns"], "000080000000000000000000")
	assert_true(((cases[1] as Dictionary)["signature"] as String).begins_with("0dbaf72a4434328e"))
	var origin := "8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo"
	var v1 := PkarrSignedPacket.encode_dns([
		{"type": "A", "name": ".", "ttl": 0, "address": "1.1.1.1"},
		{"type": "TXT", "name": "foo", "ttl": 30, "text": "bar"}], origin)
	assert_eq(PkarrBytes.to_hex(v1.value), (cases[1] as Dictionary)["dns"], "V1 encoded by GDScript")
	var v2 := PkarrSignedPacket.encode_dns([
		{"type": "A", "name": "_derp_region.iroh.", "ttl": 30, "address": "1.1.1.1"},
		{"type": "TXT", "name": "_foo", "ttl": 30, "text": "hello"},
		{"type": "CNAME", "name": "www", "ttl": 300, "target": "_foo." + origin},
		{"type": "HTTPS", "name": ".", "ttl": 3600, "priority": 0, "target": "https.example.com"}], origin)
	assert_eq(PkarrBytes.to_hex(v2.value), "0000800000000004000000000c5f646572705f726567696f6e0469726f68343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000001e000401010101045f666f6fc01e001000010000001e00060568656c6c6f03777777c01e000500010000012c0002c062c01e0041000100000e1000150000056874747073076578616d706c6503636f6d00")


func test_signable_is_the_bep44_string() -> void:
	var signable := PkarrSignedPacket.signable(4, "Hello world!".to_ascii_buffer())
	assert_eq(PkarrBytes.to_hex(signable), CoreCases.all()["packets"]["signableF"])


func test_malformed_bodies_fail_with_the_sidecar_codes() -> void:
	for c: Dictionary in CoreCases.all()["packets"]["bad"]:
		var parts := PkarrSignedPacket.parse_relay_body(PkarrBytes.from_hex(c["body"]))
		assert_false(parts.is_ok())
		assert_eq(parts.error_code, c["code"], "%d bytes" % (c["body"] as String).length())
	var short := PkarrSignedPacket.parse_canonical(PackedByteArray([1, 2, 3]))
	assert_eq(short.error_code, PkarrResult.INVALID_SIGNED_PACKET_BYTES_LENGTH)


func test_timestamps_beyond_the_bep44_seq_are_refused() -> void:
	var body := PackedByteArray()
	body.resize(64)
	body.append_array(PackedByteArray([0x80, 0, 0, 0, 0, 0, 0, 1]))
	body.append_array(PkarrBytes.from_hex("000080000000000000000000"))
	assert_eq(PkarrSignedPacket.parse_relay_body(body).error_code, PkarrResult.INVALID_TIMESTAMP)
	var sig := PackedByteArray()
	sig.resize(64)
	assert_eq(PkarrSignedPacket.build_relay_body(sig, -1, PackedByteArray()).error_code, PkarrResult.INVALID_TIMESTAMP)
	assert_eq(PkarrSignedPacket.build_relay_body(sig.slice(1), 1, PackedByteArray()).error_code, PkarrResult.INVALID_ARGUMENT)
	var big := PackedByteArray()
	big.resize(1001)
	assert_eq(PkarrSignedPacket.build_relay_body(sig, 1, big).error_code, PkarrResult.PACKET_TOO_LARGE)


func test_ordering_and_ttl() -> void:
	var a := PackedByteArray([1, 2])
	var b := PackedByteArray([1, 3])
	assert_true(PkarrSignedPacket.more_recent_than(2, a, 1, b))
	assert_true(PkarrSignedPacket.more_recent_than(1, b, 1, a))
	assert_false(PkarrSignedPacket.more_recent_than(1, a, 1, a))
	assert_eq(PkarrSignedPacket.ttl([]), 300)
	assert_eq(PkarrSignedPacket.ttl([{"ttl": 150}, {"ttl": 75}]), 300)
	assert_eq(PkarrSignedPacket.ttl([{"ttl": 150}, {"ttl": 75}], 0), 75)
