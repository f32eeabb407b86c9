extends Node
## Speed of the GDScript pkarr core in the web engine, run by bench/core-engine.bench.ts on
## inputs it writes to res://generated/bench_input.json (a full-size DNS message, its publish
## JSON, a lobby relay body, a directory slot). Prints one "BENCH <json>" line, then
## "# core-bench done". Every timed call is checked against the expected result.

const BUDGET_USEC := 1_000_000


func _ready() -> void:
	await get_tree().process_frame
	var input: Dictionary = JSON.parse_string(FileAccess.get_file_as_string("res://generated/bench_input.json"))
	var origin: String = input["origin"]
	var dns := PkarrBytes.from_hex(input["dns"])
	var records: Array = input["records"]
	var body := PkarrBytes.from_hex(input["lobbyBody"])
	var lobby_key: String = input["lobbyKey"]
	var slot_body := PkarrBytes.from_hex(input["slotBody"])
	var fail: Array[String] = []
	var results := {}
	results["decode"] = _time(func() -> bool:
		return (PkarrDnsDecoder.decode(dns, origin).value as Array).size() == records.size(), fail, "decode")
	results["encode"] = _time(func() -> bool:
		return PkarrSignedPacket.encode_dns(records, origin).value == dns, fail, "encode")
	results["lobby"] = _time(func() -> bool:
		var parts := PkarrSignedPacket.parse_relay_body(body)
		var decoded := PkarrSignedPacket.decode_records(parts.value["dns"], lobby_key)
		return PkarrLobbyRecord.parse(lobby_key, parts.value["timestamp"], decoded.value, "relay", 0).is_ok(),
		fail, "lobby")
	results["slot"] = _time(func() -> bool:
		var parts := PkarrSignedPacket.parse_relay_body(slot_body)
		var decoded := PkarrSignedPacket.decode_records(parts.value["dns"], input["slotKey"])
		var read := PkarrDirectorySlot.read(decoded.value, input["slotKey"], "demo", "1.0", int(input["window"]))
		return (read["entries"] as Array).size() == int(input["slotEntries"]), fail, "slot")
	results["pow"] = _time(func() -> bool:
		return PkarrDirectorySlot.solve_pow("pkarr-godot-directory-pow:v1:demo:1.0:1:", lobby_key + ":1:", 256, 0, 10000)["tries"] == 10000,
		fail, "pow")
	results["failures"] = fail
	print("BENCH " + JSON.stringify(results))
	print("# core-bench done")
	get_tree().quit(0 if fail.is_empty() else 1)


## {ops, usec} of calling [param op] for about a second.
func _time(op: Callable, fail: Array[String], label: String) -> Dictionary:
	if not op.call():
		fail.append(label)
		return {"ops": 1, "usec": 1}
	var ops := 0
	var start := Time.get_ticks_usec()
	var now := start
	while now - start < BUDGET_USEC or ops < 3:
		op.call()
		ops += 1
		now = Time.get_ticks_usec()
	return {"ops": ops, "usec": now - start}
