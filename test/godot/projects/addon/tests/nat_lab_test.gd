extends PkarrLiveTestCase
## The addon against real sidecars inside the NAT lab (started by test/nat-engine-lab.test.ts):
## sidecar "host" runs behind one port-restricted NAT, sidecar "player" behind another; their RPC
## ports are bridged to this page's loopback. What the web engine can run: the NAT type in
## status(), a PkarrLobbyHost that opens with no address (the sidecar learns its reach and
## publishes a punch endpoint), the player's lobby.join through a punched path (the route the
## desktop ENet client would connect to), and Pkarr.join's refusal of a WebSocket join to a host
## behind NAT. The ENet datagrams themselves are replayed from Node (test/nat-join-lab.test.ts).

const GAME := "pkarr-nat-lab"


func before_all() -> void:
	timeout_sec = 120.0
	await load_live_config(110.0)


func before_each() -> void:
	timeout_sec = 90.0


func test_status_reports_the_nat_type_behind_a_port_restricted_router() -> void:
	var service := await service_on("host")
	if service == null:
		return
	var nat: PkarrReachability = null
	for attempt: int in 40:
		var status: PkarrResult = await service.status()
		if not assert_true(status.is_ok(), str(status)):
			return
		nat = status.value.nat
		if nat.reachability != PkarrReachability.UNKNOWN:
			break
		await tree.create_timer(0.5).timeout
	assert_eq(nat.reachability, PkarrReachability.CONE, nat.description)
	assert_eq(nat.nat_type, "moderate")
	assert_true(nat.punchable)
	assert_true(nat.public_address.begins_with(str(shared["live"]["host_wan"]) + ":"),
			"public address %s is the router's WAN address" % nat.public_address)
	assert_false(nat.is_open())


func test_a_host_behind_nat_opens_and_a_player_behind_another_nat_gets_a_punched_route() -> void:
	var host_service := await service_on("host")
	var player_service := await service_on("player")
	if host_service == null or player_service == null:
		return
	var host := PkarrLobbyHost.new()
	host.service = host_service
	host.game_id = GAME
	host.game_version = "1"
	host.lobby_name = "behind NAT"
	host.port = 7777
	host.key_name = "nat-lab"
	host.create_server = false  # a browser cannot run a game server
	add_child_autofree(host)
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	assert_eq(host.reach, PkarrReachability.CONE, "a port-restricted NAT without a mapping")
	var lobby: PkarrLobby = opened.value
	assert_not_null(lobby.get_endpoint("punch"), "the punch endpoint is published")
	assert_null(lobby.get_endpoint("enet"), "no game endpoint: it is not reachable directly")
	var route: PkarrResult = await player_service.call_method("lobby.join",
			{"code": host.invite_code, "game": GAME, "gameVersion": "1", "transport": "enet",
			"timeoutMs": 30000}, 60.0)
	if not assert_true(route.is_ok(), str(route)):
		return
	var answer: Dictionary = route.value
	assert_eq(answer.get("via"), "punched")
	assert_eq(answer.get("host"), "127.0.0.1", "the desktop ENet client connects to the tunnel")
	assert_true(PkarrJson.to_int(answer.get("port")) > 0)
	var left: PkarrResult = await player_service.call_method("lobby.leave",
			{"tunnelId": answer.get("tunnelId")})
	assert_true(left.is_ok() and left.value.get("closed") == true, str(left))
	# The web build joins over WebSocket, which cannot be punched: a clear refusal, not a hang.
	var joined: PkarrResult = await PkarrLobbyJoin.join(player_service, host.invite_code,
			{"game": GAME, "game_version": "1", "timeout": 10.0})
	assert_false(joined.is_ok())
	assert_eq(joined.error_code, PkarrResult.UNREACHABLE_NAT, joined.error_message)
	assert_has(joined.error_message, "ws")
	await host.close(0)
