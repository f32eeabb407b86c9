extends PkarrTestCase
## Value objects and helpers: records, results, JSON coercion, settings.

const Z32 := "o4dksfbqk85ogzdb5osziw6befigbuxmuxkuxq8434q89uj56uyy"


func test_record_constructors_produce_the_wire_shape() -> void:
	assert_eq(PkarrRecord.a("@", "1.2.3.4", 300).to_dict(),
			{"type": "A", "name": "@", "ttl": 300, "address": "1.2.3.4"})
	assert_eq(PkarrRecord.aaaa("www", "::1").to_dict(),
			{"type": "AAAA", "name": "www", "ttl": 300, "address": "::1"})
	assert_eq(PkarrRecord.txt("_lobby", "v=1 game=demo", 60).to_dict(),
			{"type": "TXT", "name": "_lobby", "ttl": 60, "text": "v=1 game=demo"})
	assert_eq(PkarrRecord.txt_strings("_lobby", PackedStringArray(["v=1", "game=demo"]), 60).to_dict(),
			{"type": "TXT", "name": "_lobby", "ttl": 60, "strings": ["v=1", "game=demo"]})
	assert_eq(PkarrRecord.cname("www", "_foo").to_dict(),
			{"type": "CNAME", "name": "www", "ttl": 300, "target": "_foo"})
	assert_eq(PkarrRecord.ns("@", "ns.example.com").to_dict()["target"], "ns.example.com")
	assert_eq(PkarrRecord.srv("_game._udp", 0, 5, 7777, "@").to_dict(),
			{"type": "SRV", "name": "_game._udp", "ttl": 300, "priority": 0, "weight": 5,
				"port": 7777, "target": "@"})
	var svcb := PkarrRecord.svcb("_enet", 1, ".", {"port": 7777, "ipv4hint": ["1.2.3.4"]}, 60)
	assert_eq(svcb.to_dict(), {"type": "SVCB", "name": "_enet", "ttl": 60, "priority": 1,
			"target": ".", "params": {"port": 7777, "ipv4hint": ["1.2.3.4"]}})
	assert_eq(PkarrRecord.https("@", 1, ".", {"alpn": ["h2"]}).to_dict()["type"], "HTTPS")


func test_record_to_dict_serialises_integers_as_integers() -> void:
	var text := JSON.stringify(PkarrRecord.srv("_s", 1, 2, 7777, "@", 60).to_dict())
	assert_true(text.contains("\"port\":7777"), text)
	assert_false(text.contains("7777.0"), text)


func test_record_from_resolved_json_keeps_both_names_and_coerces_numbers() -> void:
	var parsed: Dictionary = JSON.parse_string(JSON.stringify({
		"type": "SVCB", "name": "_enet." + Z32, "relative": "_enet", "ttl": 60, "priority": 1,
		"target": ".", "params": {"port": 7777, "alpn": ["x"]},
	}))
	var record := PkarrRecord.from_dict(parsed)
	assert_eq(record.name, "_enet")
	assert_eq(record.full_name, "_enet." + Z32)
	assert_eq(typeof(record.ttl), TYPE_INT)
	assert_eq(record.ttl, 60)
	assert_eq(typeof(record.params["port"]), TYPE_INT, "integral floats become ints")
	assert_true(record.has_name("_enet"))
	assert_true(record.has_name("_ENET." + Z32 + "."))
	assert_false(record.has_name("_lobby"))


func test_record_round_trips_through_the_wire_shape() -> void:
	var txt := PkarrRecord.from_dict({"type": "txt", "name": "_l", "ttl": 5.0,
			"strings": ["a", "b"], "text": "ab"})
	assert_eq(txt.type, "TXT")
	assert_eq(txt.text, "ab")
	assert_eq(txt.strings, PackedStringArray(["a", "b"]))
	assert_eq(txt.to_dict(), {"type": "TXT", "name": "_l", "ttl": 5, "strings": ["a", "b"]})
	assert_eq(str(txt), "TXT _l 5 \"ab\"")


func test_resolved_reads_the_sidecar_result() -> void:
	var resolved := PkarrResolved.from_dict({
		"publicKey": Z32, "found": true, "timestamp": "1732386436000000", "source": "dht",
		"ageSeconds": 12.0, "size": 120.0,
		"records": [
			{"type": "TXT", "name": "_lobby." + Z32, "relative": "_lobby", "ttl": 60.0,
				"strings": ["v=1"], "text": "v=1"},
			{"type": "A", "name": Z32, "relative": "@", "ttl": 300.0, "address": "1.2.3.4"},
			{"type": "TXT", "name": "_lobby." + Z32, "relative": "_lobby", "ttl": 60.0,
				"strings": ["second"], "text": "second"},
			"not a record",
		],
	})
	assert_eq(resolved.public_key, Z32)
	assert_eq(resolved.timestamp, "1732386436000000", "timestamps stay exact strings")
	assert_eq(resolved.source, "dht")
	assert_eq(resolved.age_seconds, 12)
	assert_eq(resolved.records.size(), 3)
	assert_eq(resolved.get_txt("_lobby"), "v=1")
	assert_eq(resolved.get_txts("_lobby"), PackedStringArray(["v=1", "second"]))
	assert_eq(resolved.get_records("@").size(), 1)
	assert_eq(resolved.get_records("_lobby", "A").size(), 0)
	assert_eq(resolved.get_txt("_missing"), "")


func test_other_results_read_their_fields() -> void:
	var published := PkarrPublished.from_dict({"publicKey": Z32, "timestamp": "17", "size": 99.0,
			"storedOn": 8.0})
	assert_eq([published.public_key, published.timestamp, published.size, published.stored_on],
			[Z32, "17", 99, 8])
	var key := PkarrKeyInfo.from_dict({"name": "host", "publicKey": Z32})
	assert_eq(str(key), "host: " + Z32)
	assert_eq(key.secret_key, "")
	var status := PkarrStatus.from_dict({"version": "0.1.0", "pid": 12.0, "dataDir": "/d",
			"dht": {"enabled": true, "nodes": 20.0}, "relays": [], "keys": 2.0,
			"republishing": 1.0, "uptime": 5.0})
	assert_eq([status.pid, status.dht_enabled, status.dht_nodes, status.keys, status.uptime_seconds],
			[12, true, 20, 2, 5.0])
	assert_eq(status.nat.reachability, PkarrReachability.UNKNOWN, "no nat part: unknown")


func test_reachability_from_status() -> void:
	var mapped := PkarrReachability.from_dict({"reachability": "mapped", "natType": "open",
			"punchable": true, "publicAddress": "11.77.2.2:40000", "voters": 3.0,
			"mapping": {"protocol": "nat-pmp", "externalHost": "11.77.2.2", "externalPort": 7777.0},
			"description": "players anywhere can join"})
	assert_eq([mapped.reachability, mapped.nat_type, mapped.punchable, mapped.public_address,
			mapped.voters, mapped.mapping_protocol, mapped.mapping_address, mapped.is_open()],
			["mapped", "open", true, "11.77.2.2:40000", 3, "nat-pmp", "11.77.2.2:7777", true])
	var odd := PkarrReachability.from_dict({"reachability": "wormhole", "natType": 3.0,
			"mapping": "none"})
	assert_eq([odd.reachability, odd.nat_type, odd.mapping_address, odd.is_open()],
			["unknown", "unknown", "", false], "unknown values are not guessed")


func test_result_helpers() -> void:
	var ok := PkarrResult.success(3)
	assert_true(ok.is_ok())
	assert_eq(ok.value, 3)
	assert_eq(str(ok), "ok(3)")
	var bad := PkarrResult.failure("NOT_FOUND", "nothing", {"field": "x"})
	assert_false(bad.is_ok())
	assert_eq([bad.error_code, bad.error_message, bad.error_data], ["NOT_FOUND", "nothing", {"field": "x"}])
	assert_eq(str(bad), "NOT_FOUND: nothing")


func test_completion_completes_once_and_can_be_awaited_after_the_fact() -> void:
	var completion := PkarrCompletion.new()
	assert_true(completion.complete(PkarrResult.success(1)))
	assert_false(completion.complete(PkarrResult.success(2)), "second completion ignored")
	var result: PkarrResult = await completion.wait()
	assert_eq(result.value, 1)
	var later := PkarrCompletion.new()
	var finish := func() -> void:
		await wait_frames(2)
		later.complete(PkarrResult.failure("X", "late"))
	finish.call()
	var late: PkarrResult = await later.wait()
	assert_eq(late.error_code, "X")


func test_json_helpers_never_compare_parsed_numbers_strictly() -> void:
	var parsed: Dictionary = JSON.parse_string("{\"n\": 7, \"big\": 1732386436000000, \"s\": \"12\"}")
	assert_eq(typeof(parsed["n"]), TYPE_FLOAT, "Godot parses JSON numbers as floats")
	assert_eq(PkarrJson.to_int(parsed["n"]), 7)
	assert_eq(PkarrJson.to_int(parsed["s"]), 12)
	assert_eq(PkarrJson.to_int("x", -1), -1)
	assert_eq(PkarrJson.to_decimal_string(parsed["big"]), "1732386436000000")
	assert_eq(PkarrJson.to_decimal_string("123456789012345678"), "123456789012345678")
	assert_eq(PkarrJson.normalize_numbers([1.0, 1.5, {"p": 2.0}]), [1, 1.5, {"p": 2}])


func test_settings_defaults_and_coercion() -> void:
	assert_eq(PkarrSettings.default_value(PkarrSettings.NETWORK_RELAYS),
			PackedStringArray(["https://pkarr.pubky.app", "https://pkarr.pubky.org"]))
	assert_eq(PkarrSettings.get_value(PkarrSettings.SIDECAR_DATA_DIR), "user://pkarr",
			"unsaved settings fall back to their defaults")
	assert_eq(PkarrSettings.get_value(PkarrSettings.NETWORK_USE_DHT), true)
	assert_eq(PkarrSettings.get_value(PkarrSettings.REPUBLISH_INTERVAL), 3600)
	assert_eq(PkarrSettings.get_value(PkarrSettings.LOG_LEVEL), "info")
	assert_eq(PkarrSettings.get_value(PkarrSettings.REQUEST_TIMEOUT), 10.0)
	assert_eq(PkarrSettings.get_value(PkarrSettings.NETWORK_RELAYS), PackedStringArray(),
			"project.godot of this project stores an empty list")
	assert_eq(PkarrSettings.coerce(["a", 1], TYPE_PACKED_STRING_ARRAY, null), PackedStringArray(["a", "1"]))
	assert_eq(PkarrSettings.coerce("15", TYPE_INT, 0), 15)
	var names: Array[String] = []
	for entry: Dictionary in PkarrSettings.definitions():
		assert_true(entry["name"].begins_with("pkarr/"), entry["name"])
		assert_eq(typeof(entry["default"]), entry["type"], entry["name"])
		names.append(entry["name"])
	for required: String in ["pkarr/sidecar/path", "pkarr/sidecar/data_dir", "pkarr/sidecar/web_url",
			"pkarr/sidecar/web_token", "pkarr/network/relays", "pkarr/network/bootstrap",
			"pkarr/network/use_dht", "pkarr/republish/interval_seconds", "pkarr/log/level",
			"pkarr/requests/timeout_seconds"]:
		assert_has(names, required)


func test_the_autoload_stays_idle_on_the_web_without_a_url() -> void:
	var autoload: PkarrService = tree.root.get_node("Pkarr")
	assert_eq(autoload.state, PkarrConnection.State.IDLE, "idle until connect_to()")
	assert_false(autoload.is_ready())
	var service := PkarrService.new()
	var result: PkarrResult = await service.status()
	service.free()
	assert_eq(result.error_code, PkarrResult.NOT_CONNECTED)
	assert_true(result.error_message.contains("not connected"), result.error_message)
