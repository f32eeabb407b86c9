class_name PkarrRelayBackend
extends PkarrConnection
## The [code]Pkarr[/code] service without a sidecar: answers the sidecar's JSON-RPC methods in
## GDScript over pkarr HTTP relays (web, Android, iOS, or [code]pkarr/backend = relay[/code]).
##
## It stands in for [PkarrConnection] inside [PkarrService], so [code]Pkarr.resolve()[/code],
## [code]Pkarr.publish()[/code], the key methods, [code]Pkarr.get_lobby()[/code] and the lobby
## nodes work unchanged. [method request] takes the same method names and params and answers
## the same result shapes (docs/rpc.md) for: [code]status[/code], [code]keys.*[/code],
## [code]publish[/code], [code]resolve[/code], [code]republish.*[/code], [code]lobby.get[/code],
## [code]lobby.browse[/code] (see [PkarrRelayLobbies]), [code]lobby.watch[/code] /
## [code]refresh[/code] / [code]unwatch[/code] ([PkarrRelayWatches]), [code]lobby.host[/code] /
## [code]update[/code] / [code]close[/code] / [code]hosted[/code] with a given address
## ([PkarrRelayHosting]), [code]lobby.join[/code] of a lobby with a directly reachable endpoint,
## and [code]shutdown[/code]. What needs a sidecar (NAT traversal, port mapping, hosting in a
## browser) fails with [constant NEEDS_SIDECAR].
## [br]Packets come from and go to [PkarrRelayClient] (local relay first, then the configured
## relays); every received packet is verified ([PkarrRelayVerifier]); keys live in
## [code]user://[/code] ([PkarrRelayKeys]); kept records are re-PUT every
## [code]pkarr/republish/interval_seconds[/code]. [method PkarrConnection.attach] (i.e.
## [code]Pkarr.connect_to()[/code]) still switches to a real sidecar.

## The error code of a method that needs the sidecar.
const NEEDS_SIDECAR := "NEEDS_SIDECAR"
## Methods a sidecar offers that cannot work over relays alone.
const SIDECAR_ONLY: Array[String] = ["lobby.leave", "nat.map", "nat.unmap", "nat.status"]

## The HTTP side.
var relay_client: PkarrRelayClient = null
## The key store (created by [method start] from [code]pkarr/sidecar/data_dir[/code]).
var keys: PkarrRelayKeys = null
## Signing and verification ([member PkarrSignatures] decides WebCrypto or pure GDScript).
var signatures: PkarrSignatures = PkarrSignatures.new()
## Lobby lookups.
var lobbies: PkarrRelayLobbies = null
## Lobby watches (periodic browses reported as notifications).
var watches: PkarrRelayWatches = null
## Hosted lobbies (signed here, PUT to the relays).
var hosting: PkarrRelayHosting = null
## Seconds between re-PUTs of the kept records.
var republish_interval: float = 3600.0

var _active: bool = false
var _started_msec: int = 0
var _republish: Dictionary = {}
var _last_republished: Dictionary = {}
var _last_timestamp: Dictionary = {}
var _busy_keys: Dictionary = {}
var _republish_elapsed: float = 0.0

signal _key_released


func _init() -> void:
	relay_client = PkarrRelayClient.new()
	relay_client.name = "RelayClient"
	relay_client.verifier = PkarrRelayVerifier.new(signatures)
	add_child(relay_client)
	lobbies = PkarrRelayLobbies.new(self)
	watches = PkarrRelayWatches.new(self)
	hosting = PkarrRelayHosting.new(self)


## Which backend [PkarrService] uses: [code]"relay"[/code] or [code]"sidecar"[/code], from
## [code]pkarr/backend[/code] ([code]auto[/code]: relay on the web without
## [code]pkarr/sidecar/web_url[/code], and on Android and iOS; the sidecar elsewhere).
static func choose() -> String:
	var wanted := str(PkarrSettings.get_value(PkarrSettings.BACKEND)).strip_edges().to_lower()
	if wanted == "relay" or wanted == "sidecar":
		return wanted
	if OS.has_feature("web"):
		var url := str(PkarrSettings.get_value(PkarrSettings.SIDECAR_WEB_URL)).strip_edges()
		return "sidecar" if url != "" else "relay"
	if OS.has_feature("android") or OS.has_feature("ios"):
		return "relay"
	return "sidecar"


func _process(delta: float) -> void:
	if not _active:
		super(delta)
		return
	watches.poll()
	hosting.poll()
	_republish_elapsed += delta
	if _republish_elapsed >= republish_interval:
		_republish_elapsed = 0.0
		republish_all()


## Starts answering from the project settings: relays, local relay, timeouts, data dir.
func start() -> void:
	if _active:
		return
	relay_client.relays = PkarrSettings.get_value(PkarrSettings.NETWORK_RELAYS)
	relay_client.local_relay = str(PkarrSettings.get_value(PkarrSettings.RELAY_LOCAL_URL)).strip_edges()
	relay_client.timeout = float(PkarrSettings.get_value(PkarrSettings.RELAY_TIMEOUT))
	republish_interval = float(PkarrSettings.get_value(PkarrSettings.REPUBLISH_INTERVAL))
	keys = PkarrRelayKeys.new(str(PkarrSettings.get_value(PkarrSettings.SIDECAR_DATA_DIR)), signatures)
	_active = true
	_started_msec = Time.get_ticks_msec()
	last_error = ""
	_set_state(State.READY)
	connected.emit()


## Stops answering (pending calls finish; new ones fail with [code]NOT_CONNECTED[/code]).
func stop() -> void:
	if not _active:
		super()
		return
	_active = false
	watches = PkarrRelayWatches.new(self)
	hosting.forget_all()
	_set_state(State.IDLE)
	disconnected.emit()


## Switches to a real sidecar at [param url] (see [method PkarrConnection.attach]).
func attach(url: String, token: String) -> PkarrCompletion:
	if _active:
		stop()
	return super(url, token)


## [code]true[/code] while calls are answered.
func is_ready() -> bool:
	return _active or super()


## Coroutine: ready at once once started.
func wait_ready(timeout: float = 10.0) -> PkarrResult:
	if _active:
		return PkarrResult.success(true)
	return await super(timeout)


## Coroutine: answers [param method] with [param params] like the sidecar would.
func request(method: String, params: Dictionary = {}, timeout: float = -1.0) -> PkarrResult:
	if not _active:
		return await super(method, params, timeout)
	if method in SIDECAR_ONLY:
		return PkarrResult.failure(NEEDS_SIDECAR, "%s needs the Pkarr sidecar, which cannot run here (%s, relay backend): %s"
				% [method, OS.get_name(), _why_not(method)])
	var bad := PkarrRelayParams.problem(method, params)
	if bad != null:
		return bad
	match method:
		"status":
			return PkarrResult.success(await status_json())
		"keys.generate":
			return await keys.generate(str(params.get("name", "")))
		"keys.list":
			return await keys.list()
		"keys.import":
			return await keys.import(str(params.get("name", "")), str(params.get("secretKey", "")),
					bool(params.get("overwrite", false)))
		"keys.export":
			return await keys.export_key(str(params.get("name", "")))
		"keys.delete":
			return keys.delete(str(params.get("name", "")))
		"publish":
			return await publish(str(params.get("key", "")), params.get("records", []),
					bool(params.get("republish", true)))
		"resolve":
			return await resolve(str(params.get("publicKey", "")), str(params.get("policy", "CacheFirst")))
		"republish.add":
			return await _republish_add(params)
		"republish.remove":
			return _republish_remove(str(params.get("publicKey", "")))
		"republish.list":
			return PkarrResult.success(_republish_list())
		"lobby.get", "lobby.browse", "lobby.join":
			return await lobbies.request(method, params)
		"lobby.watch", "lobby.refresh", "lobby.unwatch":
			return await watches.request(method, params)
		"lobby.host", "lobby.update", "lobby.close", "lobby.hosted":
			return await hosting.request(method, params)
		"shutdown":
			stop()
			return PkarrResult.success({"ok": true})
	return PkarrResult.failure(PkarrResult.METHOD_NOT_FOUND, "unknown method %s" % method)


## Coroutine: the [code]status[/code] answer: the sidecar's shape, with [code]backend: "relay"[/code],
## [code]localRelay[/code] and [code]verification[/code] ([code]webcrypto[/code] or [code]gdscript[/code]).
func status_json() -> Dictionary:
	var verification: String = await signatures.backend()
	return {
		"version": "relay-backend", "pid": 0, "backend": "relay",
		"dataDir": keys.directory.trim_suffix("/keys") if keys != null else "",
		"dht": {"enabled": false, "ready": false, "nodes": 0},
		"relays": Array(relay_client.relay_order()), "localRelay": relay_client.local_relay,
		"keys": keys.count() if keys != null else 0, "republishing": _republish.size(),
		"uptime": floori((Time.get_ticks_msec() - _started_msec) / 1000.0),
		"verification": verification,
	}


## Coroutine: the sidecar's [code]resolve[/code]: [code]{publicKey, found, records, timestamp,
## source, relay?, ageSeconds, size}[/code] ([code]found: false[/code] when no relay has it).
func resolve(key_text: String, policy: String = "CacheFirst") -> PkarrResult:
	var parsed := PkarrKeyDerivation.parse_public_key(key_text.strip_edges())
	if not parsed.is_ok():
		return PkarrResult.invalid_params("publicKey", parsed.error_message, parsed.error_code)
	if not policy in ["CacheFirst", "CacheOnly", "NetworkOnly"]:
		return PkarrResult.invalid_params("policy", "policy must be one of CacheFirst, CacheOnly, NetworkOnly")
	var z32: String = parsed.value["z32"]
	var kept := relay_client.kept_packet(z32)
	if kept != null and (policy == "CacheOnly" or (policy == "CacheFirst" and _is_fresh(kept))):
		return PkarrResult.success(resolved_json(kept, "cache"))
	if policy == "CacheOnly":
		return PkarrResult.success({"publicKey": z32, "found": false})
	var found := await relay_client.resolve(z32, policy != "NetworkOnly")
	if found.is_ok():
		var packet: PkarrRelayPacket = found.value
		return PkarrResult.success(resolved_json(packet, "cache" if packet == kept else "relay"))
	if found.error_code == "NOT_FOUND":
		return PkarrResult.success({"publicKey": z32, "found": false})
	return found


## A packet as the sidecar's [code]resolve[/code] result.
static func resolved_json(packet: PkarrRelayPacket, source: String) -> Dictionary:
	var data := {"publicKey": packet.public_key, "found": true, "records": packet.records.duplicate(true),
			"timestamp": str(packet.timestamp), "source": source, "ageSeconds": packet.age_seconds(),
			"size": packet.size()}
	if packet.relay != "":
		data["relay"] = packet.relay
	return data


## Coroutine: the sidecar's [code]publish[/code]: signs [param records] (record JSON) with the
## key [param key_name] and PUTs them to every relay; [code]{publicKey, timestamp, size,
## storedOn, relays}[/code].
func publish(key_name: String, records: Variant, keep_alive: bool = true) -> PkarrResult:
	var key := await keys.get_key(key_name)
	if not key.is_ok():
		return key
	if not records is Array:
		return PkarrResult.invalid_params("records", "records must be an array")
	var z32: String = key.value["publicKey"]
	while _busy_keys.has(z32):
		await _key_released
	_busy_keys[z32] = true
	var timestamp := maxi(PkarrRelayPacket.now_micros(), int(_last_timestamp.get(z32, 0)) + 1)
	_last_timestamp[z32] = timestamp
	var signed: PkarrResult = await relay_client.verifier.sign(key.value["seed"], z32, records, timestamp)
	var result := PkarrResult.failure("INTERNAL", "not published")
	if signed.is_ok():
		var packet: PkarrRelayPacket = signed.value
		result = await relay_client.publish(packet)
		if result.is_ok():
			if keep_alive:
				_republish[z32] = true
			result = PkarrResult.success({"publicKey": z32, "timestamp": str(packet.timestamp),
					"size": packet.size(), "storedOn": result.value["storedOn"], "relays": result.value["relays"]})
	else:
		result = signed
	_busy_keys.erase(z32)
	_key_released.emit()
	return result


## Coroutine: PUTs the latest packet of every kept key again (what the timer runs); emits
## [code]record.republished[/code] / [code]record.republish_failed[/code] notifications.
func republish_all() -> void:
	for z32: String in _republish.keys():
		var packet := relay_client.kept_packet(z32)
		if packet == null:
			var found := await relay_client.resolve(z32)
			packet = found.value if found.is_ok() else null
		if packet == null:
			notification_received.emit("record.republish_failed",
					{"publicKey": z32, "error": "no packet known for this key", "code": "NOT_FOUND"})
			continue
		var put := await relay_client.publish(packet)
		if put.is_ok():
			_last_republished[z32] = PkarrRelayPacket.now_micros()
			notification_received.emit("record.republished",
					{"publicKey": z32, "timestamp": str(packet.timestamp), "storedOn": put.value["storedOn"]})
		else:
			notification_received.emit("record.republish_failed",
					{"publicKey": z32, "error": put.error_message, "code": put.error_code})


func _republish_add(params: Dictionary) -> PkarrResult:
	var z32 := ""
	if params.has("key"):
		var key := await keys.get_key(str(params["key"]))
		if not key.is_ok():
			return key
		z32 = key.value["publicKey"]
	else:
		var parsed := PkarrZ32.parse_public_key(str(params.get("publicKey", "")))
		if not parsed.is_ok():
			return PkarrResult.invalid_params("publicKey", parsed.error_message, parsed.error_code)
		z32 = parsed.value["z32"]
	_republish[z32] = true
	return PkarrResult.success({"publicKey": z32})


func _republish_remove(key_text: String) -> PkarrResult:
	var parsed := PkarrZ32.parse_public_key(key_text)
	if not parsed.is_ok():
		return PkarrResult.invalid_params("publicKey", parsed.error_message, parsed.error_code)
	return PkarrResult.success({"removed": _republish.erase(parsed.value["z32"])})


func _republish_list() -> Array:
	var out: Array = []
	for z32: String in _republish.keys():
		var entry := {"publicKey": z32}
		var packet := relay_client.kept_packet(z32)
		if packet != null:
			entry["timestamp"] = str(packet.timestamp)
		if _last_republished.has(z32):
			entry["lastRepublished"] = str(_last_republished[z32])
		out.append(entry)
	return out


func _is_fresh(packet: PkarrRelayPacket) -> bool:
	return Time.get_ticks_msec() - packet.seen_msec < packet.ttl_seconds() * 1000


func _why_not(method: String) -> String:
	if method.begins_with("nat."):
		return "port mapping needs UDP/TCP sockets on the home network"
	return "there are no punched paths without the sidecar"
