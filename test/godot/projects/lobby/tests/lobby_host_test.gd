extends PkarrTestCase
## Instance A: hosts a lobby through PkarrLobbyHost on its own sidecar while instance B browses
## it (lobby_browser_test.gd). The two meet through PkarrLobbyTestLink posts:
## opened -> found -> players -> updated -> closed -> lost.

const GAME := "pkarr-engine-test"
const VERSION := "1.0"


func before_all() -> void:
	timeout_sec = 90.0
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var connected := await PkarrLobbyTestLink.connect_service(tree, pkarr)
	assert_true(connected.is_ok(), "connected to sidecar a: %s" % connected)


func after_all() -> void:
	var host: Node = shared.get("host")
	if host != null and is_instance_valid(host):
		host.queue_free()


func test_a_lobby_the_sidecar_refuses_fails_with_its_reason() -> void:
	var host := _make_host("refused")
	host.lobby_name = "x".repeat(65)
	add_child_autofree(host)
	var reasons: Array[String] = []
	host.failed.connect(func(failure: PkarrResult) -> void: reasons.append(failure.error_message))
	var result: PkarrResult = await host.open()
	assert_false(result.is_ok())
	assert_eq(result.error_code, "INVALID_ARGUMENT", str(result))
	assert_has(result.error_message, "name")
	assert_eq(reasons.size(), 1)
	assert_eq(host.get_state(), PkarrLobbyHost.State.CLOSED)


func test_opens_a_lobby_with_an_invite_code() -> void:
	var host := _make_host("host")
	tree.root.add_child(host)
	shared["host"] = host
	var codes: Array[String] = []
	host.opened.connect(func(code: String) -> void: codes.append(code))
	var result: PkarrResult = await host.open()
	if not assert_true(result.is_ok(), str(result)):
		return
	assert_true(host.is_open())
	assert_eq(codes, [host.invite_code] as Array[String], "opened carries the invite code")
	assert_eq(host.invite_code, "pk:" + host.public_key)
	assert_eq(host.public_key.length(), 52)
	assert_true(RegEx.create_from_string("^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
			.search(host.short_code) != null, "a short code: %s" % host.short_code)
	var lobby: PkarrLobby = result.value
	assert_eq([lobby.name, lobby.game, lobby.game_version], ["Engine room", GAME, VERSION])
	assert_eq([lobby.players, lobby.max_players, lobby.open], [1, 4, true])
	assert_eq(lobby.source, "local")
	assert_eq(str(lobby.get_endpoint("enet")), "enet://127.0.0.1:7777")
	assert_eq(lobby.custom, {"mode": "ctf"})
	var again: PkarrResult = await host.open()
	assert_eq(again.error_code, PkarrResult.INVALID_ARGUMENT, "a second open is refused")
	shared["code"] = host.invite_code
	PkarrLobbyTestLink.post("opened", {"code": host.invite_code, "key": host.public_key,
			"short_code": host.short_code})


func test_opens_the_lobby_again_after_a_sidecar_restart() -> void:
	var host: PkarrLobbyHost = shared.get("host")
	if not assert_true(host != null and host.is_open(), "the lobby is open"):
		return
	var found: Variant = await PkarrLobbyTestLink.wait_for(tree, "found", 80.0)
	if not assert_not_null(found, "instance B found the lobby"):
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var updates: Array[bool] = []
	host.updated.connect(func() -> void: updates.append(true))
	var reasons: Array[String] = []
	host.failed.connect(func(failure: PkarrResult) -> void: reasons.append(failure.error_message))
	var restarted := await PkarrLobbyTestLink.ask(tree, "restart a")
	if not assert_true(restarted.get("ok", false), str(restarted)):
		return
	var again := await wait_until(func() -> bool: return not updates.is_empty(), 60.0)
	if not assert_true(again, "updated after the restart (failures: %s)" % str(reasons)):
		return
	assert_true(host.is_open())
	assert_eq(host.invite_code, shared.get("code", ""), "the same key, so the same invite code")
	var hosted: PkarrResult = await pkarr.call_method("lobby.hosted")
	if assert_true(hosted.is_ok(), str(hosted)) and assert_eq(hosted.value.size(), 1):
		assert_eq(hosted.value[0]["key"], "host", "the new sidecar hosts it")
		assert_eq(hosted.value[0]["lobby"]["players"], 1)


func test_publishes_a_new_player_count() -> void:
	var host: PkarrLobbyHost = shared.get("host")
	if not assert_true(host != null and host.is_open(), "the lobby is open"):
		return
	var updates: Array[int] = []
	host.updated.connect(func() -> void: updates.append(host.lobby.players))
	var result: PkarrResult = await host.set_players(3)
	if not assert_true(result.is_ok(), str(result)):
		return
	assert_eq(updates, [3] as Array[int], "updated once, after the record says 3")
	assert_eq(host.get_players(), 3)
	assert_eq(host.lobby.players, 3)
	PkarrLobbyTestLink.post("players", 3)


func test_publishes_counted_players_once_per_interval() -> void:
	var host := _make_host("counted")
	host.browsable = false
	host.max_players = 4
	host.player_update_interval = 0.5
	add_child_autofree(host)
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	assert_eq(host.lobby.players, 1)
	var updates: Array[int] = []
	host.updated.connect(func() -> void: updates.append(host.lobby.players))
	var refused: Array[int] = []
	host.player_refused.connect(func(id: int) -> void: refused.append(id))
	for id: int in [21, 22, 23, 24]:  # one frame: four peers connect, the fourth does not fit
		host.game_server.on_peer_connected(id)
	assert_eq(refused, [24] as Array[int], "max_players 4 = the host and three clients")
	assert_eq(host.get_players(), 4)
	var first := await wait_until(func() -> bool: return not updates.is_empty(), 20.0)
	if not assert_true(first, "the count was published"):
		return
	await wait_seconds(1.5)  # more than two intervals: any extra update would show
	assert_eq(updates, [4] as Array[int], "one update for three joins, with the last count")
	host.game_server.on_peer_disconnected(21)
	host.game_server.on_peer_disconnected(22)
	host.game_server.on_peer_connected(25)
	var second := await wait_until(func() -> bool: return updates.size() >= 2, 20.0)
	assert_true(second, "the leaves were published")
	await wait_seconds(1.5)
	assert_eq(updates, [4, 3] as Array[int], "one update for two leaves and a join")
	assert_eq(host.lobby.players, 3)
	await host.close(0)


func test_a_host_can_stay_open_out_of_the_tree() -> void:
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var kept := _make_host("kept")
	kept.browsable = false
	kept.close_on_exit_tree = false
	tree.root.add_child(kept)
	var opened: PkarrResult = await kept.open()
	if not assert_true(opened.is_ok(), str(opened)):
		kept.free()
		return
	tree.root.remove_child(kept)  # e.g. carried over a scene change
	assert_true(kept.is_open(), "still open out of the tree")
	assert_false(kept.game_server.is_watching())
	assert_has(await _hosted_keys(pkarr), "kept")
	tree.root.add_child(kept)
	assert_true(kept.game_server.is_watching(), "counts again in its new place")
	kept.free()
	var hosted_keys: Array = []
	for attempt: int in 20:  # the close is sent without waiting: give it a moment
		hosted_keys = await _hosted_keys(pkarr)
		if not "kept" in hosted_keys:
			break
		await wait_seconds(0.5)
	assert_false("kept" in hosted_keys, "freeing it closes the lobby: %s" % str(hosted_keys))
	var default := _make_host("leaving")
	default.browsable = false
	tree.root.add_child(default)
	var again: PkarrResult = await default.open()
	if assert_true(again.is_ok(), str(again)):
		tree.root.remove_child(default)
		assert_eq(default.get_state(), PkarrLobbyHost.State.CLOSED, "closed when it left the tree")
	default.free()


func _hosted_keys(pkarr: PkarrService) -> Array:
	var hosted: PkarrResult = await pkarr.call_method("lobby.hosted")
	var keys: Array = []
	if hosted.is_ok():
		for item: Variant in hosted.value:
			keys.append(item["key"])
	return keys


func test_closes_the_lobby() -> void:
	var host: PkarrLobbyHost = shared.get("host")
	if not assert_true(host != null and host.is_open(), "the lobby is open"):
		return
	var updated: Variant = await PkarrLobbyTestLink.wait_for(tree, "updated", 80.0)
	if not assert_not_null(updated, "instance B saw the new player count"):
		return
	var closings: Array[bool] = []
	host.closed.connect(func() -> void: closings.append(true))
	var result: PkarrResult = await host.close()
	assert_true(result.is_ok(), str(result))
	assert_eq(closings.size(), 1)
	assert_false(host.is_open())
	PkarrLobbyTestLink.post("closed", true)
	var lost: Variant = await PkarrLobbyTestLink.wait_for(tree, "lost", 80.0)
	assert_not_null(lost, "instance B lost the lobby")
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var hosted: PkarrResult = await pkarr.call_method("lobby.hosted")
	assert_eq(hosted.value, [], "the sidecar hosts nothing any more")


func _make_host(key_name: String) -> PkarrLobbyHost:
	var host := PkarrLobbyHost.new()
	host.game_id = GAME
	host.game_version = VERSION
	host.lobby_name = "Engine room"
	host.max_players = 4
	host.port = 7777
	host.address = "127.0.0.1"
	host.key_name = key_name
	host.custom = {"mode": "ctf"}
	host.create_server = false  # a browser cannot run a game server
	host.set_players(1)
	return host
