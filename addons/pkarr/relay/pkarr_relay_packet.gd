class_name PkarrRelayPacket
extends RefCounted
## A signed packet received from (or sent to) a relay, after its signature and key were checked.
##
## Only [PkarrRelayVerifier] makes these from received bytes, so holding one means: the
## Ed25519 signature over the BEP44 signable is valid for [member public_key], and the DNS
## message decoded.

## The signer, as 52 z-base-32 characters (the key in the relay URL).
var public_key: String = ""
## The signer's 32 raw bytes.
var key_bytes: PackedByteArray = PackedByteArray()
## The packet timestamp (= BEP44 seq), microseconds since the Unix epoch.
var timestamp: int = 0
## The DNS message (at most 1000 bytes).
var dns: PackedByteArray = PackedByteArray()
## The relay body: signature (64) + timestamp (8, big-endian) + DNS message.
var payload: PackedByteArray = PackedByteArray()
## The records in the sidecar's JSON shape (docs/rpc.md "Records on the wire").
var records: Array = []
## The relay it came from ([code]""[/code] for a packet signed here).
var relay: String = ""
## [method Time.get_ticks_msec] when it was received or signed.
var seen_msec: int = 0


## [code]true[/code] when this packet wins over [param other] (pkarr's [code]more_recent_than[/code]:
## a higher timestamp, or the same timestamp and greater DNS bytes); always over [code]null[/code].
func more_recent_than(other: PkarrRelayPacket) -> bool:
	if other == null:
		return true
	return PkarrSignedPacket.more_recent_than(timestamp, dns, other.timestamp, other.dns)


## Size of the canonical signed packet (key + signature + timestamp + DNS), as the sidecar reports it.
func size() -> int:
	return PkarrSignedPacket.PUBLIC_KEY_BYTES + payload.size()


## Seconds the packet stays fresh after it was received (pkarr's packet TTL, 300..86400 s).
func ttl_seconds() -> int:
	return PkarrSignedPacket.ttl(records)


## Seconds since the signer signed it, by this machine's clock (0 if it lies in the future).
func age_seconds() -> int:
	@warning_ignore("integer_division")
	return maxi(0, (now_micros() - timestamp) / 1000000)


## Now by this machine's clock, in microseconds since the Unix epoch (the unit of
## [member timestamp]).
static func now_micros() -> int:
	return int(Time.get_unix_time_from_system() * 1000000.0)

