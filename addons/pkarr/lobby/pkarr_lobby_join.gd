class_name PkarrLobbyJoin
extends RefCounted
## Joins a lobby and ends in a connected [MultiplayerPeer]: what [code]Pkarr.join()[/code] runs.
##
## The sidecar picks the path ([code]lobby.join[/code]): the host's address when it is public
## or mapped on its router, otherwise a UDP path punched through both NATs and carried by the
## sidecars (ENet then talks to [code]127.0.0.1[/code]). This class connects the game's peer
## to what the sidecar answered and waits, bounded, until it is connected and, when the lobby
## says its host admits players ([PkarrLobbyAdmission]), until the host admitted it: a player
## refused for a full or locked lobby ends in [constant PkarrResult.LOBBY_FULL] or
## [constant PkarrResult.LOBBY_CLOSED], never in a peer that is dropped a moment later.
## The value is a [PkarrJoinedPeer] around the transport's client peer: the client's own
## "server connected" event was consumed while waiting, the [PkarrJoinedPeer] tells it again to
## the [SceneMultiplayer] that takes it, so [signal MultiplayerAPI.connected_to_server] fires
## and RPCs to the server work.
## [codeblock]
## var joined: PkarrResult = await Pkarr.join(code)
## if joined.is_ok():
##     multiplayer.multiplayer_peer = joined.value
## elif joined.error_code == PkarrResult.UNREACHABLE_NAT:
##     $Error.text = joined.error_message  # says what the player can do
## [/codeblock]

## Seconds [method join] waits for the game's peer by default.
const DEFAULT_TIMEOUT_SEC := 15.0
## The longest [code]timeout[/code] [method join] takes, in seconds (the sidecar's bound).
const MAX_TIMEOUT_SEC := 120.0
## The options [method join] takes; any other key is refused (a typo must not fall back silently).
const OPTIONS: Array[String] = ["game", "game_version", "transport", "timeout"]


## Coroutine: joins the lobby of [param code] (an invite code, long or short) with
## [param service]. Options: [code]game[/code], [code]game_version[/code] (checked against the
## lobby; empty: the project settings [code]pkarr/lobby/game_id[/code] and
## [code]game_version[/code]),
## [code]transport[/code] ([code]"enet"[/code] on desktop, [code]"ws"[/code] on the web by
## default), [code]timeout[/code] (seconds, up to [constant MAX_TIMEOUT_SEC]). The value is the
## connected [PkarrJoinedPeer]. A bad or unknown option fails with
## [method PkarrResult.invalid_params] naming it, before anything is sent.
static func join(service: PkarrService, code: String, options: Dictionary = {}) -> PkarrResult:
	for key: Variant in options:
		if not key is String or not OPTIONS.has(key):
			return PkarrResult.invalid_params(str(key), "unknown join option %s (expected %s)"
					% [JSON.stringify(str(key)), ", ".join(OPTIONS)])
	var timeout_value: Variant = options.get("timeout", DEFAULT_TIMEOUT_SEC)
	if not (timeout_value is float or timeout_value is int) or not (float(timeout_value) > 0.0) \
			or float(timeout_value) > MAX_TIMEOUT_SEC:
		return PkarrResult.invalid_params("timeout", "timeout must be a number of seconds above 0 and at most %d, got %s"
				% [MAX_TIMEOUT_SEC, JSON.stringify(timeout_value)])
	var timeout := float(timeout_value)
	for key: String in ["game", "game_version", "transport"]:
		if options.has(key) and not options[key] is String:
			return PkarrResult.invalid_params(key, "%s must be a string, got %s" % [key, JSON.stringify(options[key])])
	var transport: String = options.get("transport", default_transport())
	if transport not in ["enet", "ws", "wss"]:
		return PkarrResult.invalid_params("transport", "transport must be enet, ws or wss, not %s" % transport)
	var params := {"code": code.strip_edges(), "transport": transport,
			"timeoutMs": int(timeout * 1000.0)}
	PkarrSettings.add_game_params(params, options.get("game", ""), options.get("game_version", ""))
	var routed: PkarrResult = await service.call_method("lobby.join", params, timeout + 5.0)
	if not routed.is_ok():
		return PkarrLobby.from_result(routed)  # the lobby reason becomes the error code
	var route := PkarrJson.to_dict(routed.value)
	var joined := await connect_route(route, transport, timeout)
	if not joined.is_ok():
		await _leave(service, route)
	return joined


## Coroutine: connects a [param transport] client to [param route] (the answer of
## [code]lobby.join[/code]: [code]host[/code], [code]port[/code], [code]lobby[/code]) and waits at
## most [param timeout] seconds for the connection and, when [code]lobby.admission[/code] is
## true, for the host's admission. The value is the connected [PkarrJoinedPeer]; the peer is
## closed on failure.
static func connect_route(route: Dictionary, transport: String, timeout: float) -> PkarrResult:
	var host := PkarrJson.to_text(route.get("host"))
	var port := PkarrJson.to_int(route.get("port"))
	if host == "" or port < 1 or port > 65535:
		return PkarrResult.failure(PkarrResult.BAD_RESPONSE, "lobby.join answered no address")
	var admission: bool = PkarrJson.to_dict(route.get("lobby")).get("admission", false) == true
	var peer: MultiplayerPeer = null
	var err := OK
	if transport == "enet":
		var enet := ENetMultiplayerPeer.new()
		err = enet.create_client(host, port)
		peer = enet
	else:
		var ws := WebSocketMultiplayerPeer.new()
		err = ws.create_client("%s://%s:%d" % [transport, _bracket(host), port])
		peer = ws
	if err != OK:
		return PkarrResult.failure(PkarrResult.JOIN_REFUSED, "cannot create the %s client for %s:%d: %s" % [
				transport, host, port, error_string(err)])
	var started := Time.get_ticks_msec()
	var connected := await _wait_connected(peer, timeout)
	if connected.is_ok() and admission:
		var left := maxf(timeout - (Time.get_ticks_msec() - started) / 1000.0, 0.5)
		connected = await PkarrLobbyAdmission.await_admission(peer, left)
	if not connected.is_ok():
		peer.close()
		return connected
	return PkarrResult.success(PkarrJoinedPeer.new().wrap(peer, transport))


## The transport this platform joins with when none is given: [code]"ws"[/code] on the web
## (no UDP there), [code]"enet"[/code] elsewhere.
static func default_transport() -> String:
	return "ws" if OS.has_feature("web") else "enet"


static func _wait_connected(peer: MultiplayerPeer, timeout: float) -> PkarrResult:
	var tree := Engine.get_main_loop() as SceneTree
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while true:
		peer.poll()
		match peer.get_connection_status():
			MultiplayerPeer.CONNECTION_CONNECTED:
				return PkarrResult.success(peer)
			MultiplayerPeer.CONNECTION_DISCONNECTED:
				return PkarrResult.failure(PkarrResult.JOIN_REFUSED,
						"the host refused the connection or closed it (full, or the game server is not running)")
		if Time.get_ticks_msec() >= deadline or tree == null:
			break
		await tree.process_frame
	return PkarrResult.failure(PkarrResult.TIMEOUT, "the game did not connect within %.1f s" % timeout)


static func _leave(service: PkarrService, route: Dictionary) -> void:
	var tunnel := PkarrJson.to_text(route.get("tunnelId"))
	if tunnel != "":
		await service.call_method("lobby.leave", {"tunnelId": tunnel})


static func _bracket(host: String) -> String:
	return "[%s]" % host if host.contains(":") else host
