class_name PkarrJoinedPeer
extends MultiplayerPeerExtension
## The connected client peer [code]Pkarr.join()[/code] ends in: the transport's client
## ([ENetMultiplayerPeer] or [WebSocketMultiplayerPeer], [method get_transport_peer]) handed
## over ready to use.
##
## A client peer tells its owner about the server ([signal MultiplayerPeer.peer_connected] with
## id 1) once, when it connects. [code]Pkarr.join()[/code] polls the peer until it is connected
## (and admitted), before your [SceneMultiplayer] listens, so that news would be lost: the
## [SceneMultiplayer] would not emit [signal MultiplayerAPI.connected_to_server], would drop the
## server's packets and refuse RPCs to it. This peer passes everything through to the transport
## peer and tells the news again on the first [method MultiplayerPeer.poll] of its new owner,
## before the packets that poll reads.
## [codeblock]
## var joined: PkarrResult = await Pkarr.join(code)
## if joined.is_ok():
##     multiplayer.multiplayer_peer = joined.value  # connected_to_server follows
## [/codeblock]

## The transport joined with: [code]"enet"[/code], [code]"ws"[/code] or [code]"wss"[/code].
var transport: String = ""

var _inner: MultiplayerPeer = null
var _announced: bool = false
var _gone: bool = false


## Wraps [param inner], a client peer connected over [param transport_name]; returns this peer.
## [code]PkarrJoinedPeer.new().wrap(peer, "ws")[/code].
func wrap(inner: MultiplayerPeer, transport_name: String) -> MultiplayerPeer:
	_inner = inner
	transport = transport_name
	return self


## The transport's own client peer, e.g. for [method ENetMultiplayerPeer.get_peer].
func get_transport_peer() -> MultiplayerPeer:
	return _inner


func _poll() -> Error:
	if _inner == null:
		return ERR_UNCONFIGURED
	# No signal connections to the transport peer (it may outlive this script while both are
	# freed): its news is read from its state after each poll. A client only ever hears of the
	# server (id 1); SceneMultiplayer's server relay tells it about the other players.
	_inner.poll()
	var status := _inner.get_connection_status()
	if not _announced and status == CONNECTION_CONNECTED:
		_announced = true
		peer_connected.emit(TARGET_PEER_SERVER)
	elif _announced and not _gone and status == CONNECTION_DISCONNECTED:
		_gone = true
		peer_disconnected.emit(TARGET_PEER_SERVER)
	return OK


func _get_available_packet_count() -> int:
	return _inner.get_available_packet_count() if _inner != null else 0


func _get_packet_script() -> PackedByteArray:
	return _inner.get_packet()


func _get_packet_peer() -> int:
	return _inner.get_packet_peer()


func _get_packet_channel() -> int:
	return _inner.get_packet_channel()


func _get_packet_mode() -> TransferMode:
	return _inner.get_packet_mode()


func _put_packet_script(buffer: PackedByteArray) -> Error:
	return _inner.put_packet(buffer) if _inner != null else ERR_UNCONFIGURED


func _set_target_peer(peer: int) -> void:
	_inner.set_target_peer(peer)


func _set_transfer_channel(channel: int) -> void:
	_inner.transfer_channel = channel


func _get_transfer_channel() -> int:
	return _inner.transfer_channel


func _set_transfer_mode(mode: TransferMode) -> void:
	_inner.transfer_mode = mode


func _get_transfer_mode() -> TransferMode:
	return _inner.transfer_mode


func _get_max_packet_size() -> int:
	return _inner.get_max_packet_size()


func _is_server() -> bool:
	return false


func _get_unique_id() -> int:
	return _inner.get_unique_id() if _inner != null else 0


func _is_server_relay_supported() -> bool:
	return _inner.is_server_relay_supported()


func _set_refuse_new_connections(enable: bool) -> void:
	_inner.refuse_new_connections = enable


func _is_refusing_new_connections() -> bool:
	return _inner.refuse_new_connections


func _get_connection_status() -> ConnectionStatus:
	return _inner.get_connection_status() if _inner != null else CONNECTION_DISCONNECTED


func _disconnect_peer(peer: int, force: bool) -> void:
	_inner.disconnect_peer(peer, force)


func _close() -> void:
	if _inner != null:
		_inner.close()
