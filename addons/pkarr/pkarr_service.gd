@tool
class_name PkarrService
extends Node
## Publishes and resolves Pkarr records through the sidecar; the [code]Pkarr[/code] autoload.
##
## On desktop it starts the sidecar (see [PkarrSidecarLocator]) when the game starts, connects
## to it and keeps it alive: if the sidecar dies, pending calls fail with a clear error, it is
## restarted with exponential back-off (1 s, 2 s, 4 s … at most 30 s) and the records it was
## keeping alive are published again. Web exports connect to
## [code]pkarr/sidecar/web_url[/code] when it is set; without it, and on Android and iOS (or with
## [code]pkarr/backend = relay[/code]), the same calls are answered in GDScript over pkarr HTTP
## relays by [PkarrRelayBackend] (what needs a sidecar then fails with
## [code]NEEDS_SIDECAR[/code]). Every call is a coroutine returning a [PkarrResult]:
## [codeblock]
## var key: PkarrResult = await Pkarr.generate_key("host")
## var published: PkarrResult = await Pkarr.publish([PkarrRecord.txt("_lobby", "v=1")], "host")
## var found: PkarrResult = await Pkarr.resolve(key.value.public_key)
## if found.is_ok():
##     print(found.value.get_txt("_lobby"))
## [/codeblock]
## The connection itself is a [PkarrConnection] child. In the editor nothing starts by itself
## (the dock runs its own instance).

## Emitted when the connection to the sidecar is ready for calls (also after a reconnect).
signal connected
## Emitted when a ready connection was lost (the sidecar died, closed it, or [method stop]).
signal disconnected
## Emitted when the service gives up: no sidecar found, or it kept failing after
## [member retry_limit] attempts. [param reason] explains why.
signal sidecar_failed(reason: String)
## Emitted when a record set was published again: by the sidecar's periodic republish, or
## by this service after the sidecar was restarted.
signal record_republished(public_key: String)
## Emitted when the sidecar's DHT node finished bootstrapping ([param nodes] nodes answered):
## lobbies can now learn the public address and be announced. The sidecar sends it once per
## start (and to each new connection while the DHT is ready).
signal dht_ready(nodes: int)
## Emitted when the sidecar could not republish the records of [param public_key]; [param reason]
## says why. It keeps trying at the next interval.
signal republish_failed(public_key: String, reason: String)
## Emitted for every notification from the sidecar (for extensions such as lobbies).
signal notification_received(method: String, params: Variant)
## Emitted whenever [member state] changes.
signal state_changed(new_state: PkarrConnection.State)

## Key names the sidecar accepts.
const KEY_NAME_PATTERN := "^[A-Za-z0-9_.-]{1,64}$"

## Start by itself in [method Node._ready] (also needs [code]pkarr/sidecar/autostart[/code]).
## Set it before adding the node to the tree.
var autostart: bool = true
## Consecutive failed attempts after which the service gives up and emits
## [signal sidecar_failed].
var retry_limit: int:
	get:
		return _connection.retry_limit
	set(value):
		_connection.retry_limit = value
## Seconds a call may take ([code]pkarr/requests/timeout_seconds[/code] by default).
var request_timeout: float:
	get:
		return _connection.request_timeout
	set(value):
		_connection.request_timeout = value
## The current [enum PkarrConnection.State] (read-only).
var state: PkarrConnection.State:
	get:
		return _connection.state
	set(_value):
		push_error("PkarrService.state is read-only")
## Why the last connection or start attempt failed (read-only; empty while connected).
var last_error: String:
	get:
		return _connection.last_error
	set(_value):
		push_error("PkarrService.last_error is read-only")

var _connection: PkarrConnection = null
var _kept: Dictionary = {}
var _has_connected: bool = false
var _key_name_regex: RegEx = RegEx.create_from_string(KEY_NAME_PATTERN)


## The service [param node] should talk to: [param preferred] when it is set and still valid,
## otherwise the [code]Pkarr[/code] autoload of [param node]'s scene tree ([code]null[/code] while
## [param node] is outside a tree). Used by [PkarrLobbyHost] and [PkarrLobbyBrowser].
## [param preferred] is a [Variant] on purpose: a freed service cannot be passed as a typed argument.
static func find_for(node: Node, preferred: Variant) -> PkarrService:
	if is_instance_valid(preferred) and preferred is PkarrService:
		return preferred
	if node.is_inside_tree():
		return node.get_node_or_null(^"/root/Pkarr") as PkarrService
	return null


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS
	# Where no sidecar can run (or on request: pkarr/backend), a stand-in answering over relays
	# (never in the editor: the dock drives a sidecar).
	var relay := not Engine.is_editor_hint() and PkarrRelayBackend.choose() == "relay"
	_connection = PkarrRelayBackend.new() if relay else PkarrConnection.new()
	_connection.name = "Connection"
	_connection.connected.connect(_on_connected)
	_connection.disconnected.connect(disconnected.emit)
	_connection.failed.connect(sidecar_failed.emit)
	_connection.notification_received.connect(_on_notification)
	_connection.state_changed.connect(state_changed.emit)
	add_child(_connection)


func _ready() -> void:
	request_timeout = float(PkarrSettings.get_value(PkarrSettings.REQUEST_TIMEOUT))
	if Engine.is_editor_hint():
		return
	if autostart and bool(PkarrSettings.get_value(PkarrSettings.SIDECAR_AUTOSTART)):
		start()


func _notification(what: int) -> void:
	if what == NOTIFICATION_WM_CLOSE_REQUEST or what == NOTIFICATION_PREDELETE:
		# Before the children go: the connection still sends the sidecar its shutdown.
		if is_instance_valid(_connection):
			_connection.stop()


## Starts the service as configured: spawns the sidecar on desktop, or connects to
## [code]pkarr/sidecar/web_url[/code] on the web. Does nothing if already started.
func start() -> void:
	if state == PkarrConnection.State.IDLE or state == PkarrConnection.State.FAILED:
		_has_connected = false
	_connection.start()


## Coroutine: attaches to an already-running sidecar at [param url]
## ([code]ws://127.0.0.1:<port>/[/code]) with [param token], replacing any current
## connection (a sidecar this service spawned is stopped). Returns the outcome of the first
## attempt; after a later disconnect the service reconnects with back-off.
func connect_to(url: String, token: String) -> PkarrResult:
	_has_connected = false
	return await _connection.attach(url, token).wait()


## Stops the service: fails pending calls with [constant PkarrResult.STOPPED], asks a spawned
## sidecar to shut down (killing it after a short grace period) and closes the connection.
func stop() -> void:
	_connection.stop()


## [code]true[/code] when calls can be sent now.
func is_ready() -> bool:
	return _connection.is_ready()


## Coroutine: waits until the service is ready, at most [param timeout] seconds. Succeeds at
## once when it already is; fails when it gives up, is stopped, or the time runs out.
func wait_ready(timeout: float = 10.0) -> PkarrResult:
	return await _connection.wait_ready(timeout)


## Coroutine: calls any sidecar method by name (for methods without a helper here). The value
## is the JSON-RPC result as parsed (numbers are floats). A negative [param timeout] uses
## [member request_timeout].
func call_method(method: String, params: Dictionary = {}, timeout: float = -1.0) -> PkarrResult:
	return await _connection.request(method, params, timeout)


## Coroutine: signs [param records] (an Array of [PkarrRecord] or record Dictionaries) with the
## key named [param key_name] and publishes them. With [param keep_alive] the sidecar keeps
## republishing them, and this service publishes them again after a sidecar restart.
## The value is a [PkarrPublished].
func publish(records: Array, key_name: String, keep_alive: bool = true) -> PkarrResult:
	var wire: Array = []
	for record: Variant in records:
		if record is PkarrRecord:
			wire.append((record as PkarrRecord).to_dict())
		elif record is Dictionary:
			wire.append(record)
		else:
			return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
					"records must be PkarrRecord objects or Dictionaries, got %s"
					% type_string(typeof(record)))
	var result: PkarrResult = await call_method("publish",
			{"key": key_name, "records": wire, "republish": keep_alive})
	if not result.is_ok():
		return result
	var published := PkarrPublished.from_dict(PkarrJson.to_dict(result.value))
	if keep_alive:
		_kept[key_name] = {"records": wire, "public_key": published.public_key}
	else:
		_kept.erase(key_name)
	return PkarrResult.success(published)


## Coroutine: finds the records of [param public_key] (z-base-32, [code]pk:[/code] URI or any
## form the sidecar accepts). [param policy] is [code]CacheFirst[/code],
## [code]CacheOnly[/code] or [code]NetworkOnly[/code]. The value is a [PkarrResolved]; when
## nothing is found the result fails with [code]NOT_FOUND[/code].
func resolve(public_key: String, policy: String = "CacheFirst") -> PkarrResult:
	var result: PkarrResult = await call_method("resolve",
			{"publicKey": public_key, "policy": policy})
	if not result.is_ok():
		return result
	var data := PkarrJson.to_dict(result.value)
	if not PkarrJson.to_bool(data.get("found"), false):
		return PkarrResult.failure("NOT_FOUND", "no records found for %s" % public_key)
	return PkarrResult.success(PkarrResolved.from_dict(data))


## Coroutine: the lobby behind the invite [param code] (join by code: any form of the host's
## public key, or a short code such as [code]K7M4Q-X9PT2[/code]). A lobby of another game or
## version than [param game] and [param game_version] fails with [code]OTHER_GAME[/code];
## empty ones use the project settings [code]pkarr/lobby/game_id[/code] and
## [code]game_version[/code] (no check when those are empty too). The value is a
## [PkarrLobby]; a failure's code is the lobby reason ([code]NO_LOBBY[/code], [code]LOBBY_CLOSED[/code], [code]LOBBY_EXPIRED[/code], ...,
## see [PkarrLobby]) or the sidecar's code for a malformed code.
func get_lobby(code: String, game: String = "", game_version: String = "") -> PkarrResult:
	var params := {"code": code.strip_edges()}
	PkarrSettings.add_game_params(params, game, game_version)
	return PkarrLobby.from_result(await call_method("lobby.get", params))


## Coroutine: joins the lobby of the invite [param code] and ends in a connected
## [MultiplayerPeer] (the value): the sidecar picks the path (the host's public or mapped
## address, or a path punched through both NATs) and the game's peer connects through it.
## [param code] is an invite code, long ([code]pk:…[/code]) or short ([code]K7M4Q-X9PT2[/code]).
## [param options]: [code]game[/code], [code]game_version[/code] (default: the project settings
## [code]pkarr/lobby/…[/code]), [code]transport[/code] ([code]"enet"[/code], [code]"ws"[/code];
## default ENet on desktop, WebSocket on the web), [code]timeout[/code] (seconds, default 15).
## Fails with [constant PkarrResult.NO_LOBBY], [constant PkarrResult.LOBBY_CLOSED],
## [constant PkarrResult.LOBBY_FULL], [constant PkarrResult.OTHER_GAME],
## [constant PkarrResult.UNREACHABLE_NAT], [constant PkarrResult.TIMEOUT], ... See [PkarrLobbyJoin].
func join(code: String, options: Dictionary = {}) -> PkarrResult:
	return await PkarrLobbyJoin.join(self, code, options)


## Coroutine: creates a new key named [param key_name]. The value is a [PkarrKeyInfo].
func generate_key(key_name: String) -> PkarrResult:
	return _as_key(await call_method("keys.generate", {"name": key_name}))


## Coroutine: the keys the sidecar holds. The value is an [code]Array[PkarrKeyInfo][/code].
func list_keys() -> PkarrResult:
	var result: PkarrResult = await call_method("keys.list")
	if not result.is_ok():
		return result
	var keys: Array[PkarrKeyInfo] = []
	if result.value is Array:
		for item: Variant in result.value:
			keys.append(PkarrKeyInfo.from_dict(PkarrJson.to_dict(item)))
	return PkarrResult.success(keys)


## Coroutine: stores the secret seed [param secret_key_hex] (64 hex characters) as
## [param key_name]. The value is a [PkarrKeyInfo].
func import_key(key_name: String, secret_key_hex: String) -> PkarrResult:
	return _as_key(await call_method("keys.import",
			{"name": key_name, "secretKey": secret_key_hex}))


## Coroutine: the key [param key_name] including its secret seed. The value is a
## [PkarrKeyInfo] with [member PkarrKeyInfo.secret_key] set.
func export_key(key_name: String) -> PkarrResult:
	return _as_key(await call_method("keys.export", {"name": key_name}))


## Coroutine: deletes the key [param key_name]; its records are no longer kept alive here.
## The value is [code]true[/code] if the key existed.
func delete_key(key_name: String) -> PkarrResult:
	var result: PkarrResult = await call_method("keys.delete", {"name": key_name})
	if not result.is_ok():
		return result
	_kept.erase(key_name)
	return PkarrResult.success(PkarrJson.to_bool(PkarrJson.to_dict(result.value).get("deleted")))


## Coroutine: the sidecar's state. The value is a [PkarrStatus].
func status() -> PkarrResult:
	var result: PkarrResult = await call_method("status")
	if not result.is_ok():
		return result
	return PkarrResult.success(PkarrStatus.from_dict(PkarrJson.to_dict(result.value)))


## Coroutine: asks the sidecar to keep republishing the latest packet of [param public_key]
## (also one published elsewhere). The value is the public key.
func republish_key(public_key: String) -> PkarrResult:
	var result: PkarrResult = await call_method("republish.add", {"publicKey": public_key})
	if not result.is_ok():
		return result
	var value := PkarrJson.to_dict(result.value)
	return PkarrResult.success(PkarrJson.to_text(value.get("publicKey"), public_key))


## Coroutine: stops republishing [param public_key] (in the sidecar and after restarts).
## The value is [code]true[/code] if it was being republished.
func stop_republishing(public_key: String) -> PkarrResult:
	for key_name: String in _kept.keys():
		if _kept[key_name]["public_key"] == public_key:
			_kept.erase(key_name)
	var result: PkarrResult = await call_method("republish.remove", {"publicKey": public_key})
	if not result.is_ok():
		return result
	return PkarrResult.success(PkarrJson.to_bool(PkarrJson.to_dict(result.value).get("removed")))


## [code]true[/code] if [param key_name] is a name the sidecar accepts for a key.
func is_valid_key_name(key_name: String) -> bool:
	return _key_name_regex.search(key_name) != null


## The key names whose records this service publishes again after a sidecar restart.
func kept_alive_keys() -> PackedStringArray:
	return PackedStringArray(_kept.keys())


func _on_connected() -> void:
	var reconnected := _has_connected
	_has_connected = true
	connected.emit()
	if reconnected:
		_publish_kept_again()


func _on_notification(method: String, params: Variant) -> void:
	var data := PkarrJson.to_dict(params)
	match method:
		"record.republished":
			record_republished.emit(PkarrJson.to_text(data.get("publicKey")))
		"record.republish_failed":
			republish_failed.emit(PkarrJson.to_text(data.get("publicKey")),
					PkarrJson.to_text(data.get("error"), PkarrJson.to_text(data.get("code"))))
		"dht.ready":
			dht_ready.emit(PkarrJson.to_int(data.get("nodes")))
	notification_received.emit(method, params)


func _publish_kept_again() -> void:
	for key_name: String in _kept.keys():
		if not is_ready() or not _kept.has(key_name):
			return
		var records: Array = _kept[key_name]["records"]
		var result: PkarrResult = await call_method("publish",
				{"key": key_name, "records": records, "republish": true})
		if result.is_ok():
			var value := PkarrJson.to_dict(result.value)
			record_republished.emit(PkarrJson.to_text(value.get("publicKey")))
		elif not result.error_code in [PkarrResult.NOT_CONNECTED, PkarrResult.CONNECTION_LOST]:
			push_warning("Pkarr: could not publish %s again after a restart: %s"
					% [key_name, result])


func _as_key(result: PkarrResult) -> PkarrResult:
	if not result.is_ok():
		return result
	return PkarrResult.success(PkarrKeyInfo.from_dict(PkarrJson.to_dict(result.value)))
