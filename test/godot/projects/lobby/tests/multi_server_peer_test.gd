extends PkarrTestCase
## PkarrMultiServerPeer with two in-memory inner servers ("enet" and "ws", GDScript
## MultiplayerPeerExtension fakes from lib/fake_multiplayer_net.gd: the web engine runs neither
## an ENet nor a WebSocket server) and the admission handshake of PkarrLobbyAdmission, played
## by the real player-side code. The last test runs three real SceneMultiplayer instances over it.

const FakeNet := preload("res://lib/fake_multiplayer_net.gd")

var mux: PkarrMultiServerPeer
var enet: FakeNet.FakeServer
var ws: FakeNet.FakeServer
var connected: Array[int] = []
var disconnected: Array[int] = []
var refused: Array = []


func before_each() -> void:
	mux = PkarrMultiServerPeer.new()
	enet = FakeNet.FakeServer.new()
	ws = FakeNet.FakeServer.new()
	connected.clear()
	disconnected.clear()
	refused.clear()
	assert_eq(mux.add_server("enet", enet), OK)
	assert_eq(mux.add_server("ws", ws), OK)
	mux.peer_connected.connect(func(id: int) -> void: connected.append(id))
	mux.peer_disconnected.connect(func(id: int) -> void: disconnected.append(id))
	mux.peer_refused.connect(func(id: int, transport: String, reason: String) -> void:
		refused.append([id, transport, reason]))


func after_each() -> void:
	mux.close()
	mux = null
	enet = null
	ws = null


# A player connects to [param server] with inner id [param id] and runs the player side of the
# handshake; the value is what PkarrLobbyAdmission.await_admission answered.
func _join(server: FakeNet.FakeServer, client: FakeNet.FakeClient, id: int) -> PkarrResult:
	server.accept(client, id)
	mux.poll()  # the connection event: admission sent
	var result := await PkarrLobbyAdmission.await_admission(client, 1.0)
	mux.poll()  # the ack: reported to the game
	return result


func test_keeps_ids_remaps_collisions_and_routes_by_transport() -> void:
	var a := FakeNet.FakeClient.new()
	var b := FakeNet.FakeClient.new()
	var c := FakeNet.FakeClient.new()
	assert_true((await _join(enet, a, 7)).is_ok())
	assert_true((await _join(ws, b, 7)).is_ok(), "the same inner id on the other server")
	assert_true((await _join(ws, c, 9)).is_ok())
	if not assert_eq(connected.size(), 3, str(connected)):
		return
	var b_id := connected[1]
	assert_eq([connected[0], connected[2]], [7, 9], "free inner ids are kept")
	assert_true(b_id >= 2 and b_id != 7 and b_id != 9, "a colliding id is replaced: %d" % b_id)
	assert_eq([mux.get_transport_of(7), mux.get_transport_of(b_id), mux.get_transport_of(9)],
			["enet", "ws", "ws"])
	assert_eq(mux.get_inner_id(b_id), 7)
	assert_eq(Array(mux.get_peers()), [7, b_id, 9])
	# Out: to b only, on its server, with its inner id, channel and mode kept.
	mux.set_target_peer(b_id)
	mux.transfer_channel = 3
	mux.transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	assert_eq(mux.put_packet(PackedByteArray([1, 2, 3])), OK)
	var last: Dictionary = ws.sent.back()
	assert_eq([last["to"], last["bytes"], last["channel"], last["mode"]],
			[7, PackedByteArray([1, 2, 3]), 3, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE])
	assert_eq([a.inbox.size(), b.inbox.size(), c.inbox.size()], [0, 1, 0])
	assert_eq(enet.sent.size(), 1, "enet carried only a's admission")
	# In: packets carry the outer id, their channel and mode, in arrival order per server.
	b.transfer_channel = 2
	b.transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED
	b.put_packet(PackedByteArray([9]))
	a.put_packet(PackedByteArray([8]))
	mux.poll()
	assert_eq(mux.get_available_packet_count(), 2)
	var got: Array = []
	while mux.get_available_packet_count() > 0:
		got.append([mux.get_packet_peer(), mux.get_packet_channel(), mux.get_packet_mode(),
				mux.get_packet()])
	assert_eq(got, [[7, 0, MultiplayerPeer.TRANSFER_MODE_RELIABLE, PackedByteArray([8])],
			[b_id, 2, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, PackedByteArray([9])]])


func test_broadcasts_reach_admitted_players_of_every_server() -> void:
	var a := FakeNet.FakeClient.new()
	var b := FakeNet.FakeClient.new()
	var waiting := FakeNet.FakeClient.new()
	await _join(enet, a, 5)
	await _join(ws, b, 6)
	ws.accept(waiting, 11)
	mux.poll()  # admitted but not acknowledged yet: not a player
	assert_eq(waiting.inbox.size(), 1, "its admission")
	mux.set_target_peer(MultiplayerPeer.TARGET_PEER_BROADCAST)
	assert_eq(mux.put_packet(PackedByteArray([42])), OK)
	assert_eq([a.inbox.size(), b.inbox.size(), waiting.inbox.size()], [1, 1, 1])
	mux.set_target_peer(-5)  # all but a
	assert_eq(mux.put_packet(PackedByteArray([43])), OK)
	assert_eq([a.inbox.size(), b.inbox.size(), waiting.inbox.size()], [1, 2, 1])
	mux.set_target_peer(11)
	assert_eq(mux.put_packet(PackedByteArray([44])), ERR_INVALID_PARAMETER,
			"nothing reaches a player before its admission")
	mux.set_target_peer(12345)
	assert_eq(mux.put_packet(PackedByteArray([45])), ERR_INVALID_PARAMETER, "unknown peer")


func test_refused_players_get_the_reason_and_never_reach_the_game() -> void:
	mux.refusal_grace_msec = 0
	var reasons := {"enet": PkarrResult.LOBBY_FULL, "ws": PkarrResult.LOBBY_CLOSED}
	var asked: Array = []
	mux.admission_policy = func(id: int, transport: String) -> String:
		asked.append([id, transport, mux.count_places()])
		return "" if mux.count_places() == 0 else reasons[transport]
	var first := FakeNet.FakeClient.new()
	assert_true((await _join(enet, first, 3)).is_ok())
	var full := FakeNet.FakeClient.new()
	var result := await _join(enet, full, 4)
	assert_eq(result.error_code, PkarrResult.LOBBY_FULL, str(result))
	var closed := FakeNet.FakeClient.new()
	var result_ws := await _join(ws, closed, 4)
	assert_eq(result_ws.error_code, PkarrResult.LOBBY_CLOSED, str(result_ws))
	assert_eq(asked, [[3, "enet", 0], [4, "enet", 1], [4, "ws", 1]],
			"asked once per player, before it counts")
	assert_eq(connected, [3] as Array[int], "only the admitted player reached the game")
	var ws_id: int = refused[1][0] if refused.size() == 2 else 0
	assert_eq(refused.size(), 2)
	assert_eq(refused[0], [4, "enet", PkarrResult.LOBBY_FULL])
	mux.poll()  # the grace is over: both are disconnected
	assert_eq(enet.disconnects, [[4, false]])
	assert_eq(ws.disconnects, [[4, false]])
	assert_eq(Array(mux.get_peers()), [3])
	assert_eq(mux.get_transport_of(ws_id), "", "forgotten")
	mux.poll()  # their disconnection events
	assert_eq(disconnected, [] as Array[int], "never reported, so never reported gone")


func test_a_player_that_does_not_answer_is_dropped() -> void:
	mux.admission_timeout = 0.2
	var silent := FakeNet.FakeClient.new()
	enet.accept(silent, 20)
	mux.poll()
	var chatty := FakeNet.FakeClient.new()
	ws.accept(chatty, 21)
	mux.poll()
	chatty.put_packet(PackedByteArray([1, 2]))  # game data instead of the ack
	mux.poll()
	assert_eq(ws.disconnects, [[21, false]], "game data before the ack: dropped at once")
	assert_eq(enet.disconnects, [])
	var dropped := await wait_until(func() -> bool:
		mux.poll()
		return not enet.disconnects.is_empty(), 5.0)
	assert_true(dropped, "no ack within admission_timeout: dropped")
	assert_eq(enet.disconnects, [[20, false]])
	assert_eq([connected.size(), mux.get_available_packet_count(), mux.count_places()],
			[0, 0, 0], "never reported")


func test_disconnections_are_reported_once_and_drop_queued_packets() -> void:
	var a := FakeNet.FakeClient.new()
	var b := FakeNet.FakeClient.new()
	var c := FakeNet.FakeClient.new()
	await _join(enet, a, 2)
	await _join(ws, b, 3)
	await _join(ws, c, 4)
	a.put_packet(PackedByteArray([1]))
	mux.poll()
	a.close()  # leaves with a packet still queued
	mux.poll()
	assert_eq(disconnected, [2] as Array[int])
	assert_eq(mux.get_available_packet_count(), 0, "a's packet went with it")
	mux.disconnect_peer(3)  # graceful: the inner server reports it
	assert_eq(ws.disconnects, [[3, false]])
	mux.poll()
	assert_eq(disconnected, [2, 3] as Array[int])
	mux.disconnect_peer(4, true)  # forced: no signal, as with the engine's peers
	mux.poll()
	assert_eq(ws.disconnects, [[3, false], [4, true]])
	assert_eq(disconnected, [2, 3] as Array[int])
	assert_eq(Array(mux.get_peers()), [])


func test_refusing_new_connections_reaches_every_server() -> void:
	mux.refuse_new_connections = true
	assert_eq([mux.refuse_new_connections, enet.refuse_new_connections,
			ws.refuse_new_connections], [true, true, true])
	var turned_away := FakeNet.FakeClient.new()
	assert_false(ws.accept(turned_away, 5))
	mux.refuse_new_connections = false
	assert_eq([enet.refuse_new_connections, ws.refuse_new_connections], [false, false])
	assert_eq([mux.get_unique_id(), mux.is_server_relay_supported()], [1, true])
	assert_eq(mux.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED)
	assert_eq(Array(mux.get_transports()), ["enet", "ws"])
	assert_eq(mux.get_server("ws"), ws)
	mux.close()
	assert_eq(mux.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED)
	assert_eq(ws.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "closed too")


func test_add_server_takes_only_running_servers_once() -> void:
	var other := PkarrMultiServerPeer.new()
	assert_eq(other.add_server("x", FakeNet.FakeClient.new()), ERR_INVALID_PARAMETER, "a client")
	var closed := FakeNet.FakeServer.new()
	closed.close()
	assert_eq(other.add_server("x", closed), ERR_UNCONFIGURED, "not running")
	assert_eq(other.add_server("x", FakeNet.FakeServer.new()), OK)
	assert_eq(other.add_server("x", FakeNet.FakeServer.new()), ERR_ALREADY_IN_USE, "same name")
	assert_eq(other.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED)
	var empty := PkarrMultiServerPeer.new()
	assert_eq(empty.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED)


func test_admission_messages_are_read_strictly() -> void:
	assert_eq(PkarrLobbyAdmission.parse(PkarrLobbyAdmission.admit_message()), {"kind": "ok"})
	assert_eq(PkarrLobbyAdmission.parse(PkarrLobbyAdmission.ack_message()), {"kind": "ack"})
	assert_eq(PkarrLobbyAdmission.parse(PkarrLobbyAdmission.refuse_message("LOBBY_FULL")),
			{"kind": "refuse", "reason": "LOBBY_FULL"})
	for text: String in ["", "pkarr-admit/1 ", "pkarr-admit/1 okay", "pkarr-admit/2 ok",
			"pkarr-admit/1 refuse", "pkarr-admit/1 refuse " + "X".repeat(60)]:
		assert_eq(PkarrLobbyAdmission.parse(text.to_utf8_buffer()), {}, text)
	assert_eq(PkarrLobbyAdmission.parse(PackedByteArray([0, 1, 2])), {}, "game data")


func test_scene_multiplayer_players_of_both_transports_see_each_other() -> void:
	# Three real SceneMultiplayers: the host on the multiplexer, player A over "enet", player B
	# over "ws". B's packet to A crosses transports through the host's server relay.
	var host_api := _scene_multiplayer(mux)
	var host_seen: Array[int] = []
	host_api.peer_connected.connect(func(id: int) -> void: host_seen.append(id))
	var a := FakeNet.FakeClient.new()
	var b := FakeNet.FakeClient.new()
	for pair: Array in [[enet, a, 31], [ws, b, 31]]:
		(pair[0] as FakeNet.FakeServer).accept(pair[1], pair[2])
		host_api.poll()
		var admitted := await PkarrLobbyAdmission.await_admission(pair[1], 1.0)
		assert_true(admitted.is_ok(), str(admitted))
		host_api.poll()
	if not assert_eq(host_seen.size(), 2, "the host's game saw both players: %s" % str(host_seen)):
		return
	var a_api := _scene_multiplayer(a)
	var b_api := _scene_multiplayer(b)
	var a_got: Array = []
	var b_got: Array = []
	var b_peers: Array[int] = []
	a_api.peer_packet.connect(func(id: int, bytes: PackedByteArray) -> void: a_got.append([id, bytes]))
	b_api.peer_packet.connect(func(id: int, bytes: PackedByteArray) -> void: b_got.append([id, bytes]))
	b_api.peer_connected.connect(func(id: int) -> void: b_peers.append(id))
	# A client peer reports the server when it connects; these are connected already, as a
	# joined peer is, so they report it again (what Pkarr.join arranges).
	a.peer_connected.emit(1)
	b.peer_connected.emit(1)
	for i in 3:
		for api: SceneMultiplayer in [host_api, a_api, b_api]:
			api.poll()
	assert_has(b_peers, host_seen[0], "the host told B about A (relayed peer list)")
	assert_eq(b_api.send_bytes(PackedByteArray([7, 7]), host_seen[0]), OK)
	for i in 3:
		for api: SceneMultiplayer in [host_api, a_api, b_api]:
			api.poll()
	assert_eq(host_api.send_bytes(PackedByteArray([1])), OK, "to everyone")
	for i in 3:
		for api: SceneMultiplayer in [host_api, a_api, b_api]:
			api.poll()
	assert_eq(a_got, [[host_seen[1], PackedByteArray([7, 7])], [1, PackedByteArray([1])]],
			"B's packet crossed from ws to enet with B's id")
	assert_eq(b_got, [[1, PackedByteArray([1])]])
	for api: SceneMultiplayer in [host_api, a_api, b_api]:
		api.multiplayer_peer = null


func _scene_multiplayer(peer: MultiplayerPeer) -> SceneMultiplayer:
	var api := SceneMultiplayer.new()
	api.root_path = NodePath("/root")
	api.multiplayer_peer = peer
	return api
