extends PkarrLiveTestCase
## The Pkarr autoload against real sidecars (started by test/addon-engine.test.ts on a local DHT
## testnet): connect with the token, keys, publish on one sidecar and resolve from another,
## error codes, refused tokens, request timeouts, lost connections, giving up.

const Z32_LENGTH := 52


func before_all() -> void:
	timeout_sec = 90.0
	await load_live_config(80.0)


func before_each() -> void:
	timeout_sec = 30.0


func test_connects_with_the_token() -> void:
	var a := _sidecar("a")
	var connected: PkarrResult = await _pkarr().connect_to(a["url"], a["token"])
	if not assert_true(connected.is_ok(), str(connected)):
		return
	assert_true(_pkarr().is_ready())
	assert_eq(_pkarr().state, PkarrConnection.State.READY)
	var status: PkarrResult = await _pkarr().status()
	if not assert_true(status.is_ok(), str(status)):
		return
	var info: PkarrStatus = status.value
	assert_true(info.dht_enabled, "the DHT is on")
	assert_eq(info.relays, PackedStringArray(), "a local testnet uses no relays")
	assert_true(info.pid > 0, "pid %d" % info.pid)
	assert_ne(info.version, "")


func test_generates_lists_and_exports_keys() -> void:
	if not await _ready_on_a():
		return
	var generated: PkarrResult = await _pkarr().generate_key("alice")
	if not assert_true(generated.is_ok(), str(generated)):
		return
	var alice: PkarrKeyInfo = generated.value
	assert_eq(alice.name, "alice")
	assert_eq(alice.public_key.length(), Z32_LENGTH, alice.public_key)
	assert_eq(alice.secret_key, "", "only export_key returns the secret")
	var listed: PkarrResult = await _pkarr().list_keys()
	assert_true(listed.is_ok(), str(listed))
	var names: Array[String] = []
	for key: PkarrKeyInfo in listed.value:
		names.append(key.name)
	assert_has(names, "alice")
	var exported: PkarrResult = await _pkarr().export_key("alice")
	assert_true(exported.is_ok(), str(exported))
	var secret: String = exported.value.secret_key
	assert_eq(secret.length(), 64, "64 hex characters")
	assert_true(secret.is_valid_hex_number(), "hex")
	assert_eq(exported.value.public_key, alice.public_key)
	var again: PkarrResult = await _pkarr().generate_key("alice")
	assert_eq(again.error_code, "KEY_EXISTS", str(again))


func test_publishes_and_resolves_from_a_second_sidecar() -> void:
	if not await _ready_on_a():
		return
	var key: PkarrResult = await _pkarr().generate_key("host")
	if not assert_true(key.is_ok(), str(key)):
		return
	var public_key: String = key.value.public_key
	var records: Array[PkarrRecord] = [
		PkarrRecord.txt("_lobby", "v=1 game=engine-test players=1/4", 60),
		PkarrRecord.a("@", "203.0.113.7", 120),
		PkarrRecord.svcb("_enet", 1, ".", {"port": 7777}, 60),
	]
	var published: PkarrResult = await _pkarr().publish(records, "host")
	if not assert_true(published.is_ok(), str(published)):
		return
	var info: PkarrPublished = published.value
	assert_eq(info.public_key, public_key)
	assert_true(info.timestamp.is_valid_int() and info.timestamp.length() >= 16,
			"µs timestamp as a decimal string: %s" % info.timestamp)
	assert_true(info.size > 0 and info.size <= 1000, "size %d" % info.size)
	assert_true(info.stored_on > 0, "stored on %d nodes" % info.stored_on)
	assert_has(_pkarr().kept_alive_keys(), "host")

	var other := await service_on("b")
	if other == null:
		return
	var found: PkarrResult = await other.resolve(public_key)
	if not assert_true(found.is_ok(), str(found)):
		return
	var resolved: PkarrResolved = found.value
	assert_eq(resolved.public_key, public_key)
	assert_eq(resolved.timestamp, info.timestamp, "the same packet")
	assert_eq(resolved.source, "dht")
	assert_eq(resolved.get_txt("_lobby"), "v=1 game=engine-test players=1/4")
	var addresses := resolved.get_records("@", "A")
	assert_eq(addresses.size(), 1)
	if not addresses.is_empty():
		assert_eq(addresses[0].address, "203.0.113.7")
		assert_eq(addresses[0].ttl, 120)
	var services := resolved.get_records("_enet", "SVCB")
	if assert_eq(services.size(), 1):
		assert_eq(services[0].params.get("port"), 7777)
		assert_eq(typeof(services[0].params.get("port")), TYPE_INT)
	# The resolved records go straight back into a publish.
	var copy: PkarrResult = await _pkarr().publish(resolved.records, "host", false)
	assert_true(copy.is_ok(), str(copy))
	assert_false("host" in _pkarr().kept_alive_keys(), "keep_alive=false forgets the records")


func test_reports_sidecar_errors_with_their_codes() -> void:
	if not await _ready_on_a():
		return
	var unknown_key: PkarrResult = await _pkarr().publish([PkarrRecord.txt("_x", "y")], "nobody")
	assert_eq(unknown_key.error_code, "KEY_NOT_FOUND", str(unknown_key))
	var bad_key: PkarrResult = await _pkarr().resolve("this is not a key")
	assert_true(bad_key.error_code.begins_with("INVALID_"), str(bad_key))
	assert_eq(bad_key.error_data.get("field"), "publicKey")
	var bad_name: PkarrResult = await _pkarr().generate_key("no spaces allowed")
	assert_eq(bad_name.error_code, "INVALID_ARGUMENT", str(bad_name))
	var bad_record: PkarrResult = await _pkarr().publish([{"type": "A", "name": "@", "ttl": 60,
			"address": "not an address"}], "alice")
	assert_eq(bad_record.error_code, "INVALID_RECORD", str(bad_record))
	var no_method: PkarrResult = await _pkarr().call_method("no.such.method")
	assert_eq(no_method.error_code, PkarrResult.METHOD_NOT_FOUND, str(no_method))
	var not_records: PkarrResult = await _pkarr().publish([42], "alice")
	assert_eq(not_records.error_code, PkarrResult.INVALID_ARGUMENT, str(not_records))
	assert_true(_pkarr().is_ready(), "errors leave the connection usable")


func test_an_unpublished_key_is_not_found() -> void:
	if not await _ready_on_a():
		return
	var key: PkarrResult = await _pkarr().generate_key("silent")
	if not assert_true(key.is_ok(), str(key)):
		return
	var found: PkarrResult = await _pkarr().resolve(key.value.public_key, "NetworkOnly")
	assert_eq(found.error_code, "NOT_FOUND", str(found))


func test_imports_and_deletes_keys() -> void:
	if not await _ready_on_a():
		return
	var source: PkarrResult = await _pkarr().generate_key("source")
	var exported: PkarrResult = await _pkarr().export_key("source")
	if not assert_true(source.is_ok() and exported.is_ok(), "%s / %s" % [source, exported]):
		return
	var imported: PkarrResult = await _pkarr().import_key("copy", exported.value.secret_key)
	assert_true(imported.is_ok(), str(imported))
	assert_eq(imported.value.public_key, source.value.public_key, "same seed, same key")
	var deleted: PkarrResult = await _pkarr().delete_key("copy")
	assert_eq(deleted.value, true, str(deleted))
	var gone: PkarrResult = await _pkarr().delete_key("copy")
	assert_eq(gone.value, false, "a second delete finds nothing: %s" % gone)
	var bad_secret: PkarrResult = await _pkarr().import_key("bad", "xyz")
	assert_eq(bad_secret.error_code, "INVALID_SECRET_KEY", str(bad_secret))


func test_a_wrong_token_is_refused_without_hanging() -> void:
	var service := _new_service()
	var a := _sidecar("a")
	var result: PkarrResult = await service.connect_to(a["url"], "0".repeat(64))
	assert_eq(result.error_code, PkarrResult.CONNECTION_FAILED, str(result))
	assert_true(result.error_message.contains("token"), result.error_message)
	assert_false(service.is_ready())
	var call: PkarrResult = await service.status()
	assert_eq(call.error_code, PkarrResult.NOT_CONNECTED, str(call))
	service.stop()


func test_a_request_without_answer_times_out() -> void:
	var service := _new_service()
	var hole: Dictionary = shared["live"]["blackhole"]
	var connected: PkarrResult = await service.connect_to(hole["url"], hole["token"])
	if not assert_true(connected.is_ok(), str(connected)):
		return
	var result: PkarrResult = await service.call_method("status", {}, 0.5)
	assert_eq(result.error_code, PkarrResult.REQUEST_TIMEOUT, str(result))
	assert_true(result.error_message.contains("status"), result.error_message)
	assert_true(service.is_ready(), "a timeout does not drop the connection")


func test_pending_requests_fail_when_the_connection_closes() -> void:
	var service := _new_service()
	var events := PkarrSignalLog.new()
	events.watch(service.disconnected, "disconnected")
	var hole: Dictionary = shared["live"]["blackhole"]
	var connected: PkarrResult = await service.connect_to(hole["url"], hole["token"])
	if not assert_true(connected.is_ok(), str(connected)):
		return
	var box := {}
	var pending := func() -> void:
		box["result"] = await service.call_method("status", {}, 60.0)
	pending.call()
	await wait_frames(2)
	assert_false(box.has("result"), "still pending")
	var ack := await PkarrTestHost.ask(tree, "close blackhole")
	assert_true(ack.get("ok", false), str(ack))
	assert_true(await wait_until(func() -> bool: return box.has("result"), 10.0),
			"the pending call completed")
	if box.has("result"):
		var result: PkarrResult = box["result"]
		assert_eq(result.error_code, PkarrResult.CONNECTION_LOST, str(result))
	assert_eq(events.count("disconnected"), 1)
	events.clear()
	service.stop()


func test_gives_up_after_the_retry_limit() -> void:
	var service := _new_service()
	service.retry_limit = 1
	var events := PkarrSignalLog.new()
	events.watch(service.sidecar_failed, "failed")
	var closed_url: String = shared["live"]["closed_url"]
	var first: PkarrResult = await service.connect_to(closed_url, "0".repeat(64))
	assert_eq(first.error_code, PkarrResult.CONNECTION_FAILED, str(first))
	assert_true(await wait_until(func() -> bool: return events.count("failed") > 0, 15.0),
			"sidecar_failed after one retry")
	assert_eq(service.state, PkarrConnection.State.FAILED)
	assert_true(service.last_error.contains("gave up"), service.last_error)
	var waited: PkarrResult = await service.wait_ready(5.0)
	assert_false(waited.is_ok(), "wait_ready fails at once after giving up")
	events.clear()


func _pkarr() -> PkarrService:
	return tree.root.get_node("Pkarr") as PkarrService


func _sidecar(label: String) -> Dictionary:
	return shared["live"]["sidecars"][label]


func _ready_on_a() -> bool:
	if _pkarr().is_ready():
		return true
	var a := _sidecar("a")
	var connected: PkarrResult = await _pkarr().connect_to(a["url"], a["token"])
	return assert_true(connected.is_ok(), str(connected))


func _new_service() -> PkarrService:
	var service := PkarrService.new()
	service.autostart = false
	add_child_autofree(service)
	return service
