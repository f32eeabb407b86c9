@tool
class_name PkarrResolved
extends RefCounted
## The records found for a public key by [code]Pkarr.resolve()[/code].
##
## [codeblock]
## var result: PkarrResult = await Pkarr.resolve(code)
## if result.is_ok():
##     var resolved: PkarrResolved = result.value
##     print(resolved.get_txt("_lobby"))
## [/codeblock]

## The public key, as 52 z-base-32 characters.
var public_key: String = ""
## The records of the packet, in packet order.
var records: Array[PkarrRecord] = []
## When the packet was signed, in microseconds since the Unix epoch, as a decimal string
## (64-bit values do not survive Godot's JSON parser as numbers).
var timestamp: String = ""
## Where the packet came from: [code]cache[/code], [code]dht[/code] or [code]relay[/code].
var source: String = ""
## Seconds since the packet was signed, when the sidecar answered.
var age_seconds: int = 0
## Size of the signed DNS packet in bytes.
var size: int = 0


## Reads the result of the sidecar's [code]resolve[/code] method.
static func from_dict(data: Dictionary) -> PkarrResolved:
	var resolved := PkarrResolved.new()
	resolved.public_key = PkarrJson.to_text(data.get("publicKey"))
	resolved.timestamp = PkarrJson.to_decimal_string(data.get("timestamp"))
	resolved.source = PkarrJson.to_text(data.get("source"))
	resolved.age_seconds = PkarrJson.to_int(data.get("ageSeconds"))
	resolved.size = PkarrJson.to_int(data.get("size"))
	var raw_records: Variant = data.get("records")
	if raw_records is Array:
		for raw: Variant in raw_records:
			if raw is Dictionary:
				resolved.records.append(PkarrRecord.from_dict(raw))
	return resolved


## The records named [param record_name] ([code]"_lobby"[/code], [code]"@"[/code] or an
## absolute name), optionally only those of [param record_type] (e.g. [code]"TXT"[/code]).
func get_records(record_name: String, record_type: String = "") -> Array[PkarrRecord]:
	var found: Array[PkarrRecord] = []
	var wanted_type := record_type.to_upper()
	for record: PkarrRecord in records:
		if record.has_name(record_name) and (wanted_type == "" or record.type == wanted_type):
			found.append(record)
	return found


## The text of the first TXT record named [param record_name], or an empty String.
func get_txt(record_name: String) -> String:
	var found := get_records(record_name, PkarrRecord.TYPE_TXT)
	return found[0].text if not found.is_empty() else ""


## Every TXT text named [param record_name], in packet order.
func get_txts(record_name: String) -> PackedStringArray:
	var texts := PackedStringArray()
	for record: PkarrRecord in get_records(record_name, PkarrRecord.TYPE_TXT):
		texts.append(record.text)
	return texts
