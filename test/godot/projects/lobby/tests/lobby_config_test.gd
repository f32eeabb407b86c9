extends PkarrTestCase
## Configuration of the lobby nodes without a sidecar: the pkarr/lobby/* project settings,
## editor warnings, browser autostart, the autoload's notification signals, the host's player
## counting and capacity (driven through its multiplayer handlers: the web build cannot create
## an ENet or WebSocket server, see test_a_browser_cannot_create_the_game_server).

const FakeNet := preload("res://lib/fake_multiplayer_net.gd")
const GAME_ID := PkarrSettings.LOBBY_GAME_ID
const GAME_VERSION := PkarrSettings.LOBBY_GAME_VERSION


func after_each() -> void:
	ProjectSettings.set_setting(GAME_ID, null)
	ProjectSettings.set_setting(GAME_VERSION, null)


func test_project_settings_are_the_default_game_id_and_version() -> void:
	var id_entry := PkarrSettings.definition(GAME_ID)
	assert_eq([id_entry["type"], id_entry["default"], id_entry["basic"]], [TYPE_STRING, "", true])
	assert_eq(PkarrSettings.default_value(GAME_VERSION), "1")
	var host := PkarrLobbyHost.new()
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	assert_eq([host.get_game_id(), host.get_game_version()], ["", "1"], "nothing set")
	ProjectSettings.set_setting(GAME_ID, "tanks")
	ProjectSettings.set_setting(GAME_VERSION, "2.1")
	assert_eq([host.get_game_id(), host.get_game_version()], ["tanks", "2.1"])
	var params := PkarrLobbyConfig.host_params(host)
	assert_eq([params["game"], params["gameVersion"]], ["tanks", "2.1"])
	var browse := PkarrLobbyConfig.browse_params(browser)
	assert_eq([browse["game"], browse["gameVersion"]], ["tanks", "2.1"])
	host.game_id = "planes"
	host.game_version = "3"
	params = PkarrLobbyConfig.host_params(host)
	assert_eq([params["game"], params["gameVersion"]], ["planes", "3"],
			"the node's own values win")
	host.free()
	browser.free()


func test_host_configuration_warnings() -> void:
	var host := PkarrLobbyHost.new()
	var warnings := host._get_configuration_warnings()
	assert_eq(warnings.size(), 1, str(warnings))
	assert_has(warnings[0], "pkarr/lobby/game_id")
	ProjectSettings.set_setting(GAME_ID, "tanks")
	assert_eq(host._get_configuration_warnings(), PackedStringArray(), "configured by the project")
	host.game_id = "bad id!"
	host.max_players = 0
	host.beacon_port = 7777
	host.transport = "quic"
	host.key_name = ""
	warnings = host._get_configuration_warnings()
	assert_eq(warnings.size(), 5, str(warnings))
	for part: String in ["bad id!", "max_players is 0", "both 7777", "not quic", "key_name"]:
		assert_true(" ".join(warnings).contains(part), "a warning mentions %s: %s" % [part, warnings])
	host.game_id = ""
	host.max_players = 1
	host.beacon_port = 0
	host.transport = "ws"
	host.key_name = "room"
	assert_eq(host._get_configuration_warnings(), PackedStringArray(
			["max_players is 1 and the host plays: no other player fits"]))
	host.host_plays = false
	assert_eq(host._get_configuration_warnings(), PackedStringArray(), "a dedicated server")
	host.web_port = 7778  # a WebSocket server beside ... a WebSocket server
	assert_has(" ".join(host._get_configuration_warnings()), "needs transport enet")
	host.transport = "enet"
	assert_eq(host._get_configuration_warnings(), PackedStringArray(), "ENet + WebSocket")
	var params := PkarrLobbyConfig.host_params(host)
	assert_eq([params.get("servers"), params.has("port"), params["admission"], params["createKey"]],
			[[{"transport": "enet", "port": 7777}, {"transport": "ws", "port": 7778}], false, true,
			true], "both servers published, admitting players, in one lobby.host call")
	host.beacon_port = 7778
	assert_has(" ".join(host._get_configuration_warnings()), "web_port and beacon_port")
	host.free()


func test_browser_configuration_warnings() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	browser.refresh_interval = 3
	browser.browse_topic = false
	var warnings := browser._get_configuration_warnings()
	assert_eq(warnings.size(), 3, str(warnings))
	assert_has(warnings[0], "pkarr/lobby/game_id")
	assert_has(warnings[1], "refresh_interval 3 s")
	assert_has(warnings[2], "known_keys")
	browser.game_id = "tanks"
	browser.refresh_interval = 5
	browser.known_keys = PackedStringArray(["pk:yj4bqhvahk8dge1hcp6rg5fdqh9g5kjc5zzpbxngptmpr9kgxnsy"])
	assert_eq(browser._get_configuration_warnings(), PackedStringArray())
	browser.free()


func test_browser_autostart_waits_for_a_game_id() -> void:
	var idle := PkarrService.new()
	idle.autostart = false
	add_child_autofree(idle)
	var browser := PkarrLobbyBrowser.new()
	browser.service = idle
	var failures: Array[String] = []
	browser.failed.connect(func(failure: PkarrResult) -> void: failures.append(str(failure)))
	add_child_autofree(browser)
	assert_false(browser._active, "no game id yet: not started")
	assert_eq(failures, [] as Array[String], "not configured is not a failure")
	browser.game_id = "tanks"
	assert_true(browser._active, "started once the game id is set")
	assert_false(browser.is_watching(), "waits for the sidecar connection")
	browser.stop()
	var from_settings := PkarrLobbyBrowser.new()
	from_settings.service = idle
	ProjectSettings.set_setting(GAME_ID, "tanks")
	add_child_autofree(from_settings)
	assert_true(from_settings._active, "the project setting configures it")
	from_settings.stop()
	assert_eq(failures, [] as Array[String])


func test_failed_signals_carry_a_result_with_its_code() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	browser.game_id = "not valid!"
	var failures: Array[PkarrResult] = []
	browser.failed.connect(func(failure: PkarrResult) -> void: failures.append(failure))
	add_child_autofree(browser)
	browser.start()
	if assert_eq(failures.size(), 1):
		assert_eq(failures[0].error_code, PkarrResult.INVALID_ARGUMENT)
		assert_has(failures[0].error_message, "not valid!")


func test_a_browser_cannot_create_the_game_server() -> void:
	var host := PkarrLobbyHost.new()
	host.game_id = "tanks"
	add_child_autofree(host)
	var failures: Array[PkarrResult] = []
	host.failed.connect(func(failure: PkarrResult) -> void: failures.append(failure))
	var result: PkarrResult = await host.open()
	assert_eq(result.error_code, PkarrResult.UNSUPPORTED_PLATFORM, str(result))
	assert_eq(failures.size(), 1)
	assert_eq(failures[0].error_code, PkarrResult.UNSUPPORTED_PLATFORM)
	assert_eq(host.get_state(), PkarrLobbyHost.State.CLOSED)
	assert_null(host.server_peer)
	var server := PkarrLobbyServer.new()
	assert_eq(server.listen("enet", 7777).error_code, PkarrResult.UNSUPPORTED_PLATFORM)


func test_capacity_counts_the_host_when_it_plays() -> void:
	assert_eq(PkarrLobbyServer.max_clients_for(4, true), 3)
	assert_eq(PkarrLobbyServer.max_clients_for(4, false), 4)
	assert_eq(PkarrLobbyServer.max_clients_for(1, true), 0)
	assert_eq(PkarrLobbyServer.max_clients_for(0, false), 0)
	# The game server admits players against that capacity and tells a refused one why
	# (PkarrMultiServerPeer + PkarrLobbyAdmission; the inner server is an in-memory fake).
	var server := PkarrLobbyServer.new()
	server.max_players = 2
	var inner := FakeNet.FakeServer.new()
	if not assert_true(server.serve({"ws": inner}).is_ok()):
		return
	var refused: Array[int] = []
	server.player_refused.connect(func(id: int) -> void: refused.append(id))
	var answers: Array[String] = []
	var players: Array[FakeNet.FakeClient] = []
	for id: int in [5, 6, 7, 8]:
		if id == 7:
			server.accepting = false  # locked (PkarrLobbyHost.set_joinable(false))
		if id == 8:
			server.accepting = true
			players[0].close()  # a place comes free
			server.peer.poll()
		var player := FakeNet.FakeClient.new()
		players.append(player)
		inner.accept(player, id)
		server.peer.poll()
		var admitted := await PkarrLobbyAdmission.await_admission(player, 1.0)
		answers.append("ok" if admitted.is_ok() else admitted.error_code)
		server.peer.poll()
	assert_eq(answers, ["ok", PkarrResult.LOBBY_FULL, PkarrResult.LOBBY_CLOSED, "ok"],
			"one client fits beside the host; a locked lobby refuses; a freed place is taken")
	assert_eq(refused, [6, 7] as Array[int])
	assert_eq(Array(server.peer.get_peers()), [8])
	assert_true(server.admit(8))
	assert_false(server.admit(9), "counting from multiplayer: full")
	assert_eq(server.get_clients(), PackedInt32Array([8]))
	assert_true(server.remove(8))
	assert_false(server.remove(8), "not twice")
	server.close()
	assert_null(server.peer)


func test_counts_joins_and_leaves_and_refuses_beyond_max_players() -> void:
	var host := PkarrLobbyHost.new()
	host.create_server = false
	host.max_players = 3
	tree.root.add_child(host)
	var events: Array[String] = []
	host.player_joined.connect(func(id: int) -> void: events.append("joined %d" % id))
	host.player_left.connect(func(id: int) -> void: events.append("left %d" % id))
	host.player_refused.connect(func(id: int) -> void: events.append("refused %d" % id))
	assert_true(host.game_server.is_watching(), "counts from multiplayer")
	# What SceneMultiplayer emits when peers connect to and leave the game server.
	var api := host.multiplayer
	api.peer_connected.emit(11)
	api.peer_connected.emit(12)
	assert_eq(host.get_players(), 3, "the host and two clients")
	api.peer_connected.emit(13)
	assert_eq(host.get_players(), 3, "full: the third client is refused")
	api.peer_disconnected.emit(13)
	api.peer_disconnected.emit(11)
	assert_eq(host.get_players(), 2)
	api.peer_connected.emit(13)
	assert_eq(host.get_players(), 3, "a place came free")
	assert_eq(events, ["joined 11", "joined 12", "refused 13", "left 11", "joined 13"] as Array[String])
	host.host_plays = false
	api.peer_connected.emit(14)
	assert_eq(host.get_players(), 3, "a dedicated server: three clients fit")
	var server := host.game_server
	host.queue_free()
	await wait_frames(2)
	assert_false(api.peer_connected.is_connected(server.on_peer_connected),
			"a host that left the tree stops counting")
	var quiet := PkarrLobbyHost.new()
	quiet.count_players = false
	add_child_autofree(quiet)
	assert_false(quiet.game_server.is_watching(), "count_players off: no multiplayer handlers")


func test_the_autoload_turns_notifications_into_signals() -> void:
	var pkarr := PkarrService.new()
	pkarr.autostart = false
	add_child_autofree(pkarr)
	var seen: Array[String] = []
	pkarr.dht_ready.connect(func(nodes: int) -> void: seen.append("dht %d" % nodes))
	pkarr.republish_failed.connect(func(key: String, reason: String) -> void:
		seen.append("failed %s %s" % [key, reason]))
	pkarr._on_notification("dht.ready", {"nodes": 12.0})
	pkarr._on_notification("record.republish_failed",
			{"publicKey": "abc", "error": "no DHT node stored it", "code": "PUBLISH_FAILED"})
	assert_eq(seen, ["dht 12", "failed abc no DHT node stored it"] as Array[String])


func test_join_refuses_bad_options_before_calling_the_sidecar() -> void:
	var idle := PkarrService.new()
	idle.autostart = false
	add_child_autofree(idle)
	var bad_transport: PkarrResult = await idle.join("K7M4Q-X9PT2", {"transport": "udp"})
	assert_eq(bad_transport.error_code, PkarrResult.INVALID_ARGUMENT)
	var bad_timeout: PkarrResult = await idle.join("K7M4Q-X9PT2", {"timeout": 0})
	assert_eq(bad_timeout.error_code, PkarrResult.INVALID_ARGUMENT)
	var no_sidecar: PkarrResult = await idle.join("K7M4Q-X9PT2")
	assert_eq(no_sidecar.error_code, PkarrResult.NOT_CONNECTED)
	assert_eq(PkarrLobbyJoin.default_transport(), "ws", "the web joins over WebSocket")
