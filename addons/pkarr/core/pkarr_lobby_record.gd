class_name PkarrLobbyRecord
extends RefCounted
## Reads a lobby from the (verified, decoded) records of its host's packet into EXACTLY the JSON
## the sidecar's [code]lobby.get[/code] returns ([code]lobbyToJson[/code], docs/rpc.md): the
## [code]_lobby[/code] TXT attributes (schema [code]v=1[/code], [code]game gv name players max
## open[/code], optional [code]beacon reach admit x-<key>[/code]), and the endpoints
## ([PkarrLobbyEndpoints]). Failures carry the sidecar's generic code and its reason in
## [code]error_data["lobbyError"][/code] ([code]NOT_A_LOBBY[/code], [code]UNSUPPORTED_SCHEMA[/code],
## [code]INVALID_LOBBY[/code]; [method check_found]: [code]OTHER_GAME[/code],
## [code]LOBBY_EXPIRED[/code], [code]LOBBY_CLOSED[/code]), so [method PkarrLobby.from_result]
## reads them like a sidecar answer.

const SCHEMA_VERSION := "1"
const RECORD_NAME := "_lobby"
const CUSTOM_PREFIX := "x-"
const MAX_NAME_CHARS := 64
const MAX_PLAYERS := 65535
## How the host says it can be reached (docs/nat.md); anything else reads as "unknown".
const NAT_TYPES: Array[String] = ["public", "mapped", "cone", "symmetric", "unknown"]
const STALE_TTL_FACTOR := 3
const MIN_STALE_SECONDS := 60
const MAX_STALE_SECONDS := 1800
const _REQUIRED: Array[String] = ["game", "gv", "name", "players", "max", "open"]
const _GAME_CHARS := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
const _KEY_CHARS := "abcdefghijklmnopqrstuvwxyz0123456789_-"
## Characters JavaScript's String.trim removes (besides U+0009-U+000D and U+0020).
const _JS_SPACES: Array[int] = [0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF]


## DNS-SD attributes of TXT character-strings (RFC 6763 §6): [code]key=value[/code], keys folded
## to lowercase, the first occurrence wins, a string without [code]=[/code] is a boolean
## ([code]""[/code]), one starting with [code]=[/code] is ignored. Never fails.
static func parse_attributes(strings: Array) -> Dictionary:
	var out := {}
	for text: String in strings:
		if text == "":
			continue
		var eq := text.find("=")
		if eq == 0:
			continue
		var key := (text if eq < 0 else text.left(eq)).to_lower()
		if not out.has(key):
			out[key] = "" if eq < 0 else text.substr(eq + 1)
	return out


## Parses the lobby of key [param z32] signed at [param timestamp] (µs) from its decoded
## [param records] (resolve JSON). Success value: the [code]lobby.get[/code] JSON, with
## [param source] and [code]ageSeconds[/code] counted from [param now_micros].
static func parse(z32: String, timestamp: int, records: Array, source: String, now_micros: int) -> PkarrResult:
	var owner := "%s.%s" % [RECORD_NAME, z32]
	var strings: Array = []
	var ttl := -1
	for record: Dictionary in records:
		if record.get("type") == "TXT" and record.get("name") == owner:
			strings.append_array(record.get("strings", []))
			var t: int = record.get("ttl", 0)
			ttl = t if ttl < 0 else mini(ttl, t)
	if ttl < 0:
		return _fail("NOT_A_LOBBY", "not a lobby: %s publishes no %s TXT record" % [z32, RECORD_NAME])
	var attrs := parse_attributes(strings)
	if not attrs.has("v"):
		return _fail("INVALID_LOBBY", "invalid lobby %s: the %s record has no v (schema version)" % [z32, RECORD_NAME])
	if attrs["v"] != SCHEMA_VERSION:
		return _fail("UNSUPPORTED_SCHEMA", "lobby %s uses schema version %s; this reader reads version %s"
				% [z32, JSON.stringify(attrs["v"]), SCHEMA_VERSION], {"version": attrs["v"]})
	var missing := PackedStringArray()
	for key: String in _REQUIRED:
		if not attrs.has(key):
			missing.append(key)
	if not missing.is_empty():
		return _fail("INVALID_LOBBY", "invalid lobby %s: missing required key%s %s"
				% [z32, "s" if missing.size() > 1 else "", ", ".join(missing)], {"missing": ",".join(missing)})
	if attrs["open"] != "1" and attrs["open"] != "0":
		return _fail("INVALID_LOBBY", "invalid lobby %s: open=%s (expected 1 or 0)" % [z32, JSON.stringify(attrs["open"])])
	var numbers := {}
	for key: String in ["players", "max", "beacon"]:
		if key == "beacon" and not attrs.has(key):
			continue
		numbers[key] = _number(attrs[key])
		if numbers[key] < 0:
			return _fail("INVALID_LOBBY", "invalid lobby %s: %s=%s is not a number 0-99999" % [z32, key, JSON.stringify(attrs[key])])
	var custom := {}
	for key: String in attrs:
		if key.begins_with(CUSTOM_PREFIX) and is_custom_key(key.substr(CUSTOM_PREFIX.length())):
			custom[key.substr(CUSTOM_PREFIX.length())] = attrs[key]
	var problem := _content_problem(attrs["game"], attrs["gv"], attrs["name"], numbers)
	if problem != "":
		return _fail("INVALID_LOBBY", "invalid lobby %s: %s" % [z32, problem])
	var reach: String = attrs.get("reach", "unknown")
	var endpoints := PkarrLobbyEndpoints.parse(records, z32)
	return PkarrResult.success({
		"publicKey": z32,
		"inviteCode": "pk:" + z32,
		"name": attrs["name"],
		"game": attrs["game"],
		"gameVersion": attrs["gv"],
		"players": numbers["players"],
		"maxPlayers": numbers["max"],
		"open": attrs["open"] == "1",
		"reach": reach if NAT_TYPES.has(reach) else "unknown",
		"admission": attrs.get("admit", "") == "1",
		"endpoints": endpoints,
		"custom": custom,
		"ageSeconds": age_seconds(timestamp, now_micros),
		"source": source,
		"rttMs": null,
		"timestamp": str(timestamp),
		"ttl": ttl,
	})


## The beacon port a lobby's record states ([code]beacon=[/code]), or 0 when it states none.
## Call it on records [method parse] accepted.
static func beacon_port(z32: String, records: Array) -> int:
	var strings: Array = []
	for record: Dictionary in records:
		if record.get("type") == "TXT" and record.get("name") == "%s.%s" % [RECORD_NAME, z32]:
			strings.append_array(record.get("strings", []))
	return maxi(_number(parse_attributes(strings).get("beacon", "")), 0)


## Whole seconds since the lobby was signed (0 for a timestamp in the future).
static func age_seconds(timestamp: int, now_micros: int) -> int:
	return 0 if now_micros <= timestamp else (now_micros - timestamp) / 1000000


## The staleness window of a lobby with record TTL [param ttl]: 3 TTLs within [60 s, 1800 s].
static func stale_after_seconds(ttl: int) -> int:
	return mini(MAX_STALE_SECONDS, maxi(MIN_STALE_SECONDS, STALE_TTL_FACTOR * ttl))


## The checks join by code applies to a parsed lobby, in the sidecar's order: another game or
## version ([code]OTHER_GAME[/code]), stale ([code]LOBBY_EXPIRED[/code]), closed
## ([code]LOBBY_CLOSED[/code], unless [param allow_closed]). Empty [param game] /
## [param game_version] are not checked. Success value: [param lobby].
static func check_found(lobby: Dictionary, game: String, game_version: String, allow_closed: bool,
		timestamp: int, now_micros: int) -> PkarrResult:
	var key: String = lobby["publicKey"]
	var info := {"game": lobby["game"], "gameVersion": lobby["gameVersion"]}
	if game != "" and lobby["game"] != game:
		return _fail("OTHER_GAME", "lobby %s is for another game (%s, not %s)" % [key, lobby["game"], game], info)
	if game_version != "" and lobby["gameVersion"] != game_version:
		return _fail("OTHER_GAME", "lobby %s is for another version of %s (%s, not %s)"
				% [key, lobby["game"], lobby["gameVersion"], game_version], info)
	var age := age_seconds(timestamp, now_micros)
	if age > stale_after_seconds(lobby["ttl"]):
		return _fail("LOBBY_EXPIRED", "lobby %s expired: last signed %d s ago" % [key, age], {"ageSeconds": age})
	if not lobby["open"] and not allow_closed:
		return _fail("LOBBY_CLOSED", "lobby closed: %s (%s) no longer accepts players" % [lobby["name"], key],
				{"name": lobby["name"]})
	return PkarrResult.success(lobby)


## [code]true[/code] for a game id: 1-64 characters from A-Z a-z 0-9 . _ -.
static func is_game_id(text: String) -> bool:
	return _only(text, _GAME_CHARS, 64)


## [code]true[/code] for a game version: 1-32 characters from A-Z a-z 0-9 . _ + -.
static func is_game_version(text: String) -> bool:
	return _only(text, _GAME_CHARS + "+", 32)


static func _content_problem(game: String, version: String, name: String, numbers: Dictionary) -> String:
	if not is_game_id(game):
		return "invalid game id %s (1-64 characters from A-Z a-z 0-9 . _ -)" % JSON.stringify(game)
	if not is_game_version(version):
		return "invalid game version %s (1-32 characters from A-Z a-z 0-9 . _ + -)" % JSON.stringify(version)
	var problem := name_problem(name)
	if problem != "":
		return problem
	var max_players: int = numbers["max"]
	if max_players < 1 or max_players > MAX_PLAYERS:
		return "invalid max players %d (1-%d)" % [max_players, MAX_PLAYERS]
	if numbers["players"] > max_players:
		return "invalid player count %d (0-%d, at most max players)" % [numbers["players"], max_players]
	if numbers.has("beacon") and (numbers["beacon"] < 1 or numbers["beacon"] > 65535):
		return "invalid beacon port %d" % numbers["beacon"]
	return ""


## Why [param name] is not a valid lobby name (blank, over 64 characters, control or bidi
## characters), or "".
static func name_problem(name: String) -> String:
	if _is_blank(name):
		return "name must not be empty"
	if name.length() > MAX_NAME_CHARS:
		return "name is %d characters, over the %d-character limit" % [name.length(), MAX_NAME_CHARS]
	for i: int in name.length():
		var c := name.unicode_at(i)
		if c <= 0x1F or (c >= 0x7F and c <= 0x9F) or c == 0x2028 or c == 0x2029 \
				or (c >= 0x202A and c <= 0x202E) or (c >= 0x2066 and c <= 0x2069):
			return "name must not contain control characters"
	return ""


## A decimal 0-99999 without leading zeros, or -1.
static func _number(text: String) -> int:
	if text.length() < 1 or text.length() > 5 or (text.length() > 1 and text[0] == "0"):
		return -1
	for c: String in text:
		if c < "0" or c > "9":
			return -1
	return text.to_int()


## [code]true[/code] when [param key] is a custom data key (after [constant CUSTOM_PREFIX]): 1-30
## characters from [code]a-z 0-9 _ -[/code].
static func is_custom_key(key: String) -> bool:
	return _only(key, _KEY_CHARS, 30)


## [code]true[/code] when [param key] is a [code]_lobby[/code] attribute key: 1-32 characters from
## [code]a-z 0-9 _ -[/code].
static func is_attribute_key(key: String) -> bool:
	return _only(key, _KEY_CHARS, 32)


static func _only(text: String, allowed: String, max_length: int) -> bool:
	if text.length() < 1 or text.length() > max_length:
		return false
	for c: String in text:
		if not allowed.contains(c):
			return false
	return true


## True when JavaScript's trim() would leave nothing.
static func _is_blank(text: String) -> bool:
	for i: int in text.length():
		var c := text.unicode_at(i)
		if not ((c >= 0x09 and c <= 0x0D) or c == 0x20 or (c >= 0x2000 and c <= 0x200A) or _JS_SPACES.has(c)):
			return false
	return true


static func _fail(reason: String, message: String, data: Dictionary = {}) -> PkarrResult:
	var codes := {"NOT_A_LOBBY": "INVALID_RECORD", "UNSUPPORTED_SCHEMA": "INVALID_RECORD",
			"INVALID_LOBBY": "INVALID_RECORD", "OTHER_GAME": "INVALID_RECORD",
			"LOBBY_EXPIRED": "NOT_FOUND", "LOBBY_CLOSED": "NOT_FOUND"}
	var details := data.duplicate()
	details["lobbyError"] = reason
	details["code"] = codes[reason]
	return PkarrResult.failure(codes[reason], message, details)
