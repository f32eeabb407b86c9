extends PkarrTestCase
## The lobby value types and the nodes' local logic, without a sidecar: PkarrLobby and
## PkarrLobbyEndpoint read the sidecar's JSON, errors map to lobby reasons, the host refuses bad
## settings before sending anything, the browser applies a watch's events at the sidecar's
## positions (no diffing or sorting of its own) and sets a one-off list against the one it holds.

const KEY := "yj4bqhvahk8dge6gjztbrvyqtgb7yqnsqfk7jpo5fyaaunfy7mqo"
const LOBBY_JSON := """{"publicKey": "yj4bqhvahk8dge6gjztbrvyqtgb7yqnsqfk7jpo5fyaaunfy7mqo",
	"inviteCode": "pk:yj4bqhvahk8dge6gjztbrvyqtgb7yqnsqfk7jpo5fyaaunfy7mqo",
	"name": "Alice's room", "game": "tanks", "gameVersion": "1.2", "players": 3, "maxPlayers": 8,
	"open": true, "endpoints": [{"transport": "enet", "host": "203.0.113.7", "port": 7777},
	{"transport": "ws", "host": "2001:db8::1", "port": 8080, "alpn": ["http/1.1"]}],
	"custom": {"mode": "ctf"}, "ageSeconds": 12, "source": "topic", "rttMs": 38.25,
	"timestamp": "1795455074773000", "ttl": 60}"""


func _lobby_data(changes: Dictionary = {}) -> Dictionary:
	var data: Dictionary = JSON.parse_string(LOBBY_JSON)
	data.merge(changes, true)
	return data


func test_lobby_reads_the_sidecar_json() -> void:
	var lobby := PkarrLobby.from_dict(_lobby_data())
	assert_eq(lobby.public_key, KEY)
	assert_eq(lobby.invite_code, "pk:" + KEY)
	assert_eq(lobby.name, "Alice's room")
	assert_eq([lobby.game, lobby.game_version], ["tanks", "1.2"])
	assert_eq(typeof(lobby.players), TYPE_INT, "numbers parsed as floats become ints")
	assert_eq([lobby.players, lobby.max_players, lobby.age_seconds, lobby.ttl], [3, 8, 12, 60])
	assert_true(lobby.open)
	assert_eq(lobby.custom, {"mode": "ctf"})
	assert_eq([lobby.source, lobby.timestamp], ["topic", "1795455074773000"])
	assert_eq(lobby.endpoints.size(), 2)
	assert_eq(lobby.get_transports(), PackedStringArray(["enet", "ws"]))
	var enet := lobby.get_endpoint("enet")
	if assert_not_null(enet):
		assert_eq([enet.host, enet.port, enet.to_url()], ["203.0.113.7", 7777, "enet://203.0.113.7:7777"])
	var ws := lobby.get_endpoint("ws")
	if assert_not_null(ws):
		assert_eq(ws.get_address(), "[2001:db8::1]:8080")
		assert_eq(ws.alpn, PackedStringArray(["http/1.1"]))
		assert_eq(ws.to_dict(), {"transport": "ws", "host": "2001:db8::1", "port": 8080,
				"alpn": ["http/1.1"]})
	assert_null(lobby.get_endpoint("webrtc"))
	assert_false(lobby.is_full())
	assert_eq(lobby.free_slots(), 5)
	assert_eq(str(lobby), "Alice's room (3/8) pk:" + KEY)
	assert_eq(lobby.reach, PkarrReachability.UNKNOWN, "no reach in the JSON: unknown")
	assert_eq([lobby.rtt_ms, lobby.has_rtt(), lobby.is_lan()], [38.25, true, false])
	for unmeasured: Variant in [null, 0, "fast", -3]:
		var never := PkarrLobby.from_dict(_lobby_data({"rttMs": unmeasured}))
		assert_eq([never.rtt_ms, never.has_rtt()], [PkarrLobby.RTT_UNKNOWN, false],
				"rttMs %s: unknown, not 0" % str(unmeasured))
	var lan := PkarrLobby.from_dict(_lobby_data({"source": "lan", "lanAddress": "192.168.1.20"}))
	assert_eq([lan.is_lan(), lan.lan_address], [true, "192.168.1.20"])
	assert_eq(PkarrLobby.from_dict(_lobby_data({"reach": "cone"})).reach, PkarrReachability.CONE)
	assert_eq(PkarrLobby.from_dict(_lobby_data({"reach": "wormhole"})).reach,
			PkarrReachability.UNKNOWN, "a kind this addon does not know is unknown")


func test_lobby_defaults_from_sparse_or_odd_json() -> void:
	var lobby := PkarrLobby.from_dict({"publicKey": KEY, "players": "9", "maxPlayers": 4,
			"endpoints": ["nonsense", {"transport": "enet"}], "custom": {"n": 5}})
	assert_eq(lobby.invite_code, "pk:" + KEY, "derived from the key when missing")
	assert_eq(lobby.players, 9)
	assert_true(lobby.is_full(), "more players than places counts as full")
	assert_eq(lobby.free_slots(), 0)
	assert_eq(lobby.endpoints.size(), 1, "non-objects are skipped")
	assert_eq(lobby.custom, {"n": "5"}, "custom values are Strings")
	assert_false(lobby.open)


func test_same_content_ignores_signing_time_and_source() -> void:
	var lobby := PkarrLobby.from_dict(_lobby_data())
	var resigned := PkarrLobby.from_dict(_lobby_data({"timestamp": "1795455134773000",
			"ageSeconds": 1, "source": "known"}))
	assert_true(lobby.has_same_content(resigned))
	assert_false(lobby.has_same_content(PkarrLobby.from_dict(_lobby_data({"players": 4}))))
	assert_false(lobby.has_same_content(PkarrLobby.from_dict(
			_lobby_data({"custom": {"mode": "dm"}}))))
	assert_false(lobby.has_same_content(PkarrLobby.from_dict(_lobby_data({"endpoints": []}))))
	assert_false(lobby.has_same_content(null))


func test_results_carry_the_lobby_reason_as_error_code() -> void:
	var closed := PkarrLobby.from_result(PkarrResult.failure("NOT_FOUND", "the lobby is closed",
			{"code": "NOT_FOUND", "lobbyError": "LOBBY_CLOSED"}))
	assert_eq(closed.error_code, PkarrLobby.LOBBY_CLOSED)
	assert_eq(closed.error_code, PkarrResult.LOBBY_CLOSED, "one vocabulary: PkarrResult")
	assert_eq(closed.error_message, "the lobby is closed")
	assert_eq(closed.error_data["code"], "NOT_FOUND", "the generic code stays in the data")
	var plain := PkarrResult.failure("INVALID_PUBLIC_KEY_ENCODING", "bad", {"field": "code"})
	assert_eq(PkarrLobby.from_result(plain), plain, "other failures pass through unchanged")
	var odd := PkarrLobby.from_result(PkarrResult.success([1]))
	assert_eq(odd.error_code, PkarrResult.BAD_RESPONSE)
	var found := PkarrLobby.from_result(PkarrResult.success(_lobby_data()))
	if assert_true(found.is_ok()):
		assert_true(found.value is PkarrLobby)
		assert_eq(found.value.name, "Alice's room")


func test_host_refuses_bad_settings_without_a_sidecar() -> void:
	var host := PkarrLobbyHost.new()
	host.create_server = false
	add_child_autofree(host)
	var reasons: Array[String] = []
	host.failed.connect(func(failure: PkarrResult) -> void: reasons.append(failure.error_message))
	var missing_game: PkarrResult = await host.open()
	assert_eq(missing_game.error_code, PkarrResult.INVALID_ARGUMENT)
	assert_has(missing_game.error_message, "game_id")
	host.game_id = "tanks"
	host.max_players = 4
	var too_many: PkarrResult = await host.set_players(5)
	assert_eq(too_many.error_code, PkarrResult.INVALID_ARGUMENT)
	var before_open: PkarrResult = await host.set_players(2)
	assert_true(before_open.is_ok(), "a count before opening is kept for open()")
	assert_eq(host.get_players(), 2)
	var idle := PkarrService.new()
	idle.autostart = false
	add_child_autofree(idle)
	host.service = idle
	var not_connected: PkarrResult = await host.open()
	assert_eq(not_connected.error_code, PkarrResult.NOT_CONNECTED)
	assert_eq(host.get_state(), PkarrLobbyHost.State.CLOSED)
	assert_eq(reasons.size(), 3, "every failure is signalled: %s" % str(reasons))
	var closing: PkarrResult = await host.close()
	assert_true(closing.is_ok() and closing.value == false, "closing a closed lobby is a no-op")


func test_browser_asks_for_the_configured_lobbies() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	browser.game_id = "tanks"
	browser.game_version = "1.2"
	browser.not_full = true
	browser.custom_filters = {"mode": "ctf", "round": 3}
	browser.known_keys = PackedStringArray(["pk:" + KEY])
	assert_eq(PkarrLobbyConfig.browse_params(browser), {"game": "tanks", "gameVersion": "1.2",
			"topic": true,
			"filters": {"openOnly": true, "notFull": true, "custom": {"mode": "ctf", "round": "3"}},
			"knownKeys": ["pk:" + KEY]})
	browser.free()


func test_browser_applies_watch_events_at_the_sidecars_positions() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	add_child_autofree(browser)
	browser._watch_id = "w1"  # as if lobby.watch had answered
	var events: Array[String] = []
	browser.lobby_found.connect(func(l: PkarrLobby) -> void: events.append("found " + l.name))
	browser.lobby_updated.connect(func(l: PkarrLobby) -> void:
		events.append("updated %s %d" % [l.name, l.players]))
	browser.lobby_lost.connect(func(key: String, reason: String) -> void:
		events.append("lost %s %s" % [key, reason]))
	browser.refreshed.connect(func(count: int) -> void: events.append("refreshed %d" % count))
	var event := func(method: String, params: Dictionary) -> void:
		params["watchId"] = "w1"
		browser._on_notification(method, params)
	# The sidecar's order is the list's order: the node never sorts (Bob has more players but
	# comes second because the sidecar said so, e.g. under another sort).
	event.call("lobby.found", {"index": 0, "lobby": _lobby_data()})
	event.call("lobby.found", {"index": 1, "lobby": _lobby_data({"publicKey": "bob", "name": "Bob's room", "players": 5})})
	event.call("lobby.found", {"index": 0, "lobby": _lobby_data({"publicKey": "cat", "name": "Cat's room", "players": 1})})
	event.call("lobby.refreshed", {"count": 3, "stats": {}})
	assert_eq(_names(browser), ["Cat's room", "Alice's room", "Bob's room"] as Array[String])
	assert_eq(events, ["found Alice's room", "found Bob's room", "found Cat's room",
			"refreshed 3"] as Array[String])
	events.clear()
	# updated moves the lobby to its index; the node does not compare (the sidecar did).
	event.call("lobby.updated", {"index": 2, "lobby": _lobby_data({"publicKey": "cat", "name": "Cat's room", "players": 1, "rttMs": 12})})
	assert_eq(_names(browser), ["Alice's room", "Bob's room", "Cat's room"] as Array[String])
	assert_eq(browser.get_lobby("cat").rtt_ms, 12.0)
	event.call("lobby.lost", {"publicKey": "bob", "reason": "closed"})
	event.call("lobby.lost", {"publicKey": "nobody", "reason": "gone"})
	assert_eq(events, ["updated Cat's room 1", "lost bob closed"] as Array[String])
	assert_eq(browser.get_lost_reason("bob"), "closed")
	assert_null(browser.get_lobby("bob"))
	assert_eq(browser.get_lobby("  pk:%s " % KEY).name, "Alice's room", "found by invite code too")
	assert_null(browser.get_lobby("K7M4Q-X9PT2"), "a short code this node has not resolved")
	browser._short_codes[PkarrShortCode.parse("K7M4Q-X9PT2")] = KEY  # as find_lobby leaves it
	assert_eq(browser.get_lobby("k7m4q x9pt2").name, "Alice's room", "a short code typed any way")
	# A refresh's new round-trip times land in place, on the very objects the game holds.
	var alice := browser.get_lobby(KEY)
	assert_eq(alice.rtt_ms, 38.25)
	events.clear()
	event.call("lobby.refreshed", {"count": 2, "stats": {}, "rtts": {KEY: 7.5, "cat": "fast",
			"nobody": 3}})
	assert_eq([alice.rtt_ms, browser.get_lobby("cat").rtt_ms], [7.5, 12.0])
	assert_eq(events, ["refreshed 2"] as Array[String], "no lobby_updated for a round trip")
	events.clear()
	event.call("lobby.found", {"watchId": "w1", "index": 0, "lobby": _lobby_data()})
	browser._on_notification("lobby.found", {"watchId": "w9", "index": 0,
			"lobby": _lobby_data({"publicKey": "other-watch"})})
	assert_eq(events, ["updated Alice's room 3"] as Array[String], "another watch's events are not ours")


func test_browser_sets_a_new_whole_list_against_the_one_it_holds() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	add_child_autofree(browser)
	var events: Array[String] = []
	browser.lobby_found.connect(func(l: PkarrLobby) -> void: events.append("found " + l.name))
	browser.lobby_updated.connect(func(l: PkarrLobby) -> void:
		events.append("updated %s %d" % [l.name, l.players]))
	browser.lobby_lost.connect(func(key: String, reason: String) -> void:
		events.append("lost %s %s" % [key, reason]))
	var other := _lobby_data({"publicKey": "other", "name": "Bob's room", "players": 5})
	browser._replace_list(_list_of([other, _lobby_data()]))
	assert_eq(events, ["found Bob's room", "found Alice's room"] as Array[String])
	assert_eq(_names(browser), ["Bob's room", "Alice's room"] as Array[String])
	events.clear()
	browser._replace_list(_list_of([other, _lobby_data({"timestamp": "1795455999000000", "rttMs": 90})]))
	assert_eq(events, [] as Array[String], "re-signed, new round trip, no other change: no signal")
	browser._replace_list(_list_of([_lobby_data({"players": 4})]))
	assert_eq(events, ["updated Alice's room 4", "lost other gone"] as Array[String])
	assert_eq(browser.get_lost_reason("other"), "gone")
	assert_eq(browser.get_lobby("pk:" + KEY).players, 4)


func test_browser_after_a_reconnection_reports_only_what_changed() -> void:
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	add_child_autofree(browser)
	browser._replace_list(_list_of([_lobby_data(), _lobby_data({"publicKey": "gone-key", "name": "Gone"})]))
	var events: Array[String] = []
	browser.lobby_found.connect(func(l: PkarrLobby) -> void: events.append("found " + l.name))
	browser.lobby_updated.connect(func(l: PkarrLobby) -> void: events.append("updated " + l.name))
	browser.lobby_lost.connect(func(key: String, reason: String) -> void:
		events.append("lost %s %s" % [key, reason]))
	# A new watch after the sidecar came back: its events are gathered until its first refresh.
	browser._next = PkarrLobbyBrowser._LobbyList.new()
	browser._watch_id = "w2"
	browser._on_notification("lobby.found", {"watchId": "w2", "index": 0, "lobby": _lobby_data()})
	browser._on_notification("lobby.found", {"watchId": "w2", "index": 1,
			"lobby": _lobby_data({"publicKey": "new-key", "name": "New"})})
	assert_eq(events, [] as Array[String], "nothing yet: the new watch's first refresh runs")
	assert_eq(browser.get_lobbies().size(), 2, "the list held so far stays meanwhile")
	browser._on_notification("lobby.refreshed", {"watchId": "w2", "count": 2})
	assert_eq(events, ["found New", "lost gone-key gone"] as Array[String])
	assert_eq(_names(browser), ["Alice's room", "New"] as Array[String])


func _names(browser: PkarrLobbyBrowser) -> Array[String]:
	var names: Array[String] = []
	for lobby: PkarrLobby in browser.get_lobbies():
		names.append(lobby.name)
	return names


func _list_of(items: Array) -> Variant:
	var list: Variant = PkarrLobbyBrowser._LobbyList.new()
	list.read(items)
	return list


func test_upnp_is_not_attempted_on_the_web() -> void:
	assert_false(PkarrUpnpMapper.is_supported())
	var mapper := PkarrUpnpMapper.new()
	var mappings: Array[Dictionary] = [{"port": 7777, "protocol": "UDP"}]
	assert_eq(mapper.start(mappings, "test"), ERR_UNAVAILABLE)
	var result: Dictionary = await mapper.map_ports(mappings, "test")
	assert_false(result["ok"])
	assert_false(mapper.is_busy())


func test_the_readme_example_compiles() -> void:
	# The host copies the example of addons/pkarr/README.md ("Lobbies") here.
	var script: GDScript = load("res://generated/readme_lobbies.gd")
	if not assert_not_null(script, "the README example loads"):
		return
	assert_true(script.can_instantiate(), "the README example compiles")
	var methods: Array[String] = []
	for method: Dictionary in script.get_script_method_list():
		methods.append(method["name"])
	for method: String in ["host_game", "join_game", "_ready"]:
		assert_has(methods, method)
