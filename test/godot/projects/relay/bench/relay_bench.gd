extends PkarrTestCase
## Figures for bench/relay-engine.bench.ts (never asserts timings): resolving one key through the
## local relay, end to end, in the web engine. Prints one `RELAY_BENCH <json>` line per case:
## - `httprequest`: a bare HTTPRequest GET of the same URL (the baseline: what a plain Godot
##   request costs, frame pacing included); `httpclient` / `fetch`: PkarrRelayExchange without
##   verification, through HTTPClient or the browser's fetch() (the default on the web);
## - `resolve-<path>`: `Pkarr.resolve(key, "NetworkOnly")` (GET, verify, decode; no cache);
## - `not-modified`: the relay client again with the packet kept (If-Modified-Since -> 304).
## Config: local (relay URL), key, rounds.


func test_figures() -> void:
	timeout_sec = 240.0
	ProjectSettings.set_setting("pkarr/relay/local_relay_url", str(config["local"]))
	ProjectSettings.set_setting("pkarr/network/relays", PackedStringArray())
	Pkarr.start()
	var backend := Pkarr.get_node("Connection") as PkarrRelayBackend
	var key := str(config["key"])
	var rounds := int(config["rounds"])
	var url := "%s/%s" % [config["local"], key]
	var http := HTTPRequest.new()
	tree.root.add_child(http)
	_report("httprequest", await _times(rounds, func() -> bool:
		http.request(url)
		var args: Array = await http.request_completed
		return args[1] == 200))
	http.queue_free()
	for fetch: bool in [false, true]:
		PkarrRelayExchange.use_browser_fetch = fetch
		_report("fetch" if fetch else "httpclient", await _times(rounds, func() -> bool:
			var response := await PkarrRelayExchange.send(tree.root, url, "GET", PackedStringArray(), PackedByteArray(), 5.0)
			return response.status == 200))
	for path: String in ["webcrypto", "gdscript"]:
		backend.signatures.force_pure = path == "gdscript"
		var used: String = await backend.signatures.backend()
		_report("resolve-" + used, await _times(rounds, func() -> bool:
			var found: PkarrResult = await Pkarr.resolve(key, "NetworkOnly")
			return found.is_ok()))
	_report("not-modified", await _times(rounds, func() -> bool:
		var found: PkarrResult = await backend.relay_client.resolve(key)
		return found.is_ok() and backend.relay_client.last_outcomes[0]["outcome"] == "not_modified"))
	assert_true(true)


func _times(rounds: int, work: Callable) -> Dictionary:
	var samples: Array[float] = []
	var frames: Array[int] = []
	var failures := 0
	await work.call()
	for i: int in rounds:
		var started := Time.get_ticks_usec()
		var first_frame := Engine.get_process_frames()
		var ok: bool = await work.call()
		samples.append(float(Time.get_ticks_usec() - started) / 1000.0)
		frames.append(Engine.get_process_frames() - first_frame)
		if not ok:
			failures += 1
	samples.sort()
	frames.sort()
	@warning_ignore("integer_division")
	return {"rounds": rounds, "failures": failures, "frames": frames[rounds / 2],
			"fps": Engine.get_frames_per_second(), "p50": samples[rounds / 2],
			"p90": samples[mini(rounds - 1, rounds * 9 / 10)], "min": samples[0]}


func _report(label: String, figures: Dictionary) -> void:
	figures["case"] = label
	print("RELAY_BENCH " + JSON.stringify(figures))
