class_name PkarrDnsDecoder
extends RefCounted
## Decodes a pkarr DNS message into records in EXACTLY the JSON shapes the sidecar's
## [code]resolve[/code] RPC returns (docs/rpc.md "Records on the wire", [code]recordToJson[/code]):
## absolute [code]name[/code] plus [code]relative[/code] ([code]@[/code] for the apex), TXT with
## [code]strings[/code] and [code]text[/code], SVCB/HTTPS [code]params[/code] objects, other types
## as [code]{"type": "UNKNOWN", "typeCode", "data": "<hex>"}[/code].
##
## Same rules as the sidecar's decoder (sidecar/src/core/dns-decode.ts): reserved Z bit refused;
## all four sections parsed, answers returned; classes IN/CS/CH/HS/NONE (ANY in questions);
## labels of at most 63 bytes, names of at most 255; compression pointers must point strictly
## backwards to a name that ends before the pointer (no loops, work bounded by the length);
## exact rdata lengths; strict SvcParams; names of RFC 1035 types kept opaque (MX, SOA, PTR, ...)
## are decompressed into their [code]data[/code]. Every failure is a [PkarrResult] with code
## [code]DNS_ERROR[/code]; nothing is ever read out of bounds.

const HEADER_BYTES := 12
## The reserved Z bit of the header flags.
const RESERVED_Z_FLAG := 0x0040
const MAX_NAME_BYTES := 255
const _OPT_TYPE := 41
const _RR_CLASSES: Array[int] = [1, 2, 3, 4, 254]
const _QUESTION_CLASSES: Array[int] = [1, 2, 3, 4, 254, 255]
## Layout of the opaque types whose names are decompressed ("n" name, "2" u16, "4" u32).
const _NAME_LAYOUTS := {
	3: "n", 4: "n", 7: "n", 8: "n", 9: "n", 12: "n", 14: "nn", 17: "nn",
	15: "2n", 18: "2n", 21: "2n", 36: "2n", 6: "nn44444",
}

var _msg: PackedByteArray
var _error := ""
## Label texts already decoded in this message, by offset.
var _texts := {}
## Where the last name read ended (-1 after an error).
var _name_end := 0


## Decodes [param dns] (answers only) for the key [param origin] (its z32). Success value:
## an Array of record Dictionaries; failure: [code]DNS_ERROR[/code].
static func decode(dns: PackedByteArray, origin: String) -> PkarrResult:
	var decoder := PkarrDnsDecoder.new()
	decoder._msg = dns
	var records := decoder._decode_message(origin)
	if decoder._error != "":
		return PkarrResult.failure(PkarrResult.DNS_ERROR, "malformed DNS message: " + decoder._error)
	return PkarrResult.success(records)


## Why opaque rdata of [param type_code] would be refused (a compression pointer, a bad
## name, wrong lengths), or "" when it is fine. The encoder checks UNKNOWN records with it.
static func check_opaque_rdata(type_code: int, data: PackedByteArray) -> String:
	var decoder := PkarrDnsDecoder.new()
	decoder._msg = data
	decoder._opaque_rdata(type_code, 0, data.size(), false)
	return decoder._error


## [param name] relative to [param origin]: [code]@[/code] for the apex, the part before
## [code].<origin>[/code] for names under it, anything else unchanged.
static func relative_name(name: String, origin: String) -> String:
	if name == origin:
		return "@"
	var suffix := "." + origin
	return name.left(name.length() - suffix.length()) if name.ends_with(suffix) else name


func _fail(message: String) -> int:
	if _error == "":
		_error = message
	return -1


## Walks the name at [param offset] whose own labels end before [param limit]; appends
## (offset, length) of every label to [param labels]; returns where the name ends, or -1.
func _walk_name(offset: int, limit: int, allow_pointers: bool, labels: PackedInt32Array) -> int:
	var pos := offset
	var end := -1
	var wire := 1
	while true:
		if pos >= limit or pos >= _msg.size():
			return _fail("name at offset %d runs past its bounds" % offset)
		var length: int = _msg[pos]
		if length == 0:
			return pos + 1 if end < 0 else end
		var kind := length & 0xC0
		if kind == 0xC0:
			if not allow_pointers:
				return _fail("compression pointer at offset %d is not allowed here" % pos)
			if pos + 2 > limit:
				return _fail("truncated compression pointer at offset %d" % pos)
			var target := PkarrBytes.u16(_msg, pos) & 0x3FFF
			if target >= pos:
				return _fail("compression pointer at offset %d does not point backwards" % pos)
			if end < 0:
				end = pos + 2
			limit = pos
			pos = target
			continue
		if kind != 0:
			return _fail("unsupported label type 0x%x at offset %d" % [length, pos])
		if pos + 1 + length > limit:
			return _fail("label at offset %d runs past its bounds" % pos)
		wire += 1 + length
		if wire > MAX_NAME_BYTES:
			return _fail("name at offset %d is longer than %d bytes" % [offset, MAX_NAME_BYTES])
		labels.append(pos)
		labels.append(length)
		pos += 1 + length
	return -1


## Reads a name as text (labels dot-joined, lossy UTF-8, root ""); sets [member _name_end].
func _read_name_text(offset: int, limit: int) -> String:
	var labels := PackedInt32Array()
	_name_end = _walk_name(offset, limit, true, labels)
	if _name_end < 0:
		return ""
	var parts := PackedStringArray()
	for i: int in range(0, labels.size(), 2):
		var at: int = labels[i]
		if not _texts.has(at):
			_texts[at] = PkarrBytes.utf8_lossy(_msg, at + 1, at + 1 + labels[i + 1])
		parts.append(_texts[at])
	return ".".join(parts)


## An rdata name that must fill [code]msg[at, end)[/code]; the root is [code].[/code].
func _exact_name(at: int, end: int, type: int) -> String:
	var name := _read_name_text(at, end)
	if _name_end >= 0 and _name_end != end:
		_fail("type %d rdata at offset %d has trailing bytes" % [type, at])
	return "." if name == "" else name


## The rdata of an opaque type as self-contained bytes (names decompressed, OPT checked).
func _opaque_rdata(type: int, start: int, end: int, allow_pointers: bool) -> PackedByteArray:
	if type == _OPT_TYPE:
		var pos := start
		while pos < end:
			if end - pos < 4 or pos + 4 + PkarrBytes.u16(_msg, pos + 2) > end:
				_fail("malformed OPT option")
				return PackedByteArray()
			pos += 4 + PkarrBytes.u16(_msg, pos + 2)
	if not _NAME_LAYOUTS.has(type):
		return _msg.slice(start, end)
	var layout: String = _NAME_LAYOUTS[type]
	var out := PackedByteArray()
	var pos := start
	for field: String in layout:
		if field == "n":
			var labels := PackedInt32Array()
			var name_end := _walk_name(pos, end, allow_pointers, labels)
			if name_end < 0:
				return PackedByteArray()
			for i: int in range(0, labels.size(), 2):
				out.append_array(_msg.slice(labels[i], labels[i] + 1 + labels[i + 1]))
			out.append(0)
			pos = name_end
		else:
			var n := field.to_int()
			if pos + n > end:
				_fail("type %d rdata is truncated" % type)
				return PackedByteArray()
			out.append_array(_msg.slice(pos, pos + n))
			pos += n
	if pos != end:
		_fail("type %d rdata has %d trailing bytes" % [type, end - pos])
	return out


## Decodes one resource record at [param pos] into [param out]; returns where it ends, or -1.
func _read_record(pos: int, origin: String, out: Dictionary) -> int:
	var name := _read_name_text(pos, _msg.size())
	var h := _name_end
	if h < 0:
		return -1
	if h + 10 > _msg.size():
		return _fail("record at offset %d is truncated" % pos)
	var type := PkarrBytes.u16(_msg, h)
	var cls := PkarrBytes.u16(_msg, h + 2) & 0x7FFF
	var ttl := PkarrBytes.u32(_msg, h + 4)
	var start := h + 10
	var end := start + PkarrBytes.u16(_msg, h + 8)
	if end > _msg.size():
		return _fail("rdata of the record at offset %d overruns the message" % pos)
	if type != _OPT_TYPE and not _RR_CLASSES.has(cls):
		return _fail("record at offset %d has unknown class %d" % [pos, cls])
	out["name"] = name
	out["relative"] = relative_name(name, origin)
	out["ttl"] = ttl
	match type:
		1, 28:
			var size := 4 if type == 1 else 16
			if end - start != size:
				return _fail("type %d rdata at offset %d must be %d bytes" % [type, start, size])
			out["type"] = "A" if type == 1 else "AAAA"
			out["address"] = PkarrIp.format_ipv4(_msg, start) if type == 1 else PkarrIp.format_ipv6(_msg, start)
		2, 5:
			out["type"] = "NS" if type == 2 else "CNAME"
			out["target"] = _exact_name(start, end, type)
		16:
			var strings: Array = []
			var at := start
			while at < end:
				var n: int = _msg[at]
				if at + 1 + n > end:
					return _fail("TXT character-string at offset %d overruns the rdata" % at)
				strings.append(PkarrBytes.utf8_lossy(_msg, at + 1, at + 1 + n))
				at += 1 + n
			out["type"] = "TXT"
			out["strings"] = strings
			out["text"] = "".join(PackedStringArray(strings))
		33:
			if end - start < 7:
				return _fail("SRV rdata at offset %d is truncated" % start)
			out["type"] = "SRV"
			out["priority"] = PkarrBytes.u16(_msg, start)
			out["weight"] = PkarrBytes.u16(_msg, start + 2)
			out["port"] = PkarrBytes.u16(_msg, start + 4)
			out["target"] = _exact_name(start + 6, end, type)
		64, 65:
			if end - start < 3:
				return _fail("SVCB rdata: too short")
			out["type"] = "SVCB" if type == 64 else "HTTPS"
			out["priority"] = PkarrBytes.u16(_msg, start)
			var target := _read_name_text(start + 2, end)
			if _name_end < 0:
				return -1
			out["target"] = "." if target == "" else target
			var params := {}
			var problem := PkarrSvcb.decode_params(_msg, _name_end, end, params)
			if problem != "":
				return _fail("SVCB rdata: " + problem)
			out["params"] = params
		_:
			var data := _opaque_rdata(type, start, end, true)
			out["type"] = "UNKNOWN"
			out["typeCode"] = type
			out["data"] = PkarrBytes.to_hex(data)
	return -1 if _error != "" else end


func _decode_message(origin: String) -> Array:
	var answers: Array = []
	var size := _msg.size()
	if size < HEADER_BYTES:
		_fail("DNS message is %d bytes, shorter than its 12-byte header" % size)
		return answers
	if PkarrBytes.u16(_msg, 2) & RESERVED_Z_FLAG != 0:
		_fail("DNS header has the reserved Z bit set")
		return answers
	var qd := PkarrBytes.u16(_msg, 4)
	var an := PkarrBytes.u16(_msg, 6)
	var ns := PkarrBytes.u16(_msg, 8)
	var ar := PkarrBytes.u16(_msg, 10)
	# Smallest question is 5 bytes, smallest record 11: refuse counts the message cannot hold.
	if HEADER_BYTES + 5 * qd + 11 * (an + ns + ar) > size:
		_fail("DNS section counts (%d/%d/%d/%d) do not fit in %d bytes" % [qd, an, ns, ar, size])
		return answers
	var pos := HEADER_BYTES
	for i: int in qd:
		_read_name_text(pos, size)
		if _name_end < 0:
			return answers
		var q := _name_end
		if q + 4 > size:
			_fail("question at offset %d is truncated" % pos)
			return answers
		if not _QUESTION_CLASSES.has(PkarrBytes.u16(_msg, q + 2) & 0x7FFF):
			_fail("question at offset %d has an unknown class" % pos)
			return answers
		pos = q + 4
	for i: int in an + ns + ar:
		var record := {}
		pos = _read_record(pos, origin, record)
		if pos < 0:
			return answers
		if i < an:
			answers.append(record)
	return answers
