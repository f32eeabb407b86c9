extends RefCounted
## Test doubles for PkarrMultiServerPeer: an in-memory server MultiplayerPeer and its clients,
## written as MultiplayerPeerExtensions in GDScript (the web engine can run neither an ENet nor a
## WebSocket server). They behave as the engine's server peers do where the multiplexer relies
## on it: ids >= 2 chosen by the server, peer_connected / peer_disconnected emitted from poll(),
## a forced disconnect_peer() emits nothing, packets keep channel and transfer mode, a refusing
## server turns clients away before they get an id. Everything sent is logged (`sent`,
## `disconnects`) so tests can check the routing.


class FakeServer extends MultiplayerPeerExtension:
	## Each packet put: {"to": inner id, "bytes", "channel", "mode"}.
	var sent: Array[Dictionary] = []
	## Each disconnect_peer(): [id, force].
	var disconnects: Array = []
	var clients: Dictionary = {}  # id -> FakeClient
	var inbox: Array[Dictionary] = []  # {"from", "bytes", "channel", "mode"}
	var _events: Array = []
	var _open := true
	var _refuse := false
	var _target := 0
	var _channel := 0
	var _mode: TransferMode = TRANSFER_MODE_RELIABLE

	## A client connects with [param id] (takes effect at the next poll, as with real servers).
	func accept(client: FakeClient, id: int) -> bool:
		if _refuse or not _open or clients.has(id):
			client.status = CONNECTION_DISCONNECTED
			return false
		clients[id] = client
		client.server = self
		client.id = id
		client.status = CONNECTION_CONNECTED
		_events.append(["connected", id])
		return true

	func client_left(id: int) -> void:
		if clients.erase(id):
			_events.append(["disconnected", id])

	func _poll() -> Error:
		var events := _events.duplicate()
		_events.clear()
		for event: Array in events:
			if event[0] == "connected":
				peer_connected.emit(event[1])
			else:
				peer_disconnected.emit(event[1])
		return OK

	func _put_packet_script(buffer: PackedByteArray) -> Error:
		var targets: Array = [_target] if _target > 0 else clients.keys().filter(
				func(id: int) -> bool: return id != -_target)
		for id: int in targets:
			if not clients.has(id):
				return ERR_INVALID_PARAMETER
			sent.append({"to": id, "bytes": buffer, "channel": _channel, "mode": _mode})
			(clients[id] as FakeClient).inbox.append(
					{"from": 1, "bytes": buffer, "channel": _channel, "mode": _mode})
		return OK

	func _get_available_packet_count() -> int:
		return inbox.size()

	func _get_packet_script() -> PackedByteArray:
		return inbox.pop_front()["bytes"]

	func _get_packet_peer() -> int:
		return inbox[0]["from"]

	func _get_packet_channel() -> int:
		return inbox[0]["channel"]

	func _get_packet_mode() -> TransferMode:
		return inbox[0]["mode"]

	func _disconnect_peer(id: int, force: bool) -> void:
		disconnects.append([id, force])
		var client: FakeClient = clients.get(id)
		if client == null:
			return
		clients.erase(id)
		client.status = CONNECTION_DISCONNECTED
		if not force:
			_events.append(["disconnected", id])

	func _close() -> void:
		_open = false
		for client: FakeClient in clients.values():
			client.status = CONNECTION_DISCONNECTED
		clients.clear()

	func _get_connection_status() -> ConnectionStatus:
		return CONNECTION_CONNECTED if _open else CONNECTION_DISCONNECTED

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
		return 4096

	func _is_server() -> bool:
		return true

	func _get_unique_id() -> int:
		return 1

	func _is_server_relay_supported() -> bool:
		return true

	func _set_refuse_new_connections(enable: bool) -> void:
		_refuse = enable

	func _is_refusing_new_connections() -> bool:
		return _refuse


class FakeClient extends MultiplayerPeerExtension:
	# Weak: the server holds its clients, a strong link back would leak both.
	var server: FakeServer:
		get:
			return _server.get_ref() if _server != null else null
		set(value):
			_server = weakref(value) if value != null else null
	var _server: WeakRef = null
	var id: int = 0
	var status: ConnectionStatus = CONNECTION_CONNECTING
	var inbox: Array[Dictionary] = []
	var _channel := 0
	var _mode: TransferMode = TRANSFER_MODE_RELIABLE

	func _poll() -> Error:
		return OK

	func _put_packet_script(buffer: PackedByteArray) -> Error:
		if status != CONNECTION_CONNECTED:
			return ERR_UNCONFIGURED
		server.inbox.append({"from": id, "bytes": buffer, "channel": _channel, "mode": _mode})
		return OK

	func _get_available_packet_count() -> int:
		return inbox.size()

	func _get_packet_script() -> PackedByteArray:
		return inbox.pop_front()["bytes"]

	func _get_packet_peer() -> int:
		return 1

	func _get_packet_channel() -> int:
		return inbox[0]["channel"]

	func _get_packet_mode() -> TransferMode:
		return inbox[0]["mode"]

	func _disconnect_peer(_id: int, _force: bool) -> void:
		_close()

	func _close() -> void:
		if status == CONNECTION_CONNECTED and server != null:
			server.client_left(id)
		status = CONNECTION_DISCONNECTED

	func _get_connection_status() -> ConnectionStatus:
		return status

	func _set_target_peer(_peer: int) -> void:
		pass

	func _set_transfer_channel(channel: int) -> void:
		_channel = channel

	func _get_transfer_channel() -> int:
		return _channel

	func _set_transfer_mode(mode: TransferMode) -> void:
		_mode = mode

	func _get_transfer_mode() -> TransferMode:
		return _mode

	func _get_max_packet_size() -> int:
		return 4096

	func _is_server() -> bool:
		return false

	func _get_unique_id() -> int:
		return id

	func _is_server_relay_supported() -> bool:
		return true

	func _set_refuse_new_connections(_enable: bool) -> void:
		pass

	func _is_refusing_new_connections() -> bool:
		return false
