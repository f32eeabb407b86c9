extends PkarrTestCase
## Lobby records, directory slots, short codes and public seeds against the sidecar's lobby code.


func test_lobbies_parse_like_lobby_get() -> void:
	var cases: Array = CoreCases.all()["lobby"]["lobbies"]
	assert_true(cases.size() >= 135, "%d lobby cases" % cases.size())
	for c: Dictionary in cases:
		var records := CoreCases.records_of(c["body"], c["z32"])
		var timestamp: int = PkarrSignedPacket.parse_relay_body(PkarrBytes.from_hex(c["body"])).value["timestamp"]
		var result := PkarrLobbyRecord.parse(c["z32"], timestamp, records, c["source"], (c["now"] as String).to_int())
		if c["ok"]:
			if assert_true(result.is_ok(), "%s: %s" % [c["name"], result]):
				assert_eq(CoreCases.diff(result.value, c["lobby"]), "", c["name"])
		else:
			assert_eq(result.error_code, c["code"], c["name"])
			assert_eq(result.error_data.get("lobbyError"), c["reason"], "%s: %s" % [c["name"], result.error_message])
		if c.has("check"):
			var check: Dictionary = c["check"]
			var found := PkarrLobbyRecord.check_found(result.value, check.get("game", ""), check.get("gameVersion", ""),
					check.get("allowClosed", false), timestamp, (check["now"] as String).to_int())
			assert_eq(found.is_ok(), check["ok"], "%s: %s" % [c["name"], found])
			if not check["ok"]:
				assert_eq(found.error_data.get("lobbyError"), check["reason"], c["name"])
				assert_eq(found.error_code, check["code"], c["name"])


func test_the_lobby_json_reads_into_a_pkarr_lobby() -> void:
	var c: Dictionary = CoreCases.all()["lobby"]["lobbies"][121]
	var records := CoreCases.records_of(c["body"], c["z32"])
	var parsed := PkarrLobbyRecord.parse(c["z32"], 1, records, "relay", 2)
	assert_eq(PkarrLobbyRecord.beacon_port(c["z32"], records), 41000)
	assert_eq(PkarrLobbyEndpoints.addresses(records, c["z32"]), ["203.0.113.7", "198.51.100.2", "2001:db8::7"])
	assert_eq(parsed.value["endpoints"].size(), 4)


func test_directory_slots_read_like_the_sidecar() -> void:
	var d: Dictionary = CoreCases.all()["lobby"]["directory"]
	var records := CoreCases.records_of(d["body"], d["slotZ32"])
	assert_eq(records.size(), 7, "slot records decoded")
	var read := PkarrDirectorySlot.read(records, d["slotZ32"], d["game"], d["gameVersion"], int(d["window"]),
			PkarrDirectorySlot.POW_BITS, PkarrKeyDerivation.is_valid_point)
	assert_eq(CoreCases.diff(read, d["expect"]), "")
	assert_eq(read["entries"].size(), 3, "one entry per valid host")
	var unchecked := PkarrDirectorySlot.read(records, d["slotZ32"], d["game"], d["gameVersion"], int(d["window"]))
	assert_eq(unchecked["entries"].size(), 4, "without the curve check the off-curve host is listed")
	assert_eq(PkarrPublicSeeds.directory_window((d["now"] as String).to_int()), int(d["window"]))


func test_directory_seeds_home_slots_and_topics() -> void:
	var d: Dictionary = CoreCases.all()["lobby"]["directory"]
	for s: Dictionary in d["seeds"]:
		var text := PkarrPublicSeeds.directory_slot_text(d["game"], d["gameVersion"], int(d["window"]), int(s["slot"]))
		assert_eq(text.value, s["text"])
		var seed := PkarrPublicSeeds.directory_slot_seed(d["game"], d["gameVersion"], int(d["window"]), int(s["slot"]))
		assert_eq(PkarrBytes.to_hex(seed.value), s["seed"])
	for h: Dictionary in d["homeSlots"]:
		var slots: Array = []
		for n: int in [1, 8, 64]:
			slots.append(PkarrPublicSeeds.home_slot(h["host"], int(d["window"]), n))
		assert_eq(slots, h["slots"], h["host"])
		var order := PkarrPublicSeeds.slot_order(h["host"], int(d["window"]), 8)
		assert_eq(order[0], int(h["slots"][1]))
		assert_eq(order.size(), 8)
	for t: Dictionary in CoreCases.all()["lobby"]["topics"]:
		assert_eq(PkarrBytes.to_hex(PkarrPublicSeeds.lobby_topic(t["game"], t["version"])), t["hex"])
	assert_eq(PkarrPublicSeeds.lobby_topic("a:b", "1").size(), 0, "a game id with ':' has no topic")
	for bad: Array in [["de mo", "1", 0, 0, 8], ["demo", "1", -1, 0, 8], ["demo", "1", 0, 8, 8], ["demo", "1", 0, 0, 65]]:
		var refused := PkarrPublicSeeds.directory_slot_text(bad[0], bad[1], bad[2], bad[3], bad[4])
		assert_eq(refused.error_code, PkarrResult.INVALID_ARGUMENT, str(bad))


func test_short_codes() -> void:
	var s: Dictionary = CoreCases.all()["lobby"]["shortCodes"]
	for c: Dictionary in s["parsed"]:
		assert_eq(PkarrShortCode.parse(c["input"]), c["canonical"], c["input"])
	for c: Dictionary in s["encoded"]:
		assert_eq(PkarrShortCode.encode(PkarrBytes.from_hex(c["hex"])), c["code"], c["hex"])
	assert_eq(PkarrShortCode.format("K7M4QX9PT2"), "K7M4Q-X9PT2")
	var records := CoreCases.records_of(s["body"], s["slotZ32"])
	assert_eq(PkarrShortCode.slot_candidates(records, s["slotZ32"], PkarrKeyDerivation.is_valid_point), s["candidates"])
	var seed: Dictionary = s["slotSeed"]
	assert_eq(PkarrBytes.to_hex(PkarrPublicSeeds.short_code_slot_seed(seed["canonical"])), seed["seed"])
	var slot := PkarrShortCode.slot_records("abc")
	assert_eq(slot, [{"type": "TXT", "name": "_lobby-host", "ttl": 300, "strings": ["abc"]}])


func test_lobbies_are_written_like_sign_lobby() -> void:
	var cases: Array = CoreCases.all()["lobby"]["writer"]
	assert_true(cases.size() > 30, "%d lobbies to write" % cases.size())
	for c: Dictionary in cases:
		var dns := PkarrLobbyWriter.encode_dns(c["info"], c["z32"])
		if c["ok"]:
			if assert_true(dns.is_ok(), "%s: %s" % [c["name"], dns]):
				assert_eq(PkarrBytes.to_hex(dns.value), c["dns"], c["name"])
		else:
			assert_eq(dns.error_code, c["code"], "%s: %s" % [c["name"], dns])
			assert_eq(dns.error_data.get("lobbyError"), c["reason"], c["name"])


func test_custom_keys_follow_javascript_property_order() -> void:
	var order := PkarrLobbyWriter._js_key_order({"b": "1", "10": "x", "2": "y", "a": "z", "01": "w"})
	assert_eq(order, ["2", "10", "b", "a", "01"])


func test_directory_entries_are_written_like_the_sidecar() -> void:
	timeout_sec = 60.0
	var d: Dictionary = CoreCases.all()["lobby"]["directory"]
	for p: Dictionary in d["pow"]:
		var solved := PkarrDirectorySlot.solve_pow(p["prefix"], p["stem"])
		assert_eq(solved["nonce"], p["nonce"], p["stem"])
		var first := PkarrDirectorySlot.solve_pow(p["prefix"], p["stem"], 16, 0, 100)
		var part := first
		while part["nonce"] < 0:
			part = PkarrDirectorySlot.solve_pow(p["prefix"], p["stem"], 16, part["next"], 20000)
		assert_eq(part["nonce"], p["nonce"], "solved in chunks")
	var w: Dictionary = d["write"]
	var entries: Array = []
	for e: Dictionary in w["entries"]:
		entries.append({"hostKey": e["hostKey"], "time": int(e["time"]), "nonce": int(e["nonce"])})
	assert_true((w["dropped"] as Array).size() > 0, "more entries than fit: the oldest are dropped")
	var slot := PkarrDirectorySlot.encode(entries, d["slotZ32"])
	assert_eq(CoreCases.diff(slot["kept"], w["kept"]), "")
	assert_eq(CoreCases.diff(slot["dropped"], w["dropped"]), "")
	var dns := PkarrSignedPacket.encode_dns(slot["records"], d["slotZ32"])
	assert_eq(PkarrBytes.to_hex(dns.value), w["dns"])
