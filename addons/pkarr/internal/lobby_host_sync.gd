@tool
extends RefCounted
## Keeps what a [PkarrLobbyHost] published in step with the sidecar.
##
## Sends the host's changes ([code]lobby.update[/code]), takes the sidecar's answers into the
## host's properties ([member PkarrLobbyHost.public_key], [member PkarrLobbyHost.invite_code],
## [member PkarrLobbyHost.lobby], ...) and watches the service: after a reconnect it asks the
## sidecar whether it still hosts the lobby and, if the sidecar restarted and forgot it, opens
## the lobby again. Internal to [PkarrLobbyHost] (one per host, preloaded, no global class);
## games use the host's methods and signals.

## The service whose [signal PkarrService.connected] is watched; [code]null[/code] when none.
var service: PkarrService = null

var _host: PkarrLobbyHost
var _rehosting: bool = false


## Serves [param host] for its whole life.
func _init(host: PkarrLobbyHost) -> void:
	_host = host


## Coroutine: the steps of [method PkarrLobbyHost.open] on the sidecar: waits for
## [param pkarr] and hosts the lobby in one call ([code]lobby.host[/code] creates the key when
## missing and opens it locked when the host is not joinable), then takes the answer. The
## value is the [code]lobby.host[/code] parameters sent (the record's player count and
## [code]open[/code]). When the host's lobby was closed
## meanwhile it stops (a lobby hosted already is closed again) and the host ignores the value.
func publish(pkarr: PkarrService) -> PkarrResult:
	var generation := _host._generation
	var connection: PkarrResult = await pkarr.wait_ready(pkarr.request_timeout)
	if not connection.is_ok() or not _is_current(generation):
		return connection
	var params := PkarrLobbyConfig.host_params(_host)
	# Opening may map a port and publish to the DHT: more than an ordinary call may take.
	var hosted: PkarrResult = await pkarr.call_method("lobby.host", params,
			maxf(pkarr.request_timeout, PkarrLobbyHost.OPEN_TIMEOUT_SEC))
	if not _is_current(generation):
		if hosted.is_ok():
			pkarr.call_method("lobby.close", {"key": params["key"], "lingerSeconds": 0})
		return hosted
	if not hosted.is_ok():
		return hosted
	take_hosted(PkarrJson.to_dict(hosted.value))
	return PkarrResult.success(params)


## Coroutine: publishes [param change] ([code]lobby.update[/code] parameters without the key)
## and takes the answer. The value is the published [PkarrLobby]; on failure the host emits
## [signal PkarrLobbyHost.failed], on success [signal PkarrLobbyHost.updated]. Fails with
## [constant PkarrResult.STOPPED] (and no signal) when the lobby was closed meanwhile.
func send_update(change: Dictionary) -> PkarrResult:
	var pkarr := PkarrService.find_for(_host, _host.service)
	if pkarr == null:
		return _host._fail(PkarrResult.NOT_CONNECTED, "no Pkarr service")
	var params := change.duplicate()
	params["key"] = _host.key_name
	var generation := _host._generation
	var result: PkarrResult = await pkarr.call_method("lobby.update", params)
	if not _is_current(generation):
		return PkarrResult.failure(PkarrResult.STOPPED, "closed meanwhile")
	if not result.is_ok():
		return _host._fail(result.error_code, result.error_message, result.error_data)
	take_lobby(PkarrJson.to_dict(result.value).get("lobby"))
	_host.updated.emit()
	return PkarrResult.success(_host.lobby)


## Coroutine: publishes the closed record through [param pkarr]; the beacon keeps serving it
## for [param linger_seconds] (the sidecar's default when negative).
func publish_closed(pkarr: PkarrService, linger_seconds: int) -> PkarrResult:
	var params := {"key": _host.key_name}
	if linger_seconds >= 0:
		params["lingerSeconds"] = linger_seconds
	return await pkarr.call_method("lobby.close", params)


## Publishes the closed record without waiting for the answer, through the host's service or,
## when the host finds none (e.g. out of the tree), the watched one; only when it is ready.
func close_now() -> void:
	var pkarr := PkarrService.find_for(_host, _host.service)
	if pkarr == null and is_instance_valid(service):
		pkarr = service
	if pkarr != null and pkarr.is_ready():
		# Not awaited: the host may be freed before the answer, the service is not.
		pkarr.call_method("lobby.close", {"key": _host.key_name})


## Takes the answer of [code]lobby.host[/code] ([param data]): key, invite codes and record.
func take_hosted(data: Dictionary) -> void:
	_host.public_key = PkarrJson.to_text(data.get("publicKey"))
	_host.invite_code = PkarrJson.to_text(data.get("inviteCode"), "pk:" + _host.public_key)
	_host.short_code = PkarrJson.to_text(data.get("shortCode"))
	take_lobby(data.get("lobby"))


## Takes a published record ([param data], a [PkarrLobby] as a Dictionary); anything else is
## ignored and the host keeps the record it has.
func take_lobby(data: Variant) -> void:
	if data is Dictionary:
		var lobby := PkarrLobby.from_dict(data)
		_host.lobby = lobby
		_host.reach = lobby.reach
		var endpoint := lobby.get_endpoint(_host.transport)
		_host.external_address = endpoint.host if endpoint != null else ""


## Watches [param pkarr]'s reconnects (and no other service's).
func watch(pkarr: PkarrService) -> void:
	if service == pkarr:
		return
	unwatch()
	pkarr.connected.connect(_on_service_connected)
	service = pkarr


## Stops watching [member service].
func unwatch() -> void:
	if service != null and is_instance_valid(service):
		if service.connected.is_connected(_on_service_connected):
			service.connected.disconnect(_on_service_connected)
	service = null


# After a reconnect: the sidecar may have restarted (and forgotten the lobby) or only the
# connection dropped (the lobby is still hosted, but updates may have been lost).
func _on_service_connected() -> void:
	if not _host.is_open() or _rehosting:
		return
	var pkarr := PkarrService.find_for(_host, _host.service)
	if pkarr == null:
		return
	_rehosting = true
	var generation := _host._generation
	var hosted: PkarrResult = await pkarr.call_method("lobby.hosted")
	if not _is_current(generation) or not hosted.is_ok():
		_rehosting = false
		return
	if _lists_key(hosted.value, _host.key_name):
		_rehosting = false
		await send_update({"players": _host.get_players(), "open": _host.is_joinable()})
		return
	var result: PkarrResult = await pkarr.call_method("lobby.host",
			PkarrLobbyConfig.host_params(_host))
	_rehosting = false
	if not _is_current(generation):
		return
	if not result.is_ok():
		_host.failed.emit(PkarrResult.failure(result.error_code,
				"could not open the lobby again after a sidecar restart: %s"
				% result.error_message, result.error_data))
		return
	take_hosted(PkarrJson.to_dict(result.value))  # opened locked if the host is not joinable
	_host.updated.emit()


# Whether the answer of lobby.hosted ([param hosted]) lists [param key_name].
static func _lists_key(hosted: Variant, key_name: String) -> bool:
	if hosted is Array:
		for item: Variant in hosted:
			if PkarrJson.to_text(PkarrJson.to_dict(item).get("key")) == key_name:
				return true
	return false


# Whether the host still exists and its lobby was not closed since [param generation].
func _is_current(generation: int) -> bool:
	return is_instance_valid(_host) and generation == _host._generation
