class_name CoreCases
extends RefCounted
## Loads the sidecar-made cases (res://generated/core_cases.json, written by
## test/core-engine.test.ts) once per run.

const PATH := "res://generated/core_cases.json"

static var _cases: Dictionary = {}


## The parsed cases (empty when the file is missing or not JSON: suites then fail).
static func all() -> Dictionary:
	if _cases.is_empty():
		var text := FileAccess.get_file_as_string(PATH)
		var parsed: Variant = JSON.parse_string(text)
		if parsed is Dictionary:
			_cases = parsed
	return _cases


## The relay body's records for key [param z32], decoded by the core (empty on failure, printed).
static func records_of(body_hex: String, z32: String) -> Array:
	var parts := PkarrSignedPacket.parse_relay_body(PkarrBytes.from_hex(body_hex))
	if not parts.is_ok():
		print("# records_of: ", parts)
		return []
	var decoded := PkarrSignedPacket.decode_records(parts.value["dns"], z32)
	if not decoded.is_ok():
		print("# records_of: ", decoded)
		return []
	return decoded.value


## The first path where [param actual] and [param expected] differ ("" when they are equal;
## numbers compare by value, so JSON floats equal ints).
static func diff(actual: Variant, expected: Variant, path: String = "$") -> String:
	var numbers := [TYPE_INT, TYPE_FLOAT]
	if typeof(actual) in numbers and typeof(expected) in numbers:
		return "" if actual == expected else "%s: %s != %s" % [path, actual, expected]
	if typeof(actual) != typeof(expected):
		return "%s: %s != %s" % [path, JSON.stringify(actual), JSON.stringify(expected)]
	if actual is Array:
		if (actual as Array).size() != (expected as Array).size():
			return "%s: %d items != %d" % [path, (actual as Array).size(), (expected as Array).size()]
		for i: int in (actual as Array).size():
			var d := diff(actual[i], expected[i], "%s[%d]" % [path, i])
			if d != "":
				return d
		return ""
	if actual is Dictionary:
		for key: Variant in expected:
			if not (actual as Dictionary).has(key):
				return "%s.%s missing" % [path, key]
		for key: Variant in actual:
			if not (expected as Dictionary).has(key):
				return "%s.%s unexpected" % [path, key]
			var d := diff(actual[key], expected[key], "%s.%s" % [path, key])
			if d != "":
				return d
		return ""
	return "" if actual == expected else "%s: %s != %s" % [path, JSON.stringify(actual), JSON.stringify(expected)]
