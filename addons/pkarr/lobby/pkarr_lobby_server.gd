@tool
class_name PkarrLobbyServer
extends RefCounted
## The game server of a [PkarrLobbyHost]: creates the [MultiplayerPeer] and keeps the roster
## of connected peers against the lobby's capacity.
##
## [PkarrLobbyHost] uses it when [member PkarrLobbyHost.create_server] is on; you rarely need it
## yourself. Capacity: with the host playing ([member host_plays]), [code]max_players - 1[/code]
## clients fit; otherwise [code]max_players[/code]. A peer beyond that is refused: the server
## stops accepting connections while full ([member MultiplayerPeer.refuse_new_connections]: ENet
## resets the connection, WebSocket drops it before sending the peer id, so the client never
## connects and [code]Pkarr.join()[/code] fails with [constant PkarrResult.JOIN_REFUSED]), and a
## peer that still slips in is disconnected.
##
## One [MultiplayerPeer] per [SceneMultiplayer]: a server is ENet (desktop players) or
## WebSocket (desktop and browser players), not both at once. Browsers cannot host at all.
##
## It counts players from a [MultiplayerAPI] ([method watch]: [code]peer_connected[/code] and
## [code]peer_disconnected[/code]) and, while reports are on ([method start_reports]), emits
## [signal count_due] at most once per [member report_interval]: joins and leaves that come
## quickly go out as one publication, with the count at the time it is sent.

## Emitted when client [param peer_id] took a place.
signal player_joined(peer_id: int)
## Emitted when a client that had a place left.
signal player_left(peer_id: int)
## Emitted when client [param peer_id] was refused: no place left.
signal player_refused(peer_id: int)
## Emitted at most once per [member report_interval] after the count changed: publish
## [param count] now.
signal count_due(count: int)

## The transports a server can be created for.
const TRANSPORTS: Array[String] = ["enet", "ws"]

## The peer created by [method listen] ([code]null[/code] before).
var peer: MultiplayerPeer = null
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


## Creates and starts the server peer for [param transport] on [param port]. The value is the
## [MultiplayerPeer]. Fails with [constant PkarrResult.UNSUPPORTED_PLATFORM] in a browser, with
## [constant PkarrResult.INVALID_ARGUMENT] for an unknown transport and with
## [constant PkarrResult.SERVER_FAILED] when the port cannot be used.
func listen(transport: String, port: int) -> PkarrResult:
	if OS.has_feature("web"):
		return PkarrResult.failure(PkarrResult.UNSUPPORTED_PLATFORM,
				"browsers cannot run a game server: host from a desktop build")
	if not transport in TRANSPORTS:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"create_server supports the transports enet and ws, not %s" % transport)
	var clients := max_clients_for(max_players, host_plays)
	var err := OK
	if transport == "ws":
		var ws := WebSocketMultiplayerPeer.new()
		err = ws.create_server(port)
		peer = ws
	else:
		var enet := ENetMultiplayerPeer.new()
		# ENet needs room for at least one client; capacity is enforced in admit() as well.
		err = enet.create_server(port, maxi(clients, 1))
		peer = enet
	if err != OK:
		peer = null
		return PkarrResult.failure(PkarrResult.SERVER_FAILED,
				"could not start the %s server on port %d: %s"
				% [transport, port, error_string(err)])
	_clients.clear()
	_update_refusal()
	return PkarrResult.success(peer)


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
	_update_refusal()
	return true


## Client [param id] left: [code]true[/code] when it was one of ours.
func remove(id: int) -> bool:
	var known := _clients.erase(id)
	_update_refusal()
	return known


func _update_refusal() -> void:
	if peer != null:
		peer.refuse_new_connections = is_full()


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
