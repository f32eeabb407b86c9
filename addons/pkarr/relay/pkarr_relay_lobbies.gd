class_name PkarrRelayLobbies
extends RefCounted
## The lobby methods the relay backend can answer: [code]lobby.get[/code] (by long code),
## [code]lobby.browse[/code] (the game's lobby directory, docs/nat.md §4, plus known keys) and
## [code]lobby.join[/code] of a lobby whose endpoint the game can reach directly. Answers and
## failures have the sidecar's shapes (docs/rpc.md "Lobbies"): the lobby JSON, and failures
## carrying [code]error_data.lobbyError[/code] ([code]NO_LOBBY[/code], [code]LOBBY_CLOSED[/code],
## [code]LOBBY_EXPIRED[/code], [code]NOT_A_LOBBY[/code], [code]OTHER_GAME[/code], ...).
##
## Short codes ([code]XXXXX-XXXXX[/code]) work in browsers ([PkarrRelayShortCodes]; elsewhere
## [code]NEEDS_SIDECAR[/code]). Not here: topics (BEP5 beacons need the DHT), punched paths
## ([code]lobby.join[/code] to a host behind a NAT).

## Directory slots read per window (the sidecar's default).
const DIRECTORY_SLOTS := PkarrPublicSeeds.DEFAULT_DIRECTORY_SLOTS
## Lobbies resolved from a directory at most.
const MAX_DIRECTORY_HOSTS := 300
## Known keys accepted by [code]lobby.browse[/code].
const MAX_KNOWN_KEYS := 256
## Short codes among them (each costs a slot lookup and a fingerprint check).
const MAX_KNOWN_SHORT_CODES := 16

var _backend: PkarrRelayBackend = null
## Directory slot keys derived so far: window -> {"game|version|slot": z32}; only the two windows
## a browse reads are kept.
var _slot_keys: Dictionary = {}
var _short_codes: PkarrRelayShortCodes = null


func _init(backend: PkarrRelayBackend) -> void:
	_backend = backend
	_short_codes = PkarrRelayShortCodes.new(backend)


## Coroutine: answers [code]lobby.get[/code], [code]lobby.browse[/code] or [code]lobby.join[/code].
func request(method: String, params: Dictionary) -> PkarrResult:
	match method:
		"lobby.get":
			return await get_lobby(str(params.get("code", "")), str(params.get("game", "")),
					str(params.get("gameVersion", "")), bool(params.get("allowClosed", false)))
		"lobby.browse":
			return await browse(params)
		"lobby.join":
			return await join(params)
	return PkarrResult.failure(PkarrResult.METHOD_NOT_FOUND, "unknown method %s" % method)


## Coroutine: the lobby JSON behind [param code] (any form of the host's key, or a short code),
## checked against [param game] / [param game_version] (empty: not checked), fresh and open (unless
## [param allow_closed]). A cached record that is closed, stale or older than its TTL is asked
## for again from the network, as the sidecar does.
func get_lobby(code: String, game: String, game_version: String, allow_closed: bool = false) -> PkarrResult:
	var text := code.strip_edges()
	var parsed := PkarrKeyDerivation.parse_public_key(text)
	if not parsed.is_ok() and PkarrRelayShortCodes.is_short_code(text):
		var host := await _short_codes.host_of(text)
		if not host.is_ok():
			return host
		parsed = PkarrKeyDerivation.parse_public_key(host.value)
	if not parsed.is_ok():
		return PkarrResult.invalid_params("code", parsed.error_message, parsed.error_code)
	var z32: String = parsed.value["z32"]
	var found := await _lobby_of(z32, "CacheFirst")
	if found.is_ok() and _needs_fresh_copy(found.value):
		var fresh := await _lobby_of(z32, "NetworkOnly")
		if fresh.is_ok() or fresh.error_code != "NOT_FOUND":
			found = fresh
	if not found.is_ok():
		return found
	var lobby: Dictionary = found.value["lobby"]
	return PkarrLobbyRecord.check_found(lobby, game, game_version, allow_closed,
			int(str(lobby["timestamp"])), PkarrRelayPacket.now_micros())


## Coroutine: [code]lobby.browse[/code] over the lobby directory of [code]game[/code] /
## [code]gameVersion[/code] (current and previous window, [constant DIRECTORY_SLOTS] slots
## each) and [code]knownKeys[/code]: fresh lobbies of that version, through [code]filters[/code]
## and [code]sort[/code] ([PkarrRelayLobbyFilters]). [code]{lobbies, stats}[/code] with
## [code]stats.directory[/code] and [code]stats.known[/code] in the sidecar's shape.
func browse(params: Dictionary) -> PkarrResult:
	var game := str(params.get("game", ""))
	var version := str(params.get("gameVersion", ""))
	if not PkarrLobbyRecord.is_game_id(game) or not PkarrLobbyRecord.is_game_version(version):
		return PkarrResult.invalid_params("game", "game and gameVersion are required")
	var filter_problem := PkarrRelayLobbyFilters.problem(params.get("filters"))
	if filter_problem != "":
		return PkarrResult.invalid_params("filters", filter_problem)
	var filters: Dictionary = params.get("filters", {}) if params.get("filters") is Dictionary else {}
	var sort := str(params.get("sort", "players"))
	if not PkarrRelayLobbyFilters.SORTS.has(sort):
		return PkarrResult.invalid_params("sort", "sort must be one of %s"
				% ", ".join(PkarrRelayLobbyFilters.SORTS))
	var allow_closed := not bool(filters.get("openOnly", true))
	var started := Time.get_ticks_msec()
	var known := await _known_keys(params.get("knownKeys", []))
	if not known.is_ok():
		return known
	var directory := {"slots": 0, "slotsFound": 0, "slotErrors": 0, "entries": 0, "keys": 0,
			"resolved": 0, "rejected": {"malformed": 0, "wrongWindow": 0, "badPow": 0, "notFound": 0,
			"notLobby": 0, "otherGame": 0, "failed": 0}}
	var hosts: Dictionary = {}
	if bool(params.get("directory", true)):
		await _read_directory(game, version, directory, hosts)
	var sources: Dictionary = {}
	for z32: String in hosts:
		sources[z32] = "directory"
	var known_stats := {"requested": known.value.size(), "found": 0, "notFound": 0, "failed": 0}
	for z32: String in known.value:
		if not sources.has(z32):
			sources[z32] = "known"
	var lobbies: Array = []
	for z32: String in sources:
		var found := await _lobby_of(z32, "CacheFirst")
		var from_directory: bool = sources[z32] == "directory"
		if not found.is_ok():
			var why := "notFound" if found.error_code == "NOT_FOUND" or found.error_data.get("lobbyError") == "NO_LOBBY" else "failed"
			if found.error_data.get("lobbyError") in ["NOT_A_LOBBY", "UNSUPPORTED_SCHEMA", "INVALID_LOBBY"]:
				why = "notLobby"
			if from_directory:
				directory["rejected"][why] = int(directory["rejected"].get(why, 0)) + 1
			if known.value.has(z32):
				known_stats["notFound" if why != "failed" else "failed"] += 1
			continue
		var lobby: Dictionary = found.value["lobby"]
		var checked := PkarrLobbyRecord.check_found(lobby, game, version, allow_closed,
				int(str(lobby["timestamp"])), PkarrRelayPacket.now_micros())
		if not checked.is_ok():
			if from_directory and checked.error_data.get("lobbyError") == "OTHER_GAME":
				directory["rejected"]["otherGame"] += 1
			continue
		lobby["source"] = sources[z32]
		if from_directory:
			directory["resolved"] += 1
		if known.value.has(z32):
			known_stats["found"] += 1
		lobbies.append(lobby)
	lobbies = PkarrRelayLobbyFilters.select(lobbies, filters, sort)
	return PkarrResult.success({"lobbies": lobbies, "stats": {"lobbies": lobbies.size(),
			"directory": directory, "known": known_stats, "durationMs": Time.get_ticks_msec() - started}})


## Coroutine: the host keys (z32, without repeats) [code]knownKeys[/code] names, as the sidecar
## takes them: any key form or up to [constant MAX_KNOWN_SHORT_CODES] short codes, each resolved
## through its slot and left out when it leads nowhere. Anything else fails as
## [method PkarrResult.invalid_params] naming the entry ([code]knownKeys[i][/code]).
func _known_keys(value: Variant) -> PkarrResult:
	if value is PackedStringArray:  # what JSON makes a list of, as over the sidecar's RPC
		value = Array(value)
	if not value is Array or (value as Array).size() > MAX_KNOWN_KEYS:
		return PkarrResult.invalid_params("knownKeys", "knownKeys must be a list of at most %d keys (any accepted form)"
				% MAX_KNOWN_KEYS)
	var entries: Array = value
	if entries.filter(func(k: Variant) -> bool: return k is String and PkarrRelayShortCodes.is_short_code(k)).size() \
			> MAX_KNOWN_SHORT_CODES:
		return PkarrResult.invalid_params("knownKeys",
				"knownKeys: at most %d short codes (each costs a lookup and a fingerprint check)" % MAX_KNOWN_SHORT_CODES)
	var keys: Array[String] = []
	var short_codes: Array[String] = []
	for i: int in entries.size():
		var field := "knownKeys[%d]" % i
		if not entries[i] is String:
			return PkarrResult.invalid_params(field, "%s must be a string" % field)
		var text: String = entries[i]
		var parsed := PkarrKeyDerivation.parse_public_key(text)
		if parsed.is_ok():
			keys.append(parsed.value["z32"])
		elif PkarrRelayShortCodes.is_short_code(text):  # never also a key (10 characters, a key has 52)
			short_codes.append(text)
		else:
			return PkarrResult.invalid_params(field, "%s: %s" % [field, parsed.error_message], parsed.error_code)
	for text: String in short_codes:
		var host := await _short_codes.host_of(text)
		if host.is_ok():
			keys.append(host.value)
	var unique: Array[String] = []
	for z32: String in keys:
		if not unique.has(z32):
			unique.append(z32)
	return PkarrResult.success(unique)


## Coroutine: [code]lobby.join[/code] where no NAT must be crossed: the lobby's endpoint for
## [code]transport[/code] ([code]ws[/code] on the web, [code]enet[/code] elsewhere) is answered
## as [code]{via: "direct", host, port, timings, lobby}[/code]; a full lobby is
## [code]LOBBY_FULL[/code]; a lobby with only a punch endpoint or none for the transport is
## [code]NO_TRANSPORT[/code] / [code]NEEDS_SIDECAR[/code].
func join(params: Dictionary) -> PkarrResult:
	var started := Time.get_ticks_msec()
	# Types were checked by PkarrRelayParams (request); the values here.
	var transport: String = params.get("transport", "ws" if OS.has_feature("web") else "enet")
	if not PkarrLobbyEndpoints.is_transport(transport):
		return PkarrResult.invalid_params("transport", "transport must be a transport name such as enet or ws, got %s"
				% JSON.stringify(transport))
	var max_ms := int(PkarrLobbyJoin.MAX_TIMEOUT_SEC * 1000.0)
	var timeout: float = params.get("timeoutMs", 15000)
	if timeout < 1000 or timeout > max_ms:
		return PkarrResult.invalid_params("timeoutMs", "timeoutMs must be an integer from 1000 to %d, got %s"
				% [max_ms, JSON.stringify(timeout)])
	var got := await get_lobby(str(params.get("code", "")), str(params.get("game", "")),
			str(params.get("gameVersion", "")))
	if not got.is_ok():
		return got
	var lobby: Dictionary = got.value
	if int(lobby["players"]) >= int(lobby["maxPlayers"]):
		return PkarrResult.failure("INVALID_ARGUMENT", "lobby %s is full (%d of %d)"
				% [lobby["name"], lobby["players"], lobby["maxPlayers"]], {"lobbyError": "LOBBY_FULL"})
	var punch_only := false
	for endpoint: Dictionary in lobby.get("endpoints", []):
		if endpoint.get("transport") == transport:
			return PkarrResult.success({"via": "direct", "host": endpoint["host"], "port": endpoint["port"],
					"timings": {"resolveMs": Time.get_ticks_msec() - started, "pathMs": 0}, "lobby": lobby})
		punch_only = punch_only or endpoint.get("transport") == "punch"
	if punch_only:
		return PkarrResult.failure(PkarrRelayBackend.NEEDS_SIDECAR,
				"lobby %s is behind a NAT: reaching it needs hole punching, which needs the sidecar" % lobby["name"])
	return PkarrResult.failure("NOT_FOUND", "lobby %s offers no %s endpoint" % [lobby["name"], transport],
			{"lobbyError": "NO_TRANSPORT"})


## Coroutine: [code]{lobby, packet}[/code] of [param z32] under [param policy], or the lobby failure.
func _lobby_of(z32: String, policy: String) -> PkarrResult:
	var resolved := await _backend.resolve(z32, policy)
	if not resolved.is_ok():
		return resolved
	var data: Dictionary = resolved.value
	if not bool(data.get("found", false)):
		return PkarrResult.failure("NOT_FOUND", "no lobby at this key: nothing is published under %s" % z32,
				{"publicKey": z32, "lobbyError": "NO_LOBBY"})
	var packet := _backend.relay_client.kept_packet(z32)
	var parsed := PkarrLobbyRecord.parse(z32, int(str(data["timestamp"])), data["records"],
			str(data["source"]), PkarrRelayPacket.now_micros())
	if not parsed.is_ok():
		return parsed
	return PkarrResult.success({"lobby": parsed.value, "packet": packet})


func _needs_fresh_copy(found: Dictionary) -> bool:
	var lobby: Dictionary = found["lobby"]
	var packet: PkarrRelayPacket = found["packet"]
	var cached_too_long: bool = lobby["source"] == "cache" and packet != null \
			and Time.get_ticks_msec() - packet.seen_msec > int(lobby["ttl"]) * 1000
	var stale: bool = PkarrLobbyRecord.age_seconds(int(str(lobby["timestamp"])), PkarrRelayPacket.now_micros()) \
			> PkarrLobbyRecord.stale_after_seconds(int(lobby["ttl"]))
	return not bool(lobby["open"]) or cached_too_long or stale


func _read_directory(game: String, version: String, stats: Dictionary, hosts: Dictionary) -> void:
	var window := PkarrPublicSeeds.directory_window(PkarrRelayPacket.now_micros())
	for kept: int in _slot_keys.keys():
		if kept < window - 1:
			_slot_keys.erase(kept)
	for w: int in [window, window - 1]:
		for slot: int in DIRECTORY_SLOTS:
			var slot_key := await _slot_key(game, version, w, slot)
			if slot_key == "":
				continue
			stats["slots"] += 1
			var found := await _backend.resolve(slot_key, "NetworkOnly")
			if not found.is_ok():
				stats["slotErrors"] += 1
				continue
			if not bool(found.value.get("found", false)):
				continue
			stats["slotsFound"] += 1
			var read := PkarrDirectorySlot.read(found.value["records"], slot_key, game, version, w,
					PkarrDirectorySlot.POW_BITS, PkarrKeyDerivation.is_valid_point)
			stats["entries"] += int(read["total"])
			for why: String in read["rejected"]:
				stats["rejected"][why] = int(stats["rejected"].get(why, 0)) + int(read["rejected"][why])
			for entry: Dictionary in read["entries"]:
				if hosts.size() < MAX_DIRECTORY_HOSTS:
					hosts[entry["hostKey"]] = true
	stats["keys"] = hosts.size()


func _slot_key(game: String, version: String, window: int, slot: int) -> String:
	var id := "%s|%s|%d" % [game, version, slot]
	var of_window: Dictionary = _slot_keys.get_or_add(window, {})
	if not of_window.has(id):
		var keypair: PkarrResult = await PkarrKeyDerivation.directory_slot_keypair(_backend.signatures,
				game, version, window, slot, DIRECTORY_SLOTS)
		if not keypair.is_ok():
			return ""
		of_window[id] = keypair.value["z32"]
	return of_window[id]
