@tool
class_name PkarrJson
extends RefCounted
## Helpers that read values parsed from the sidecar's JSON safely.
##
## Godot parses every JSON number as a [float], so integers are converted with [method to_int]
## instead of being compared strictly, and 64-bit values (timestamps in microseconds) travel as
## decimal strings that [method to_decimal_string] keeps as they are.


## [param value] as an [int]: numbers and numeric strings are converted, anything else gives
## [param fallback].
static func to_int(value: Variant, fallback: int = 0) -> int:
	match typeof(value):
		TYPE_INT:
			return value
		TYPE_FLOAT:
			return int(value)
		TYPE_STRING, TYPE_STRING_NAME:
			var text := str(value)
			if text.is_valid_int():
				return text.to_int()
			if text.is_valid_float():
				return int(text.to_float())
	return fallback


## [param value] as a [bool] ([code]true[/code], non-zero numbers), else [param fallback].
static func to_bool(value: Variant, fallback: bool = false) -> bool:
	match typeof(value):
		TYPE_BOOL:
			return value
		TYPE_INT, TYPE_FLOAT:
			return value != 0
	return fallback


## [param value] as a [String]; [code]null[/code] gives [param fallback].
static func to_text(value: Variant, fallback: String = "") -> String:
	if value == null:
		return fallback
	if value is String:
		return value
	return str(value)


## A 64-bit integer that should have arrived as a decimal string. A number (which has lost
## precision above 2^53) is printed without exponent or fraction.
static func to_decimal_string(value: Variant) -> String:
	match typeof(value):
		TYPE_STRING, TYPE_STRING_NAME:
			return str(value)
		TYPE_INT:
			return String.num_int64(value)
		TYPE_FLOAT:
			return String.num_int64(int(value))
	return ""


## [param value] as a [PackedStringArray] (an Array of anything, or one String).
static func to_strings(value: Variant) -> PackedStringArray:
	var strings := PackedStringArray()
	if value is Array or value is PackedStringArray:
		for item: Variant in value:
			strings.append(to_text(item))
	elif value is String and value != "":
		strings.append(value)
	return strings


## [param value] if it is a Dictionary, else an empty one.
static func to_dict(value: Variant) -> Dictionary:
	return value if value is Dictionary else {}


## Converts integral floats inside [param value] (nested Arrays and Dictionaries too) to ints,
## so values such as ports read back as [int].
static func normalize_numbers(value: Variant) -> Variant:
	match typeof(value):
		TYPE_FLOAT:
			var number: float = value
			if is_finite(number) and number == floorf(number) and absf(number) < 9.0e15:
				return int(number)
			return number
		TYPE_ARRAY:
			var out: Array = []
			for item: Variant in value:
				out.append(normalize_numbers(item))
			return out
		TYPE_DICTIONARY:
			var out_dict: Dictionary = {}
			for key: Variant in value:
				out_dict[key] = normalize_numbers(value[key])
			return out_dict
	return value
