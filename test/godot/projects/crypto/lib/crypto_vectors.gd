class_name CryptoVectors
extends RefCounted
## Loads the JSON test vectors of res://vectors (hex strings) for the crypto suites.


static func load_list(name: String) -> Array:
	var text: String = FileAccess.get_file_as_string("res://vectors/%s.json" % name)
	var parsed: Variant = JSON.parse_string(text)
	return parsed if parsed is Array else []


static func hex(text: String) -> PackedByteArray:
	return text.hex_decode()


## A copy of bytes with bit 0 of byte index flipped.
static func flipped(bytes: PackedByteArray, index: int) -> PackedByteArray:
	var out: PackedByteArray = bytes.duplicate()
	out[index] ^= 1
	return out
