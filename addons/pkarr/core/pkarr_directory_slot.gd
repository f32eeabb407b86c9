class_name PkarrDirectorySlot
extends RefCounted
## Reads the slot record of a lobby directory (docs/nat.md §4) like the sidecar's
## [code]readSlot[/code]: one TXT character-string [code]<hostZ32>:<time>:<nonce>[/code] per listed
## host at [code]_lobbies[/code]; entries that are malformed, outside the slot's window, or
## without the proof of work are dropped and counted; one entry per host (its newest), newest
## first, ties by key. The proof of work:
## [codeblock]
## sha256("pkarr-godot-directory-pow:v1:<game>:<gameVersion>:<window>:" + entry) has ≥ 16 leading zero bits
## [/codeblock]

const RECORD_NAME := "_lobbies"
const POW_PREFIX := "pkarr-godot-directory-pow:v1:"
## Leading zero bits required (scheme v1).
const POW_BITS := 16
## Entries a slot may list at most.
const MAX_SLOT_ENTRIES := 32
const _MAX_SAFE_INTEGER := 9007199254740991


## The text hashed before an entry in [param window].
static func pow_prefix(game: String, game_version: String, window: int) -> String:
	return "%s%s:%s:%d:" % [POW_PREFIX, game, game_version, window]


## Leading zero bits of a digest.
static func leading_zero_bits(digest: PackedByteArray) -> int:
	var bits := 0
	for b: int in digest:
		if b == 0:
			bits += 8
			continue
		var mask := 0x80
		while b & mask == 0:
			bits += 1
			mask >>= 1
		return bits
	return bits


## [code]true[/code] when [code]prefix + entry[/code] hashes to at least [param bits] zero bits.
static func check_pow(prefix: String, entry: String, bits: int = POW_BITS) -> bool:
	return leading_zero_bits(PkarrPublicSeeds.sha256_text(prefix + entry)) >= bits


## The valid entries of a (signature-verified) slot packet of key [param slot_z32] for
## [param window]. [param is_valid_point] (optional, [code]func(key: PackedByteArray) -> bool[/code])
## refuses host keys that are not Ed25519 points, as the sidecar does; without it that check is
## skipped. Returns [code]{"entries": [{"hostKey": z32, "time": int, "nonce": int}], "total": int,
## "rejected": {"malformed": int, "wrongWindow": int, "badPow": int}}[/code].
static func read(records: Array, slot_z32: String, game: String, game_version: String, window: int,
		bits: int = POW_BITS, is_valid_point: Callable = Callable()) -> Dictionary:
	var rejected := {"malformed": 0, "wrongWindow": 0, "badPow": 0}
	var start := window * PkarrPublicSeeds.DIRECTORY_WINDOW_SECONDS
	var end := start + PkarrPublicSeeds.DIRECTORY_WINDOW_SECONDS - 1
	var prefix := pow_prefix(game, game_version, window)
	var owner := "%s.%s" % [RECORD_NAME, slot_z32]
	var newest := {}
	var total := 0
	for record: Dictionary in records:
		if record.get("type") != "TXT" or record.get("name") != owner:
			continue
		for text: String in record.get("strings", []):
			total += 1
			if total > MAX_SLOT_ENTRIES:
				rejected["malformed"] += 1
				continue
			var parts := text.split(":")
			if parts.size() != 3 or not _is_z32_text(parts[0]) or not _is_decimal(parts[1], 12) \
					or not _is_decimal(parts[2], 16):
				rejected["malformed"] += 1
				continue
			var time := parts[1].to_int()
			var nonce := parts[2].to_int()
			if nonce > _MAX_SAFE_INTEGER:
				rejected["malformed"] += 1
				continue
			if time < start or time > end:
				rejected["wrongWindow"] += 1
				continue
			if not check_pow(prefix, text, bits):
				rejected["badPow"] += 1
				continue
			var key := PkarrZ32.parse_public_key(parts[0])
			if not key.is_ok() or not key.value["canonical"] \
					or (is_valid_point.is_valid() and not is_valid_point.call(key.value["bytes"])):
				rejected["malformed"] += 1
				continue
			var known: Variant = newest.get(parts[0])
			if known == null or time > (known as Dictionary)["time"]:
				newest[parts[0]] = {"hostKey": parts[0], "time": time, "nonce": nonce}
	var entries: Array = newest.values()
	entries.sort_custom(_newest_first)
	return {"entries": entries, "total": total, "rejected": rejected}


static func _newest_first(a: Dictionary, b: Dictionary) -> bool:
	if a["time"] != b["time"]:
		return a["time"] > b["time"]
	return (a["hostKey"] as String) < (b["hostKey"] as String)


static func _is_z32_text(text: String) -> bool:
	if text.length() != PkarrZ32.KEY_CHARS:
		return false
	for c: String in text:
		if not PkarrZ32.ALPHABET.contains(c):
			return false
	return true


## 1 to [param max_digits] decimal digits without a leading zero (or "0").
static func _is_decimal(text: String, max_digits: int) -> bool:
	if text.length() < 1 or text.length() > max_digits or (text.length() > 1 and text[0] == "0"):
		return false
	for c: String in text:
		if c < "0" or c > "9":
			return false
	return true
