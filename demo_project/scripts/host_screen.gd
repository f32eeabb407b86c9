extends DemoScreen
## Hosting: a lobby name, the number of players and how players reach you, then a game server
## and a published lobby.

enum Reach {
	THIS_COMPUTER, ## 127.0.0.1: a second instance on the same machine.
	LOCAL_NETWORK, ## The first private IPv4 address of this machine.
	INTERNET, ## The sidecar's choice: a router mapping, the public address, or punched paths.
}

@onready var _name_edit: LineEdit = %LobbyNameEdit
@onready var _max_players: SpinBox = %MaxPlayers
@onready var _port: SpinBox = %Port
@onready var _transport: OptionButton = %Transport
@onready var _reach: OptionButton = %Reach
@onready var _host_button: Button = %HostButton
@onready var _back_button: Button = %BackButton
@onready var _status: Label = %Status


func _ready() -> void:
	_name_edit.text = "%s's room" % session.player_name
	_port.value = DemoSession.DEFAULT_PORT
	_transport.add_item("ENet (desktop players)")
	_transport.add_item("WebSocket (desktop and browser players)")
	_transport.add_item("ENet + WebSocket on the next port (both)")
	_reach.add_item("This computer (127.0.0.1)", Reach.THIS_COMPUTER)
	_reach.add_item("Local network (%s)" % _lan_address(), Reach.LOCAL_NETWORK)
	_reach.add_item("Internet (router mapping or punched paths)", Reach.INTERNET)
	_host_button.pressed.connect(_on_host_pressed)
	_back_button.pressed.connect(main.show_screen.bind("menu"))
	if not DemoSession.can_host():
		_host_button.disabled = true
		_status.text = "Browsers cannot run a game server: host from the desktop build."
	else:
		_name_edit.grab_focus()


func _on_host_pressed() -> void:
	var lobby_name := _name_edit.text.strip_edges()
	if lobby_name == "":
		_status.text = "Give the lobby a name."
		return
	_host_button.disabled = true
	_status.text = "Starting the server and publishing the lobby…"
	var reach := _reach.get_selected_id()
	var address := ""
	match reach:
		Reach.THIS_COMPUTER:
			address = "127.0.0.1"
		Reach.LOCAL_NETWORK:
			address = _lan_address()
	var port := int(_port.value)
	var result: PkarrResult = await session.host_game(lobby_name, int(_max_players.value),
			port, "ws" if _transport.selected == 1 else "enet", address,
			port + 1 if _transport.selected == 2 else 0)
	if not is_inside_tree():
		return
	if result.is_ok():
		print("[demo] hosting: %s  %s" % [session.lobby_host.short_code, session.lobby.invite_code])
		main.show_screen("arena")
	else:
		_status.text = "Could not host: %s" % result.error_message
		_host_button.disabled = false


func _lan_address() -> String:
	for address: String in IP.get_local_addresses():
		if address.begins_with("192.168.") or address.begins_with("10."):
			return address
		if address.begins_with("172."):
			var second := address.get_slice(".", 1).to_int()
			if second >= 16 and second <= 31:
				return address
	return "127.0.0.1"
