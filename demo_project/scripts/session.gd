class_name DemoSession
extends Node
## The multiplayer session of the demo: hosts or joins a game and keeps the roster.
##
## Hosting is one call: the [PkarrLobbyHost] child starts the game server (ENet, or WebSocket so
## browser players can join), makes it [code]multiplayer.multiplayer_peer[/code], publishes the
## lobby and counts the players that come and go. Joining is one call too:
## [code]Pkarr.join(code)[/code] ends in a connected peer (ENet on desktop, WebSocket on the web).
## The game id and version are the project settings [code]pkarr/lobby/game_id[/code] and
## [code]pkarr/lobby/game_version[/code]. Every peer moves its own square and sends its position
## to the others with an RPC; the host owns the roster (names and colours) and sends it to
## everyone when it changes. The node lives for the whole game at [code]/root/Main/Session[/code],
## so RPC paths match on all peers.

## Emitted when players joined, left, were renamed or moved.
signal roster_changed
## Emitted when the session ended by itself (host gone, connection lost); [param reason] says why.
signal ended(reason: String)

## The default game server port.
const DEFAULT_PORT := 7777
## How often a peer sends its position, per second.
const SEND_RATE := 20.0
## Size of the playing field in pixels; squares stay inside it.
const FIELD_SIZE := Vector2(640.0, 480.0)
## Invite codes of lobbies hosted or joined on this computer, for the browse list.
const KNOWN_CODES_PATH := "user://known_lobbies.txt"
## How many codes [constant KNOWN_CODES_PATH] keeps.
const KNOWN_CODES_MAX := 8
## Colours handed out to players in joining order.
const COLORS: Array[Color] = [
	Color("#ff6b6b"), Color("#4ecdc4"), Color("#ffe66d"), Color("#a78bfa"),
	Color("#f78c6b"), Color("#7bd88f"), Color("#5ab0f6"), Color("#f472b6"),
]

## Peer id → [code]{name: String, color: Color, position: Vector2}[/code].
var players: Dictionary = {}
## The lobby this peer joined (clients) or publishes (host).
var lobby: PkarrLobby = null
## This player's name.
var player_name: String = "Player"

var _hosting: bool = false
var _send_elapsed: float = 0.0
var _color_index: int = 0

@onready var lobby_host: PkarrLobbyHost = $LobbyHost


## [code]true[/code] where this build can run a game server (not in a browser).
static func can_host() -> bool:
	return not OS.has_feature("web")


## The invite codes remembered by [method remember_code], newest first.
static func known_codes() -> PackedStringArray:
	if not FileAccess.file_exists(KNOWN_CODES_PATH):
		return PackedStringArray()
	return FileAccess.get_file_as_string(KNOWN_CODES_PATH).split("\n", false)


## Remembers [param code] so browse lists its lobby even where the DHT topic cannot (see
## README: a lobby at 127.0.0.1 or a LAN address is found by code, not by topic). Instances
## on one computer share [code]user://[/code], so a second window sees what the first hosts.
static func remember_code(code: String) -> void:
	var codes := PackedStringArray([code])
	for known: String in known_codes():
		if known != code and codes.size() < KNOWN_CODES_MAX:
			codes.append(known)
	var file := FileAccess.open(KNOWN_CODES_PATH, FileAccess.WRITE)
	if file != null:
		file.store_string("\n".join(codes) + "\n")


func _ready() -> void:
	lobby_host.player_joined.connect(func(id: int) -> void:
		_add_player(id, "Player %d" % (players.size() + 1))
		_sync_roster.rpc(_roster()))
	lobby_host.player_left.connect(_on_player_left)
	multiplayer.peer_disconnected.connect(_on_player_left)
	multiplayer.server_disconnected.connect(_on_server_disconnected)


func _process(delta: float) -> void:
	if not is_in_game():
		return
	_send_elapsed += delta
	if _send_elapsed < 1.0 / SEND_RATE or multiplayer.get_peers().is_empty():
		return
	_send_elapsed = 0.0
	var me: Dictionary = players.get(multiplayer.get_unique_id(), {})
	if not me.is_empty():
		_move.rpc(me["position"])


## [code]true[/code] while hosting or connected to a host (or practising alone).
func is_in_game() -> bool:
	return not players.is_empty()


## [code]true[/code] when this peer is the host.
func is_hosting() -> bool:
	return _hosting


# --- Host glue: what a game writes to host (the README's example is this function). ---
## Coroutine: starts the game server and publishes the lobby (see [PkarrLobbyHost]). The value
## is the published [PkarrLobby]. [param web_port] > 0 (with [code]"enet"[/code]) also serves
## browser players over WebSocket on that port.
func host_game(lobby_name: String, max_players: int, port: int, transport: String,
		address: String, web_port: int = 0) -> PkarrResult:
	leave()
	lobby_host.lobby_name = lobby_name
	lobby_host.max_players = max_players
	lobby_host.port = port
	lobby_host.transport = transport  # "enet", or "ws" so browser players can join
	lobby_host.web_port = web_port  # > 0 with enet: browser players too, over WebSocket
	lobby_host.address = address  # empty: the sidecar finds how players reach you
	var opened: PkarrResult = await lobby_host.open()  # server + multiplayer_peer + lobby
	if not opened.is_ok():
		return opened  # SERVER_FAILED, ADDRESS_UNKNOWN, ... see PkarrResult
	_hosting = true
	lobby = opened.value
	_add_player(1, player_name)
	remember_code(lobby.invite_code)
	return opened


# --- Join glue: what a game writes to join (the README's example is this function). ---
## Coroutine: joins the lobby of [param code] (long or short invite code). The value is the
## connected [MultiplayerPeer].
func join_game(code: String) -> PkarrResult:
	leave()
	var joined: PkarrResult = await Pkarr.join(code)  # ENet on desktop, WebSocket on the web
	if not joined.is_ok():
		return joined  # NO_LOBBY, LOBBY_FULL, OTHER_GAME, UNREACHABLE_NAT, TIMEOUT, ...
	multiplayer.multiplayer_peer = joined.value
	remember_code(code)
	_introduce.rpc_id(1, player_name)
	return joined


## Plays alone without a network (a preview of the playing field).
func start_practice() -> void:
	leave()
	_add_player(multiplayer.get_unique_id(), player_name)


## Leaves the game: a host closes its lobby and server, a client disconnects.
func leave() -> void:
	if _hosting and lobby_host.get_state() != PkarrLobbyHost.State.CLOSED:
		lobby_host.close()  # also stops the game server it started
	_hosting = false
	var peer := multiplayer.multiplayer_peer
	if peer != null and not peer is OfflineMultiplayerPeer:
		peer.close()
		multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
	players.clear()
	lobby = null
	_color_index = 0
	roster_changed.emit()


## Moves this peer's own square by [param motion] pixels, kept inside the field.
func move_by(motion: Vector2) -> void:
	var me: Dictionary = players.get(multiplayer.get_unique_id(), {})
	if me.is_empty() or motion == Vector2.ZERO:
		return
	me["position"] = (me["position"] + motion).clamp(Vector2.ZERO, FIELD_SIZE - Vector2(40, 40))
	roster_changed.emit()


func _add_player(id: int, display_name: String) -> void:
	var color := COLORS[_color_index % COLORS.size()]
	_color_index += 1
	var slot := players.size()
	var start := Vector2(40.0 + 70.0 * (slot % 8), 40.0 + 70.0 * floorf(slot / 8.0))
	players[id] = {"name": display_name, "color": color, "position": start}
	roster_changed.emit()


func _on_player_left(id: int) -> void:
	if not players.erase(id):
		return
	roster_changed.emit()
	if _hosting:
		_sync_roster.rpc(_roster())


func _on_server_disconnected() -> void:
	leave()
	ended.emit("the host closed the game")


func _roster() -> Array:
	var roster: Array = []
	for id: int in players:
		var player: Dictionary = players[id]
		roster.append([id, player["name"], player["color"], player["position"]])
	return roster


@rpc("any_peer", "call_remote", "reliable")
func _introduce(display_name: String) -> void:
	var sender := multiplayer.get_remote_sender_id()
	if not _hosting or not players.has(sender):
		return
	players[sender]["name"] = display_name.strip_edges().left(24)
	roster_changed.emit()
	_sync_roster.rpc(_roster())


@rpc("authority", "call_remote", "reliable")
func _sync_roster(roster: Array) -> void:
	var known := players
	players = {}
	for entry: Array in roster:
		var id: int = entry[0]
		var previous: Dictionary = known.get(id, {})
		var keep_own := id == multiplayer.get_unique_id() and not previous.is_empty()
		players[id] = {"name": entry[1], "color": entry[2],
				"position": previous["position"] if keep_own else entry[3]}
	roster_changed.emit()


@rpc("any_peer", "call_remote", "unreliable_ordered")
func _move(at: Vector2) -> void:
	var sender := multiplayer.get_remote_sender_id()
	if players.has(sender):
		players[sender]["position"] = at.clamp(Vector2.ZERO, FIELD_SIZE)
		roster_changed.emit()
