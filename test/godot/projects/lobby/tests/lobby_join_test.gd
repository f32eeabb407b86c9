extends PkarrTestCase
## Instance B: Pkarr.join() ends in a connected WebSocketMultiplayerPeer. The browser cannot run
## a game server, so the Node test runs a stand-in for Godot's WebSocketMultiplayerPeer server
## (it sends the 4-byte little-endian peer id first, as the engine's server does) and a refusing
## one (it completes the WebSocket handshake and drops the connection without an id, as a
## full Godot server with refuse_new_connections does). The lobbies are published by this instance's own sidecar with
## PkarrLobbyHost (create_server off) under the pkarr/lobby/* project settings, and joined by
## short code.

const GAME := "pkarr-join-test"
const VERSION := "2.0"


func before_all() -> void:
	timeout_sec = 90.0
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var connected := await PkarrLobbyTestLink.connect_service(tree, pkarr)
	assert_true(connected.is_ok(), "connected to sidecar b: %s" % connected)
	shared["standin"] = (await PkarrLobbyTestLink.live_config(tree)).get("standin", {})


func before_each() -> void:
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_ID, GAME)
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_VERSION, VERSION)


func after_all() -> void:
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_ID, null)
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_VERSION, null)


func test_joins_a_websocket_server_by_short_code() -> void:
	var standin: Dictionary = shared["standin"]
	if not assert_true(standin.has("port"), "the stand-in server is running: %s" % standin):
		return
	var host := _make_host("ws-room", int(standin["port"]))
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	assert_eq([host.lobby.game, host.lobby.game_version], [GAME, VERSION], "from the project settings")
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var joined: PkarrResult = await pkarr.join(host.short_code)
	if assert_true(joined.is_ok(), "joined %s: %s" % [host.short_code, joined]):
		var peer: MultiplayerPeer = joined.value
		assert_true(peer is PkarrJoinedPeer and (peer as PkarrJoinedPeer).get_transport_peer()
				is WebSocketMultiplayerPeer, "the web joins over WebSocket")
		assert_eq(peer.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED)
		assert_eq(peer.get_unique_id(), int(standin["peer_id"]), "the id the server assigned")
		peer.close()
	await host.close(0)


func test_a_refusing_server_is_join_refused() -> void:
	var standin: Dictionary = shared["standin"]
	if not assert_true(standin.has("refusing_port"), "the refusing stand-in is running"):
		return
	var host := _make_host("ws-full", int(standin["refusing_port"]))
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var joined: PkarrResult = await pkarr.join(host.invite_code, {"timeout": 10.0})
	assert_eq(joined.error_code, PkarrResult.JOIN_REFUSED, str(joined))
	await host.close(0)


func test_join_failures_have_distinct_codes() -> void:
	var standin: Dictionary = shared["standin"]
	var host := _make_host("ws-codes", int(standin.get("port", 9)))
	host.max_players = 2
	await host.set_players(2)
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var full: PkarrResult = await pkarr.join(host.short_code)
	assert_eq(full.error_code, PkarrResult.LOBBY_FULL, str(full))
	await host.set_players(1)
	var other: PkarrResult = await pkarr.join(host.short_code, {"game": "another-game"})
	assert_eq(other.error_code, PkarrResult.OTHER_GAME, str(other))
	var no_enet: PkarrResult = await pkarr.join(host.invite_code, {"transport": "enet"})
	assert_eq(no_enet.error_code, PkarrResult.NO_TRANSPORT, str(no_enet))
	var last := host.short_code.right(1)
	var mistyped: PkarrResult = await pkarr.join(host.short_code.left(10) + ("2" if last != "2" else "3"))
	assert_eq(mistyped.error_code, PkarrResult.NO_LOBBY, str(mistyped))
	await host.close(0)
	var closed: PkarrResult = await pkarr.join(host.invite_code)
	assert_eq(closed.error_code, PkarrResult.LOBBY_CLOSED, str(closed))


func _make_host(key_name: String, port: int) -> PkarrLobbyHost:
	var host := PkarrLobbyHost.new()
	host.create_server = false  # a browser cannot run a game server: the stand-in is it
	host.transport = "ws"
	host.address = "127.0.0.1"
	host.port = port
	host.key_name = key_name
	host.browsable = false
	host.lobby_name = "Join room"
	add_child_autofree(host)
	return host


func test_the_readme_example_hosts_and_joins() -> void:
	# The Lobbies example of addons/pkarr/README.md (= README.md's Quickstart), copied here by the
	# host, run as written: hosting stops at the platform check (a browser cannot run a game
	# server), joining by short code ends in the stand-in's connected peer on `multiplayer`.
	var standin: Dictionary = shared["standin"]
	var script: GDScript = load("res://generated/readme_lobbies.gd")
	if not assert_not_null(script, "the README example loads") or not standin.has("port"):
		return
	var lobby := _make_host("ws-readme", int(standin["port"]))
	var opened: PkarrResult = await lobby.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	var example: Node = script.new()
	var host := PkarrLobbyHost.new()
	host.name = "PkarrLobbyHost"
	host.key_name = "readme-host"
	example.add_child(host)
	var browser := PkarrLobbyBrowser.new()
	browser.name = "PkarrLobbyBrowser"
	example.add_child(browser)
	add_child_autofree(example)
	var hosted: PkarrResult = await example.host_game()
	assert_eq(hosted.error_code, PkarrResult.UNSUPPORTED_PLATFORM, str(hosted))
	assert_true(browser.is_watching() or browser._active, "the browser started from the settings")
	var joined: PkarrResult = await example.join_game(lobby.short_code)
	if assert_true(joined.is_ok(), str(joined)):
		var peer := example.multiplayer.multiplayer_peer
		assert_true(peer is PkarrJoinedPeer and peer == joined.value)
		assert_eq(peer.get_unique_id(), int(standin["peer_id"]))
		example.multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
		peer.close()
	await lobby.close(0)
