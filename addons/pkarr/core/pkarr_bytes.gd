class_name PkarrBytes
extends RefCounted
## Byte helpers of the GDScript pkarr core: big-endian integers, hex, base64 and lossy UTF-8.
##
## Pure functions without I/O. Readers never index past the end of an array: callers check
## bounds first, and every reader returns 0 for bytes that are not there.

const _BASE64_ALPHABET := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
## U+FFFD, written for every malformed UTF-8 sequence.
const REPLACEMENT_CHARACTER := 0xFFFD


## The byte at [param at], or 0 past the end.
static func byte_at(bytes: PackedByteArray, at: int) -> int:
	return bytes[at] if at >= 0 and at < bytes.size() else 0


## The big-endian u16 at [param at].
static func u16(bytes: PackedByteArray, at: int) -> int:
	return (byte_at(bytes, at) << 8) | byte_at(bytes, at + 1)


## The big-endian u32 at [param at].
static func u32(bytes: PackedByteArray, at: int) -> int:
	return (u16(bytes, at) << 16) | u16(bytes, at + 2)


## The big-endian u64 at [param at] as a GDScript int (values of 2^63 and more come out
## negative: callers that need them must check the sign).
static func u64(bytes: PackedByteArray, at: int) -> int:
	return (u32(bytes, at) << 32) | u32(bytes, at + 4)


## Appends [param value] as a big-endian u16.
static func put_u16(out: PackedByteArray, value: int) -> void:
	out.append((value >> 8) & 0xFF)
	out.append(value & 0xFF)


## Appends [param value] as a big-endian u32.
static func put_u32(out: PackedByteArray, value: int) -> void:
	put_u16(out, (value >> 16) & 0xFFFF)
	put_u16(out, value & 0xFFFF)


## Appends [param value] (non-negative) as a big-endian u64.
static func put_u64(out: PackedByteArray, value: int) -> void:
	put_u32(out, (value >> 32) & 0xFFFFFFFF)
	put_u32(out, value & 0xFFFFFFFF)


## Overwrites the big-endian u16 at [param at].
static func set_u16(out: PackedByteArray, at: int, value: int) -> void:
	out[at] = (value >> 8) & 0xFF
	out[at + 1] = value & 0xFF


## Lowercase hex of [param bytes].
static func to_hex(bytes: PackedByteArray) -> String:
	return bytes.hex_encode()


## [code]true[/code] when [param text] is hex: an even number of [code]0-9 a-f A-F[/code].
static func is_hex(text: String) -> bool:
	if text.length() % 2 != 0:
		return false
	for i: int in text.length():
		if hex_digit(text.unicode_at(i)) < 0:
			return false
	return true


## The bytes of a hex string; empty when [param text] is not hex (check with [method is_hex]).
static func from_hex(text: String) -> PackedByteArray:
	var out := PackedByteArray()
	if not is_hex(text):
		return out
	out.resize(text.length() / 2)
	for i: int in out.size():
		out[i] = (hex_digit(text.unicode_at(2 * i)) << 4) | hex_digit(text.unicode_at(2 * i + 1))
	return out


## Standard base64 (with padding) of [param bytes].
static func to_base64(bytes: PackedByteArray) -> String:
	if bytes.is_empty():
		return ""
	return Marshalls.raw_to_base64(bytes)


## [code]true[/code] when [param text] is canonical padded base64 (the sidecar's pattern).
static func is_base64(text: String) -> bool:
	var n := text.length()
	if n % 4 != 0:
		return false
	for i: int in n:
		var c := text[i]
		if c == "=":
			# Padding: only the last one or two characters.
			if i < n - 2 or (i == n - 2 and text[n - 1] != "="):
				return false
		elif _BASE64_ALPHABET.find(c) < 0:
			return false
	return true


## The bytes of a base64 string; empty when it is not base64 (check with [method is_base64]).
static func from_base64(text: String) -> PackedByteArray:
	if text == "" or not is_base64(text):
		return PackedByteArray()
	return Marshalls.base64_to_raw(text)


## The UTF-8 bytes of [param text].
static func utf8(text: String) -> PackedByteArray:
	return text.to_utf8_buffer()


## [code]bytes[from, to)[/code] decoded as UTF-8 exactly like the WHATWG decoder (JavaScript's
## [code]TextDecoder[/code], BOM kept): each malformed sequence becomes U+FFFD, so decoding
## never fails and never prints engine errors. Godot strings cannot hold U+0000; a 0 byte
## gives whatever [code]char(0)[/code] gives.
static func utf8_lossy(bytes: PackedByteArray, from: int = 0, to: int = -1) -> String:
	var end := bytes.size() if to < 0 else mini(to, bytes.size())
	var ascii := true
	for i: int in range(from, end):
		if bytes[i] >= 0x80:
			ascii = false
			break
	if ascii:
		return bytes.slice(from, end).get_string_from_ascii() if end > from else ""
	var out := ""
	var needed := 0
	var seen := 0
	var code := 0
	var lower := 0x80
	var upper := 0xBF
	var i := from
	while i < end:
		var b: int = bytes[i]
		if needed == 0:
			i += 1
			if b <= 0x7F:
				out += char(b)
			elif b >= 0xC2 and b <= 0xDF:
				needed = 1
				code = b & 0x1F
			elif b >= 0xE0 and b <= 0xEF:
				lower = 0xA0 if b == 0xE0 else 0x80
				upper = 0x9F if b == 0xED else 0xBF
				needed = 2
				code = b & 0x0F
			elif b >= 0xF0 and b <= 0xF4:
				lower = 0x90 if b == 0xF0 else 0x80
				upper = 0x8F if b == 0xF4 else 0xBF
				needed = 3
				code = b & 0x07
			else:
				out += char(REPLACEMENT_CHARACTER)
			continue
		if b < lower or b > upper:
			# Malformed: one U+FFFD, and the byte is read again as the start of a sequence.
			needed = 0
			seen = 0
			lower = 0x80
			upper = 0xBF
			out += char(REPLACEMENT_CHARACTER)
			continue
		i += 1
		lower = 0x80
		upper = 0xBF
		code = (code << 6) | (b & 0x3F)
		seen += 1
		if seen == needed:
			out += char(code)
			needed = 0
			seen = 0
	if needed != 0:
		out += char(REPLACEMENT_CHARACTER)
	return out


## The value of one hex digit (a code point: [code]0-9 a-f A-F[/code]), or -1 for anything else.
static func hex_digit(c: int) -> int:
	if c >= 0x30 and c <= 0x39:
		return c - 0x30
	var lower := c | 0x20
	if lower >= 0x61 and lower <= 0x66:
		return lower - 0x61 + 10
	return -1
