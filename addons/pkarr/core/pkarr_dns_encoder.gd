class_name PkarrDnsEncoder
extends RefCounted
## Encodes records given in the publish JSON shape (docs/rpc.md) into a pkarr DNS message,
## byte for byte what the sidecar's encoder (and the Rust reference) writes:
## header [code]0000 8000 0000 <ancount> 0000 0000[/code], every record an answer of class IN,
## owner names normalised against the origin (the signer's z32: [code]_foo[/code],
## [code]@[/code], [code].[/code] or absolute), and simple-dns name compression: one suffix
## table for the whole message, byte-exact and case-sensitive, offsets up to 0x3FFF; owner
## names and NS/CNAME targets compressed, SRV and SVCB/HTTPS targets written in full.
##
## Every record is validated; the first problem fails the whole call with
## [code]INVALID_RECORD[/code] or [code]INVALID_NAME[/code] naming [code]records[i][/code] (a bad
## origin: [code]INVALID_ARGUMENT[/code]). The 1000-byte pkarr limit is checked by
## [method PkarrSignedPacket.encode_dns], not here.

## Most records a publish accepts.
const MAX_RECORDS := 1000
const MAX_LABEL_BYTES := 63
const MAX_NAME_BYTES := 255
const MAX_CHARACTER_STRING_BYTES := 255
const _MAX_POINTER_OFFSET := 0x3FFF
const _MODELLED_TYPES: Array[int] = [1, 2, 5, 16, 28, 33, 64, 65]
const _TYPE_CODES := {"A": 1, "NS": 2, "CNAME": 5, "TXT": 16, "AAAA": 28, "SRV": 33, "SVCB": 64, "HTTPS": 65}

var _out := PackedByteArray()
## Compression table: suffix text -> offset.
var _table := {}


## Encodes [param records_json] (an Array of publish-JSON records) for the key [param origin].
## Success value: the DNS message as a PackedByteArray.
static func encode(records_json: Variant, origin: String) -> PkarrResult:
	if origin == "" or origin.contains(".") or PkarrBytes.utf8(origin).size() > MAX_LABEL_BYTES:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"origin must be a single DNS label (the signer's z32), got %s" % JSON.stringify(origin))
	if not records_json is Array:
		return PkarrResult.failure(PkarrResult.INVALID_RECORD, "records: %s" % (
				"is required" if records_json == null else "must be an array of records"), {"field": "records"})
	var records: Array = records_json
	if records.size() > MAX_RECORDS:
		return PkarrResult.failure(PkarrResult.INVALID_RECORD, "records: has more records than fit in a packet",
				{"field": "records"})
	var encoder := PkarrDnsEncoder.new()
	for v: int in [0, 0x8000, 0, records.size(), 0, 0]:
		PkarrBytes.put_u16(encoder._out, v)
	for i: int in records.size():
		var parsed := PkarrDnsInput.record_from_json(records[i], "records[%d]" % i)
		if not parsed.is_ok():
			return parsed
		var failure: Variant = encoder._write_record(parsed.value, origin, i)
		if failure != null:
			return failure
	return PkarrResult.success(encoder._out)


## Normalises an owner name against [param origin] like pkarr's [code]normalize_name[/code]:
## strip one trailing dot; keep a name whose last label is the origin; a last label
## [code]@[/code] or empty gives the bare origin (so [code]foo.@[/code] does too, like the
## reference); anything else gets [code].<origin>[/code] appended.
static func normalize_name(name: String, origin: String) -> String:
	var stripped := name.substr(0, name.length() - 1) if name.ends_with(".") else name
	var last := stripped.substr(stripped.rfind(".") + 1)
	if last == origin:
		return stripped
	if last == "@" or last == "":
		return origin
	return "%s.%s" % [stripped, origin]


## Canonical rdata target: [code]""[/code] and [code].[/code] are the root [code].[/code];
## otherwise one trailing dot is dropped. Targets are never made relative to the origin.
static func normalize_target(name: String) -> String:
	if name == "" or name == ".":
		return "."
	return name.substr(0, name.length() - 1) if name.ends_with(".") else name


## Why [param name] is not a valid wire name (labels of 1-63 bytes, at most 255 bytes on the
## wire, one trailing dot ignored, "" and "." the root), or "" when it is one.
static func name_problem(name: String) -> String:
	if name == "" or name == ".":
		return ""
	var body := name.substr(0, name.length() - 1) if name.ends_with(".") else name
	var wire := 1
	for text: String in body.split("."):
		var n := PkarrBytes.utf8(text).size()
		if n == 0:
			return "name %s has an empty label" % JSON.stringify(name)
		if n > MAX_LABEL_BYTES:
			return "label %s is %d bytes (max %d)" % [JSON.stringify(text), n, MAX_LABEL_BYTES]
		wire += 1 + n
	if wire > MAX_NAME_BYTES:
		return "name %s is %d bytes on the wire (max %d)" % [JSON.stringify(name), wire, MAX_NAME_BYTES]
	return ""


## Writes a (valid) name, compressed with simple-dns's rules when [param compress].
func _write_name(name: String, compress: bool) -> void:
	if name == "" or name == ".":
		_out.append(0)
		return
	var body := name.substr(0, name.length() - 1) if name.ends_with(".") else name
	var texts := body.split(".")
	for l: int in texts.size():
		if compress:
			var suffix := ".".join(texts.slice(l))
			if _table.has(suffix):
				var offset: int = _table[suffix]
				_out.append(0xC0 | (offset >> 8))
				_out.append(offset & 0xFF)
				return
			if _out.size() <= _MAX_POINTER_OFFSET:
				_table[suffix] = _out.size()
		var label := PkarrBytes.utf8(texts[l])
		_out.append(label.size())
		_out.append_array(label)
	_out.append(0)


## Validates and writes one record; returns the failure, or null.
func _write_record(record: Dictionary, origin: String, index: int) -> Variant:
	var what := "records[%d] (%s %s)" % [index, record["type"], JSON.stringify(record["name"])]
	var owner := normalize_name(record["name"], origin)
	var problem := name_problem(owner)
	if problem != "":
		return _bad_name(what + ": owner name", problem, index)
	_write_name(owner, true)
	var fixed := _out.size()
	for i: int in 10:
		_out.append(0)
	var type: String = record["type"]
	var code: int = _TYPE_CODES.get(type, -1)
	match type:
		"A", "AAAA":
			var address: PackedByteArray = PkarrIp.parse_ipv4(record["address"]) if type == "A" \
					else PkarrIp.parse_ipv6(record["address"])
			if address.is_empty():
				return _bad(what, "invalid %s address %s" % ["IPv4" if type == "A" else "IPv6",
						JSON.stringify(record["address"])], index)
			_out.append_array(address)
		"CNAME", "NS", "SRV":
			if type == "SRV":
				for key: String in ["priority", "weight", "port"]:
					PkarrBytes.put_u16(_out, record[key])
			var target := normalize_target(record["target"])
			problem = name_problem(target)
			if problem != "":
				return _bad_name(what + ": target", problem, index)
			_write_name(target, type != "SRV")
		"TXT":
			var strings: Array = record["strings"]
			if strings.is_empty():
				_out.append(0)
			for s: String in strings:
				var bytes := PkarrBytes.utf8(s)
				if bytes.size() > MAX_CHARACTER_STRING_BYTES:
					return _bad(what, "TXT string of %d bytes is longer than 255" % bytes.size(), index)
				_out.append(bytes.size())
				_out.append_array(bytes)
		"SVCB", "HTTPS":
			PkarrBytes.put_u16(_out, record["priority"])
			var target := normalize_target(record["target"])
			problem = name_problem(target)
			if problem != "":
				return _bad_name(what + ": target", problem, index)
			_write_name(target, false)
			problem = PkarrSvcb.validate(record["params"])
			if problem == "":
				problem = PkarrSvcb.write_params(_out, record["params"])
			if problem != "":
				return _bad(what, problem, index)
		_:
			code = record["typeCode"]
			var data: PackedByteArray = record["data"]
			if _MODELLED_TYPES.has(code):
				return _bad(what, "typeCode %d has its own record type; use it" % code, index)
			if data.size() > 0xFFFF:
				return _bad(what, "rdata of %d bytes is longer than 65535" % data.size(), index)
			problem = PkarrDnsDecoder.check_opaque_rdata(code, data)
			if problem != "":
				return _bad(what, "rdata is not valid for type %d: %s" % [code, problem], index)
			_out.append_array(data)
	var rdlength := _out.size() - fixed - 10
	if rdlength > 0xFFFF:
		return _bad(what, "rdata is longer than 65535 bytes", index)
	PkarrBytes.set_u16(_out, fixed, code)
	PkarrBytes.set_u16(_out, fixed + 2, 1)
	var ttl: int = record["ttl"]
	PkarrBytes.set_u16(_out, fixed + 4, (ttl >> 16) & 0xFFFF)
	PkarrBytes.set_u16(_out, fixed + 6, ttl & 0xFFFF)
	PkarrBytes.set_u16(_out, fixed + 8, rdlength)
	return null


static func _bad(what: String, message: String, index: int) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_RECORD, "%s: %s" % [what, message],
			{"field": "records[%d]" % index})


static func _bad_name(what: String, message: String, index: int) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_NAME, "%s: %s" % [what, message],
			{"field": "records[%d]" % index})
