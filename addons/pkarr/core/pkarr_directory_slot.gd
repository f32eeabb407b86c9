class_name PkarrDirectorySlot
extends RefCounted
## Reads the slot record of a lobby directory (docs/nat.md §4) like the sidecar's
## [code]readSlot[/code]: one TXT character-string [code]<hostZ32>:<time>:<nonce>[/code] per listed
## host at [code]_lobbies[/code]; entries that are malformed, outside the slot's window, or
## without the proof of work are dropped and counted; one entry per host (its newest), newest
## first, ties by key. Writing (a host listing itself): [method solve_pow], [method merge],
## [method encode] (the newest entries that fit the 1000-byte limit). The proof of work:
## [codeblock]
## sha256("pkarr-godot-directory-pow:v1:<game>:<gameVersion>:<window>:" + entry) has ≥ 16 leading zero bits
## [/codeblock]

const RECORD_NAME := "_lobbies"
const RECORD_TTL := 60
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
	var valid: Array = []
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
			valid.append({"hostKey": parts[0], "time": time, "nonce": nonce})
	return {"entries": merge([valid]), "total": total, "rejected": rejected}


## The entry text [code]<hostZ32>:<time>:<nonce>[/code] (also the proof-of-work suffix).
static func entry_text(entry: Dictionary) -> String:
	return "%s:%d:%d" % [entry["hostKey"], entry["time"], entry["nonce"]]


## Looks for the smallest nonce ≥ [param start] such that
## [code]prefix + stem + nonce[/code] has [param bits] leading zero bits ([code]stem[/code] =
## [code]hostZ32:time:[/code]), trying at most [param max_tries] nonces (call again from
## [code]next[/code] on a later frame to spread the work: 2^16 hashes on average for 16 bits).
## Returns [code]{"nonce": int (-1 when not found yet), "next": int, "tries": int}[/code].
static func solve_pow(prefix: String, stem: String, bits: int = POW_BITS, start: int = 0,
		max_tries: int = 1 << 30) -> Dictionary:
	var head := (prefix + stem).to_utf8_buffer()
	var context := HashingContext.new()
	var nonce := start
	var tries := 0
	while tries < max_tries and nonce <= _MAX_SAFE_INTEGER:
		context.start(HashingContext.HASH_SHA256)
		context.update(head)
		context.update(str(nonce).to_ascii_buffer())
		tries += 1
		if leading_zero_bits(context.finish()) >= bits:
			return {"nonce": nonce, "next": nonce + 1, "tries": tries}
		nonce += 1
	return {"nonce": -1, "next": nonce, "tries": tries}


## One entry per host (its newest), newest first, ties by key: [param lists] are Arrays of
## [code]{"hostKey", "time", "nonce"}[/code].
static func merge(lists: Array) -> Array:
	var newest := {}
	for list: Array in lists:
		for entry: Dictionary in list:
			var known: Variant = newest.get(entry["hostKey"])
			if known == null or entry["time"] > (known as Dictionary)["time"]:
				newest[entry["hostKey"]] = entry
	var entries: Array = newest.values()
	entries.sort_custom(_newest_first)
	return entries


## The slot's records (publish JSON) for [param entries] (merged, newest first): as many as fit
## the 1000-byte DNS limit under the slot key [param slot_z32], at most [constant MAX_SLOT_ENTRIES].
## Returns [code]{"records": Array, "kept": Array, "dropped": Array}[/code] like the sidecar's
## [code]encodeSlot[/code].
static func encode(entries: Array, slot_z32: String) -> Dictionary:
	var merged := merge([entries])
	var candidates := merged.slice(0, MAX_SLOT_ENTRIES)
	var lo := 0
	var hi := candidates.size()
	while lo < hi:
		var mid := (lo + hi + 1) >> 1
		var dns := PkarrDnsEncoder.encode(_records_of(candidates.slice(0, mid)), slot_z32)
		if dns.is_ok() and (dns.value as PackedByteArray).size() <= PkarrSignedPacket.MAX_DNS_BYTES:
			lo = mid
		else:
			hi = mid - 1
	return {"records": _records_of(merged.slice(0, lo)), "kept": merged.slice(0, lo), "dropped": merged.slice(lo)}


static func _records_of(entries: Array) -> Array:
	var out: Array = []
	for entry: Dictionary in entries:
		out.append({"type": "TXT", "name": RECORD_NAME, "ttl": RECORD_TTL, "strings": [entry_text(entry)]})
	return out


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
