@tool
@icon("res://addons/pkarr/icons/lobby_host.svg")
class_name PkarrLobbyHost
extends Node
## Hosts a lobby: runs your game server and publishes how to reach it under your key.
##
## Set [code]pkarr/lobby/game_id[/code] in the Project Settings (or [member game_id]), add the
## node and call [method open]: it starts the game server ([member create_server]: ENet, or
## WebSocket with [member transport] [code]"ws"[/code]; both with [member web_port], so browser
## players can join a desktop host), makes it the scene's
## [code]multiplayer.multiplayer_peer[/code] ([member assign_multiplayer_peer]), counts the
## players that connect and leave, refuses those beyond [member max_players] and publishes the
## count (at most once per [member player_update_interval]). A refused player is told why
## ([code]Pkarr.join()[/code] fails with [constant PkarrResult.LOBBY_FULL] or
## [constant PkarrResult.LOBBY_CLOSED]). Players join with
## [member invite_code] or the shorter [member short_code] ([code]Pkarr.join(code)[/code]) or
## find the lobby with a [PkarrLobbyBrowser].
## [codeblock]
## @onready var host: PkarrLobbyHost = $PkarrLobbyHost
##
## func _on_host_pressed() -> void:
##     var result: PkarrResult = await host.open()
##     if result.is_ok():
##         $CodeLabel.text = host.short_code
## [/codeblock]
## While open, the sidecar re-signs and re-publishes the record every [member record_ttl]
## seconds. If the sidecar restarts, this node opens the lobby again by itself and emits
## [signal updated]. The invite codes depend only on [member key_name]: they stay the same
## across scene changes and restarts. Needs the [code]Pkarr[/code] autoload (or [member service]).
## A browser (web export) cannot host: it has no server sockets.

## Emitted when the lobby is published and open; [param invite_code] is what players enter.
signal opened(invite_code: String)
## Emitted after a change was published ([method set_players], [method update],
## [method set_joinable], a player count) and after the lobby was opened again following a
## sidecar restart.
signal updated
## Emitted when the lobby was closed ([method close]); the closed record was published unless
## [signal failed] came first.
signal closed
## Emitted when opening, updating or closing failed; [member PkarrResult.error_message] says why.
signal failed(result: PkarrResult)
## Emitted when a peer connected to the game server and took a place ([param peer_id]).
signal player_joined(peer_id: int)
## Emitted when a player's peer disconnected.
signal player_left(peer_id: int)
## Emitted when a player was refused: the lobby is full, or locked ([method set_joinable]). It
## was told why ([code]Pkarr.join()[/code] ends in [constant PkarrResult.LOBBY_FULL] or
## [constant PkarrResult.LOBBY_CLOSED]) and never reached [code]multiplayer[/code].
signal player_refused(peer_id: int)

## Where the lobby is in its life cycle.
enum State {
	CLOSED, ## Not published (or closed).
	OPENING, ## [method open] is running.
	OPEN, ## Published and kept fresh.
}

const _HostSync := preload("internal/lobby_host_sync.gd")
const _HostServer := preload("internal/lobby_host_server.gd")

## Default of [member key_name].
const DEFAULT_KEY_NAME := "lobby_host"
## Seconds [method open] waits for the sidecar at least (mapping a port and publishing to the
## DHT can take longer than an ordinary call).
const OPEN_TIMEOUT_SEC := 30.0

## Your game's id, [code][A-Za-z0-9._-][/code], 1-64 characters. Empty: the project setting
## [code]pkarr/lobby/game_id[/code].
@export var game_id: String = "":
	set(value):
		game_id = value
		update_configuration_warnings()
## Your game's version; only players with the same version see the lobby. Empty: the project
## setting [code]pkarr/lobby/game_version[/code].
@export var game_version: String = ""
## The name players see, 1-64 characters.
@export var lobby_name: String = "My lobby"
## Capacity, counting the host if the host plays ([member host_plays]).
@export_range(1, 65535) var max_players: int = 4:
	set(value):
		max_players = value
		_server.max_players = value
		update_configuration_warnings()
## The port your game server listens on.
@export_range(1, 65535) var port: int = 7777:
	set(value):
		port = value
		update_configuration_warnings()
## The transport of your game server: [code]"enet"[/code] for [ENetMultiplayerPeer] (desktop
## players), [code]"ws"[/code] for [WebSocketMultiplayerPeer] (desktop and browser players).
@export_enum("enet", "ws") var transport: String = "enet":
	set(value):
		transport = value
		update_configuration_warnings()
@export_group("Game server")
## Also run a WebSocket server for browser players on this port (TCP) next to the ENet one, and
## publish both endpoints ([code]enet[/code] and [code]ws[/code]); 0: none. Only with
## [member transport] [code]"enet"[/code]. Behind a NAT only the ENet port is mapped: browser
## players reach the WebSocket server on a public address or a port you forward.
@export_range(0, 65535) var web_port: int = 0:
	set(value):
		web_port = value
		update_configuration_warnings()
## [method open] starts the game server on [member port] itself and [method close] stops it.
## Off: you run your own server; report players with [method set_players] (or keep
## [member count_players] on with your peer on [code]multiplayer[/code]).
@export var create_server: bool = true
## Make the server this scene's [code]multiplayer.multiplayer_peer[/code] when it starts.
@export var assign_multiplayer_peer: bool = true
## The host is a player and takes a place: the server accepts [code]max_players - 1[/code]
## clients. Off (a dedicated server): [code]max_players[/code] clients.
@export var host_plays: bool = true:
	set(value):
		host_plays = value
		_server.host_plays = value
		update_configuration_warnings()
## Count players from [code]multiplayer.peer_connected[/code] and
## [code]peer_disconnected[/code] and publish the count.
@export var count_players: bool = true
## Shortest time between two published player counts, in seconds: rapid joins and leaves go
## out as one update, and the last count always goes out.
@export_range(0.1, 60.0, 0.1, "suffix:s") var player_update_interval: float = 2.0
## Close the lobby and stop the game server when the node leaves the tree. Off: both stay up
## while the node is out of the tree (e.g. kept across a scene change and added to the next
## scene); freeing the node closes them.
@export var close_on_exit_tree: bool = true
@export_group("Publishing")
## The sidecar key the lobby is published under (created if missing). The invite code stays
## the same as long as the key is kept.
@export var key_name: String = DEFAULT_KEY_NAME:
	set(value):
		key_name = value
		update_configuration_warnings()
## Custom metadata players can read and filter on, e.g. [code]{"mode": "ctf"}[/code]. Keys
## [code][a-z0-9_-][/code], 1-30 characters; values are sent as Strings.
@export var custom: Dictionary = {}
## The address players connect to. Empty: the sidecar finds how players reach you (see
## [member use_nat_traversal]). Private and loopback addresses ([code]127.0.0.1[/code],
## [code]192.168.x.y[/code]) work only when given here.
@export var address: String = ""
## [code]true[/code]: browsable by [PkarrLobbyBrowser]. [code]false[/code]: invite code only.
@export var browsable: bool = true
## Seconds between re-publications of the record; players consider a lobby gone after three
## missed ones.
@export_range(10, 3600) var record_ttl: int = 60
## TCP port of the beacon browsers fetch the record from; 0 picks any free port. Only a host
## with a public address runs one; behind a NAT the lobby is listed in the game's directory.
@export_range(0, 65535) var beacon_port: int = 0:
	set(value):
		beacon_port = value
		update_configuration_warnings()
## With [member address] empty, let the sidecar make the lobby reachable through your router:
## map [member port] ([member use_upnp]), and otherwise take players in through a path punched
## through both NATs, carried to your game server on [code]127.0.0.1[/code] (see
## [code]docs/nat.md[/code]). Off: the sidecar advertises the public address the DHT reports.
@export var use_nat_traversal: bool = true
## Ask the router for a port mapping (UPnP IGD, NAT-PMP or PCP; the sidecar does it, renews it
## and removes it on close). A router that refuses does not stop [method open].
@export var use_upnp: bool = true

## The [PkarrService] to use; [code]null[/code] uses the [code]Pkarr[/code] autoload.
var service: PkarrService = null
## What players enter to join ([code]pk:<public key>[/code]); empty until opened.
var invite_code: String = ""
## A short invite code for the same lobby, e.g. [code]K7M4Q-X9PT2[/code] (10 characters without
## look-alikes, a fingerprint of [member public_key]; see [code]docs/lobby.md[/code]). Accepted
## wherever a code is. Empty until opened.
var short_code: String = ""
## The game server [method open] started ([member create_server]): a [PkarrMultiServerPeer]
## over the ENet and/or WebSocket server ([method PkarrMultiServerPeer.get_server]);
## [code]null[/code] otherwise.
var server_peer: MultiplayerPeer:
	get:
		return _server.peer
## Who is connected, capacity and count reports ([PkarrLobbyServer]); read-only.
var game_server: PkarrLobbyServer:
	get:
		return _server
## The public key the lobby is published under; empty until opened.
var public_key: String = ""
## The record as last published (source [code]local[/code]), or [code]null[/code].
var lobby: PkarrLobby = null
## The address players connect to, as published (empty until opened, and for a host reached
## only through hole punching).
var external_address: String = ""
## How players reach this lobby, as published: one of the [PkarrReachability] kinds
## ([code]"public"[/code], [code]"mapped"[/code], [code]"cone"[/code], [code]"symmetric"[/code],
## [code]"unknown"[/code]).
var reach: String = PkarrReachability.UNKNOWN

var _state: State = State.CLOSED
var _players: int = 0
var _joinable: bool = true
var _generation: int = 0
var _server := PkarrLobbyServer.new()
var _sync: _HostSync
var _game: _HostServer


func _init() -> void:
	_sync = _HostSync.new(self)
	_game = _HostServer.new(self)
	_server.player_joined.connect(_on_roster_changed.bind(player_joined))
	_server.player_left.connect(_on_roster_changed.bind(player_left))
	_server.player_refused.connect(player_refused.emit)
	_server.count_due.connect(_on_count_due)


func _enter_tree() -> void:
	if count_players and not Engine.is_editor_hint():
		_server.watch(multiplayer)


func _exit_tree() -> void:
	_server.unwatch()
	if close_on_exit_tree and not Engine.is_editor_hint():
		_shut_down()


func _notification(what: int) -> void:
	if what == NOTIFICATION_PREDELETE and not Engine.is_editor_hint():
		_shut_down()


## The current [enum State].
func get_state() -> State:
	return _state


## [code]true[/code] while the lobby is published and kept fresh.
func is_open() -> bool:
	return _state == State.OPEN


## Players now: counted from [code]multiplayer[/code] ([member count_players]) or as last given
## to [method set_players].
func get_players() -> int:
	return _players


## The game id in use: [member game_id], or the project setting when it is empty.
func get_game_id() -> String:
	return PkarrSettings.game_id_or_default(game_id)


## The game version in use: [member game_version], or the project setting when it is empty.
func get_game_version() -> String:
	return PkarrSettings.game_version_or_default(game_version)


## The editor's warnings for this node (also callable at run time): what would make
## [method open] fail or misbehave.
func _get_configuration_warnings() -> PackedStringArray:
	return PkarrLobbyConfig.host_warnings(self)


## [code]false[/code] after [code]set_joinable(false)[/code].
func is_joinable() -> bool:
	return _joinable


## Coroutine: publishes the lobby. The value is the published [PkarrLobby]; on failure
## [signal failed] is emitted too. Fails at once when already open or opening.
func open() -> PkarrResult:
	if _state != State.CLOSED:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "the lobby is already open")
	var problem := PkarrLobbyConfig.host_problem(self)
	if problem != "":
		return _fail(PkarrResult.INVALID_ARGUMENT, problem)
	var pkarr := _get_service()
	if pkarr == null:
		return _fail(PkarrResult.NOT_CONNECTED,
				"no Pkarr service: enable the Pkarr plugin (autoload) or set service")
	if create_server:
		var started := _game.start()
		if not started.is_ok():
			return _fail(started.error_code, started.error_message)
	_sync.watch(pkarr)
	_state = State.OPENING
	_generation += 1
	var generation := _generation
	var published: PkarrResult = await _sync.publish(pkarr)
	if generation != _generation:
		return PkarrResult.failure(PkarrResult.STOPPED, "closed while opening")
	if not published.is_ok():
		return _fail_open(published)
	_state = State.OPEN
	_server.report_interval = player_update_interval
	_server.start_reports()
	opened.emit(invite_code)
	var sent: Dictionary = published.value
	if _players != int(sent["players"]) or _joinable != bool(sent["open"]):
		# Changed while opening: one update (otherwise opening is the one lobby.host call).
		await _sync.send_update({"players": _players, "open": _joinable})
	return PkarrResult.success(lobby)


## Coroutine: sets the player count to [param count] (0 to [member max_players]) and, when
## open, publishes it at once. Call it whenever a player joins or leaves.
func set_players(count: int) -> PkarrResult:
	if count < 0 or count > max_players:
		return _fail(PkarrResult.INVALID_ARGUMENT,
				"players must be 0-%d (max_players), got %d" % [max_players, count])
	_players = count
	if _state != State.OPEN:
		return PkarrResult.success(lobby)
	return await _sync.send_update({"players": count})


## Coroutine: locks ([code]false[/code]) or reopens ([code]true[/code]) the lobby without
## closing it. Browsers drop a locked lobby (unless they show locked ones) and join by code
## refuses it, e.g. while a match runs.
func set_joinable(value: bool) -> PkarrResult:
	_joinable = value
	_server.accepting = value
	if _state != State.OPEN:
		return PkarrResult.success(lobby)
	return await _sync.send_update({"open": value})


## Coroutine: publishes the current [member lobby_name], [member max_players],
## [member custom] and player count (change the properties first). Does nothing before
## [method open].
func update() -> PkarrResult:
	if _state != State.OPEN:
		return PkarrResult.success(lobby)
	if _players > max_players:
		return _fail(PkarrResult.INVALID_ARGUMENT,
				"max_players (%d) is below the player count (%d)" % [max_players, _players])
	return await _sync.send_update({"players": _players, "maxPlayers": max_players,
			"name": lobby_name, "custom": PkarrLobbyConfig.custom_strings(custom)})


## Coroutine: publishes a closed record and stops re-publishing and announcing. Browsers
## report the lobby lost, join by code refuses it. [signal closed] is emitted even when the
## closed record could not be published (then after [signal failed]): the record expires
## after three [member record_ttl] anyway. The beacon keeps serving the closed record for
## [param linger_seconds] (the sidecar's default, 20 s, when negative).
func close(linger_seconds: int = -1) -> PkarrResult:
	if _state == State.CLOSED:
		return PkarrResult.success(false)
	var was_open := _state == State.OPEN
	_state = State.CLOSED
	_generation += 1
	_server.stop_reports()
	if create_server:
		_game.stop()
	var result := PkarrResult.success(true)
	var pkarr := _get_service()
	if was_open and pkarr != null:
		result = await _sync.publish_closed(pkarr, linger_seconds)
	if not result.is_ok():
		failed.emit(PkarrResult.failure(result.error_code,
				"could not publish the closed lobby: %s" % result.error_message, result.error_data))
	closed.emit()
	return result


func _fail(code: String, message: String, data: Dictionary = {}) -> PkarrResult:
	var result := PkarrResult.failure(code, message, data)
	failed.emit(result)
	return result


func _fail_open(result: PkarrResult) -> PkarrResult:
	_state = State.CLOSED
	if create_server:
		_game.stop()
	return _fail(result.error_code, result.error_message, result.error_data)


func _get_service() -> PkarrService:
	return PkarrService.find_for(self, service)


## Leaving for good: stops the server and closes the lobby without waiting for the answer.
func _shut_down() -> void:
	_server.stop_reports()
	if create_server:
		_game.stop()
	if _state != State.CLOSED:
		_state = State.CLOSED
		_generation += 1
		_sync.close_now()
	_sync.unwatch()


func _on_roster_changed(id: int, signal_to_emit: Signal) -> void:
	_players = _server.count()
	signal_to_emit.emit(id)


func _on_count_due(count: int) -> void:
	_players = count
	if _state == State.OPEN and (lobby == null or lobby.players != count):
		await _sync.send_update({"players": count})
