@tool
class_name PkarrLobbyServer
extends RefCounted
## The game server of a [PkarrLobbyHost]: creates the [MultiplayerPeer] and keeps the roster
## of connected peers against the lobby's capacity.
##
## [PkarrLobbyHost] uses it when [member PkarrLobbyHost.create_server] is on; you rarely need it
## yourself. Capacity: with the host playing ([member host_plays]), [code]max_players - 1[/code]
## clients fit; otherwise [code]max_players[/code].
##
## [member peer] is a [PkarrMultiServerPeer] over one or two servers: ENet (desktop players)
## and/or WebSocket (desktop and browser players), so web players can join a desktop host
## ([method listen] with a [code]web_port[/code]). It admits each player explicitly
## ([PkarrLobbyAdmission]): a player beyond capacity, or while the lobby is locked
## ([member accepting] off), is told why ([constant PkarrResult.LOBBY_FULL],
## [constant PkarrResult.LOBBY_CLOSED]) and disconnected before the game sees it, so
## [code]Pkarr.join()[/code] fails with that code. Counting from a [MultiplayerAPI] whose peer
## is not ours ([member PkarrLobbyHost.create_server] off) still disconnects a peer that does not
## fit. Browsers cannot host at all.
##
## It counts players from a [MultiplayerAPI] ([method watch]: [code]peer_connected[/code] and
## [code]peer_disconnected[/code]) and, while reports are on ([method start_reports]), emits
## [signal count_due] at most once per [member report_interval]: joins and leaves that come
## quickly go out as one publication, with the count at the time it is sent.

## Emitted when client [param peer_id] took a place.
signal player_joined(peer_id: int)
## Emitted when a client that had a place left.
signal player_left(peer_id: int)
## Emitted when client [param peer_id] was refused: no place left, or the lobby is locked.
signal player_refused(peer_id: int)
## Emitted at most once per [member report_interval] after the count changed: publish
## [param count] now.
signal count_due(count: int)

## Most clients an [ENetMultiplayerPeer] server takes.
const ENET_MAX_CLIENTS := 4095
## The transports a server can be created for.
const TRANSPORTS: Array[String] = ["enet", "ws"]

## The peer created by [method listen] or [method serve] ([code]null[/code] before).
var peer: PkarrMultiServerPeer = null
## New players are admitted while there is room; off: refused with
## [constant PkarrResult.LOBBY_CLOSED] (a locked lobby, [method PkarrLobbyHost.set_joinable]).
var accepting: bool = true
## Capacity, counting the host when [member host_plays].
var max_players: int = 4
## The host is a player (takes one place).
var host_plays: bool = true
## Shortest time between two [signal count_due], in seconds.
var report_interval: float = 2.0

var _clients: Dictionary = {}
var _api: MultiplayerAPI = null
var _reporting: bool = false
var _report_pending: bool = false
var _reported_msec: int = 0
var _reports: int = 0


## How many clients fit: [code]max_players - 1[/code] when the host plays, else
## [code]max_players[/code] (at least 0).
static func max_clients_for(capacity: int, plays: bool) -> int:
	return maxi(capacity - 1 if plays else capacity, 0)


## Creates and starts the server peer for [param transport] on [param port] and, with
## [param web_port] > 0, a WebSocket server for browser players on that port too. The value is
## [member peer]. Fails with [constant PkarrResult.UNSUPPORTED_PLATFORM] in a browser, with
## [constant PkarrResult.INVALID_ARGUMENT] for an unknown transport and with
## [constant PkarrResult.SERVER_FAILED] when a port cannot be used.
func listen(transport: String, port: int, web_port: int = 0) -> PkarrResult:
	if OS.has_feature("web"):
		return PkarrResult.failure(PkarrResult.UNSUPPORTED_PLATFORM,
				"browsers cannot run a game server: host from a desktop build")
	if not transport in TRANSPORTS:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"create_server supports the transports enet and ws, not %s" % transport)
	if web_port > 0 and transport == "ws":
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"web_port adds a WebSocket server to an enet one; the transport is ws already")
	var servers := {}
	var wanted := {transport: port}
	if web_port > 0:
		wanted["ws"] = web_port
	for name: String in wanted:
		var started := _create_server(name, wanted[name])
		if not started.is_ok():
			for running: MultiplayerPeer in servers.values():
				running.close()
			return started
		servers[name] = started.value
	return serve(servers)


## Serves the running server peers [param servers] ([code]{"enet": peer, "ws": peer}[/code],
## e.g. created by [method listen]) as one [PkarrMultiServerPeer] that admits players against
## the capacity. The value is [member peer].
func serve(servers: Dictionary) -> PkarrResult:
	close()
	var multi := PkarrMultiServerPeer.new()
	for name: String in servers:
		var err := multi.add_server(name, servers[name])
		if err != OK:
			multi.close()
			return PkarrResult.failure(PkarrResult.SERVER_FAILED,
					"cannot serve the %s server: %s" % [name, error_string(err)])
	multi.admission_policy = _admission_reason
	multi.peer_refused.connect(func(id: int, _transport: String, _reason: String) -> void:
		player_refused.emit(id))
	peer = multi
	_clients.clear()
	return PkarrResult.success(peer)


func _create_server(transport: String, port: int) -> PkarrResult:
	var server: MultiplayerPeer
	var err := OK
	if transport == "ws":
		var ws := WebSocketMultiplayerPeer.new()
		err = ws.create_server(port)
		server = ws
	else:
		var enet := ENetMultiplayerPeer.new()
		# Room for every client plus one: a player beyond capacity connects, hears why it is
		# refused and leaves (admission), instead of a connection reset without a reason.
		err = enet.create_server(port, mini(max_clients_for(max_players, host_plays) + 1,
				ENET_MAX_CLIENTS))
		server = enet
	if err != OK:
		return PkarrResult.failure(PkarrResult.SERVER_FAILED,
				"could not start the %s server on port %d: %s"
				% [transport, port, error_string(err)])
	return PkarrResult.success(server)


# PkarrMultiServerPeer.admission_policy: why a new player cannot have a place ("" = it can).
func _admission_reason(_id: int, _transport: String) -> String:
	if not accepting:
		return PkarrResult.LOBBY_CLOSED
	if peer != null and peer.count_places() >= max_clients_for(max_players, host_plays):
		return PkarrResult.LOBBY_FULL
	return ""


## Closes the server peer and forgets the clients.
func close() -> void:
	if peer != null:
		peer.close()
	peer = null
	_clients.clear()


## Players now: the connected clients, plus the host when [member host_plays].
func count() -> int:
	return _clients.size() + (1 if host_plays else 0)


## [code]true[/code] when no further client fits.
func is_full() -> bool:
	return _clients.size() >= max_clients_for(max_players, host_plays)


## The connected client peer ids.
func get_clients() -> PackedInt32Array:
	return PackedInt32Array(_clients.keys())


## Takes client [param id] in: [code]true[/code] when it fits (or is already in),
## [code]false[/code] when the lobby is full (then it is disconnected from [member peer]).
func admit(id: int) -> bool:
	if _clients.has(id):
		return true
	if is_full():
		if peer != null and peer.get_connection_status() != MultiplayerPeer.CONNECTION_DISCONNECTED:
			peer.disconnect_peer(id)
		return false
	_clients[id] = true
	return true


## Client [param id] left: [code]true[/code] when it was one of ours.
func remove(id: int) -> bool:
	return _clients.erase(id)


## Counts the peers that connect to and leave [param api] (a node's [code]multiplayer[/code]).
func watch(api: MultiplayerAPI) -> void:
	unwatch()
	_api = api
	api.peer_connected.connect(on_peer_connected)
	api.peer_disconnected.connect(on_peer_disconnected)


## Stops counting from the [MultiplayerAPI] of [method watch].
func unwatch() -> void:
	if _api != null:
		if _api.peer_connected.is_connected(on_peer_connected):
			_api.peer_connected.disconnect(on_peer_connected)
		if _api.peer_disconnected.is_connected(on_peer_disconnected):
			_api.peer_disconnected.disconnect(on_peer_disconnected)
	_api = null


## [code]true[/code] while counting from a [MultiplayerAPI].
func is_watching() -> bool:
	return _api != null


## A peer connected ([code]multiplayer.peer_connected[/code]): admitted or refused.
func on_peer_connected(id: int) -> void:
	if not admit(id):
		player_refused.emit(id)
		return
	player_joined.emit(id)
	_queue_report()


## A peer left ([code]multiplayer.peer_disconnected[/code]).
func on_peer_disconnected(id: int) -> void:
	if remove(id):
		player_left.emit(id)
		_queue_report()


## Starts reporting count changes (the lobby is published now, with the current count).
func start_reports() -> void:
	_reporting = true
	_report_pending = false
	_reports += 1
	_reported_msec = Time.get_ticks_msec()


## Stops reporting; a report waiting for its interval is dropped.
func stop_reports() -> void:
	_reporting = false
	_report_pending = false
	_reports += 1


func _queue_report() -> void:
	if not _reporting or _report_pending:
		return
	_report_pending = true
	var round := _reports
	var wait := report_interval - (Time.get_ticks_msec() - _reported_msec) / 1000.0
	var tree := Engine.get_main_loop() as SceneTree
	if wait > 0.0 and tree != null:
		await tree.create_timer(wait, true, false, true).timeout
	if round != _reports or not _report_pending:
		return
	_report_pending = false
	_reported_msec = Time.get_ticks_msec()
	count_due.emit(count())
