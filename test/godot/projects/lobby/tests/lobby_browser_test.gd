extends PkarrTestCase
## Instance B: finds the lobby instance A hosts (lobby_host_test.gd) with PkarrLobbyBrowser (by
## the game's DHT topic) and with Pkarr.get_lobby (by code), sees its player count change and
## loses it when A closes it.

const GAME := "pkarr-engine-test"
const VERSION := "1.0"


func before_all() -> void:
	timeout_sec = 90.0
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var connected := await PkarrLobbyTestLink.connect_service(tree, pkarr)
	assert_true(connected.is_ok(), "connected to sidecar b: %s" % connected)


func after_all() -> void:
	var browser: Node = shared.get("browser")
	if browser != null and is_instance_valid(browser):
		browser.queue_free()


func test_finds_the_lobby_by_topic() -> void:
	var opened: Variant = await PkarrLobbyTestLink.wait_for(tree, "opened", 80.0)
	if not assert_not_null(opened, "instance A opened a lobby"):
		return
	shared["code"] = opened["code"]
	shared["key"] = opened["key"]
	shared["short_code"] = opened.get("short_code", "")
	var browser := PkarrLobbyBrowser.new()
	browser.game_id = GAME
	browser.game_version = VERSION
	browser.refresh_interval = 5
	var events := {"found": [], "updated": [], "lost": [], "failed": []}
	browser.lobby_found.connect(func(l: PkarrLobby) -> void: events["found"].append(l))
	browser.lobby_updated.connect(func(l: PkarrLobby) -> void: events["updated"].append(l))
	browser.lobby_lost.connect(func(key: String, _reason: String) -> void:
		events["lost"].append(key))
	browser.failed.connect(func(failure: PkarrResult) -> void:
		events["failed"].append(failure.error_message))
	shared["browser"] = browser
	shared["events"] = events
	tree.root.add_child(browser)
	var key: String = shared["key"]
	var seen := await wait_until(func() -> bool: return browser.get_lobby(key) != null, 60.0)
	if not assert_true(seen, "lobby_found within 60 s (failures: %s)" % str(events["failed"])):
		return
	assert_true(browser.is_watching())
	var lobby: PkarrLobby = events["found"][0]
	assert_eq(lobby.public_key, key)
	assert_eq(lobby.invite_code, shared["code"])
	assert_eq([lobby.name, lobby.players, lobby.max_players, lobby.open], ["Engine room", 1, 4, true])
	assert_eq(lobby.source, "topic")
	assert_false(lobby.is_lan(), "found over the DHT topic, not on the LAN")
	assert_true(lobby.has_rtt(), "its beacon answered: a measured round trip (%s)" % lobby.rtt_ms)
	print("lobby round trip seen by the browser: %.2f ms" % lobby.rtt_ms)
	assert_eq(lobby.reach, PkarrReachability.UNKNOWN, "A gave its address: no reach published")
	assert_eq(str(lobby.get_endpoint("enet")), "enet://127.0.0.1:7777")
	assert_eq(lobby.custom, {"mode": "ctf"})
	assert_eq(browser.get_lobbies().size(), 1)


func test_gets_the_lobby_by_code() -> void:
	var code: String = shared.get("code", "")
	if not assert_ne(code, "", "a code from instance A"):
		return
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	var found: PkarrResult = await pkarr.get_lobby("  %s\n" % code, GAME, VERSION)
	if assert_true(found.is_ok(), str(found)):
		var lobby: PkarrLobby = found.value
		assert_eq([lobby.public_key, lobby.name, lobby.players], [shared["key"], "Engine room", 1])
		assert_has(["cache", "dht", "relay"], lobby.source)
		assert_eq(lobby.get_endpoint("enet").port, 7777)
	var other_game: PkarrResult = await pkarr.get_lobby(code, "another-game")
	assert_eq(other_game.error_code, PkarrLobby.OTHER_GAME, str(other_game))
	var short_code: String = shared.get("short_code", "")
	if assert_eq(short_code.length(), 11, "a short code from instance A: %s" % short_code):
		# Typed by a player: lower case, no dash, an O for a 0 and an l for a 1.
		var typed := short_code.to_lower().replace("-", " ").replace("0", "o").replace("1", "l")
		var by_short: PkarrResult = await pkarr.get_lobby(typed, GAME, VERSION)
		if assert_true(by_short.is_ok(), "by short code %s: %s" % [typed, by_short]):
			assert_eq(by_short.value.public_key, shared["key"])
			assert_false(by_short.value.has_rtt(), "by code: the host was not contacted")
		var browser: PkarrLobbyBrowser = shared.get("browser")
		if browser != null:
			assert_null(browser.get_lobby(short_code), "a short code not resolved yet")
			var in_list: PkarrResult = await browser.find_lobby(typed)
			if assert_true(in_list.is_ok(), "the browser finds it by short code: %s" % in_list):
				assert_eq(in_list.value, browser.get_lobby(shared["key"]), "the listed lobby")
				assert_eq(browser.get_lobby(typed), in_list.value, "then get_lobby knows the code")
				assert_eq(browser.get_lobby(short_code), in_list.value, "typed any way")
				assert_eq(browser.get_lobby("https://%s/join" % shared["key"]), in_list.value,
						"and a link with the key")
		var bookmarks := PkarrLobbyBrowser.new()  # a friend's short code as a known key
		bookmarks.autostart = false
		bookmarks.game_id = GAME
		bookmarks.game_version = VERSION
		bookmarks.browse_topic = false
		bookmarks.known_keys = PackedStringArray([typed])
		add_child_autofree(bookmarks)
		var listed: PkarrResult = await bookmarks.refresh()
		if assert_true(listed.is_ok(), str(listed)) and assert_eq(listed.value.size(), 1):
			assert_eq([listed.value[0].public_key, listed.value[0].source], [shared["key"], "known"])
		var mistyped := short_code.left(10) + ("2" if short_code.right(1) != "2" else "3")
		var wrong: PkarrResult = await pkarr.get_lobby(mistyped, GAME, VERSION)
		assert_eq(wrong.error_code, PkarrResult.NO_LOBBY, "a mistyped short code: %s" % wrong)
	var bad_code: PkarrResult = await pkarr.get_lobby("not a code")
	assert_false(bad_code.is_ok())
	assert_eq(bad_code.error_data.get("field"), "code", str(bad_code))
	PkarrLobbyTestLink.post("found", true)


func test_sees_the_new_player_count() -> void:
	var browser: PkarrLobbyBrowser = shared.get("browser")
	if not assert_not_null(browser, "browsing"):
		return
	var players: Variant = await PkarrLobbyTestLink.wait_for(tree, "players", 80.0)
	if not assert_eq(players, 3, "instance A set 3 players"):
		return
	var events: Dictionary = shared["events"]
	browser.refresh()  # the watch refreshes every 5 s anyway; this only saves time
	var key: String = shared["key"]
	var saw := await wait_until(func() -> bool:
		return events["updated"].any(func(l: PkarrLobby) -> bool:
			return l.public_key == key and l.players == 3), 60.0)
	if not assert_true(saw, "lobby_updated with 3 players within 60 s"):
		return
	assert_eq(browser.get_lobby(key).players, 3)
	PkarrLobbyTestLink.post("updated", true)


func test_loses_the_closed_lobby() -> void:
	var browser: PkarrLobbyBrowser = shared.get("browser")
	if not assert_not_null(browser, "browsing"):
		return
	var closed: Variant = await PkarrLobbyTestLink.wait_for(tree, "closed", 80.0)
	if not assert_not_null(closed, "instance A closed its lobby"):
		return
	var events: Dictionary = shared["events"]
	var key: String = shared["key"]
	browser.refresh()
	var lost := await wait_until(func() -> bool: return key in events["lost"], 60.0)
	if not assert_true(lost, "lobby_lost within 60 s"):
		return
	assert_eq(browser.get_lost_reason(key), "closed")
	assert_eq(browser.get_lobbies().size(), 0)
	assert_eq(events["failed"], [], "no failures while browsing")
	PkarrLobbyTestLink.post("lost", true)
