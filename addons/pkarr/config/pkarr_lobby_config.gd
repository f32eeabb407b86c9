@tool
class_name PkarrLobbyConfig
extends RefCounted
## How the configuration of [PkarrLobbyHost] and [PkarrLobbyBrowser] is checked and sent.
##
## The warnings behind [method Node._get_configuration_warnings] (one sentence per problem,
## empty when the node is ready to use), the check [method PkarrLobbyHost.open] makes first,
## and the parameters the nodes' properties become ([code]lobby.host[/code] for a host,
## [code]lobby.browse[/code] / [code]lobby.watch[/code] for a browser).

## Shortest refresh interval a browser may ask for, in seconds.
const MIN_REFRESH_INTERVAL := 5


## The problems of [param host]'s settings.
static func host_warnings(host: PkarrLobbyHost) -> PackedStringArray:
	var warnings := PackedStringArray()
	var game_problem := PkarrSettings.game_id_problem(host.get_game_id())
	if game_problem != "":
		warnings.append(game_problem)
	if host.max_players < 1:
		warnings.append("max_players is %d: a lobby needs at least 1 place" % host.max_players)
	elif host.create_server and host.host_plays and host.max_players < 2:
		warnings.append("max_players is 1 and the host plays: no other player fits")
	if host.port < 1 or host.port > 65535:
		warnings.append("port %d is not a valid port (1-65535)" % host.port)
	if host.beacon_port != 0 and host.beacon_port == host.port:
		warnings.append(("beacon_port and port are both %d: the beacon (TCP) and the game "
				+ "server need different ports") % host.port)
	if host.web_port > 0 and (host.transport != "enet" or not host.create_server):
		warnings.append("web_port adds a WebSocket server to the ENet server create_server "
				+ "starts: it needs transport enet and create_server on")
	if host.web_port > 0 and host.web_port == host.beacon_port:
		warnings.append(("web_port and beacon_port are both %d: the WebSocket server and the "
				+ "beacon (both TCP) need different ports") % host.web_port)
	if host.create_server and not host.transport in PkarrLobbyServer.TRANSPORTS:
		warnings.append(("create_server starts enet or ws servers, not %s: turn "
				+ "create_server off to run your own") % host.transport)
	if RegEx.create_from_string(PkarrService.KEY_NAME_PATTERN).search(host.key_name) == null:
		warnings.append("key_name %s: use 1-64 of A-Z a-z 0-9 _ . -" % host.key_name)
	if host.address != "" and host.address.strip_edges() != host.address:
		warnings.append("address has spaces around it")
	return warnings


## The problems of [param browser]'s settings.
static func browser_warnings(browser: PkarrLobbyBrowser) -> PackedStringArray:
	var warnings := PackedStringArray()
	var game_problem := PkarrSettings.game_id_problem(browser.get_game_id())
	if game_problem != "":
		warnings.append(game_problem)
	if browser.refresh_interval < MIN_REFRESH_INTERVAL:
		warnings.append("refresh_interval %d s is below the %d s the sidecar accepts"
				% [browser.refresh_interval, MIN_REFRESH_INTERVAL])
	if not browser.browse_topic and browser.known_keys.is_empty():
		warnings.append("browse_topic is off and known_keys is empty: nothing will be listed")
	return warnings


## Why [param host] cannot open (empty when it can): the checks that would make the sidecar
## refuse it.
static func host_problem(host: PkarrLobbyHost) -> String:
	var game_problem := PkarrSettings.game_id_problem(host.get_game_id())
	if game_problem != "":
		return game_problem
	if host.key_name == "":
		return "key_name is empty"
	if host.get_players() > host.max_players:
		return "players (%d) exceed max_players (%d)" % [host.get_players(), host.max_players]
	return ""


## The [code]lobby.host[/code] parameters of [param host] (docs/rpc.md).
static func host_params(host: PkarrLobbyHost) -> Dictionary:
	var params := {
		"key": host.key_name,
		"game": host.get_game_id(),
		"gameVersion": host.get_game_version(),
		"name": host.lobby_name,
		"maxPlayers": host.max_players,
		"players": host.get_players(),
		"public": host.browsable,
		"open": host.is_joinable(),
		"createKey": true,
		# Our own game server admits each player and tells a refused one why.
		"admission": host.create_server,
		"ttl": host.record_ttl,
		"custom": custom_strings(host.custom),
	}
	if host.create_server and host.web_port > 0:
		params["servers"] = [{"transport": host.transport, "port": host.port},
				{"transport": "ws", "port": host.web_port}]
	else:
		params["port"] = host.port
		params["transport"] = host.transport
	if host.address != "":
		params["address"] = host.address
	else:
		params["nat"] = host.use_nat_traversal
		params["map"] = host.use_upnp
	if host.beacon_port > 0 and host.browsable:
		params["beaconPort"] = host.beacon_port
	return params


## The [code]lobby.browse[/code] parameters of [param browser] (docs/rpc.md), also the base of
## its [code]lobby.watch[/code] ones.
static func browse_params(browser: PkarrLobbyBrowser) -> Dictionary:
	var filters := {"openOnly": browser.open_only}
	if browser.not_full:
		filters["notFull"] = true
	if not browser.custom_filters.is_empty():
		filters["custom"] = custom_strings(browser.custom_filters)
	var params := {"game": browser.get_game_id(), "gameVersion": browser.get_game_version(),
			"filters": filters, "topic": browser.browse_topic}
	if not browser.known_keys.is_empty():
		params["knownKeys"] = Array(browser.known_keys)
	return params


## [param custom] with every key and value as a String (the sidecar takes strings only).
static func custom_strings(custom: Dictionary) -> Dictionary:
	var strings := {}
	for key: Variant in custom:
		strings[str(key)] = str(custom[key])
	return strings
