extends PkarrTestCase
## The Pkarr autoload with the relay backend, no sidecar: resolve and publish over our relays on
## loopback, local relay first, fallback, 304, 429 back-off, bad packets rejected, keys, lobbies.
## Config (test/relay-backend-engine.test.ts): local, remote, fake, dead, dead2 (relay URLs),
## keys {known, tampered, wrong, limited, lobby, legacy, join}, knownTimestamp, lobby {game,
## gameVersion, name}, otherGameKey, shortCode, squattedCode, retryAfter, standinPeerId,
## verification ("webcrypto" | "gdscript"), transport ("fetch" | "httpclient").


func before_all() -> void:
	ProjectSettings.set_setting("pkarr/relay/local_relay_url", str(config["local"]))
	ProjectSettings.set_setting("pkarr/network/relays", PackedStringArray([str(config["remote"])]))
	ProjectSettings.set_setting("pkarr/sidecar/data_dir", "user://pkarr-relay-test")
	Pkarr.start()


func before_each() -> void:
	timeout_sec = 40.0
	var backend := _backend()
	backend.signatures.force_pure = str(config.get("verification")) == "gdscript"
	PkarrRelayExchange.use_browser_fetch = str(config.get("transport")) == "fetch"
	backend.relay_client.forget()
	backend.relay_client.backoff = PkarrRelayBackoff.new()
	backend.relay_client.race_width = 2
	_use(str(config["local"]), [str(config["remote"])])


func test_the_autoload_runs_the_relay_backend_without_a_sidecar() -> void:
	assert_true(Pkarr.is_ready(), "ready without a sidecar")
	assert_eq(PkarrRelayBackend.choose(), "relay")
	ProjectSettings.set_setting("pkarr/backend", "auto")
	assert_eq(PkarrRelayBackend.choose(), "relay", "auto on the web without web_url")
	ProjectSettings.set_setting("pkarr/sidecar/web_url", "ws://127.0.0.1:7878/")
	assert_eq(PkarrRelayBackend.choose(), "sidecar", "auto on the web with web_url")
	ProjectSettings.set_setting("pkarr/sidecar/web_url", "")
	ProjectSettings.set_setting("pkarr/backend", "relay")
	var status: PkarrResult = await Pkarr.call_method("status")
	if assert_true(status.is_ok(), str(status)):
		assert_eq(status.value["backend"], "relay")
		assert_eq(status.value["relays"], [str(config["local"]), str(config["remote"])])
		assert_eq(status.value["verification"], str(config["verification"]))


func test_resolves_through_the_local_relay_first() -> void:
	_use(str(config["local"]), [str(config["dead"])])
	var found: PkarrResult = await Pkarr.resolve(_key("known"))
	if not assert_true(found.is_ok(), str(found)):
		return
	var resolved: PkarrResolved = found.value
	assert_eq(resolved.get_txt("_game"), "hello relays")
	assert_eq(resolved.get_records("@", "A")[0].address, "10.1.2.3")
	assert_eq(resolved.timestamp, str(config["knownTimestamp"]))
	assert_eq(resolved.source, "relay")
	var outcomes := _outcomes()
	assert_eq(outcomes.size(), 1, "only the local relay was asked: %s" % [outcomes])
	assert_eq(outcomes[0]["relay"], str(config["local"]))


func test_falls_back_when_the_local_relay_is_down() -> void:
	_use(str(config["dead"]), [str(config["remote"])])
	var found: PkarrResult = await Pkarr.resolve(_key("known"))
	if assert_true(found.is_ok(), str(found)):
		assert_eq((found.value as PkarrResolved).get_txt("_game"), "hello relays")
	var outcomes := _outcomes()
	assert_eq(_column(outcomes, "outcome"), ["error", "packet"], str(outcomes))
	assert_eq(_column(outcomes, "relay"), [str(config["dead"]), str(config["remote"])])
	# The dead local relay is left alone for a while: no probe, no timeout on the next lookup.
	_backend().relay_client.forget()
	var again: PkarrResult = await Pkarr.resolve(_key("known"))
	assert_true(again.is_ok(), str(again))
	assert_eq(_column(_outcomes(), "outcome"), ["down", "packet"], str(_outcomes()))


func test_races_two_relays_then_falls_back_to_the_next() -> void:
	_use("", [str(config["dead"]), str(config["dead2"]), str(config["remote"])])
	var found: PkarrResult = await Pkarr.resolve(_key("known"))
	assert_true(found.is_ok(), str(found))
	var outcomes := _outcomes()
	assert_eq(outcomes.size(), 3, str(outcomes))
	assert_eq(outcomes[2], outcomes.filter(func(o: Dictionary) -> bool: return o["outcome"] == "packet")[0])
	assert_eq(outcomes[2]["relay"], str(config["remote"]))


func test_a_second_lookup_is_answered_not_modified() -> void:
	var client := _backend().relay_client
	var first: PkarrResult = await client.resolve(_key("known"))
	assert_true(first.is_ok(), str(first))
	var second: PkarrResult = await client.resolve(_key("known"))
	if assert_true(second.is_ok(), str(second)):
		assert_eq((second.value as PkarrRelayPacket).timestamp, int(str(config["knownTimestamp"])))
	assert_eq(_column(_outcomes(), "outcome"), ["not_modified"], str(_outcomes()))
	assert_eq(_outcomes()[0]["status"], 304)


func test_an_empty_200_of_a_legacy_relay_is_asked_again() -> void:
	_use("", [str(config["fake"])])
	var client := _backend().relay_client
	var first: PkarrResult = await client.resolve(_key("legacy"))
	assert_true(first.is_ok(), str(first))
	var second: PkarrResult = await client.resolve(_key("legacy"))
	if assert_true(second.is_ok(), str(second)):
		assert_eq((second.value as PkarrRelayPacket).records[0]["text"], "from a legacy relay")
	assert_eq(_column(_outcomes(), "outcome"), ["packet"], str(_outcomes()))


func test_a_tampered_packet_is_rejected() -> void:
	await _rejects("tampered", "the real one")


func test_a_packet_signed_by_another_key_is_rejected() -> void:
	await _rejects("wrong", "signed by the right key")


func test_a_rate_limited_relay_is_left_alone_for_its_retry_after() -> void:
	_use("", [str(config["fake"])])
	var limited: PkarrResult = await Pkarr.resolve(_key("limited"))
	assert_eq(limited.error_code, PkarrRelayClient.RATE_LIMITED, str(limited))
	var wait := float(limited.error_data.get("retryAfter", 0.0))
	assert_true(wait > float(config["retryAfter"]) - 10.0 and wait <= float(config["retryAfter"]),
			"waits about Retry-After: %s" % wait)
	var again: PkarrResult = await Pkarr.resolve(_key("limited"))
	assert_eq(again.error_code, PkarrRelayClient.RATE_LIMITED, str(again))
	assert_eq(_column(_outcomes(), "outcome"), ["skipped"], "not asked again")
	_use("", [str(config["fake"]), str(config["remote"])])
	var found: PkarrResult = await Pkarr.resolve(_key("limited"))
	if assert_true(found.is_ok(), str(found)):
		assert_eq((found.value as PkarrResolved).get_txt("_game"), "behind a rate limit")
	assert_eq(_column(_outcomes(), "outcome"), ["skipped", "packet"], str(_outcomes()))


func test_publishes_then_resolves_its_own_records() -> void:
	await Pkarr.delete_key("player")
	var key: PkarrResult = await Pkarr.generate_key("player")
	if not assert_true(key.is_ok(), str(key)):
		return
	var public_key: String = (key.value as PkarrKeyInfo).public_key
	var records: Array = [PkarrRecord.txt("_game", "published from GDScript"), PkarrRecord.a("@", "192.0.2.7")]
	var published: PkarrResult = await Pkarr.publish(records, "player")
	if not assert_true(published.is_ok(), str(published)):
		return
	assert_eq((published.value as PkarrPublished).public_key, public_key)
	assert_true((published.value as PkarrPublished).stored_on >= 1)
	assert_eq(_column(_outcomes(), "outcome"), ["stored", "stored"], str(_outcomes()))
	_backend().relay_client.forget()
	_use("", [str(config["remote"])])
	var found: PkarrResult = await Pkarr.resolve(public_key, "NetworkOnly")
	if assert_true(found.is_ok(), str(found)):
		var resolved: PkarrResolved = found.value
		assert_eq(resolved.get_txt("_game"), "published from GDScript")
		assert_eq(resolved.timestamp, (published.value as PkarrPublished).timestamp)
	# An older packet of the same key: the relays hold a more recent one (409).
	var secret_seed: PackedByteArray = (await _backend().keys.get_key("player")).value["seed"]
	var old: PkarrResult = await _backend().relay_client.verifier.sign(secret_seed, public_key,
			[{"type": "TXT", "name": "_game", "ttl": 300, "text": "older"}], 1000000)
	var refused: PkarrResult = await _backend().relay_client.publish(old.value)
	assert_eq(refused.error_code, PkarrRelayClient.NOT_MOST_RECENT, str(refused))


func test_keys_are_kept_in_user_storage() -> void:
	await Pkarr.delete_key("rfc")
	# RFC 8032 test 1: this seed has the public key d75a9801...511a.
	var secret_seed := "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	var expected := PkarrZ32.encode(PkarrBytes.from_hex(
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
	var imported: PkarrResult = await Pkarr.import_key("rfc", secret_seed)
	if assert_true(imported.is_ok(), str(imported)):
		assert_eq((imported.value as PkarrKeyInfo).public_key, expected)
	assert_true(FileAccess.file_exists("user://pkarr-relay-test/keys/rfc.key"))
	var exported: PkarrResult = await Pkarr.export_key("rfc")
	assert_eq((exported.value as PkarrKeyInfo).secret_key, secret_seed)
	var listed: PkarrResult = await Pkarr.list_keys()
	assert_has(listed.value.map(func(k: PkarrKeyInfo) -> String: return k.name), "rfc")
	var clash: PkarrResult = await Pkarr.import_key("rfc", secret_seed.replace("9d", "aa"))
	assert_eq(clash.error_code, "KEY_EXISTS")
	var bad: PkarrResult = await Pkarr.import_key("rfc2", "not hex")
	# The sidecar's code and field for the same bad input (keys.import: -32602 INVALID_SECRET_KEY).
	assert_eq([bad.error_code, bad.error_data.get("field")], ["INVALID_SECRET_KEY", "secretKey"], str(bad))
	var deleted: PkarrResult = await Pkarr.delete_key("rfc")
	assert_eq(deleted.value, true)
	var gone: PkarrResult = await Pkarr.export_key("rfc")
	assert_eq(gone.error_code, "KEY_NOT_FOUND")


func test_gets_a_lobby_the_sidecar_code_signed() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var got: PkarrResult = await Pkarr.get_lobby("pk:" + _key("lobby"), lobby_config["game"], lobby_config["gameVersion"])
	if assert_true(got.is_ok(), str(got)):
		var lobby: PkarrLobby = got.value
		assert_eq(lobby.name, lobby_config["name"])
		assert_eq(lobby.players, 2)
		assert_eq(lobby.max_players, 6)
		assert_eq(lobby.public_key, _key("lobby"))
		assert_eq(lobby.get_endpoint("ws").port, 9999)
	var other: PkarrResult = await Pkarr.get_lobby(_key("lobby"), "another-game", "1.0")
	assert_eq(other.error_code, PkarrResult.OTHER_GAME, str(other))
	var none: PkarrResult = await Pkarr.get_lobby(_key("known"), lobby_config["game"], lobby_config["gameVersion"])
	assert_eq(none.error_code, PkarrResult.NOT_A_LOBBY, str(none))


func test_browses_the_lobby_directory_and_known_keys() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var params := {"game": lobby_config["game"], "gameVersion": lobby_config["gameVersion"]}
	var browsed: PkarrResult = await Pkarr.call_method("lobby.browse", params)
	if not assert_true(browsed.is_ok(), str(browsed)):
		return
	var lobbies: Array = browsed.value["lobbies"]
	assert_eq(lobbies.map(func(l: Dictionary) -> String: return l["publicKey"]), [_key("lobby")])
	assert_eq(lobbies[0]["source"], "directory")
	var stats: Dictionary = browsed.value["stats"]["directory"]
	assert_eq(stats["slots"], 16)
	assert_eq(stats["slotsFound"], 1)
	assert_eq(stats["keys"], 2)
	assert_eq(stats["resolved"], 1)
	assert_eq(stats["rejected"]["otherGame"], 1)
	params["directory"] = false
	# As the sidecar takes them: a short code that leads nowhere is left out, a repeat counts once.
	params["knownKeys"] = PackedStringArray(["pk:" + _key("lobby"), _key("known"), "00000-00000", _key("lobby"),
			str(config["shortCode"])])
	var known: PkarrResult = await Pkarr.call_method("lobby.browse", params)
	if assert_true(known.is_ok(), str(known)):
		assert_eq(known.value["lobbies"].map(func(l: Dictionary) -> String: return l["source"]), ["known"])
		assert_eq(known.value["stats"]["known"], {"requested": 2, "found": 1, "notFound": 1, "failed": 0})
	for bad: Variant in [["not a key"], "pk:" + _key("lobby"), [7]]:
		params["knownKeys"] = bad
		var refused: PkarrResult = await Pkarr.call_method("lobby.browse", params)
		assert_true(str(refused.error_data.get("field", "")).begins_with("knownKeys"), "knownKeys %s: %s" % [bad, refused])
		assert_eq(refused.error_data.get("code"), refused.error_code, str(refused))
		if not bad is Array or bad[0] is int:
			assert_eq(refused.error_code, PkarrResult.INVALID_ARGUMENT, str(refused))
	params["knownKeys"] = ["00000-00000"].duplicate()
	for i: int in 16:
		params["knownKeys"].append("00000-00000")
	var too_many: PkarrResult = await Pkarr.call_method("lobby.browse", params)
	assert_eq(too_many.error_data.get("field"), "knownKeys", "17 short codes: %s" % too_many)


func test_the_lobby_browser_node_watches_over_relays() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var browser := PkarrLobbyBrowser.new()
	browser.autostart = false
	browser.game_id = lobby_config["game"]
	browser.game_version = lobby_config["gameVersion"]
	browser.refresh_interval = 5
	browser.known_keys = PackedStringArray([str(config["shortCode"])])
	add_child_autofree(browser)
	browser.start()
	if assert_true(await wait_for_signal(browser.lobby_found, 20.0), "lobby_found"):
		assert_eq((last_signal_args[0] as PkarrLobby).public_key, _key("lobby"))
	assert_true(await wait_for_signal(browser.refreshed, 20.0), "refreshed")
	assert_true(browser.is_watching())
	assert_eq(browser.get_lobbies().map(func(l: PkarrLobby) -> String: return l.name), [lobby_config["name"]])
	var again: PkarrResult = await browser.refresh()
	assert_true(again.is_ok(), str(again))
	assert_eq(browser.get_lobbies().size(), 1)
	browser.stop()
	var filtered: PkarrResult = await Pkarr.call_method("lobby.browse", {"game": lobby_config["game"],
			"gameVersion": lobby_config["gameVersion"], "filters": {"custom": {"mode": "dm"}}, "directory": false,
			"knownKeys": [_key("lobby")]})
	assert_eq(filtered.value["lobbies"], [], "custom filter mode=dm drops the ctf lobby")
	var bad: PkarrResult = await Pkarr.call_method("lobby.browse", {"game": lobby_config["game"],
			"gameVersion": lobby_config["gameVersion"], "filters": {"colour": "red"}})
	assert_eq([bad.error_code, bad.error_data.get("field")], [PkarrResult.INVALID_ARGUMENT, "filters"], str(bad))


func test_pkarr_join_connects_to_a_directly_reachable_host() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var joined: PkarrResult = await Pkarr.join("pk:" + _key("join"), {"game": lobby_config["game"],
			"game_version": lobby_config["gameVersion"], "transport": "ws", "timeout": 10.0})
	if assert_true(joined.is_ok(), str(joined)):
		var peer: MultiplayerPeer = joined.value
		assert_eq(peer.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED)
		assert_eq(peer.get_unique_id(), int(config["standinPeerId"]))
		peer.close()
	# Bad options fail naming the option, before anything is sent: never a silent default.
	var bad_options: Array = [[{"gameVersion": "1"}, "gameVersion"], [{"timeout": "10"}, "timeout"],
			[{"timeout": 0}, "timeout"], [{"timeout": 500.0}, "timeout"], [{"game": 7}, "game"],
			[{"transport": "udp"}, "transport"]]
	for case: Array in bad_options:
		var refused: PkarrResult = await Pkarr.join("pk:" + _key("join"), case[0])
		assert_eq([refused.error_code, refused.error_data.get("field")], [PkarrResult.INVALID_ARGUMENT, case[1]],
				"join options %s: %s" % [case[0], refused])


func test_join_answers_a_direct_endpoint() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var joined: PkarrResult = await Pkarr.call_method("lobby.join", {"code": "pk:" + _key("lobby"),
			"game": lobby_config["game"], "gameVersion": lobby_config["gameVersion"], "transport": "ws"})
	if assert_true(joined.is_ok(), str(joined)):
		assert_eq(joined.value["via"], "direct")
		assert_eq([joined.value["host"], joined.value["port"]], ["127.0.0.1", 9999])
	var no_enet: PkarrResult = await Pkarr.call_method("lobby.join", {"code": "pk:" + _key("lobby"),
			"game": lobby_config["game"], "gameVersion": lobby_config["gameVersion"], "transport": "enet"})
	assert_eq(no_enet.error_data.get("lobbyError"), "NO_TRANSPORT", str(no_enet))
	for bad: Dictionary in [{"transport": 7}, {"transport": "W S"}, {"timeoutMs": 10}, {"timeoutMs": 1500.5}]:
		var params := {"code": "pk:" + _key("lobby"), "game": lobby_config["game"], "gameVersion": lobby_config["gameVersion"]}
		params.merge(bad, true)
		var refused: PkarrResult = await Pkarr.call_method("lobby.join", params)
		assert_eq([refused.error_code, refused.error_data.get("field")], [PkarrResult.INVALID_ARGUMENT, bad.keys()[0]],
				"lobby.join %s: %s" % [bad, refused])


func test_gets_a_lobby_by_short_code() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var code := str(config["shortCode"])
	var got: PkarrResult = await Pkarr.get_lobby(code.to_lower().replace("-", " "), lobby_config["game"],
			lobby_config["gameVersion"])
	if assert_true(got.is_ok(), str(got)):
		assert_eq((got.value as PkarrLobby).public_key, _key("lobby"))
	var squatted: PkarrResult = await Pkarr.get_lobby(str(config["squattedCode"]))
	assert_eq(squatted.error_code, PkarrResult.NO_LOBBY, str(squatted))
	assert_eq(squatted.error_data.get("squatted"), true, str(squatted.error_data))
	var nothing: PkarrResult = await Pkarr.get_lobby("00000-00000")
	assert_eq(nothing.error_code, PkarrResult.NO_LOBBY, str(nothing))


func test_put_answers_map_to_distinct_codes() -> void:
	await Pkarr.delete_key("statuses")
	assert_true((await Pkarr.generate_key("statuses")).is_ok())
	var records: Array = [PkarrRecord.txt("_game", "status check")]
	var expected := {400: PkarrRelayClient.BAD_REQUEST, 409: PkarrRelayClient.NOT_MOST_RECENT,
			413: PkarrRelayClient.PACKET_TOO_LARGE, 429: PkarrRelayClient.RATE_LIMITED,
			500: PkarrRelayClient.RELAY_ERROR}
	for status: int in expected:
		_use("", ["%s/status-%d" % [config["fake"], status]])
		var result: PkarrResult = await Pkarr.publish(records, "statuses", false)
		assert_eq(result.error_code, expected[status], "PUT answered %d: %s" % [status, result])
	# One relay stores it, one holds a more recent packet: conflicts >= successes is NOT_MOST_RECENT.
	_use("", [str(config["remote"]), "%s/status-409" % config["fake"]])
	var split: PkarrResult = await Pkarr.publish(records, "statuses", false)
	assert_eq(split.error_code, PkarrRelayClient.NOT_MOST_RECENT, str(split))
	_use("", [str(config["remote"]), "%s/status-500" % config["fake"]])
	var partly: PkarrResult = await Pkarr.publish(records, "statuses", false)
	assert_true(partly.is_ok(), "one relay storing it is a success: %s" % partly)


func test_republishes_kept_records() -> void:
	await Pkarr.delete_key("kept")
	assert_true((await Pkarr.generate_key("kept")).is_ok())
	var published: PkarrResult = await Pkarr.publish([PkarrRecord.txt("_game", "kept alive")], "kept")
	if not assert_true(published.is_ok(), str(published)):
		return
	var public_key: String = (published.value as PkarrPublished).public_key
	var listed: PkarrResult = await Pkarr.call_method("republish.list")
	assert_has(listed.value.map(func(e: Dictionary) -> String: return e["publicKey"]), public_key)
	for entry: Dictionary in listed.value:
		if entry["publicKey"] != public_key:
			await Pkarr.call_method("republish.remove", {"publicKey": entry["publicKey"]})
	_backend().republish_all()
	assert_true(await wait_for_signal(Pkarr.record_republished, 10.0), "record_republished")
	assert_has(last_signal_args, public_key)
	var removed: PkarrResult = await Pkarr.call_method("republish.remove", {"publicKey": public_key})
	assert_eq(removed.value, {"removed": true})


func test_hosts_a_lobby_over_the_relays() -> void:
	var lobby_config: Dictionary = config["lobby"]
	await Pkarr.delete_key("room")
	var params := {"key": "room", "createKey": true, "game": lobby_config["game"],
			"gameVersion": lobby_config["gameVersion"], "name": "Phone room", "maxPlayers": 4, "players": 1,
			"port": 7777, "transport": "ws", "address": "203.0.113.9", "custom": {"mode": "coop"}}
	var hosted: PkarrResult = await Pkarr.call_method("lobby.host", params)
	if not assert_true(hosted.is_ok(), str(hosted)):
		return
	var z32: String = hosted.value["publicKey"]
	print("RELAY_HOSTED %s" % z32)
	assert_eq(hosted.value["inviteCode"], "pk:" + z32)
	assert_eq(hosted.value["lobby"]["name"], "Phone room")
	assert_eq(hosted.value["lobby"]["source"], "local")
	assert_eq(hosted.value["directory"], null)
	var short_code: String = hosted.value["shortCode"]
	assert_eq(short_code.length(), 11, "short code published: %s" % hosted.value)
	var again: PkarrResult = await Pkarr.call_method("lobby.host", params)
	assert_eq(again.error_code, "INVALID_ARGUMENT", "one lobby per key")
	# A player elsewhere: nothing kept, only the remote relay.
	_backend().relay_client.forget()
	_use("", [str(config["remote"])])
	var game: String = lobby_config["game"]
	var version: String = lobby_config["gameVersion"]
	var by_short: PkarrResult = await Pkarr.get_lobby(short_code, game, version)
	if assert_true(by_short.is_ok(), str(by_short)):
		assert_eq((by_short.value as PkarrLobby).public_key, z32)
		assert_eq((by_short.value as PkarrLobby).get_endpoint("ws").host, "203.0.113.9")
		assert_eq((by_short.value as PkarrLobby).players, 1)
	var updated: PkarrResult = await Pkarr.call_method("lobby.update", {"key": "room", "players": 3})
	assert_true(updated.is_ok(), str(updated))
	_backend().relay_client.forget()
	var seen: PkarrResult = await Pkarr.get_lobby("pk:" + z32, game, version)
	if assert_true(seen.is_ok(), str(seen)):
		assert_eq((seen.value as PkarrLobby).players, 3)
	var listed: PkarrResult = await Pkarr.call_method("lobby.hosted")
	assert_eq(listed.value.map(func(h: Dictionary) -> String: return h["key"]), ["room"])
	var closed: PkarrResult = await Pkarr.call_method("lobby.close", {"key": "room"})
	assert_eq(closed.value.get("closed"), true, str(closed))
	_backend().relay_client.forget()
	var gone: PkarrResult = await Pkarr.get_lobby("pk:" + z32, game, version)
	assert_eq(gone.error_code, PkarrResult.LOBBY_CLOSED, str(gone))
	params.erase("address")
	var nowhere: PkarrResult = await Pkarr.call_method("lobby.host", params)
	assert_eq(nowhere.error_code, PkarrRelayBackend.NEEDS_SIDECAR, "a browser without an address: %s" % nowhere)


func test_what_needs_a_sidecar_fails_with_a_clear_code() -> void:
	for method: String in ["lobby.leave", "nat.map", "nat.status"]:
		var result: PkarrResult = await Pkarr.call_method(method, {})
		assert_eq(result.error_code, PkarrRelayBackend.NEEDS_SIDECAR, "%s: %s" % [method, result])
	var unknown: PkarrResult = await Pkarr.call_method("no.such.method", {})
	assert_eq(unknown.error_code, PkarrResult.METHOD_NOT_FOUND)


func test_refuses_unknown_and_mistyped_fields_like_the_sidecar() -> void:
	var lobby_config: Dictionary = config["lobby"]
	var browse := {"game": lobby_config["game"], "gameVersion": lobby_config["gameVersion"], "directory": false}
	var cases: Array = [
		["publish", {"key": "typo", "records": [], "republsh": false}, "republsh"],
		["status", {"verbose": true}, "verbose"],
		["keys.import", {"name": "typo", "secretKey": "00".repeat(32), "overwrite": "yes"}, "overwrite"],
		["keys.generate", {"name": 7}, "name"],
		["lobby.get", {"code": "pk:" + _key("lobby"), "allowClosed": 1}, "allowClosed"],
		["lobby.browse", browse.merged({"topic": "no"}), "topic"],
		["lobby.watch", browse.merged({"intervalSeconds": 30.5}), "intervalSeconds"],
		["lobby.close", {"key": "typo", "lingerSeconds": "5"}, "lingerSeconds"],
	]
	for case: Array in cases:
		var refused: PkarrResult = await Pkarr.call_method(case[0], case[1])
		assert_eq([refused.error_code, refused.error_data.get("field")], [PkarrResult.INVALID_ARGUMENT, case[2]],
				"%s %s: %s" % [case[0], case[1], refused])
	assert_false((await Pkarr.export_key("typo")).is_ok(), "nothing was created by a refused call")
	# Every field the sidecar takes passes this check (the browse answers, with the relay's subset).
	var full: PkarrResult = await Pkarr.call_method("lobby.browse", browse.merged({"topic": true, "confirm": false,
			"lan": true, "sort": "name", "knownKeys": [], "filters": {}}))
	assert_true(full.is_ok(), str(full))


func _rejects(which: String, real_text: String) -> void:
	_use("", [str(config["fake"])])
	var rejected: PkarrResult = await Pkarr.resolve(_key(which))
	assert_eq(rejected.error_code, PkarrRelayClient.INVALID_SIGNATURE, str(rejected))
	_backend().relay_client.race_width = 1
	_use("", [str(config["fake"]), str(config["remote"])])
	var found: PkarrResult = await Pkarr.resolve(_key(which))
	if assert_true(found.is_ok(), str(found)):
		assert_eq((found.value as PkarrResolved).get_txt("_game"), real_text)
		assert_eq((found.value as PkarrResolved).records.size(), 1)
	assert_eq(_column(_outcomes(), "outcome"), ["rejected", "packet"], str(_outcomes()))


func _backend() -> PkarrRelayBackend:
	return Pkarr.get_node("Connection") as PkarrRelayBackend


func _use(local: String, remotes: Array) -> void:
	var client := _backend().relay_client
	client.local_relay = local
	client.relays = PackedStringArray(remotes)


func _key(which: String) -> String:
	return str((config["keys"] as Dictionary)[which])


func _outcomes() -> Array[Dictionary]:
	return _backend().relay_client.last_outcomes


func _column(rows: Array[Dictionary], column: String) -> Array:
	return rows.map(func(row: Dictionary) -> Variant: return row[column])
