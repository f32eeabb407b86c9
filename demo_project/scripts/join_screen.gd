extends DemoScreen
## Join by code: look the code up with [code]Pkarr.get_lobby()[/code], then connect.

## What to tell the player for each lobby failure.
const REASONS: Dictionary = {
	PkarrLobby.NO_LOBBY: "Nothing is published under this code (yet?).",
	PkarrLobby.LOBBY_CLOSED: "This lobby is closed.",
	PkarrLobby.LOBBY_EXPIRED: "This lobby's host is gone.",
	PkarrLobby.OTHER_GAME: "This code belongs to another game or version.",
	PkarrLobby.NOT_A_LOBBY: "This code does not lead to a lobby.",
}

@onready var _code_edit: LineEdit = %CodeEdit
@onready var _paste_button: Button = %PasteButton
@onready var _join_button: Button = %JoinButton
@onready var _back_button: Button = %BackButton
@onready var _status: Label = %Status


func _ready() -> void:
	_paste_button.pressed.connect(func() -> void:
		_code_edit.text = DisplayServer.clipboard_get().strip_edges())
	_join_button.pressed.connect(_on_join_pressed)
	_code_edit.text_submitted.connect(func(_text: String) -> void: _on_join_pressed())
	_back_button.pressed.connect(main.show_screen.bind("menu"))
	_code_edit.grab_focus()


func _on_join_pressed() -> void:
	var code := _code_edit.text.strip_edges()
	if code == "":
		_status.text = "Paste the invite code the host gave you."
		return
	_join_button.disabled = true
	_status.text = "Looking the lobby up…"
	var found: PkarrResult = await Pkarr.get_lobby(code, DemoSession.GAME_ID,
			DemoSession.GAME_VERSION)
	if not is_inside_tree():
		return
	if not found.is_ok():
		_status.text = REASONS.get(found.error_code, "Could not find it: %s" % found.error_message)
		_join_button.disabled = false
		return
	var lobby: PkarrLobby = found.value
	if lobby.is_full():
		_status.text = "%s is full (%d / %d)." % [lobby.name, lobby.players, lobby.max_players]
		_join_button.disabled = false
		return
	_status.text = "Found %s (%d / %d), connecting…" % [lobby.name, lobby.players,
			lobby.max_players]
	var joined: PkarrResult = await session.join_lobby(lobby)
	if not is_inside_tree():
		return
	if joined.is_ok():
		DemoSession.remember_code(lobby.invite_code)
		main.show_screen("arena")
	else:
		_status.text = "Could not join: %s" % joined.error_message
		_join_button.disabled = false
