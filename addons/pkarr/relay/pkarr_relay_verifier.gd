class_name PkarrRelayVerifier
extends RefCounted
## Turns relay bodies into [PkarrRelayPacket]s only after checking them, and signs new ones.
##
## Reading a body (the HTTP body of [code]GET /<z32>[/code]): the sizes and layout
## ([method PkarrSignedPacket.parse_relay_body]), then the Ed25519 signature over the BEP44
## signable with the key [b]of the URL[/b] ([PkarrSignatures]: WebCrypto in the browser, pure
## GDScript elsewhere), and only then the DNS message ([method PkarrSignedPacket.decode_records]).
## A packet signed by any other key, or changed in any byte, fails the signature check.

## Signs and verifies.
var signatures: PkarrSignatures = null


func _init(with_signatures: PkarrSignatures = null) -> void:
	signatures = with_signatures if with_signatures != null else PkarrSignatures.new()


## The 32 bytes of the canonical z-base-32 key [param z32], or an empty array when it is not one.
func key_bytes(z32: String) -> PackedByteArray:
	if not PkarrZ32.is_canonical_key(z32):
		return PackedByteArray()
	return PkarrZ32.decode(z32).value


## Coroutine: [code]{packet: PkarrRelayPacket}[/code] when [param body] is a valid relay body
## signed by [param z32] ([param key] = its bytes), else [code]{error: String, code: String}[/code].
func read(z32: String, key: PackedByteArray, body: PackedByteArray) -> Dictionary:
	var parts := PkarrSignedPacket.parse_relay_body(body)
	if not parts.is_ok():
		return {"error": parts.error_message, "code": parts.error_code}
	var value: Dictionary = parts.value
	var valid: bool = await signatures.verify(key, value["signable"], value["signature"])
	if not valid:
		return {"error": "the signature does not verify with %s" % z32, "code": "INVALID_SIGNATURE"}
	var records := PkarrSignedPacket.decode_records(value["dns"], z32)
	if not records.is_ok():
		return {"error": records.error_message, "code": records.error_code}
	var packet := PkarrRelayPacket.new()
	packet.public_key = z32
	packet.key_bytes = key
	packet.timestamp = value["timestamp"]
	packet.dns = value["dns"]
	packet.payload = body
	packet.records = records.value
	packet.seen_msec = Time.get_ticks_msec()
	return {"packet": packet}


## Coroutine: a packet of [param records] (publish JSON) signed with [param secret_seed] for the key
## [param z32] at [param timestamp] (µs). The value is a [PkarrRelayPacket]; failures are the
## encoder's ([code]INVALID_RECORD[/code], [code]PACKET_TOO_LARGE[/code], ...).
func sign(secret_seed: PackedByteArray, z32: String, records: Array, timestamp: int) -> PkarrResult:
	var dns := PkarrSignedPacket.encode_dns(records, z32)
	if not dns.is_ok():
		return dns
	var message := PkarrSignedPacket.signable(timestamp, dns.value)
	var signature: PackedByteArray = await signatures.sign(secret_seed, message)
	var body := PkarrSignedPacket.build_relay_body(signature, timestamp, dns.value)
	if not body.is_ok():
		return body
	var decoded := PkarrSignedPacket.decode_records(dns.value, z32)
	if not decoded.is_ok():
		return decoded
	var packet := PkarrRelayPacket.new()
	packet.public_key = z32
	packet.key_bytes = key_bytes(z32)
	packet.timestamp = timestamp
	packet.dns = dns.value
	packet.payload = body.value
	packet.records = decoded.value
	packet.seen_msec = Time.get_ticks_msec()
	return PkarrResult.success(packet)
