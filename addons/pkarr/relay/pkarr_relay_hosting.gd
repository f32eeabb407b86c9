class_name PkarrRelayHosting
extends RefCounted
## [code]lobby.host[/code] / [code]update[/code] / [code]close[/code] / [code]hosted[/code] for the
## relay backend: a phone (or a desktop build with [code]pkarr/backend = relay[/code]) hosts by
## signing its lobby record ([PkarrLobbyWriter]) and PUTting it to the relays, re-signed every
## [code]ttl[/code] seconds while open. Same params and result shapes as the sidecar (docs/rpc.md)
## for what applies here; the differences:
## [br]- Players must be told where to connect: [code]address[/code] (with [code]port[/code] /
## [code]transport[/code] or [code]servers[/code]) or [code]endpoints[/code]. Without them the
## sidecar would learn the public address over the DHT and map or punch a port; here that is
## [code]ADDRESS_UNKNOWN[/code] (on the web [code]NEEDS_SIDECAR[/code]: a browser cannot run a
## game server players reach).
## [br]- No beacon, topic announce or lobby directory listing ([code]beaconPort: null[/code],
## [code]directory: null[/code] with [code]directoryError[/code]); the lobby is found by its
## code, long or short. The short code's slot is published where scrypt runs (browsers);
## elsewhere [code]shortCode[/code] is empty and [code]shortCodeError[/code] says why.

## Seconds between re-PUTs of a short code's slot (the sidecar's, the slot record's TTL).
const SLOT_REPUBLISH_SECONDS := 300

var _backend: PkarrRelayBackend = null
var _hosted: Dictionary = {}
var _scrypt: PkarrScrypt = null


func _init(backend: PkarrRelayBackend) -> void:
	_backend = backend


## Coroutine: answers one of the hosting methods.
func request(method: String, params: Dictionary) -> PkarrResult:
	match method:
		"lobby.host":
			return await host(params)
		"lobby.update":
			return await update(params)
		"lobby.close":
			return await close(str(params.get("key", "")))
		"lobby.hosted":
			var out: Array = []
			for key_name: String in _hosted:
				out.append({"key": key_name, "beaconPort": null, "lobby": _hosted[key_name]["lobby"]})
			return PkarrResult.success(out)
	return PkarrResult.failure(PkarrResult.METHOD_NOT_FOUND, "unknown method %s" % method)


## Coroutine: re-signs and publishes every open lobby whose TTL ran out (the backend's timer).
func poll() -> void:
	var now := Time.get_ticks_msec()
	for key_name: String in _hosted.keys():
		var entry: Dictionary = _hosted[key_name]
		if not entry["busy"] and now >= int(entry["due_msec"]):
			_publish(key_name, entry["info"])
		if entry.has("slot") and now >= int(entry["slot_due_msec"]):
			entry["slot_due_msec"] = now + SLOT_REPUBLISH_SECONDS * 1000
			_backend.relay_client.publish(entry["slot"])


## Coroutine: opens a lobby under the key [param params].key.
func host(params: Dictionary) -> PkarrResult:
	var key_name := str(params.get("key", ""))
	var endpoints: Variant = params.get("endpoints")
	if endpoints == null:
		var address := str(params.get("address", "")).strip_edges()
		if address == "":
			if OS.has_feature("web"):
				return PkarrResult.failure(PkarrRelayBackend.NEEDS_SIDECAR,
						"lobby.host: a browser cannot run a game server players reach; host from a desktop build with the sidecar, or give endpoints of a server elsewhere")
			return PkarrResult.failure("ADDRESS_UNKNOWN",
					"lobby.host without the sidecar cannot learn this device's public address or map a port: give address (the address players reach) or endpoints")
		var servers: Variant = params.get("servers", [{"transport": str(params.get("transport", "enet")), "port": params.get("port")}])
		if not servers is Array:
			return PkarrResult.invalid_params("servers", "servers must be a list of {transport, port}")
		endpoints = (servers as Array).map(func(server: Variant) -> Variant:
			return {"transport": (server as Dictionary).get("transport"), "host": address,
					"port": (server as Dictionary).get("port")} if server is Dictionary else server)
	var info := {"game": params.get("game"), "gameVersion": params.get("gameVersion"), "name": params.get("name"),
			"players": params.get("players", 0), "maxPlayers": params.get("maxPlayers"),
			"open": params.get("open", true), "endpoints": endpoints}
	for optional: String in ["custom", "ttl", "admission"]:
		if params.has(optional):
			info[optional] = params[optional]
	var checked := PkarrLobbyWriter.encode(info)
	if not checked.is_ok():
		return checked
	if _hosted.has(key_name):
		return PkarrResult.failure("INVALID_ARGUMENT", "the key %s already hosts a lobby: close it first" % key_name)
	if bool(params.get("createKey", false)) and not (await _backend.keys.get_key(key_name)).is_ok():
		var created := await _backend.keys.generate(key_name)
		if not created.is_ok():
			return created
	var published := await _publish(key_name, info)
	if not published.is_ok():
		_hosted.erase(key_name)
		return published
	var z32: String = published.value["publicKey"]
	var result := {"publicKey": z32, "inviteCode": "pk:" + z32, "shortCode": "",
			"timestamp": published.value["timestamp"], "size": published.value["size"],
			"storedOn": published.value["storedOn"], "beaconPort": null, "announcedTo": null,
			"directory": null, "directoryError": "the relay backend lists no lobby in the directory (needs the sidecar)",
			"addressSource": "endpoints" if params.has("endpoints") else "configured",
			"lobby": _hosted[key_name]["lobby"]}
	var code := await _publish_short_code(z32)
	if code.is_ok():
		result["shortCode"] = code.value["code"]
		if _hosted.has(key_name):
			_hosted[key_name]["slot"] = code.value["slot"]
			_hosted[key_name]["slot_due_msec"] = Time.get_ticks_msec() + SLOT_REPUBLISH_SECONDS * 1000
	else:
		result["shortCodeError"] = code.error_message
	return PkarrResult.success(result)


## Coroutine: [code]lobby.update[/code]: changes players, maxPlayers, name, open or custom.
func update(params: Dictionary) -> PkarrResult:
	var key_name := str(params.get("key", ""))
	if not _hosted.has(key_name):
		return PkarrResult.failure("INVALID_ARGUMENT", "the key %s hosts no lobby" % key_name)
	var info: Dictionary = (_hosted[key_name]["info"] as Dictionary).duplicate(true)
	var changed := false
	for field: String in ["players", "maxPlayers", "name", "open", "custom"]:
		if params.has(field):
			info[field] = params[field]
			changed = true
	if not changed:
		return PkarrResult.invalid_params("players", "give at least one of players, maxPlayers, name, open, custom")
	var checked := PkarrLobbyWriter.encode(info)
	if not checked.is_ok():
		return checked
	var published := await _publish(key_name, info)
	if not published.is_ok():
		return published
	return PkarrResult.success({"publicKey": published.value["publicKey"], "timestamp": published.value["timestamp"],
			"storedOn": published.value["storedOn"], "lobby": _hosted[key_name]["lobby"]})


## Coroutine: [code]lobby.close[/code]: publishes the lobby closed and stops re-signing it.
func close(key_name: String) -> PkarrResult:
	if not _hosted.has(key_name):
		return PkarrResult.failure("INVALID_ARGUMENT", "the key %s hosts no lobby" % key_name)
	var info: Dictionary = (_hosted[key_name]["info"] as Dictionary).duplicate(true)
	info["open"] = false
	var published := await _publish(key_name, info)
	var z32: String = _hosted[key_name].get("publicKey", "")
	_hosted.erase(key_name)
	if not published.is_ok():
		return PkarrResult.success({"publicKey": z32, "closed": true, "timestamp": "", "storedOn": 0,
				"publishError": published.error_message})
	return PkarrResult.success({"publicKey": published.value["publicKey"], "closed": true,
			"timestamp": published.value["timestamp"], "storedOn": published.value["storedOn"]})


## Stops re-signing every lobby (the backend stopped).
func forget_all() -> void:
	_hosted.clear()


func _publish(key_name: String, info: Dictionary) -> PkarrResult:
	var entry: Dictionary = _hosted.get(key_name, {"info": info, "busy": false, "due_msec": 0, "lobby": {}})
	_hosted[key_name] = entry
	entry["busy"] = true
	var published: PkarrResult = await _backend.keys.get_key(key_name)
	if published.is_ok():
		# The size check with the lobby's reason (LOBBY_TOO_LARGE), then the records to sign.
		published = PkarrLobbyWriter.encode_dns(info, published.value["publicKey"])
	if published.is_ok():
		published = await _backend.publish(key_name, PkarrLobbyWriter.encode(info).value, false)
	entry["busy"] = false
	var ttl := int(info.get("ttl", PkarrLobbyWriter.DEFAULT_TTL))
	entry["due_msec"] = Time.get_ticks_msec() + ttl * 1000
	if not published.is_ok():
		return published
	entry["info"] = info
	entry["publicKey"] = published.value["publicKey"]
	var packet := _backend.relay_client.kept_packet(published.value["publicKey"])
	var lobby := PkarrLobbyRecord.parse(packet.public_key, packet.timestamp, packet.records, "local",
			PkarrRelayPacket.now_micros())
	entry["lobby"] = lobby.value if lobby.is_ok() else {}
	return published


func _publish_short_code(z32: String) -> PkarrResult:
	if _scrypt == null:
		_scrypt = PkarrScrypt.new()
	var code: PkarrResult = await PkarrShortCode.code_of(_scrypt, PkarrZ32.decode(z32).value)
	if not code.is_ok():
		return PkarrResult.failure(PkarrRelayBackend.NEEDS_SIDECAR,
				"no short code: scrypt runs only in a browser here (%s)" % code.error_message)
	var canonical: String = code.value
	var slot: PkarrResult = await PkarrKeyDerivation.short_code_slot_keypair(_backend.signatures, canonical)
	if not slot.is_ok():
		return slot
	var timestamp := PkarrRelayPacket.now_micros()
	var signed: PkarrResult = await _backend.relay_client.verifier.sign(slot.value["seed"], slot.value["z32"],
			PkarrShortCode.slot_records(z32), timestamp)
	if not signed.is_ok():
		return signed
	var put := await _backend.relay_client.publish(signed.value)
	if not put.is_ok():
		return PkarrResult.failure(put.error_code, "the short code's slot was not published: %s" % put.error_message)
	return PkarrResult.success({"code": PkarrShortCode.format(canonical), "slot": signed.value})
