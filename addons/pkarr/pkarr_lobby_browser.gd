@tool
@icon("res://addons/pkarr/icons/lobby_browser.svg")
class_name PkarrLobbyBrowser
extends Node
## Lists the open lobbies of your game live: found, updated and lost as hosts come and go.
##
## Set [code]pkarr/lobby/game_id[/code] and [code]pkarr/lobby/game_version[/code] in the
## Project Settings (or [member game_id] and [member game_version], the same as the hosts'),
## add the node to the tree, and listen to its signals. With [member autostart] it starts as
## soon as it is in the tree and a game id is known. It asks the sidecar to watch the game's lobbies
## ([code]lobby.watch[/code]): the sidecar looks up the hosts announced on the DHT topic of the
## game and version, fetches each signed record from the host's beacon, verifies it, and
## refreshes every [member refresh_interval] seconds. [member known_keys] (friends' invite
## codes) are resolved too.
## [codeblock]
## @onready var browser: PkarrLobbyBrowser = $PkarrLobbyBrowser
##
## func _ready() -> void:
##     browser.lobby_found.connect(func(lobby: PkarrLobby) -> void: print("found ", lobby))
##     browser.lobby_lost.connect(func(key: String, reason: String) -> void: print("lost ", key))
## [/codeblock]
## Filters are applied by the sidecar; after changing them call [method restart]. The sidecar
## also decides what changed and the order: the node applies its events as they come. If the
## connection to the sidecar is lost, the node watches again once it is back and, after the new
## watch's first refresh, reports the lobbies that vanished meanwhile as lost. Each
## [PkarrLobby] says how far its host is ([member PkarrLobby.rtt_ms]), whether it is on the LAN
## ([method PkarrLobby.is_lan]) and how it can be reached ([member PkarrLobby.reach]).
## Needs the [code]Pkarr[/code] autoload (or [member service]).

## Emitted when a lobby becomes visible (new, or passing the filters again).
signal lobby_found(lobby: PkarrLobby)
## Emitted when a visible lobby's content changed (players, name, capacity, endpoints, custom
## data; not when the host only re-signed it).
signal lobby_updated(lobby: PkarrLobby)
## Emitted when a lobby is no longer visible; [param reason] is [code]closed[/code],
## [code]expired[/code], [code]gone[/code] (host unreachable) or [code]filtered[/code] (also
## [method get_lost_reason]).
signal lobby_lost(public_key: String, reason: String)
## Emitted after each refresh (periodic or [method refresh]); [param count] lobbies are visible.
## The lobbies' [member PkarrLobby.rtt_ms] may have changed (they are updated in place): a list
## showing round trips redraws here.
signal refreshed(count: int)
## Emitted when watching or refreshing failed; [member PkarrResult.error_message] says why.
signal failed(result: PkarrResult)

## Shortest [member refresh_interval] the sidecar accepts, in seconds.
const MIN_REFRESH_INTERVAL := 5

## The game id to browse (the hosts' [member PkarrLobbyHost.game_id]). Empty: the project
## setting [code]pkarr/lobby/game_id[/code].
@export var game_id: String = "":
	set(value):
		game_id = value
		update_configuration_warnings()
		_autostart_when_configured()
## The game version to browse; lobbies of other versions are never listed. Empty: the project
## setting [code]pkarr/lobby/game_version[/code].
@export var game_version: String = ""
## Hide full lobbies.
@export var not_full: bool = false
## Hide locked lobbies ([code]PkarrLobbyHost.set_joinable(false)[/code]).
@export var open_only: bool = true
## Only lobbies whose custom data has these values, e.g. [code]{"mode": "ctf"}[/code].
@export var custom_filters: Dictionary = {}
## Seconds between two refreshes of the list (at least [constant MIN_REFRESH_INTERVAL]).
@export_range(5, 3600, 1, "suffix:s") var refresh_interval: int = 15:
	set(value):
		refresh_interval = value
		update_configuration_warnings()
## Invite codes or public keys to resolve on every refresh (friends, bookmarks), in addition
## to the public list.
@export var known_keys: PackedStringArray = PackedStringArray():
	set(value):
		known_keys = value
		update_configuration_warnings()
## Browse the public list of the game ([code]false[/code]: only [member known_keys]).
@export var browse_topic: bool = true:
	set(value):
		browse_topic = value
		update_configuration_warnings()
## Start watching when the node is in the tree and a game id is known (set later, it starts
## then).
@export var autostart: bool = true

## The [PkarrService] to use; [code]null[/code] uses the [code]Pkarr[/code] autoload.
var service: PkarrService = null

const _LobbyList := preload("internal/lobby_list.gd")

# The visible lobbies, in the sidecar's order (most players first).
var _list: _LobbyList = _LobbyList.new()
# After a reconnection: the new watch's lobbies, gathered until its first refresh ends.
var _next: _LobbyList = null
# Short codes resolved by find_lobby (canonical, PkarrShortCode.parse) -> host key.
var _short_codes: Dictionary = {}
var _lost_reasons: Dictionary = {}
var _active: bool = false
var _watch_id: String = ""
var _watching: bool = false
var _early: Array[Array] = []
var _generation: int = 0
var _connected_service: PkarrService = null


func _ready() -> void:
	_autostart_when_configured()


func _exit_tree() -> void:
	if not Engine.is_editor_hint():
		stop()


## The game id in use: [member game_id], or the project setting when it is empty.
func get_game_id() -> String:
	return PkarrSettings.game_id_or_default(game_id)


## The game version in use: [member game_version], or the project setting when it is empty.
func get_game_version() -> String:
	return PkarrSettings.game_version_or_default(game_version)


## The editor's warnings for this node (also callable at run time).
func _get_configuration_warnings() -> PackedStringArray:
	return PkarrLobbyConfig.browser_warnings(self)


## Starts watching (again); does nothing when already started. Waits for the sidecar
## connection if it is not ready yet.
func start() -> void:
	if _active:
		return
	var pkarr := _get_service()
	if pkarr == null:
		failed.emit(PkarrResult.failure(PkarrResult.NOT_CONNECTED,
				"no Pkarr service: enable the Pkarr plugin (autoload) or set service"))
		return
	var game_problem := PkarrSettings.game_id_problem(get_game_id())
	if game_problem != "":
		failed.emit(PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, game_problem))
		return
	_active = true
	_connect_service(pkarr)
	if pkarr.is_ready():
		_watch(false)


## Stops watching and forgets the lobbies (without emitting [signal lobby_lost]).
func stop() -> void:
	_active = false
	_generation += 1
	var pkarr := _get_service()
	if _watch_id != "" and pkarr != null and pkarr.is_ready():
		# Not awaited: the node may be leaving the tree; the service outlives it.
		pkarr.call_method("lobby.unwatch", {"watchId": _watch_id})
	_watch_id = ""
	_watching = false
	_early.clear()
	_list = _LobbyList.new()
	_next = null
	_disconnect_service()


## Stops and starts again, e.g. after changing the filters.
func restart() -> void:
	stop()
	start()


## [code]true[/code] while the sidecar watches for this node.
func is_watching() -> bool:
	return _watch_id != ""


## The visible lobbies: most players first, then by name (the sidecar's order).
func get_lobbies() -> Array[PkarrLobby]:
	return _list.lobbies()


## The visible lobby of [param code], or [code]null[/code]: its public key or long invite code
## in any form ([code]pk:…[/code], a link), or its short code ([code]K7M4Q-X9PT2[/code], typed
## any way a player may) once this node has resolved it ([method find_lobby]: a short code leads
## to its host's key only through the network).
func get_lobby(code: String) -> PkarrLobby:
	var short := PkarrShortCode.parse(code)
	if short != "":
		return _list.get_lobby(_short_codes.get(short, ""))
	var text := code.strip_edges()
	var key := PkarrZ32.parse_public_key(text)
	return _list.get_lobby(key.value["z32"] if key.is_ok() else text.trim_prefix("pk:"))


## Coroutine: the lobby of [param code] (a public key, a long or a short invite code): the
## listed one ([method get_lobby]) when there is one, else the one the code leads to, looked up
## like [method PkarrService.get_lobby] (for this node's game and version; failures carry its
## codes, e.g. [constant PkarrResult.NO_LOBBY]). A short code is resolved once; then
## [method get_lobby] knows it too. The value is a [PkarrLobby].
func find_lobby(code: String) -> PkarrResult:
	var listed := get_lobby(code)
	if listed != null:
		return PkarrResult.success(listed)
	var pkarr := _get_service()
	if pkarr == null:
		return PkarrResult.failure(PkarrResult.NOT_CONNECTED, "no Pkarr service")
	var found: PkarrResult = await pkarr.get_lobby(code, get_game_id(), get_game_version())
	if not found.is_ok():
		return found
	var lobby: PkarrLobby = found.value
	var short := PkarrShortCode.parse(code)
	if short != "":
		_short_codes[short] = lobby.public_key
	var now_listed := _list.get_lobby(lobby.public_key)
	return PkarrResult.success(now_listed if now_listed != null else lobby)


## Why [param public_key] was last reported lost: [code]closed[/code], [code]expired[/code],
## [code]gone[/code] or [code]filtered[/code] (empty if it never was).
func get_lost_reason(public_key: String) -> String:
	return _lost_reasons.get(public_key, "")


## Coroutine: refreshes the list now (the watch's, or a one-off browse when not watching):
## signals fire for every change. The value is [method get_lobbies].
func refresh() -> PkarrResult:
	var pkarr := _get_service()
	if pkarr == null:
		return PkarrResult.failure(PkarrResult.NOT_CONNECTED, "no Pkarr service")
	var game_problem := PkarrSettings.game_id_problem(get_game_id())
	if game_problem != "":
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, game_problem)
	var generation := _generation
	if _watch_id != "":
		# The changes come as the watch's notifications, before this answer.
		var refreshed_watch: PkarrResult = await pkarr.call_method("lobby.refresh",
				{"watchId": _watch_id})
		if not refreshed_watch.is_ok():
			failed.emit(refreshed_watch)
			return refreshed_watch
		return PkarrResult.success(get_lobbies())
	var result: PkarrResult = await pkarr.call_method("lobby.browse",
			PkarrLobbyConfig.browse_params(self))
	if not result.is_ok():
		failed.emit(result)
		return result
	if generation == _generation and _watch_id == "":
		# Not watching: the sidecar kept nothing to compare with, so the node sets the list it
		# holds against the new one.
		var listed := _LobbyList.new()
		listed.read(PkarrJson.to_dict(result.value).get("lobbies"))
		_replace_list(listed)
		refreshed.emit(_list.size())
	return PkarrResult.success(get_lobbies())


func _watch(reconcile: bool) -> void:
	var pkarr := _get_service()
	if _watching or _watch_id != "" or pkarr == null:
		return
	_watching = true
	var generation := _generation
	if reconcile:
		_next = _LobbyList.new()
	var params := PkarrLobbyConfig.browse_params(self)
	params["intervalSeconds"] = maxi(refresh_interval, MIN_REFRESH_INTERVAL)
	var result: PkarrResult = await pkarr.call_method("lobby.watch", params)
	if generation != _generation:
		if result.is_ok() and pkarr.is_ready():
			pkarr.call_method("lobby.unwatch", {"watchId": PkarrJson.to_text(
					PkarrJson.to_dict(result.value).get("watchId"))})
		return
	_watching = false
	if not result.is_ok():
		_early.clear()
		_next = null
		failed.emit(PkarrResult.failure(result.error_code,
				"could not watch the lobbies: %s" % result.error_message, result.error_data))
		return
	_watch_id = PkarrJson.to_text(PkarrJson.to_dict(result.value).get("watchId"))
	var early := _early
	_early = []
	for queued: Array in early:
		_on_notification(queued[0], queued[1])


func _on_notification(method: String, params: Variant) -> void:
	if not method.begins_with("lobby."):
		return
	var data := PkarrJson.to_dict(params)
	var watch_id := PkarrJson.to_text(data.get("watchId"))
	if watch_id == "" or watch_id != _watch_id:
		if _watching and watch_id != "":
			_early.append([method, params])
		return
	# The sidecar compared and sorted: found/updated say where the lobby now stands (index).
	match method:
		"lobby.found", "lobby.updated":
			var lobby_data: Variant = data.get("lobby")
			if not lobby_data is Dictionary:
				return
			var lobby := PkarrLobby.from_dict(lobby_data)
			if lobby.public_key == "":
				return
			var index := PkarrJson.to_int(data.get("index"), -1)
			if _next != null:
				_next.place(lobby, index)
			elif _list.place(lobby, index):
				lobby_updated.emit(lobby)
			else:
				lobby_found.emit(lobby)
		"lobby.lost":
			var key := PkarrJson.to_text(data.get("publicKey"))
			if _next != null:
				_next.remove(key)
			else:
				_remove(key, PkarrJson.to_text(data.get("reason"), "gone"))
		"lobby.refreshed":
			# Round-trip times that changed, updated in place (not worth a lobby_updated each).
			var rtts := PkarrJson.to_dict(data.get("rtts"))
			_list.set_rtts(rtts)
			if _next != null:
				_next.set_rtts(rtts)
				var rebuilt := _next
				_next = null
				_replace_list(rebuilt)
			refreshed.emit(_list.size())


# Sets the list the node holds against a whole new one (a one-off browse, or a new watch after a
# reconnection: the sidecar had nothing to compare with). Signals fire once the list is in place.
func _replace_list(next: _LobbyList) -> void:
	var changes := _list.changes_to(next)
	_list = next
	for lobby: PkarrLobby in changes["found"]:
		lobby_found.emit(lobby)
	for lobby: PkarrLobby in changes["updated"]:
		lobby_updated.emit(lobby)
	for key: String in changes["lost"]:
		_lost_reasons[key] = "gone"
		lobby_lost.emit(key, "gone")


func _remove(public_key: String, reason: String) -> void:
	if _list.remove(public_key):
		_lost_reasons[public_key] = reason
		lobby_lost.emit(public_key, reason)


func _autostart_when_configured() -> void:
	if not autostart or _active or Engine.is_editor_hint() or not is_inside_tree():
		return
	if PkarrSettings.game_id_problem(get_game_id()) != "":
		return  # not configured yet: setting game_id starts it
	start()


func _get_service() -> PkarrService:
	return PkarrService.find_for(self, service)


func _connect_service(pkarr: PkarrService) -> void:
	if _connected_service == pkarr:
		return
	_disconnect_service()
	pkarr.connected.connect(_on_service_connected)
	pkarr.disconnected.connect(_on_service_disconnected)
	pkarr.notification_received.connect(_on_notification)
	_connected_service = pkarr


func _disconnect_service() -> void:
	var pkarr := _connected_service
	_connected_service = null
	if pkarr == null or not is_instance_valid(pkarr):
		return
	if pkarr.connected.is_connected(_on_service_connected):
		pkarr.connected.disconnect(_on_service_connected)
	if pkarr.disconnected.is_connected(_on_service_disconnected):
		pkarr.disconnected.disconnect(_on_service_disconnected)
	if pkarr.notification_received.is_connected(_on_notification):
		pkarr.notification_received.disconnect(_on_notification)


func _on_service_connected() -> void:
	if _active:
		_watch(_list.size() > 0)


func _on_service_disconnected() -> void:
	# The sidecar ends a connection's watches with it.
	_watch_id = ""
	_watching = false
	_early.clear()
	_next = null
	_generation += 1
