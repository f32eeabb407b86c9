@tool
extends RefCounted
## Runs the game server of a [PkarrLobbyHost] ([member PkarrLobbyHost.create_server]).
##
## Starts the host's [PkarrLobbyServer] with the host's settings (transport, ports, capacity),
## makes its peer the scene's [code]multiplayer.multiplayer_peer[/code]
## ([member PkarrLobbyHost.assign_multiplayer_peer]) and, when it stops, takes that peer back.
## Internal to [PkarrLobbyHost] (one per host, preloaded, no global class); games use the
## host's methods and signals.

var _host: PkarrLobbyHost


## Serves [param host] for its whole life.
func _init(host: PkarrLobbyHost) -> void:
	_host = host


## Starts the game server (closing a running one first) and takes its player count.
func start() -> PkarrResult:
	_host._server.close()
	_host._server.max_players = _host.max_players
	_host._server.host_plays = _host.host_plays
	var started := _host._server.listen(_host.transport, _host.port, _host.web_port)
	if not started.is_ok():
		return started
	if _host.assign_multiplayer_peer and _host.is_inside_tree():
		_host.multiplayer.multiplayer_peer = _host._server.peer
	_host._players = _host._server.count()
	return started


## Stops the game server; the scene's multiplayer peer goes offline when it was this server's.
func stop() -> void:
	var peer := _host._server.peer
	_host._server.close()
	if peer != null and _host.is_inside_tree() and _host.multiplayer.multiplayer_peer == peer:
		_host.multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
