class_name PkarrMultiServerPeer
extends MultiplayerPeerExtension
## One server [MultiplayerPeer] made of several: e.g. an [ENetMultiplayerPeer] for desktop
## players and a [WebSocketMultiplayerPeer] for browser players, behind the single
## [code]multiplayer.multiplayer_peer[/code] a [SceneMultiplayer] takes.
##
## [PkarrLobbyHost] builds one when it serves two transports; you can use it with any server
## peers:
## [codeblock]
## var enet := ENetMultiplayerPeer.new()
## enet.create_server(7777)
## var ws := WebSocketMultiplayerPeer.new()
## ws.create_server(7778)
## var server := PkarrMultiServerPeer.new()
## server.add_server("enet", enet)
## server.add_server("ws", ws)
## multiplayer.multiplayer_peer = server
## [/codeblock]
## Each inner server numbers its clients itself; this peer keeps a client's id when no other
## inner server uses it and picks a fresh random one otherwise ([method get_inner_id] maps
## back). Packets keep their channel and transfer mode; a broadcast reaches the admitted
## clients of every inner server, and [SceneMultiplayer]'s server relay carries packets between
## players of different transports.
##
## With [member admission] on, a client that connects is held back from the game until it
## answered the [PkarrLobbyAdmission] handshake: [member admission_policy] decides, a refused
## client gets the reason and is disconnected, a client that never answers is dropped after
## [member admission_timeout]. Only admitted clients are reported
## ([signal MultiplayerPeer.peer_connected]), can send and receive.

## Emitted when client [param peer_id] of [param transport] was refused with [param reason].
signal peer_refused(peer_id: int, transport: String, reason: String)

## Hold each new client until it acknowledged its admission ([PkarrLobbyAdmission]). Off: new
## clients are reported at once (for players that do not speak the handshake).
var admission: bool = true
## Seconds a client has to acknowledge its admission before it is dropped.
var admission_timeout: float = 10.0
## Milliseconds a refused client has to read the reason before it is disconnected (a player
## that speaks the handshake leaves by itself as soon as it read it; ENet drops what is not
## acknowledged yet when it disconnects, so the grace leaves time for a resend).
var refusal_grace_msec: int = 2000
## Decides about each new client: called with [code](peer_id: int, transport: String)[/code],
## returns [code]""[/code] to admit or a reason ([constant PkarrResult.LOBBY_FULL],
## [constant PkarrResult.LOBBY_CLOSED]) to refuse. Unset: everyone is admitted.
var admission_policy: Callable

# One entry per inner server: {"transport", "peer", "ids": {inner id: outer id}, "events"}
var _servers: Array[Dictionary] = []
# outer id -> {"server": int, "inner": int, "state": ADMITTED/PENDING/REFUSED, "deadline": msec}
var _clients: Dictionary = {}
# [outer id, channel, mode, bytes] of admitted clients, oldest first.
var _queue: Array[Array] = []
var _target: int = 0
var _channel: int = 0
var _mode: TransferMode = TRANSFER_MODE_RELIABLE
var _refusing: bool = false
var _rng := RandomNumberGenerator.new()

enum _State { ADMITTED, PENDING, REFUSED }


func _init() -> void:
	_rng.randomize()


## Adds [param peer], a running server (after its [code]create_server[/code]), under the name
## [param transport] (e.g. [code]"enet"[/code]). Its clients join this peer's clients.
func add_server(transport: String, peer: MultiplayerPeer) -> Error:
	if peer == null or peer == self or peer.get_unique_id() != TARGET_PEER_SERVER:
		return ERR_INVALID_PARAMETER
	if peer.get_connection_status() != CONNECTION_CONNECTED or get_server(transport) != null:
		return ERR_ALREADY_IN_USE if get_server(transport) != null else ERR_UNCONFIGURED
	var index := _servers.size()
	var events := _InnerEvents.new(self, index)
	_servers.append({"transport": transport, "peer": peer, "ids": {}, "events": events})
	peer.refuse_new_connections = _refusing
	peer.peer_connected.connect(events.on_connected)
	peer.peer_disconnected.connect(events.on_disconnected)
	return OK


## The inner server named [param transport], or [code]null[/code].
func get_server(transport: String) -> MultiplayerPeer:
	for server: Dictionary in _servers:
		if server["transport"] == transport:
			return server["peer"]
	return null


## The names of the inner servers, in the order they were added.
func get_transports() -> PackedStringArray:
	var names := PackedStringArray()
	for server: Dictionary in _servers:
		names.append(server["transport"])
	return names


## The transport client [param peer_id] came through ([code]""[/code] when unknown).
func get_transport_of(peer_id: int) -> String:
	var client: Dictionary = _clients.get(peer_id, {})
	return _servers[client["server"]]["transport"] if not client.is_empty() else ""


## The id client [param peer_id] has on its inner server (0 when unknown).
func get_inner_id(peer_id: int) -> int:
	return int(_clients.get(peer_id, {}).get("inner", 0))


## The admitted clients.
func get_peers() -> PackedInt32Array:
	var ids := PackedInt32Array()
	for id: int in _clients:
		if _clients[id]["state"] == _State.ADMITTED:
			ids.append(id)
	return ids


## Clients that hold or are getting a place: admitted ones and those answering their admission.
func count_places() -> int:
	var count := 0
	for client: Dictionary in _clients.values():
		if client["state"] != _State.REFUSED:
			count += 1
	return count


func _on_inner_connected(inner_id: int, index: int) -> void:
	var server: Dictionary = _servers[index]
	var id := inner_id
	while id < 2 or _clients.has(id):
		id = _rng.randi_range(2, 2147483647)
	var transport: String = server["transport"]
	var reason := ""
	if admission and admission_policy.is_valid():
		reason = str(admission_policy.call(id, transport))  # before this client counts
	server["ids"][inner_id] = id
	_clients[id] = {"server": index, "inner": inner_id, "state": _State.ADMITTED, "deadline": 0}
	if not admission:
		peer_connected.emit(id)
		return
	var now := Time.get_ticks_msec()
	if reason != "":
		_clients[id]["state"] = _State.REFUSED
		_clients[id]["deadline"] = now + refusal_grace_msec
		_send_raw(id, PkarrLobbyAdmission.refuse_message(reason))
		peer_refused.emit(id, transport, reason)
	else:
		_clients[id]["state"] = _State.PENDING
		_clients[id]["deadline"] = now + int(admission_timeout * 1000.0)
		_send_raw(id, PkarrLobbyAdmission.admit_message())


func _on_inner_disconnected(inner_id: int, index: int) -> void:
	var id: int = _servers[index]["ids"].get(inner_id, 0)
	if id == 0:
		return
	var was_admitted: bool = _clients[id]["state"] == _State.ADMITTED
	_forget(id)
	if was_admitted:
		peer_disconnected.emit(id)


func _forget(id: int) -> void:
	var client: Dictionary = _clients.get(id, {})
	if client.is_empty():
		return
	_servers[client["server"]]["ids"].erase(client["inner"])
	_clients.erase(id)
	_queue.assign(_queue.filter(func(packet: Array) -> bool: return packet[0] != id))


func _send_raw(id: int, bytes: PackedByteArray) -> Error:
	var client: Dictionary = _clients[id]
	var inner: MultiplayerPeer = _servers[client["server"]]["peer"]
	inner.set_target_peer(client["inner"])
	inner.transfer_channel = 0
	inner.transfer_mode = TRANSFER_MODE_RELIABLE
	return inner.put_packet(bytes)


func _poll() -> Error:
	for index in _servers.size():
		var inner: MultiplayerPeer = _servers[index]["peer"]
		inner.poll()
		while inner.get_available_packet_count() > 0:
			var from := inner.get_packet_peer()
			var channel := inner.get_packet_channel()
			var mode := inner.get_packet_mode()
			var bytes := inner.get_packet()
			_take_packet(index, from, channel, mode, bytes)
	_expire(Time.get_ticks_msec())
	return OK


func _take_packet(index: int, inner_id: int, channel: int, mode: TransferMode,
		bytes: PackedByteArray) -> void:
	var id: int = _servers[index]["ids"].get(inner_id, 0)
	if id == 0:
		return
	match _clients[id]["state"]:
		_State.ADMITTED:
			_queue.append([id, channel, mode, bytes])
		_State.PENDING:
			if PkarrLobbyAdmission.parse(bytes).get("kind", "") == PkarrLobbyAdmission.ACK:
				_clients[id]["state"] = _State.ADMITTED
				peer_connected.emit(id)
			else:
				# Not a player that speaks the handshake: it never gets in.
				_drop(id)


func _expire(now: int) -> void:
	for id: int in _clients.keys():
		var client: Dictionary = _clients.get(id, {})
		if not client.is_empty() and client["state"] != _State.ADMITTED and now >= client["deadline"]:
			_drop(id)


# Disconnects a client the game never saw (pending or refused); no signal.
func _drop(id: int) -> void:
	var client: Dictionary = _clients[id]
	var inner: MultiplayerPeer = _servers[client["server"]]["peer"]
	_forget(id)
	inner.disconnect_peer(client["inner"])


func _get_available_packet_count() -> int:
	return _queue.size()


func _get_packet_script() -> PackedByteArray:
	if _queue.is_empty():
		return PackedByteArray()
	return _queue.pop_front()[3]


func _get_packet_peer() -> int:
	return _queue[0][0] if not _queue.is_empty() else 0


func _get_packet_channel() -> int:
	return _queue[0][1] if not _queue.is_empty() else 0


func _get_packet_mode() -> TransferMode:
	return _queue[0][2] if not _queue.is_empty() else TRANSFER_MODE_RELIABLE


func _put_packet_script(buffer: PackedByteArray) -> Error:
	if _servers.is_empty():
		return ERR_UNCONFIGURED
	if _target > 0:
		var client: Dictionary = _clients.get(_target, {})
		if client.is_empty() or client["state"] != _State.ADMITTED:
			return ERR_INVALID_PARAMETER
		return _put_to(_target, buffer)
	# 0: every admitted client; -id: all but that one.
	var result := OK
	for id: int in get_peers():
		if id != -_target:
			var err := _put_to(id, buffer)
			if err != OK:
				result = err
	return result


func _put_to(id: int, buffer: PackedByteArray) -> Error:
	var client: Dictionary = _clients[id]
	var inner: MultiplayerPeer = _servers[client["server"]]["peer"]
	inner.set_target_peer(client["inner"])
	inner.transfer_channel = _channel
	inner.transfer_mode = _mode
	return inner.put_packet(buffer)


func _set_target_peer(peer: int) -> void:
	_target = peer


func _set_transfer_channel(channel: int) -> void:
	_channel = channel


func _get_transfer_channel() -> int:
	return _channel


func _set_transfer_mode(mode: TransferMode) -> void:
	_mode = mode


func _get_transfer_mode() -> TransferMode:
	return _mode


func _get_max_packet_size() -> int:
	var size := 1 << 24
	for server: Dictionary in _servers:
		size = mini(size, (server["peer"] as MultiplayerPeer).get_max_packet_size())
	return size


func _is_server() -> bool:
	return true


func _get_unique_id() -> int:
	return TARGET_PEER_SERVER


func _is_server_relay_supported() -> bool:
	return true


func _set_refuse_new_connections(enable: bool) -> void:
	_refusing = enable
	for server: Dictionary in _servers:
		(server["peer"] as MultiplayerPeer).refuse_new_connections = enable


func _is_refusing_new_connections() -> bool:
	return _refusing


func _get_connection_status() -> ConnectionStatus:
	for server: Dictionary in _servers:
		if (server["peer"] as MultiplayerPeer).get_connection_status() == CONNECTION_CONNECTED:
			return CONNECTION_CONNECTED
	return CONNECTION_DISCONNECTED


func _disconnect_peer(peer: int, force: bool) -> void:
	var client: Dictionary = _clients.get(peer, {})
	if client.is_empty():
		return
	var inner: MultiplayerPeer = _servers[client["server"]]["peer"]
	if force:
		# As the engine's peers do: no peer_disconnected for a forced disconnection.
		_forget(peer)
	inner.disconnect_peer(client["inner"], force)


func _close() -> void:
	for server: Dictionary in _servers:
		var inner: MultiplayerPeer = server["peer"]
		var events: _InnerEvents = server["events"]
		inner.peer_connected.disconnect(events.on_connected)
		inner.peer_disconnected.disconnect(events.on_disconnected)
		inner.close()
	_servers.clear()
	_clients.clear()
	_queue.clear()


# Takes an inner server's signals for the multiplexer, which it holds weakly: when the
# multiplexer is freed, its inner servers may still emit while they close, and must not call
# into a script instance that is gone (the web engine aborts with "null function").
class _InnerEvents extends RefCounted:
	var _owner: WeakRef
	var _index: int

	func _init(owner: Object, index: int) -> void:
		_owner = weakref(owner)
		_index = index

	func on_connected(id: int) -> void:
		var owner: Object = _owner.get_ref()
		if owner != null:
			owner.call("_on_inner_connected", id, _index)

	func on_disconnected(id: int) -> void:
		var owner: Object = _owner.get_ref()
		if owner != null:
			owner.call("_on_inner_disconnected", id, _index)
