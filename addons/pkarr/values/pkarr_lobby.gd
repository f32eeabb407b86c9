@tool
class_name PkarrLobby
extends RefCounted
## A multiplayer lobby as published by its host: what the game is, who can join and how.
##
## A lobby is its host's signed Pkarr record (see [code]docs/lobby.md[/code]): nobody but the
## host can write it, and the sidecar checks every signature before a lobby reaches you. You get
## lobbies from [PkarrLobbyBrowser] (browsing) and from [code]Pkarr.get_lobby(code)[/code]
## (join by code):
## [codeblock]
## var found: PkarrResult = await Pkarr.get_lobby(code, "tanks", "1.2")
## if found.is_ok():
##     var lobby: PkarrLobby = found.value
##     if not lobby.is_full():
##         var enet: PkarrLobbyEndpoint = lobby.get_endpoint("enet")
## [/codeblock]
## Lobby failures carry the sidecar's lobby reason as [member PkarrResult.error_code]; see
## [method from_result].

# Lobby reasons, kept here for existing code; their one home is PkarrResult.
## Same as [constant PkarrResult.NO_LOBBY].
const NO_LOBBY := PkarrResult.NO_LOBBY
## Same as [constant PkarrResult.LOBBY_CLOSED].
const LOBBY_CLOSED := PkarrResult.LOBBY_CLOSED
## Same as [constant PkarrResult.LOBBY_EXPIRED].
const LOBBY_EXPIRED := PkarrResult.LOBBY_EXPIRED
## Same as [constant PkarrResult.NOT_A_LOBBY].
const NOT_A_LOBBY := PkarrResult.NOT_A_LOBBY
## Same as [constant PkarrResult.UNSUPPORTED_SCHEMA].
const UNSUPPORTED_SCHEMA := PkarrResult.UNSUPPORTED_SCHEMA
## Same as [constant PkarrResult.INVALID_LOBBY].
const INVALID_LOBBY := PkarrResult.INVALID_LOBBY
## Same as [constant PkarrResult.OTHER_GAME].
const OTHER_GAME := PkarrResult.OTHER_GAME
## Same as [constant PkarrResult.LOBBY_TOO_LARGE].
const LOBBY_TOO_LARGE := PkarrResult.LOBBY_TOO_LARGE

## [member rtt_ms] of a lobby whose host was never contacted (not 0: a measured round trip is
## never 0).
const RTT_UNKNOWN := -1.0
## [member source] of a lobby heard on the local network.
const SOURCE_LAN := "lan"

## The host's public key (52 z-base-32 characters); identifies the lobby.
var public_key: String = ""
## What players type or paste to join: [code]pk:<public key>[/code].
var invite_code: String = ""
## The lobby's display name.
var name: String = ""
## The game id, e.g. [code]"tanks"[/code].
var game: String = ""
## The game version; only lobbies of the same version are browsed together.
var game_version: String = ""
## Players in the lobby now, as reported by the host.
var players: int = 0
## Capacity.
var max_players: int = 0
## [code]false[/code] when the host closed or locked the lobby.
var open: bool = false
## Where to connect, in the host's order of preference.
var endpoints: Array[PkarrLobbyEndpoint] = []
## The host's custom metadata (keys without the [code]x-[/code] prefix; values are Strings).
var custom: Dictionary = {}
## Seconds since the host signed this record.
var age_seconds: int = 0
## How it was found: [code]topic[/code], [code]directory[/code] or [code]known[/code] (browsing),
## [code]cache[/code], [code]dht[/code] or [code]relay[/code] (by code), [code]lan[/code] (heard
## on the local network, browsing or by code: see [member lan_address]), [code]local[/code]
## (your own lobby).
var source: String = ""
## For [code]lan[/code] lobbies: the address the host's announcement came from (empty otherwise).
var lan_address: String = ""
## Round-trip time to the host in milliseconds (what a lobby list shows as the ping), measured
## by the browser when it fetches the lobby from the host's beacon (the TCP handshake; the
## lowest of the last 4). A [PkarrLobbyBrowser] keeps it current in place after each refresh
## ([signal PkarrLobbyBrowser.refreshed]). [constant RTT_UNKNOWN] when the host was never
## contacted: found through the lobby directory, a known key or the LAN only, and for lobbies
## got by code. See [method has_rtt].
var rtt_ms: float = RTT_UNKNOWN
## When the record was signed, in microseconds since the Unix epoch, as a decimal string.
var timestamp: String = ""
## Time to live of the record in seconds (the host re-signs it that often).
var ttl: int = 0
## How the host says it can be reached through its NAT: one of the
## [PkarrReachability] kinds ([code]"public"[/code], [code]"mapped"[/code], [code]"cone"[/code],
## [code]"symmetric"[/code], [code]"unknown"[/code]).
var reach: String = PkarrReachability.UNKNOWN


## Reads the sidecar's lobby JSON (see [code]docs/rpc.md[/code], "Lobby JSON").
static func from_dict(data: Dictionary) -> PkarrLobby:
	var lobby := PkarrLobby.new()
	lobby.public_key = PkarrJson.to_text(data.get("publicKey"))
	lobby.invite_code = PkarrJson.to_text(data.get("inviteCode"))
	if lobby.invite_code == "" and lobby.public_key != "":
		lobby.invite_code = "pk:" + lobby.public_key
	lobby.name = PkarrJson.to_text(data.get("name"))
	lobby.game = PkarrJson.to_text(data.get("game"))
	lobby.game_version = PkarrJson.to_text(data.get("gameVersion"))
	lobby.players = PkarrJson.to_int(data.get("players"))
	lobby.max_players = PkarrJson.to_int(data.get("maxPlayers"))
	lobby.open = PkarrJson.to_bool(data.get("open"))
	var raw_endpoints: Variant = data.get("endpoints")
	if raw_endpoints is Array:
		for raw: Variant in raw_endpoints:
			if raw is Dictionary:
				lobby.endpoints.append(PkarrLobbyEndpoint.from_dict(raw))
	var raw_custom := PkarrJson.to_dict(data.get("custom"))
	for key: Variant in raw_custom:
		lobby.custom[str(key)] = PkarrJson.to_text(raw_custom[key])
	lobby.age_seconds = PkarrJson.to_int(data.get("ageSeconds"))
	lobby.source = PkarrJson.to_text(data.get("source"))
	lobby.lan_address = PkarrJson.to_text(data.get("lanAddress"))
	var rtt: Variant = data.get("rttMs")
	if (rtt is float or rtt is int) and rtt > 0:
		lobby.rtt_ms = float(rtt)
	lobby.timestamp = PkarrJson.to_decimal_string(data.get("timestamp"))
	lobby.ttl = PkarrJson.to_int(data.get("ttl"))
	var reach := PkarrJson.to_text(data.get("reach"), PkarrReachability.UNKNOWN)
	lobby.reach = reach if reach in PkarrReachability.KINDS else PkarrReachability.UNKNOWN
	return lobby


## Turns the outcome of a [code]lobby.get[/code] call into a result holding a [PkarrLobby].
## A failure keeps its details, and its [member PkarrResult.error_code] becomes the lobby
## reason when the sidecar gave one ([constant NO_LOBBY], [constant LOBBY_CLOSED],
## [constant LOBBY_EXPIRED], [constant NOT_A_LOBBY], [constant OTHER_GAME], ...); the generic
## code ([code]NOT_FOUND[/code], [code]INVALID_RECORD[/code]) stays in
## [code]error_data["code"][/code].
static func from_result(result: PkarrResult) -> PkarrResult:
	if not result.is_ok():
		var reason := PkarrJson.to_text(result.error_data.get("lobbyError"))
		if reason == "":
			return result
		return PkarrResult.failure(reason, result.error_message, result.error_data)
	if not result.value is Dictionary:
		return PkarrResult.failure(PkarrResult.BAD_RESPONSE,
				"expected a lobby, got %s" % type_string(typeof(result.value)))
	return PkarrResult.success(from_dict(result.value))


## [code]true[/code] when no player can join: [member players] reached [member max_players].
func is_full() -> bool:
	return players >= max_players


## [code]true[/code] when the lobby was heard on the local network (the host is on your LAN);
## [code]false[/code] when it came over the internet (DHT, relays). See [member source].
func is_lan() -> bool:
	return source == SOURCE_LAN


## [code]true[/code] when [member rtt_ms] was measured (the browser contacted the host).
func has_rtt() -> bool:
	return rtt_ms > 0.0


## Free places left (never negative).
func free_slots() -> int:
	return maxi(max_players - players, 0)


## The first endpoint for [param transport] (e.g. [code]"enet"[/code]), or [code]null[/code].
func get_endpoint(transport: String) -> PkarrLobbyEndpoint:
	for endpoint: PkarrLobbyEndpoint in endpoints:
		if endpoint.transport == transport:
			return endpoint
	return null


## The transports this lobby can be reached over, in the host's order, without repeats.
func get_transports() -> PackedStringArray:
	var transports := PackedStringArray()
	for endpoint: PkarrLobbyEndpoint in endpoints:
		if not endpoint.transport in transports:
			transports.append(endpoint.transport)
	return transports


## [code]true[/code] when [param other] shows the same lobby content: name, players,
## capacity, open state, endpoints, custom data, reachability and whether it is on the LAN (not
## the signing time, the round-trip time or which internet source found it). The sidecar
## decides this for a watched list ([signal PkarrLobbyBrowser.lobby_updated]); this is for lists
## you compare yourself.
func has_same_content(other: PkarrLobby) -> bool:
	if other == null:
		return false
	return _content() == other._content()


## [code]Name (players/max) pk:…[/code].
func _to_string() -> String:
	return "%s (%d/%d%s) %s" % [name, players, max_players, "" if open else ", closed", invite_code]


func _content() -> Array:
	var urls: Array[String] = []
	for endpoint: PkarrLobbyEndpoint in endpoints:
		urls.append(endpoint.to_url())
	var custom_keys: Array = custom.keys()
	custom_keys.sort()
	var custom_pairs: Array[String] = []
	for key: Variant in custom_keys:
		custom_pairs.append("%s=%s" % [key, custom[key]])
	return [public_key, name, game, game_version, players, max_players, open, urls, custom_pairs,
			reach, is_lan()]
