@tool
class_name PkarrPublished
extends RefCounted
## What [code]Pkarr.publish()[/code] reports about a published packet.

## The public key the packet was signed with (52 z-base-32 characters).
var public_key: String = ""
## The packet's timestamp in microseconds since the Unix epoch, as a decimal string.
var timestamp: String = ""
## Size of the signed DNS packet in bytes (at most 1000).
var size: int = 0
## How many DHT nodes or relays confirmed storing it (the largest count reported).
var stored_on: int = 0


## Reads the result of the sidecar's [code]publish[/code] method.
static func from_dict(data: Dictionary) -> PkarrPublished:
	var published := PkarrPublished.new()
	published.public_key = PkarrJson.to_text(data.get("publicKey"))
	published.timestamp = PkarrJson.to_decimal_string(data.get("timestamp"))
	published.size = PkarrJson.to_int(data.get("size"))
	published.stored_on = PkarrJson.to_int(data.get("storedOn"))
	return published
