class_name PkarrLobbyHost
extends Node
## Hosts a lobby: publishes your game server's address and player count under your key.
##
## Set the exported properties, add the node to the tree and call [method open]. Players join
## with [member invite_code] ([code]Pkarr.get_lobby(code)[/code]) or find the lobby with a
## [PkarrLobbyBrowser] of the same [member game_id] and [member game_version]. Report players
## as they come and go with [method set_players]; [method close] (or freeing the node) closes
## the lobby.
## [codeblock]
## @onready var host: PkarrLobbyHost = $PkarrLobbyHost
##
## func _on_host_pressed() -> void:
##     host.game_id = "tanks"
##     host.lobby_name = "Alice's room"
##     var result: PkarrResult = await host.open()
##     if result.is_ok():
##         $CodeLabel.text = host.invite_code
## [/codeblock]
## While open, the sidecar re-signs and re-publishes the record every [member record_ttl]
## seconds and answers browsers from its beacon. If the sidecar restarts (it crashed and the
## [code]Pkarr[/code] autoload started it again), this node opens the lobby again by itself and
## emits [signal updated]. Needs the [code]Pkarr[/code] autoload (or [member service]).

## Emitted when the lobby is published and open; [param invite_code] is what players enter.
signal opened(invite_code: String)
## Emitted after a change was published ([method set_players], [method update],
## [method set_joinable]) and after the lobby was opened again following a sidecar restart.
signal updated
## Emitted when the lobby was closed ([method close]); the closed record was published unless
## [signal failed] came first.
signal closed
## Emitted when opening, updating or closing failed; [param reason] says why.
signal failed(reason: String)

## Where the lobby is in its life cycle.
enum State {
	CLOSED, ## Not published (or closed).
	OPENING, ## [method open] is running.
	OPEN, ## Published and kept fresh.
}

## Default of [member key_name].
const DEFAULT_KEY_NAME := "lobby_host"

## Your game's id, [code][A-Za-z0-9._-][/code], 1-64 characters. Required.
@export var game_id: String = ""
## Your game's version; only players with the same version see the lobby.
@export var game_version: String = "1"
## The name players see, 1-64 characters.
@export var lobby_name: String = "My lobby"
## Capacity, counting the host if the host plays.
@export_range(1, 65535) var max_players: int = 4
## The port your game server listens on.
@export_range(1, 65535) var port: int = 7777
## The transport of your game server: [code]"enet"[/code] for [ENetMultiplayerPeer],
## [code]"ws"[/code] for [WebSocketMultiplayerPeer], or your own name.
@export var transport: String = "enet"
## The sidecar key the lobby is published under (created if missing). The invite code stays
## the same as long as the key is kept.
@export var key_name: String = DEFAULT_KEY_NAME
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
@export_range(0, 65535) var beacon_port: int = 0
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
var _rehosting: bool = false
var _connected_service: PkarrService = null


func _exit_tree() -> void:
	if _state != State.CLOSED:
		var pkarr := _get_service()
		_state = State.CLOSED
		_generation += 1
		if pkarr != null and pkarr.is_ready():
			# Not awaited: this node may be freed before the answer, the service is not.
			pkarr.call_method("lobby.close", {"key": key_name})
	_disconnect_service()


## The current [enum State].
func get_state() -> State:
	return _state


## [code]true[/code] while the lobby is published and kept fresh.
func is_open() -> bool:
	return _state == State.OPEN


## Players now, as last given to [method set_players].
func get_players() -> int:
	return _players


## [code]false[/code] after [code]set_joinable(false)[/code].
func is_joinable() -> bool:
	return _joinable


## Coroutine: publishes the lobby. The value is the published [PkarrLobby]; on failure
## [signal failed] is emitted too. Fails at once when already open or opening.
func open() -> PkarrResult:
	if _state != State.CLOSED:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "the lobby is already open")
	var problem := _check_settings()
	if problem != "":
		return _fail(PkarrResult.INVALID_ARGUMENT, problem)
	var pkarr := _get_service()
	if pkarr == null:
		return _fail(PkarrResult.NOT_CONNECTED,
				"no Pkarr service: enable the Pkarr plugin (autoload) or set service")
	_connect_service(pkarr)
	_state = State.OPENING
	_generation += 1
	var generation := _generation
	var connection: PkarrResult = await pkarr.wait_ready(pkarr.request_timeout)
	if generation != _generation:
		return PkarrResult.failure(PkarrResult.STOPPED, "closed while opening")
	if not connection.is_ok():
		_state = State.CLOSED
		return _fail(connection.error_code, connection.error_message)
	var key: PkarrResult = await pkarr.call_method("keys.generate", {"name": key_name})
	if generation != _generation:
		return PkarrResult.failure(PkarrResult.STOPPED, "closed while opening")
	if not key.is_ok() and key.error_code != "KEY_EXISTS":
		_state = State.CLOSED
		return _fail(key.error_code, key.error_message)
	var sent_players := _players
	var hosted: PkarrResult = await pkarr.call_method("lobby.host", _host_params())
	if generation != _generation:
		if hosted.is_ok():
			pkarr.call_method("lobby.close", {"key": key_name, "lingerSeconds": 0})
		return PkarrResult.failure(PkarrResult.STOPPED, "closed while opening")
	if not hosted.is_ok():
		_state = State.CLOSED
		return _fail(hosted.error_code, hosted.error_message)
	_take_hosted(PkarrJson.to_dict(hosted.value))
	_state = State.OPEN
	opened.emit(invite_code)
	if _players != sent_players or not _joinable:
		await _send_update({"players": _players, "open": _joinable})
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
	return await _send_update({"players": count})


## Coroutine: locks ([code]false[/code]) or reopens ([code]true[/code]) the lobby without
## closing it. Browsers drop a locked lobby (unless they show locked ones) and join by code
## refuses it, e.g. while a match runs.
func set_joinable(value: bool) -> PkarrResult:
	_joinable = value
	if _state != State.OPEN:
		return PkarrResult.success(lobby)
	return await _send_update({"open": value})


## Coroutine: publishes the current [member lobby_name], [member max_players],
## [member custom] and player count (change the properties first). Does nothing before
## [method open].
func update() -> PkarrResult:
	if _state != State.OPEN:
		return PkarrResult.success(lobby)
	if _players > max_players:
		return _fail(PkarrResult.INVALID_ARGUMENT,
				"max_players (%d) is below the player count (%d)" % [max_players, _players])
	return await _send_update({"players": _players, "maxPlayers": max_players,
			"name": lobby_name, "custom": _custom_strings()})


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
	var result := PkarrResult.success(true)
	var pkarr := _get_service()
	if was_open and pkarr != null:
		var params := {"key": key_name}
		if linger_seconds >= 0:
			params["lingerSeconds"] = linger_seconds
		result = await pkarr.call_method("lobby.close", params)
	if not result.is_ok():
		failed.emit("could not publish the closed lobby: %s" % result.error_message)
	closed.emit()
	return result


func _send_update(change: Dictionary) -> PkarrResult:
	var pkarr := _get_service()
	if pkarr == null:
		return _fail(PkarrResult.NOT_CONNECTED, "no Pkarr service")
	var params := change.duplicate()
	params["key"] = key_name
	var generation := _generation
	var result: PkarrResult = await pkarr.call_method("lobby.update", params)
	if generation != _generation:
		return PkarrResult.failure(PkarrResult.STOPPED, "closed meanwhile")
	if not result.is_ok():
		return _fail(result.error_code, result.error_message)
	_take_lobby(PkarrJson.to_dict(result.value).get("lobby"))
	updated.emit()
	return PkarrResult.success(lobby)


func _host_params() -> Dictionary:
	var params := {
		"key": key_name,
		"game": game_id,
		"gameVersion": game_version,
		"name": lobby_name,
		"maxPlayers": max_players,
		"players": _players,
		"port": port,
		"transport": transport,
		"public": browsable,
		"ttl": record_ttl,
		"custom": _custom_strings(),
	}
	if address != "":
		params["address"] = address
	else:
		params["nat"] = use_nat_traversal
		params["map"] = use_upnp
	if beacon_port > 0 and browsable:
		params["beaconPort"] = beacon_port
	return params


func _custom_strings() -> Dictionary:
	var strings := {}
	for key: Variant in custom:
		strings[str(key)] = str(custom[key])
	return strings


func _check_settings() -> String:
	if game_id.strip_edges() == "":
		return "game_id is empty"
	if key_name == "":
		return "key_name is empty"
	if _players > max_players:
		return "players (%d) exceed max_players (%d)" % [_players, max_players]
	return ""


func _take_hosted(data: Dictionary) -> void:
	public_key = PkarrJson.to_text(data.get("publicKey"))
	invite_code = PkarrJson.to_text(data.get("inviteCode"), "pk:" + public_key)
	_take_lobby(data.get("lobby"))


func _take_lobby(data: Variant) -> void:
	if data is Dictionary:
		lobby = PkarrLobby.from_dict(data)
		reach = lobby.reach
		var endpoint := lobby.get_endpoint(transport)
		external_address = endpoint.host if endpoint != null else ""


func _fail(code: String, message: String) -> PkarrResult:
	failed.emit(message)
	return PkarrResult.failure(code, message)


func _get_service() -> PkarrService:
	return PkarrService.find_for(self, service)


func _connect_service(pkarr: PkarrService) -> void:
	if _connected_service == pkarr:
		return
	_disconnect_service()
	pkarr.connected.connect(_on_service_connected)
	_connected_service = pkarr


func _disconnect_service() -> void:
	if _connected_service != null and is_instance_valid(_connected_service):
		if _connected_service.connected.is_connected(_on_service_connected):
			_connected_service.connected.disconnect(_on_service_connected)
	_connected_service = null


## After a reconnect: the sidecar may have restarted (and forgotten the lobby) or only the
## connection dropped (the lobby is still hosted, but updates may have been lost).
func _on_service_connected() -> void:
	if _state != State.OPEN or _rehosting:
		return
	var pkarr := _get_service()
	if pkarr == null:
		return
	_rehosting = true
	var generation := _generation
	var hosted: PkarrResult = await pkarr.call_method("lobby.hosted")
	var still_hosted := false
	if hosted.is_ok() and hosted.value is Array:
		for item: Variant in hosted.value:
			if PkarrJson.to_text(PkarrJson.to_dict(item).get("key")) == key_name:
				still_hosted = true
	if generation != _generation or not hosted.is_ok():
		_rehosting = false
		return
	if still_hosted:
		_rehosting = false
		await _send_update({"players": _players, "open": _joinable})
		return
	var params := _host_params()
	var result: PkarrResult = await pkarr.call_method("lobby.host", params)
	_rehosting = false
	if generation != _generation:
		return
	if not result.is_ok():
		failed.emit("could not open the lobby again after a sidecar restart: %s"
				% result.error_message)
		return
	_take_hosted(PkarrJson.to_dict(result.value))
	if not _joinable:
		await _send_update({"open": false})
		return
	updated.emit()
