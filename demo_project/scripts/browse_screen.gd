extends DemoScreen
## Browsing: the live list of open lobbies of this demo, from a [PkarrLobbyBrowser].

@onready var _browser: PkarrLobbyBrowser = $LobbyBrowser
@onready var _rows: VBoxContainer = %Rows
@onready var _status: Label = %Status
@onready var _refresh_button: Button = %RefreshButton
@onready var _back_button: Button = %BackButton


func _ready() -> void:
	_browser.known_keys = DemoSession.known_codes()
	_browser.lobby_found.connect(func(_lobby: PkarrLobby) -> void: _rebuild())
	_browser.lobby_updated.connect(func(_lobby: PkarrLobby) -> void: _rebuild())
	_browser.lobby_lost.connect(func(_key: String, _reason: String) -> void: _rebuild())
	_browser.refreshed.connect(func(_count: int) -> void: _rebuild())  # round trips change
	_browser.failed.connect(func(failure: PkarrResult) -> void:
		_status.text = failure.error_message)
	_refresh_button.pressed.connect(_browser.refresh)
	_back_button.pressed.connect(main.show_screen.bind("menu"))
	_browser.start()
	_rebuild()


func _rebuild() -> void:
	for row: Node in _rows.get_children():
		row.queue_free()
	var lobbies := _browser.get_lobbies()
	for lobby: PkarrLobby in lobbies:
		_rows.add_child(_make_row(lobby))
	if lobbies.is_empty():
		_status.text = "Searching the DHT for lobbies… (host one in another window)"
	else:
		_status.text = "%d open lobb%s" % [lobbies.size(), "y" if lobbies.size() == 1 else "ies"]
	print("[demo] browse: %d lobbies" % lobbies.size())


func _make_row(lobby: PkarrLobby) -> Control:
	var row := HBoxContainer.new()
	row.add_theme_constant_override("separation", 16)
	var title := Label.new()
	title.text = lobby.name if lobby.source != "known" else "%s  (recent)" % lobby.name
	title.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	title.clip_text = true
	var count := Label.new()
	count.text = "%d / %d" % [lobby.players, lobby.max_players]
	count.custom_minimum_size.x = 70
	var ping := Label.new()
	ping.text = _ping_text(lobby)
	ping.custom_minimum_size.x = 70
	var network := Label.new()
	network.text = _network_text(lobby)
	network.tooltip_text = "Reachability: %s" % lobby.reach
	network.custom_minimum_size.x = 150
	var via := Label.new()
	via.text = ", ".join(lobby.get_transports())
	via.modulate = Color(1, 1, 1, 0.6)
	via.custom_minimum_size.x = 90
	var join := Button.new()
	join.text = "Full" if lobby.is_full() else "Join"
	join.disabled = lobby.is_full()
	join.custom_minimum_size.x = 90
	join.pressed.connect(_on_join_pressed.bind(lobby, join))
	for child: Control in [title, count, ping, network, via, join]:
		row.add_child(child)
	print("[demo] browse row: %s | %s | %s" % [lobby.name, ping.text, network.text])
	return row


## The round trip to the host, or a dash when the browser never contacted it.
func _ping_text(lobby: PkarrLobby) -> String:
	if not lobby.has_rtt():
		return "—"
	return "<1 ms" if lobby.rtt_ms < 1.0 else "%d ms" % roundi(lobby.rtt_ms)


## LAN or internet, and how an internet host is reached through its NAT.
func _network_text(lobby: PkarrLobby) -> String:
	if lobby.is_lan():
		return "LAN"
	if lobby.reach == PkarrReachability.UNKNOWN:
		return "Internet"
	return "Internet (%s)" % lobby.reach


func _on_join_pressed(lobby: PkarrLobby, button: Button) -> void:
	button.disabled = true
	_status.text = "Connecting to %s…" % lobby.name
	var result: PkarrResult = await session.join_game(lobby.invite_code)
	if not is_inside_tree():
		return
	if result.is_ok():
		main.show_screen("arena")
	else:
		_status.text = "Could not join %s: %s" % [lobby.name, result.error_message]
		button.disabled = false
