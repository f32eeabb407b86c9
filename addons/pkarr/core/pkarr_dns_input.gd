class_name PkarrDnsInput
extends RefCounted
## Records in the publish JSON shape of docs/rpc.md ("Records on the wire") -> the records the
## GDScript encoder writes, with the sidecar's [code]recordFromJson[/code] rules: [code]type[/code]
## case-insensitive, [code]name[/code] and [code]ttl[/code] required, no unknown fields, TXT
## [code]text[/code] split into 254-byte strings or explicit [code]strings[/code], SVCB/HTTPS
## [code]params[/code] as an object, other types [code]{"type": "UNKNOWN", "typeCode", "data"}[/code].
## A resolved record is accepted back unchanged ([code]relative[/code] is ignored, TXT
## [code]text[/code] too when it equals the joined strings). Failures are
## [code]INVALID_RECORD[/code] naming the field, e.g. [code]records[2].address[/code].

const _COMMON: Array[String] = ["type", "name", "ttl", "relative"]
const _FIELDS := {
	"A": ["address"], "AAAA": ["address"], "CNAME": ["target"], "NS": ["target"],
	"TXT": ["text", "strings"], "SRV": ["priority", "weight", "port", "target"],
	"SVCB": ["priority", "target", "params"], "HTTPS": ["priority", "target", "params"],
	"UNKNOWN": ["typeCode", "data"],
}
## Character-strings of a TXT text are cut at this many bytes (like simple-dns).
const TXT_CHUNK_BYTES := 254


## [param value] as an integer in [code]0..max_value[/code] (an int, or a float with an integral
## value as JSON gives), or -1 when it is not one.
static func integer(value: Variant, max_value: int) -> int:
	var n := 0
	if value is int:
		n = value
	elif value is float:
		var f: float = value
		if is_nan(f) or is_inf(f) or f != floorf(f) or f < 0.0 or f > float(max_value):
			return -1
		n = int(f)
	else:
		return -1
	return n if n >= 0 and n <= max_value else -1


## Splits a text into TXT character-strings of at most 254 UTF-8 bytes without cutting a
## character (the sidecar's [code]txtStrings[/code]); [code]""[/code] gives [code][""][/code].
static func txt_strings(text: String) -> Array:
	var chunks: Array = []
	var current := ""
	var bytes := 0
	for i: int in text.length():
		var cp := text.unicode_at(i)
		var n := 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
		if bytes + n > TXT_CHUNK_BYTES:
			chunks.append(current)
			current = ""
			bytes = 0
		current += text[i]
		bytes += n
	if current != "" or chunks.is_empty():
		chunks.append(current)
	return chunks


## Parses one JSON record; [param field] names it in errors. Success value: a Dictionary with
## [code]type[/code] (uppercase), [code]name[/code], [code]ttl[/code] and the type's fields
## (TXT: [code]strings[/code]; SVCB/HTTPS: [code]params[/code] in [PkarrSvcb]'s internal form;
## UNKNOWN: [code]typeCode[/code] and [code]data[/code] as PackedByteArray). Not yet validated
## against the wire rules (the encoder does that).
static func record_from_json(value: Variant, field: String) -> PkarrResult:
	if not value is Dictionary:
		return _bad(field, "must be an object")
	var json: Dictionary = value
	var raw_type: Variant = json.get("type")
	if not raw_type is String:
		return _bad(field + ".type", "is required (A, AAAA, CNAME, NS, TXT, SRV, SVCB, HTTPS, UNKNOWN)")
	var type := (raw_type as String).to_upper()
	if not _FIELDS.has(type):
		return _bad(field + ".type", "unsupported record type %s" % JSON.stringify((raw_type as String).left(20)))
	var fields: Array = _FIELDS[type]
	for key: Variant in json:
		if not (key is String and (_COMMON.has(key) or fields.has(key))):
			return _bad("%s.%s" % [field, str(key)], "is not a field of %s records" % type)
	if not json.get("name") is String:
		return _bad(field + ".name", "is required" if not json.has("name") else "must be a string")
	var ttl := integer(json.get("ttl"), 0xFFFFFFFF)
	if ttl < 0:
		return _bad(field + ".ttl", "is required" if not json.has("ttl") else "must be an integer in 0-4294967295")
	var record := {"type": type, "name": json["name"], "ttl": ttl}
	match type:
		"A", "AAAA":
			if not json.get("address") is String:
				return _bad(field + ".address", "must be a string")
			record["address"] = json["address"]
		"CNAME", "NS":
			if not json.get("target") is String:
				return _bad(field + ".target", "must be a string")
			record["target"] = json["target"]
		"TXT":
			var strings: Variant = json.get("strings")
			var text: Variant = json.get("text")
			if json.has("strings"):
				if not strings is Array or (strings as Array).any(func(s: Variant) -> bool: return not s is String):
					return _bad(field + ".strings", "must be an array of strings")
				if json.has("text") and (not text is String or text != "".join(PackedStringArray(strings as Array))):
					return _bad(field + ".text", "must equal the concatenated strings when both are given")
				record["strings"] = (strings as Array).duplicate()
			elif text is String:
				record["strings"] = txt_strings(text)
			else:
				return _bad(field + ".text", "is required (or strings)")
		"SRV":
			for key: String in ["priority", "weight", "port"]:
				var n := integer(json.get(key), 0xFFFF)
				if n < 0:
					return _bad("%s.%s" % [field, key], "must be an integer in 0-65535")
				record[key] = n
			if not json.get("target") is String:
				return _bad(field + ".target", "must be a string")
			record["target"] = json["target"]
		"SVCB", "HTTPS":
			var priority := integer(json.get("priority"), 0xFFFF)
			if priority < 0:
				return _bad(field + ".priority", "must be an integer in 0-65535")
			if not json.get("target") is String:
				return _bad(field + ".target", "must be a string")
			var params := PkarrSvcb.params_from_json(json.get("params"), field + ".params")
			if not params.is_ok():
				return params
			record["priority"] = priority
			record["target"] = json["target"]
			record["params"] = params.value
		_:
			var code := integer(json.get("typeCode"), 0xFFFF)
			if code < 0:
				return _bad(field + ".typeCode", "must be an integer in 0-65535")
			var data: Variant = json.get("data")
			if not data is String or not PkarrBytes.is_hex(data):
				return _bad(field + ".data", "must be a hex string")
			record["typeCode"] = code
			record["data"] = PkarrBytes.from_hex(data)
	return PkarrResult.success(record)


static func _bad(field: String, message: String) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_RECORD, "%s: %s" % [field, message],
			{"field": field})
