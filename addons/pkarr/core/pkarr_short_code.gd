class_name PkarrShortCode
extends RefCounted
## Short invite codes (docs/lobby.md "Short invite codes"), the parts that need no scrypt:
## reading what a player typed, the [code]XXXXX-XXXXX[/code] form, the code of a fingerprint,
## and the host keys a code's slot record names ([code]_lobby-host TXT "<host z32>"[/code]).
## The slot's key seed is [method PkarrPublicSeeds.short_code_slot_seed]. A joiner takes a
## candidate only when its fingerprint (scrypt of the key, N = 2^14, r = 8, p = 1, 7 bytes, salt
## [code]pkarr-godot-short-code:v1[/code]; [PkarrScrypt] of addons/pkarr/crypto, browser only)
## IS the code: [method code_of], [method host_of_slot].

## Crockford base32: digits and letters without I, L, O, U.
const ALPHABET := "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
const LENGTH := 10
const RECORD_NAME := "_lobby-host"
const RECORD_TTL := 300
## Candidate keys a reader checks at most.
const MAX_CANDIDATES := 4


## The canonical form (10 alphabet characters, no dash) of [param text] when it is a short
## code, else "". Case, spaces and dashes are ignored; O, I and L read as 0, 1 and 1.
static func parse(text: String) -> String:
	if text.length() > 40:
		return ""
	var canonical := ""
	for c: String in text.strip_edges().to_upper():
		if c == "-" or c == " " or c == "\t" or c == "\n" or c == "\r" or c == "\f" or c == "\v":
			continue
		var read := "0" if c == "O" else "1" if c == "I" or c == "L" else c
		if not ALPHABET.contains(read):
			return ""
		canonical += read
	return canonical if canonical.length() == LENGTH else ""


## [code]XXXXX-XXXXX[/code] of a canonical code.
static func format(canonical: String) -> String:
	return "%s-%s" % [canonical.left(5), canonical.substr(5)]


## The canonical code of the first 50 bits of [param bytes] (at least 7 bytes), or "".
static func encode(bytes: PackedByteArray) -> String:
	if bytes.size() * 8 < LENGTH * 5:
		return ""
	var code := ""
	for i: int in LENGTH:
		var value := 0
		for bit: int in range(i * 5, i * 5 + 5):
			value = (value << 1) | ((bytes[bit >> 3] >> (7 - (bit & 7))) & 1)
		code += ALPHABET[value]
	return code


## The slot's records for a host key, in the publish JSON shape.
static func slot_records(host_z32: String) -> Array:
	return [{"type": "TXT", "name": RECORD_NAME, "ttl": RECORD_TTL, "strings": [host_z32]}]


## The distinct canonical host keys (z32) a (verified) slot packet of [param slot_z32] names,
## at most [constant MAX_CANDIDATES], in order; [param is_valid_point] (optional
## [code]func(key: PackedByteArray) -> bool[/code]) drops keys that are not Ed25519 points.
static func slot_candidates(records: Array, slot_z32: String, is_valid_point: Callable = Callable()) -> Array:
	var keys: Array = []
	var owner := "%s.%s" % [RECORD_NAME, slot_z32]
	for record: Dictionary in records:
		if record.get("type") != "TXT" or record.get("name") != owner:
			continue
		for text: String in record.get("strings", []):
			if keys.size() >= MAX_CANDIDATES:
				return keys
			var key := PkarrZ32.parse_public_key(text)
			if not key.is_ok() or key.value["z32"] != text or keys.has(text):
				continue
			if is_valid_point.is_valid() and not is_valid_point.call(key.value["bytes"]):
				continue
			keys.append(text)
	return keys



## The canonical short code of a 32-byte host key, through [PkarrScrypt] (a coroutine: await it).
## Failure: the scrypt error ([code]SCRYPT_UNAVAILABLE[/code] outside a browser,
## [code]INVALID_ARGUMENT[/code] for a key that is not 32 bytes, ...).
static func code_of(scrypt: PkarrScrypt, host_key: PackedByteArray) -> PkarrResult:
	var fingerprint: PackedByteArray = await scrypt.short_code_fingerprint(host_key)
	if fingerprint.is_empty():
		return PkarrResult.failure(scrypt.last_error, scrypt.last_error_message)
	return PkarrResult.success(encode(fingerprint))


## The first candidate (z32) of a (verified) slot packet whose fingerprint is [param canonical]
## (a coroutine: await it). Success value: the host key, or "" when no candidate has the code (the
## slot was overwritten by someone else); failure: the scrypt error of [method code_of].
static func host_of_slot(scrypt: PkarrScrypt, records: Array, slot_z32: String, canonical: String,
		is_valid_point: Callable = Callable()) -> PkarrResult:
	for key: String in slot_candidates(records, slot_z32, is_valid_point):
		var code: PkarrResult = await code_of(scrypt, PkarrZ32.decode(key).value)
		if not code.is_ok():
			return code
		if code.value == canonical:
			return PkarrResult.success(key)
	return PkarrResult.success("")
