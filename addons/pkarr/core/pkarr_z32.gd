class_name PkarrZ32
extends RefCounted
## z-base-32 as pkarr writes keys (alphabet [code]ybndrfg8ejkmcpqxot1uwisza345h769[/code],
## MSB first, no padding, lowercase only), and the parsing of the textual key forms pkarr
## accepts ([code]<z32>[/code], [code]pk:<z32>[/code], a URL whose host ends in the key).
##
## Pure functions. Like the reference, decoding keeps [code]floor(len * 5 / 8)[/code] bytes and
## ignores the trailing pad bits ([method parse_public_key] says whether the text was the
## canonical spelling). Whether 32 bytes are a valid Ed25519 point is not checked here (that
## needs the curve: see addons/pkarr/crypto).

## The z-base-32 alphabet.
const ALPHABET := "ybndrfg8ejkmcpqxot1uwisza345h769"
## Characters of an encoded 32-byte key.
const KEY_CHARS := 52


## Encodes [param bytes] as z-base-32 (32 bytes give 52 characters).
static func encode(bytes: PackedByteArray) -> String:
	var out := ""
	var buffer := 0
	var bits := 0
	for b: int in bytes:
		buffer = (buffer << 8) | b
		bits += 8
		while bits >= 5:
			bits -= 5
			out += ALPHABET[(buffer >> bits) & 31]
		buffer &= (1 << bits) - 1
	if bits > 0:
		out += ALPHABET[(buffer << (5 - bits)) & 31]
	return out


## Decodes z-base-32. Success value: [PackedByteArray]. Any character outside the alphabet
## (uppercase included) fails with [code]INVALID_ZBASE32[/code].
static func decode(text: String) -> PkarrResult:
	var out := PackedByteArray()
	out.resize(text.length() * 5 / 8)
	var buffer := 0
	var bits := 0
	var pos := 0
	for i: int in text.length():
		var value := ALPHABET.find(text[i])
		if value < 0:
			return PkarrResult.failure(PkarrResult.INVALID_ZBASE32,
					"invalid z-base-32 character %s at position %d" % [JSON.stringify(text[i]), i])
		buffer = ((buffer << 5) | value) & 0xFFFF
		bits += 5
		if bits >= 8:
			bits -= 8
			if pos < out.size():
				out[pos] = (buffer >> bits) & 0xFF
				pos += 1
	return PkarrResult.success(out)


## Narrows any accepted key text to the 52-character candidate exactly like the reference
## cascade (scheme, [code]//[/code], userinfo, port, path, query, fragment, dots, last label;
## each step only while the text is longer than 52 characters).
static func extract_key_text(input: String) -> String:
	var s := input
	if s.length() <= KEY_CHARS:
		return s
	s = _after(s, ":")
	if s.length() <= KEY_CHARS:
		return s
	if s.begins_with("//"):
		s = s.substr(2)
	if s.length() <= KEY_CHARS:
		return s
	s = _after(s, "@")
	for sep: String in [":", "/", "?", "#"]:
		if s.length() <= KEY_CHARS:
			return s
		s = _before(s, sep)
	if s.length() <= KEY_CHARS:
		return s
	if s.ends_with("."):
		s = s.lstrip(".").rstrip(".")
	var dot := s.rfind(".")
	if dot >= 0:
		s = s.substr(dot + 1)
	return s


## Parses a public key in any accepted form. Success value: a Dictionary
## [code]{"bytes": PackedByteArray (32), "z32": String (canonical), "canonical": bool}[/code]
## ([code]canonical[/code] is [code]false[/code] when the text used non-zero pad bits).
## Failures: [code]INVALID_PUBLIC_KEY_ENCODING[/code] (bad characters),
## [code]INVALID_PUBLIC_KEY_LENGTH[/code] (not 32 bytes).
static func parse_public_key(input: String) -> PkarrResult:
	var text := extract_key_text(input)
	var decoded := decode(text)
	if not decoded.is_ok():
		return PkarrResult.failure(PkarrResult.INVALID_PUBLIC_KEY_ENCODING,
				"invalid public key encoding %s: %s" % [JSON.stringify(input), decoded.error_message])
	var bytes: PackedByteArray = decoded.value
	if bytes.size() != 32:
		return PkarrResult.failure(PkarrResult.INVALID_PUBLIC_KEY_LENGTH,
				"invalid public key length: expected 32 bytes, got %d" % bytes.size())
	var z32 := encode(bytes)
	return PkarrResult.success({"bytes": bytes, "z32": z32, "canonical": z32 == text})


## [code]true[/code] when [param text] is exactly a canonical 52-character z32 key.
static func is_canonical_key(text: String) -> bool:
	if text.length() != KEY_CHARS:
		return false
	var decoded := decode(text)
	return decoded.is_ok() and encode(decoded.value) == text


static func _after(s: String, sep: String) -> String:
	var i := s.find(sep)
	return s.substr(i + sep.length()) if i >= 0 else s


static func _before(s: String, sep: String) -> String:
	var i := s.find(sep)
	return s.substr(0, i) if i >= 0 else s
