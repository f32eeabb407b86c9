class_name PkarrSvcb
extends RefCounted
## SVCB/HTTPS SvcParams (RFC 9460) for the GDScript DNS codec, with the sidecar's rules.
##
## JSON form (docs/rpc.md): [code]{"mandatory": [names], "alpn": [ids], "no-default-alpn": true,
## "port": n, "ipv4hint": [..], "ipv6hint": [..], "ech": "<base64>", "keyNNNNN": "<hex>"}[/code].
## Internal form: an Array of [code]{"code": int, "value": Variant}[/code] (mandatory: Array of
## codes; alpn, hints: Array of String; port: int; ech, keyNNNNN: PackedByteArray).
## Decoding is strict (keys strictly ascending, exact value lengths, key 65535 refused); encoding
## validates and writes the params sorted by key.

## Names of the keys with a meaning, by code.
const NAMES: Array[String] = ["mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech",
		"ipv6hint"]
## The reserved "Invalid key".
const INVALID_KEY := 65535


## Presentation name of a key code: [code]alpn[/code], ... or [code]keyNNNNN[/code].
static func key_name(code: int) -> String:
	return NAMES[code] if code >= 0 and code < NAMES.size() else "key%d" % code


## The code of a key name ([code]alpn[/code], [code]key667[/code]), or -1 when it is not one.
static func key_code(name: String) -> int:
	var named := NAMES.find(name)
	if named >= 0:
		return named
	if not name.begins_with("key"):
		return -1
	var digits := name.substr(3)
	if digits.length() < 1 or digits.length() > 5 or (digits.length() > 1 and digits[0] == "0"):
		return -1
	for c: String in digits:
		if c < "0" or c > "9":
			return -1
	var code := digits.to_int()
	return code if code < INVALID_KEY else -1


## Decodes the params in [code]msg[pos, end)[/code] into [param out] (the JSON form). Returns
## an error message, or "" on success.
static func decode_params(msg: PackedByteArray, pos: int, end: int, out: Dictionary) -> String:
	var previous := -1
	while pos < end:
		if end - pos < 4:
			return "truncated SvcParam header"
		var key := PkarrBytes.u16(msg, pos)
		var length := PkarrBytes.u16(msg, pos + 2)
		var v := pos + 4
		var v_end := v + length
		if v_end > end:
			return "SvcParam %s overruns the rdata" % key_name(key)
		if key <= previous:
			return "SvcParam keys not strictly ascending"
		if key == INVALID_KEY:
			return "SvcParam key 65535 is reserved"
		previous = key
		var bad := "bad %s value" % key_name(key)
		match key:
			0:
				if length == 0 or length % 2 != 0:
					return bad
				var names: Array = []
				var last := -1
				for i: int in range(v, v_end, 2):
					var k := PkarrBytes.u16(msg, i)
					if k == 0 or k == INVALID_KEY or k <= last:
						return bad
					last = k
					names.append(key_name(k))
				out["mandatory"] = names
			1:
				if length == 0:
					return bad
				var ids: Array = []
				var i := v
				while i < v_end:
					var n: int = msg[i]
					if n == 0 or i + 1 + n > v_end:
						return bad
					ids.append(PkarrBytes.utf8_lossy(msg, i + 1, i + 1 + n))
					i += 1 + n
				out["alpn"] = ids
			2:
				if length != 0:
					return bad
				out["no-default-alpn"] = true
			3:
				if length != 2:
					return bad
				out["port"] = PkarrBytes.u16(msg, v)
			4, 6:
				var size := 4 if key == 4 else 16
				if length == 0 or length % size != 0:
					return bad
				var addresses: Array = []
				for at: int in range(v, v_end, size):
					addresses.append(PkarrIp.format_ipv4(msg, at) if key == 4 else PkarrIp.format_ipv6(msg, at))
				out[key_name(key)] = addresses
			5:
				if length < 2 or PkarrBytes.u16(msg, v) != length - 2:
					return bad
				out["ech"] = PkarrBytes.to_base64(msg.slice(v, v_end))
			_:
				out[key_name(key)] = PkarrBytes.to_hex(msg.slice(v, v_end))
		pos = v_end
	return ""


## Parses the JSON params object (absent: none). Success value: the internal form; failure:
## [code]INVALID_RECORD[/code] naming [param field].
static func params_from_json(value: Variant, field: String) -> PkarrResult:
	var out: Array = []
	if value == null:
		return PkarrResult.success(out)
	if not value is Dictionary:
		return _bad(field, "must be an object of SvcParams")
	var params: Dictionary = value
	for key: Variant in params:
		var f := "%s.%s" % [field, str(key)]
		var item: Variant = params[key]
		var code := key_code(str(key)) if key is String else -1
		match str(key):
			"mandatory":
				var names := _str_list(item)
				if names.is_empty():
					return _bad(f, "must be a non-empty array of strings")
				var codes: Array = []
				for name: String in names:
					var c := key_code(name)
					if c < 0:
						return _bad(f, "unknown SvcParam key %s" % JSON.stringify(name))
					codes.append(c)
				out.append({"code": 0, "value": codes})
			"alpn", "ipv4hint", "ipv6hint":
				var list := _str_list(item)
				if list.is_empty():
					return _bad(f, "must be a non-empty array of strings")
				out.append({"code": code, "value": list})
			"no-default-alpn":
				if not (item == null or (item is bool and item == true)):
					return _bad(f, "must be true")
				out.append({"code": 2, "value": null})
			"port":
				var port := PkarrDnsInput.integer(item, 0xFFFF)
				if port < 0:
					return _bad(f, "must be an integer in 0-65535")
				out.append({"code": 3, "value": port})
			"ech":
				if not item is String or not PkarrBytes.is_base64(item):
					return _bad(f, "must be a base64 string")
				out.append({"code": 5, "value": PkarrBytes.from_base64(item)})
			_:
				if code < 0:
					return _bad(f, "unknown SvcParam key")
				if not item is String or not PkarrBytes.is_hex(item):
					return _bad(f, "must be a hex string")
				out.append({"code": code, "value": PkarrBytes.from_hex(item), "unknown": true})
	return PkarrResult.success(out)


## Validates internal-form params (the sidecar's [code]validateSvcParams[/code]): an error
## message, or "" when they are fine.
static func validate(params: Array) -> String:
	var seen := {}
	for p: Dictionary in params:
		var code: int = p["code"]
		var value: Variant = p["value"]
		if p.get("unknown", false) and (code <= 6 or code == INVALID_KEY):
			return "unknown SvcParam code %d must be 7-65534 (use the named variant for 0-6)" % code
		match code:
			0:
				var keys: Array = value
				var distinct := {}
				for k: int in keys:
					if k == 0 or k == INVALID_KEY:
						return "mandatory key %d is not allowed" % k
					distinct[k] = true
				if distinct.size() != keys.size():
					return "mandatory lists a key twice"
			1:
				for id: String in value:
					var n := PkarrBytes.utf8(id).size()
					if n < 1 or n > 255:
						return "alpn id %s must be 1-255 bytes" % JSON.stringify(id)
			4, 6:
				for a: String in value:
					var parsed := PkarrIp.parse_ipv4(a) if code == 4 else PkarrIp.parse_ipv6(a)
					if parsed.is_empty():
						return "%s address %s is invalid" % [key_name(code), JSON.stringify(a)]
			5:
				var data: PackedByteArray = value
				if data.size() > 0xFFFF or data.size() < 2 or PkarrBytes.u16(data, 0) != data.size() - 2:
					return "ech must be an ECHConfigList (u16 length prefix equal to the remaining bytes)"
			_:
				if code > 6 and (value as PackedByteArray).size() > 0xFFFF:
					return "key%d data must be at most 65535 bytes" % code
		if seen.has(code):
			return "SvcParam %s appears twice" % key_name(code)
		seen[code] = true
	for p: Dictionary in params:
		if p["code"] == 0:
			for k: int in p["value"]:
				if not seen.has(k):
					return "mandatory lists %s which is not present" % key_name(k)
	if seen.has(2) and not seen.has(1):
		return "no-default-alpn requires alpn"
	return ""


## Appends validated params to [param out], sorted by key. Returns an error message or "".
static func write_params(out: PackedByteArray, params: Array) -> String:
	var sorted := params.duplicate()
	sorted.sort_custom(func(a: Dictionary, b: Dictionary) -> bool: return a["code"] < b["code"])
	for p: Dictionary in sorted:
		var code: int = p["code"]
		PkarrBytes.put_u16(out, code)
		var at := out.size()
		PkarrBytes.put_u16(out, 0)
		match code:
			0:
				var keys: Array = (p["value"] as Array).duplicate()
				keys.sort()
				for k: int in keys:
					PkarrBytes.put_u16(out, k)
			1:
				for id: String in p["value"]:
					var bytes := PkarrBytes.utf8(id)
					out.append(bytes.size())
					out.append_array(bytes)
			2:
				pass
			3:
				PkarrBytes.put_u16(out, p["value"])
			4:
				for a: String in p["value"]:
					out.append_array(PkarrIp.parse_ipv4(a))
			6:
				for a: String in p["value"]:
					out.append_array(PkarrIp.parse_ipv6(a))
			_:
				out.append_array(p["value"])
		var length := out.size() - at - 2
		if length > 0xFFFF:
			return "SvcParam %s value is longer than 65535 bytes" % key_name(code)
		PkarrBytes.set_u16(out, at, length)
	return ""


## A string or a list of strings as an Array of String; empty when it is neither (or empty).
static func _str_list(value: Variant) -> Array:
	if value is String:
		return [value]
	if not value is Array:
		return []
	for item: Variant in value:
		if not item is String:
			return []
	return (value as Array).duplicate()


static func _bad(field: String, message: String) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_RECORD, "%s: %s" % [field, message],
			{"field": field})
