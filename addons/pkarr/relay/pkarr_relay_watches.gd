class_name PkarrRelayWatches
extends RefCounted
## [code]lobby.watch[/code] / [code]lobby.refresh[/code] / [code]lobby.unwatch[/code] for the relay
## backend, so [PkarrLobbyBrowser] works unchanged: a watch re-runs [code]lobby.browse[/code]
## ([PkarrRelayLobbies]) right away and every [code]intervalSeconds[/code] (at least
## [constant MIN_INTERVAL_SECONDS]) and reports the differences as the sidecar's notifications
## (docs/rpc.md): [code]lobby.lost {watchId, publicKey, reason}[/code] first, then
## [code]lobby.found[/code] / [code]lobby.updated {watchId, lobby, index}[/code] in list order
## ([code]index[/code]: where the lobby now stands), then [code]lobby.refreshed {watchId, count,
## stats}[/code]. A lobby counts as updated when anything but its age, source or signing time
## changed, or when it moved in the list (as the node rebuilds it). At most [constant MAX_WATCHES] watches.

## Shortest refresh interval, seconds (the sidecar's).
const MIN_INTERVAL_SECONDS := 5
## Watches at a time (the sidecar's per-connection limit).
const MAX_WATCHES := 32

var _backend: PkarrRelayBackend = null
var _watches: Dictionary = {}
var _next_id: int = 0


func _init(backend: PkarrRelayBackend) -> void:
	_backend = backend


## Coroutine: answers [code]lobby.watch[/code], [code]lobby.refresh[/code] or [code]lobby.unwatch[/code].
func request(method: String, params: Dictionary) -> PkarrResult:
	match method:
		"lobby.watch":
			return watch(params)
		"lobby.refresh":
			var id := str(params.get("watchId", ""))
			if not _watches.has(id):
				return PkarrResult.invalid_params("watchId", "no watch %s" % id)
			return await refresh(id)
		"lobby.unwatch":
			var removed := _watches.erase(str(params.get("watchId", "")))
			return PkarrResult.success({"removed": removed})
	return PkarrResult.failure(PkarrResult.METHOD_NOT_FOUND, "unknown method %s" % method)


## Starts a watch of the browse [param params]; [code]{watchId, intervalSeconds}[/code]. The
## first refresh starts right after this answer.
func watch(params: Dictionary) -> PkarrResult:
	if _watches.size() >= MAX_WATCHES:
		return PkarrResult.failure("INVALID_ARGUMENT", "at most %d watches at a time" % MAX_WATCHES)
	var interval := int(params.get("intervalSeconds", 15))
	if interval < MIN_INTERVAL_SECONDS:
		return PkarrResult.invalid_params("intervalSeconds", "intervalSeconds must be at least %d"
				% MIN_INTERVAL_SECONDS)
	var browse := params.duplicate(true)
	browse.erase("intervalSeconds")
	var problem := PkarrRelayLobbyFilters.problem(browse.get("filters"))
	if problem != "":
		return PkarrResult.invalid_params("filters", problem)
	_next_id += 1
	var id := "relay-watch-%d" % _next_id
	_watches[id] = {"params": browse, "interval": interval, "due_msec": 0, "listed": {}, "order": [],
			"running": false}
	refresh.call_deferred(id)
	return PkarrResult.success({"watchId": id, "intervalSeconds": interval})


## Coroutine: runs the watches whose time has come (the backend calls it every frame).
func poll() -> void:
	var now := Time.get_ticks_msec()
	for id: String in _watches.keys():
		var entry: Dictionary = _watches[id]
		if not entry["running"] and entry["due_msec"] > 0 and now >= int(entry["due_msec"]):
			refresh(id)


## Coroutine: browses for watch [param id] now and notifies the differences;
## [code]{count, stats}[/code].
func refresh(id: String) -> PkarrResult:
	if not _watches.has(id):
		return PkarrResult.invalid_params("watchId", "no watch %s" % id)
	var entry: Dictionary = _watches[id]
	while entry["running"]:
		await _backend.get_tree().process_frame
	entry["running"] = true
	var browsed := await _backend.lobbies.browse(entry["params"])
	entry["running"] = false
	entry["due_msec"] = Time.get_ticks_msec() + int(entry["interval"]) * 1000
	if not _watches.has(id):
		return PkarrResult.invalid_params("watchId", "watch %s ended" % id)
	if not browsed.is_ok():
		return browsed
	var lobbies: Array = browsed.value["lobbies"]
	var listed: Dictionary = entry["listed"]
	var order: Array = entry["order"]
	var now_keys := lobbies.map(func(l: Dictionary) -> String: return l["publicKey"])
	for key: String in order.duplicate():
		if not now_keys.has(key):
			var lost: Dictionary = listed[key]
			listed.erase(key)
			order.erase(key)
			_notify("lobby.lost", {"watchId": id, "publicKey": key,
					"reason": "closed" if not bool(lost.get("open", true)) else "gone"})
	# The list the browser node holds, rebuilt with the same steps it applies (place at index).
	for index: int in lobbies.size():
		var lobby: Dictionary = lobbies[index]
		var key: String = lobby["publicKey"]
		if not listed.has(key):
			_notify("lobby.found", {"watchId": id, "lobby": lobby, "index": index})
			order.insert(mini(index, order.size()), key)
		elif _content(listed[key]) != _content(lobby) or order.find(key) != index:
			_notify("lobby.updated", {"watchId": id, "lobby": lobby, "index": index})
			order.erase(key)
			order.insert(mini(index, order.size()), key)
		listed[key] = lobby
	entry["order"] = now_keys
	_notify("lobby.refreshed", {"watchId": id, "count": lobbies.size(), "stats": browsed.value["stats"]})
	return PkarrResult.success({"count": lobbies.size(), "stats": browsed.value["stats"]})


func _notify(method: String, params: Dictionary) -> void:
	_backend.notification_received.emit(method, params)


static func _content(lobby: Dictionary) -> String:
	var copy := lobby.duplicate(true)
	for volatile: String in ["ageSeconds", "source", "timestamp", "rttMs"]:
		copy.erase(volatile)
	return JSON.stringify(copy, "", true)
