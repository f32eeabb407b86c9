extends PkarrTestCase
## The player's side of a join (PkarrLobbyJoin.connect_route, what Pkarr.join runs after the
## sidecar's lobby.join) against the Node stand-ins of a PkarrLobbyHost's WebSocket game server
## (host/websocket-standin.ts): the admission handshake, a refusal with its reason, and a joined
## peer that a SceneMultiplayer then really uses (the server is announced to it again). The
## stand-ins' ports come in `config.standin`; no sidecar.


func _route(port_key: String, admission: bool) -> Dictionary:
	var standin: Dictionary = config.get("standin", {})
	return {"host": "127.0.0.1", "port": int(standin.get(port_key, 0)),
			"lobby": {"admission": admission}}


func test_an_admitted_player_ends_in_a_working_peer() -> void:
	var joined := await PkarrLobbyJoin.connect_route(_route("admitting_port", true), "ws", 10.0)
	if not assert_true(joined.is_ok(), str(joined)):
		return
	var peer: MultiplayerPeer = joined.value
	assert_eq(peer.get_unique_id(), int(config["standin"]["peer_id"]))
	assert_true(peer is PkarrJoinedPeer and (peer as PkarrJoinedPeer).get_transport_peer()
			is WebSocketMultiplayerPeer, "the transport's own peer is inside")
	assert_eq((peer as PkarrJoinedPeer).transport, "ws")
	# What a game does next: hand the peer to its SceneMultiplayer.
	var api := SceneMultiplayer.new()
	api.root_path = NodePath("/root")
	var events: Array = []
	api.connected_to_server.connect(func() -> void: events.append("connected_to_server"))
	api.peer_packet.connect(func(id: int, bytes: PackedByteArray) -> void:
		events.append([id, bytes.get_string_from_utf8()]))
	api.multiplayer_peer = peer
	var got := await wait_until(func() -> bool:
		api.poll()
		return events.size() >= 2, 10.0)
	assert_true(got, "events: %s" % str(events))
	assert_eq(events, ["connected_to_server", [1, "hi"]],
			"the server is known to SceneMultiplayer and its game packet arrives")
	assert_eq(Array(api.get_peers()), [1])
	api.multiplayer_peer = null
	peer.close()


func test_a_full_lobby_refuses_with_lobby_full() -> void:
	var joined := await PkarrLobbyJoin.connect_route(_route("full_port", true), "ws", 10.0)
	assert_eq(joined.error_code, PkarrResult.LOBBY_FULL, str(joined))


func test_a_host_that_never_admits_times_out() -> void:
	# The record says admission, but the server (the plain stand-in) only sends the peer id.
	var joined := await PkarrLobbyJoin.connect_route(_route("port", true), "ws", 2.0)
	assert_eq(joined.error_code, PkarrResult.TIMEOUT, str(joined))


func test_without_admission_the_connection_is_the_join() -> void:
	var joined := await PkarrLobbyJoin.connect_route(_route("port", false), "ws", 10.0)
	if assert_true(joined.is_ok(), str(joined)):
		(joined.value as MultiplayerPeer).close()
	var refused := await PkarrLobbyJoin.connect_route(_route("refusing_port", false), "ws", 10.0)
	assert_eq(refused.error_code, PkarrResult.JOIN_REFUSED, str(refused))
