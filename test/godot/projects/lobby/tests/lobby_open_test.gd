extends PkarrTestCase
## What opening a lobby and joining one cost and end in, against a real sidecar (its URL and
## token in the project settings) and the Node stand-ins of a host's WebSocket game server
## (host/websocket-standin.ts, ports in config.standin). Opening counts the sidecar calls the
## host makes (a PkarrService that logs call_method); each count is also printed as
## `PKARR_COUNT <what> <n>` for the report.

const GAME := "pkarr-open-test"


## A PkarrService that logs every method it is asked to call.
class CountingService extends PkarrService:
	var calls: Array[String] = []

	func call_method(method: String, params: Dictionary = {}, timeout: float = -1.0) -> PkarrResult:
		calls.append(method)
		return await super.call_method(method, params, timeout)


var counting: CountingService


func before_each() -> void:
	timeout_sec = 60.0
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_ID, GAME)
	counting = CountingService.new()
	add_child_autofree(counting)
	var ready: PkarrResult = await counting.wait_ready(20.0)
	assert_true(ready.is_ok(), "connected to the sidecar: %s" % ready)


func after_all() -> void:
	ProjectSettings.set_setting(PkarrSettings.LOBBY_GAME_ID, null)


func _make_host(key_name: String, port_key: String) -> PkarrLobbyHost:
	var host := PkarrLobbyHost.new()
	host.service = counting
	host.create_server = false  # a browser cannot run a game server: a stand-in is it
	host.transport = "ws"
	host.address = "127.0.0.1"
	host.port = int(config["standin"][port_key])
	host.key_name = key_name
	host.browsable = false
	host.lobby_name = "Open room"
	add_child_autofree(host)
	return host


func test_opening_a_lobby_is_one_call() -> void:
	# A key the sidecar does not have yet: created by the same call.
	var host := _make_host("open-%d" % Time.get_ticks_usec(), "port")
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	print("PKARR_COUNT open-new-key %d" % counting.calls.size())
	assert_eq(counting.calls, ["lobby.host"] as Array[String])
	await host.close(0)
	counting.calls.clear()
	var again: PkarrResult = await host.open()  # the key exists now
	assert_true(again.is_ok(), str(again))
	print("PKARR_COUNT open-existing-key %d" % counting.calls.size())
	assert_eq(counting.calls, ["lobby.host"] as Array[String])
	await host.close(0)


func test_opening_a_locked_lobby_is_one_call() -> void:
	var host := _make_host("locked-%d" % Time.get_ticks_usec(), "port")
	await host.set_joinable(false)
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	print("PKARR_COUNT open-locked %d" % counting.calls.size())
	assert_eq(counting.calls, ["lobby.host"] as Array[String])
	assert_false(host.lobby.open, "published locked")
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var joined: PkarrResult = await pkarr.join(host.invite_code, {"timeout": 5.0})
	assert_eq(joined.error_code, PkarrResult.LOBBY_CLOSED, str(joined))
	await host.close(0)


# Publishes, under [param key_name], a lobby whose game server is stand-in [param port_key] and
# whose record says the server admits players (as a PkarrLobbyHost with create_server does).
func _publish_admitting(key_name: String, port_key: String) -> String:
	var host := _make_host(key_name, port_key)
	var params := PkarrLobbyConfig.host_params(host)
	params["admission"] = true
	var hosted: PkarrResult = await counting.call_method("lobby.host", params, 30.0)
	if not assert_true(hosted.is_ok(), str(hosted)):
		return ""
	assert_eq(hosted.value["lobby"]["admission"], true)
	return str(hosted.value["inviteCode"])


func test_a_player_refused_by_a_full_host_ends_in_lobby_full() -> void:
	var code := await _publish_admitting("full-%d" % Time.get_ticks_usec(), "full_port")
	if code == "":
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var joined: PkarrResult = await pkarr.join(code, {"timeout": 10.0})
	assert_eq(joined.error_code, PkarrResult.LOBBY_FULL, str(joined))


func test_an_admitted_player_joins_and_plays() -> void:
	var code := await _publish_admitting("admit-%d" % Time.get_ticks_usec(), "admitting_port")
	if code == "":
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var joined: PkarrResult = await pkarr.join(code, {"timeout": 10.0})
	if not assert_true(joined.is_ok(), str(joined)):
		return
	# As the README's join glue does: the peer goes to this node's multiplayer.
	var game := Node.new()
	add_child_autofree(game)
	var api := SceneMultiplayer.new()
	tree.set_multiplayer(api, game.get_path())
	var packets: Array = []
	api.peer_packet.connect(func(id: int, bytes: PackedByteArray) -> void:
		packets.append([id, bytes.get_string_from_utf8()]))
	game.multiplayer.multiplayer_peer = joined.value
	var got := await wait_until(func() -> bool: return not packets.is_empty(), 10.0)
	assert_true(got, "the game packet after the admission arrived")
	assert_eq(packets, [[1, "hi"]])
	assert_eq(Array(game.multiplayer.get_peers()), [1], "the server is a peer of the game")
	game.multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
	(joined.value as MultiplayerPeer).close()
	tree.set_multiplayer(null, game.get_path())
