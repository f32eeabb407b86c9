extends PkarrLiveTestCase
## The addon against real sidecars on a LAN with no internet (started by
## test/lan-engine-lab.test.ts): sidecars "host" and "player" run `serve --no-dht --no-relays` in
## two NAT-lab namespaces on one bridge with no WAN; their RPC ports are bridged to this page's
## loopback. A PkarrLobbyHost opens with no address (the sidecar advertises its LAN address), a
## PkarrLobbyBrowser on the other machine shows the lobby with source "lan", and the player's
## lobby.join answers the host's LAN address (what the desktop ENet client would connect to).

const GAME := "pkarr-lan-lab"


func before_all() -> void:
	timeout_sec = 90.0
	await load_live_config(80.0)


func before_each() -> void:
	timeout_sec = 60.0


func test_the_browser_shows_a_lan_lobby_and_join_answers_its_lan_address() -> void:
	var host_service := await service_on("host")
	var player_service := await service_on("player")
	if host_service == null or player_service == null:
		return
	var host_address := str(shared["live"]["host_lan"])
	var host := PkarrLobbyHost.new()
	host.service = host_service
	host.game_id = GAME
	host.game_version = "1"
	host.lobby_name = "LAN party"
	host.port = 7777
	host.key_name = "lan-lab"
	host.create_server = false  # a browser cannot run a game server
	add_child_autofree(host)
	var opened: PkarrResult = await host.open()
	if not assert_true(opened.is_ok(), str(opened)):
		return
	var hosted: PkarrLobby = opened.value
	assert_eq(hosted.get_endpoint("enet").host, host_address, "no network: the LAN address is advertised")

	var browser := PkarrLobbyBrowser.new()
	browser.service = player_service
	browser.game_id = GAME
	browser.game_version = "1"
	browser.autostart = false
	add_child_autofree(browser)
	browser.start()
	var seen := await wait_until(func() -> bool: return browser.get_lobby(host.public_key) != null, 10.0)
	if not assert_true(seen, "the browser shows the LAN lobby"):
		return
	var lobby: PkarrLobby = browser.get_lobby(host.public_key)
	assert_eq(lobby.name, "LAN party")
	assert_eq(lobby.source, "lan")
	assert_eq(lobby.lan_address, host_address)

	var got: PkarrResult = await player_service.call_method("lobby.get", {"code": host.invite_code})
	if not assert_true(got.is_ok(), str(got)):
		return
	assert_eq(got.value.get("source"), "lan")
	var route: PkarrResult = await player_service.call_method("lobby.join",
			{"code": host.invite_code, "game": GAME, "gameVersion": "1", "transport": "enet"}, 30.0)
	if not assert_true(route.is_ok(), str(route)):
		return
	assert_eq(route.value.get("via"), "lan")
	assert_eq(route.value.get("host"), host_address)
	assert_eq(PkarrJson.to_int(route.value.get("port")), 7777)
	await host.close(0)
	var lost := await wait_until(func() -> bool: return browser.get_lobby(host.public_key) == null, 10.0)
	assert_true(lost, "a closed LAN lobby leaves the browser")
