extends PkarrTestCase
## A web export finds what a desktop game's sidecar published, through that sidecar's local pkarr
## relay only (no remote relay, no sidecar of its own): records, a lobby, then a lobby update.
## Config (test/relay-local-e2e-engine.test.ts): localRelay (URL), key (z32), records (the
## sidecar's resolve JSON of the published packet), timestamp, lobby {inviteCode, game,
## gameVersion, name, players, maxPlayers, transport, host, port, ttl}, updatedPlayers.
## Prints E2E_RESOLVE_MS / E2E_LOBBY_MS / E2E_UPDATE_SEEN_MS lines, and E2E_UPDATE_LOBBY when the
## Node test should update the lobby over RPC.


func before_each() -> void:
	timeout_sec = 60.0


func test_the_web_export_runs_the_relay_backend_on_the_local_relay_alone() -> void:
	# The page counts as public: the Node test grants Local Network Access, then sets this flag.
	var allowed: bool = await wait_until(func() -> bool:
		return str(JavaScriptBridge.eval("window.__pkarrLocalNetworkAllowed === true ? 'yes' : ''", true)) == "yes", 20.0)
	assert_true(allowed, "the player allowed local network access")
	var ready: PkarrResult = await Pkarr.wait_ready(10.0)
	if not assert_true(ready.is_ok(), str(ready)):
		return
	assert_eq(PkarrRelayBackend.choose(), "relay", "auto on the web without web_url")
	var status: PkarrResult = await Pkarr.call_method("status")
	if assert_true(status.is_ok(), str(status)):
		assert_eq(status.value["backend"], "relay")
		assert_eq(status.value["relays"], [str(config["localRelay"])], "the local relay and nothing else")


func test_resolves_what_the_sidecar_published() -> void:
	var started := Time.get_ticks_usec()
	var found: PkarrResult = await Pkarr.resolve(str(config["key"]))
	var elapsed_ms := (Time.get_ticks_usec() - started) / 1000.0
	if not assert_true(found.is_ok(), str(found)):
		return
	print("E2E_RESOLVE_MS %.2f" % elapsed_ms)
	var resolved: PkarrResolved = found.value
	assert_eq(resolved.source, "relay")
	assert_eq(resolved.timestamp, str(config["timestamp"]))
	assert_eq(resolved.get_txt("_game"), "hello from the desktop sidecar")
	assert_eq(resolved.get_records("@", "A")[0].address, "127.0.0.1")
	# The whole record list, as the sidecar's own resolve reads the same packet.
	var raw: PkarrResult = await Pkarr.call_method("resolve", {"publicKey": str(config["key"])})
	if assert_true(raw.is_ok(), str(raw)):
		assert_eq(raw.value["records"], config["records"])
		assert_eq(raw.value["source"], "cache", "the second lookup is answered by the kept packet")
	var outcomes := _outcomes()
	assert_eq(outcomes.size(), 1, str(outcomes))
	if outcomes.size() == 1:
		assert_eq(outcomes[0]["relay"], str(config["localRelay"]))
		assert_eq(outcomes[0]["outcome"], "packet")


func test_gets_the_lobby_then_sees_its_update() -> void:
	var want: Dictionary = config["lobby"]
	var started := Time.get_ticks_usec()
	var found: PkarrResult = await Pkarr.get_lobby(str(want["inviteCode"]), str(want["game"]), str(want["gameVersion"]))
	var elapsed_ms := (Time.get_ticks_usec() - started) / 1000.0
	if not assert_true(found.is_ok(), str(found)):
		return
	print("E2E_LOBBY_MS %.2f" % elapsed_ms)
	var lobby: PkarrLobby = found.value
	assert_eq(lobby.name, str(want["name"]))
	assert_eq(lobby.players, int(want["players"]))
	assert_eq(lobby.max_players, int(want["maxPlayers"]))
	assert_true(lobby.open, "open")
	assert_eq(lobby.endpoints.size(), 1)
	if lobby.endpoints.size() == 1:
		assert_eq(lobby.endpoints[0].transport, str(want["transport"]))
		assert_eq(lobby.endpoints[0].host, str(want["host"]))
		assert_eq(lobby.endpoints[0].port, int(want["port"]))
	assert_eq(_outcomes()[0]["relay"], str(config["localRelay"]))

	# The host updates its lobby over RPC (the Node test does it on this line); get_lobby asks the
	# network again once the kept copy is older than the lobby's TTL, and must see the new count.
	print("E2E_UPDATE_LOBBY")
	var asked_at := Time.get_ticks_usec()
	var wanted := int(config["updatedPlayers"])
	var seen := -1
	var calls := 0
	var deadline := Time.get_ticks_msec() + (int(want["ttl"]) + 25) * 1000
	while Time.get_ticks_msec() < deadline:
		await wait_seconds(1.0)
		calls += 1
		var again: PkarrResult = await Pkarr.get_lobby(str(want["inviteCode"]), str(want["game"]), str(want["gameVersion"]))
		if not assert_true(again.is_ok(), str(again)):
			return
		seen = (again.value as PkarrLobby).players
		if seen == wanted:
			assert_eq((again.value as PkarrLobby).name, str(want["name"]))
			break
	assert_eq(seen, wanted, "the updated player count reached the web export")
	if seen == wanted:
		print("E2E_UPDATE_SEEN_MS %.0f after %d get_lobby call(s)" % [(Time.get_ticks_usec() - asked_at) / 1000.0, calls])


func _outcomes() -> Array:
	return (Pkarr.get_node("Connection") as PkarrRelayBackend).relay_client.last_outcomes
