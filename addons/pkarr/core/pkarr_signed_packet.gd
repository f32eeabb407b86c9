class_name PkarrSignedPacket
extends RefCounted
## The signed packet's byte layouts (as pkarr defines them), I/O-free and without crypto:
## [codeblock]
## canonical     public_key(32) ‖ signature(64) ‖ timestamp u64 BE µs(8) ‖ dns(≤1000)
## relay body    signature(64) ‖ timestamp(8) ‖ dns          (72..1072 bytes, the HTTP body)
## signable      "3:seqi<timestamp>e1:v<len>:" ‖ dns         (what Ed25519 signs, BEP44)
## [/codeblock]
## Parsing applies the reference's size checks in its order ([code]INVALID_SIGNED_PACKET_BYTES_LENGTH[/code]
## below 104 canonical bytes, [code]PACKET_TOO_LARGE[/code] above 1104) and refuses timestamps of
## 2^63 µs and more ([code]INVALID_TIMESTAMP[/code]: not a valid BEP44 seq). The caller verifies
## [code]signature[/code] over [method signable] with the key (addons/pkarr/crypto) BEFORE it uses
## anything, then decodes the DNS message ([method decode_records]).

const PUBLIC_KEY_BYTES := 32
const SIGNATURE_BYTES := 64
const TIMESTAMP_BYTES := 8
## Canonical header: key, signature, timestamp.
const HEADER_BYTES := 104
const MAX_DNS_BYTES := 1000
## Largest canonical packet.
const MAX_BYTES := 1104
const MIN_RELAY_BODY_BYTES := 72
const MAX_RELAY_BODY_BYTES := 1072


## The BEP44 signable [code]3:seqi<timestamp>e1:v<len>:<dns>[/code].
static func signable(timestamp: int, dns: PackedByteArray) -> PackedByteArray:
	var out := ("3:seqi%de1:v%d:" % [timestamp, dns.size()]).to_ascii_buffer()
	out.append_array(dns)
	return out


## Splits a relay body (the HTTP body of GET/PUT /<z32>). Success value:
## [code]{"signature": PackedByteArray(64), "timestamp": int (µs), "dns": PackedByteArray,
## "signable": PackedByteArray}[/code]. Nothing is verified yet.
static func parse_relay_body(body: PackedByteArray) -> PkarrResult:
	var size_check: Variant = _check_size(PUBLIC_KEY_BYTES + body.size())
	if size_check != null:
		return size_check
	return _parts(body, 0)


## Splits canonical bytes (key first). Success value: like [method parse_relay_body] plus
## [code]"public_key": PackedByteArray(32)[/code] and [code]"z32"[/code].
static func parse_canonical(bytes: PackedByteArray) -> PkarrResult:
	var size_check: Variant = _check_size(bytes.size())
	if size_check != null:
		return size_check
	var result := _parts(bytes, PUBLIC_KEY_BYTES)
	if result.is_ok():
		var key := bytes.slice(0, PUBLIC_KEY_BYTES)
		result.value["public_key"] = key
		result.value["z32"] = PkarrZ32.encode(key)
	return result


## Builds a relay body from its parts. Fails with [code]INVALID_ARGUMENT[/code] (signature not
## 64 bytes), [code]INVALID_TIMESTAMP[/code] (negative) or [code]PACKET_TOO_LARGE[/code] (DNS
## message over 1000 bytes).
static func build_relay_body(signature: PackedByteArray, timestamp: int, dns: PackedByteArray) -> PkarrResult:
	if signature.size() != SIGNATURE_BYTES:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"a signature is %d bytes, got %d" % [SIGNATURE_BYTES, signature.size()])
	if timestamp < 0:
		return PkarrResult.failure(PkarrResult.INVALID_TIMESTAMP, "timestamp %d is negative" % timestamp)
	if dns.size() > MAX_DNS_BYTES:
		return _too_large(dns.size())
	var out := signature.duplicate()
	PkarrBytes.put_u64(out, timestamp)
	out.append_array(dns)
	return PkarrResult.success(out)


## Canonical bytes (key ‖ relay body) of a key and a relay body.
static func canonical_bytes(public_key: PackedByteArray, relay_body: PackedByteArray) -> PackedByteArray:
	var out := public_key.duplicate()
	out.append_array(relay_body)
	return out


## Encodes publish-JSON [param records] for [param origin] (the signer's z32) and checks the
## 1000-byte limit ([code]PACKET_TOO_LARGE[/code] with [code]size[/code] and [code]limit[/code]).
## Success value: the DNS message.
static func encode_dns(records: Variant, origin: String) -> PkarrResult:
	var encoded := PkarrDnsEncoder.encode(records, origin)
	if encoded.is_ok() and (encoded.value as PackedByteArray).size() > MAX_DNS_BYTES:
		return _too_large((encoded.value as PackedByteArray).size())
	return encoded


## Decodes a (verified) packet's DNS message into resolve-JSON records for the key [param z32]
## ([method PkarrDnsDecoder.decode]).
static func decode_records(dns: PackedByteArray, z32: String) -> PkarrResult:
	return PkarrDnsDecoder.decode(dns, z32)


## [code]true[/code] when packet A (timestamp, dns) is more recent than packet B: a higher
## timestamp wins; on equal timestamps the lexicographically greater DNS bytes win.
static func more_recent_than(a_timestamp: int, a_dns: PackedByteArray, b_timestamp: int,
		b_dns: PackedByteArray) -> bool:
	if a_timestamp != b_timestamp:
		return a_timestamp > b_timestamp
	for i: int in mini(a_dns.size(), b_dns.size()):
		if a_dns[i] != b_dns[i]:
			return a_dns[i] > b_dns[i]
	return a_dns.size() > b_dns.size()


## The smallest record TTL clamped to [code][minimum, maximum][/code] (pkarr's packet TTL; no
## records: [param minimum]).
static func ttl(records: Array, minimum: int = 300, maximum: int = 86400) -> int:
	var smallest := -1
	for record: Dictionary in records:
		var t: int = record.get("ttl", 0)
		if smallest < 0 or t < smallest:
			smallest = t
	if smallest < 0:
		return minimum
	return clampi(smallest, minimum, maximum)


static func _check_size(size: int) -> Variant:
	if size < HEADER_BYTES:
		return PkarrResult.failure(PkarrResult.INVALID_SIGNED_PACKET_BYTES_LENGTH,
				"signed packet is %d bytes, expected at least %d" % [size, HEADER_BYTES], {"size": size})
	if size > MAX_BYTES:
		return PkarrResult.failure(PkarrResult.PACKET_TOO_LARGE,
				"signed packet is %d bytes, %d over the %d-byte limit" % [size, size - MAX_BYTES, MAX_BYTES],
				{"size": size, "limit": MAX_BYTES})
	return null


static func _parts(bytes: PackedByteArray, at: int) -> PkarrResult:
	var timestamp := PkarrBytes.u64(bytes, at + SIGNATURE_BYTES)
	if timestamp < 0:
		return PkarrResult.failure(PkarrResult.INVALID_TIMESTAMP,
				"timestamp is 2^63 µs or more: not a valid BEP44 seq")
	var dns := bytes.slice(at + SIGNATURE_BYTES + TIMESTAMP_BYTES)
	return PkarrResult.success({
		"signature": bytes.slice(at, at + SIGNATURE_BYTES),
		"timestamp": timestamp,
		"dns": dns,
		"signable": signable(timestamp, dns),
	})


static func _too_large(size: int) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.PACKET_TOO_LARGE,
			"DNS packet is %d bytes, %d over the %d-byte limit" % [size, size - MAX_DNS_BYTES, MAX_DNS_BYTES],
			{"size": size, "limit": MAX_DNS_BYTES})
