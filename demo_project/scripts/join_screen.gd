extends DemoScreen
## Join by code (long or short): [code]Pkarr.join()[/code] through the session.

## What to tell the player for each join failure.
const REASONS: Dictionary = {
	PkarrResult.NO_LOBBY: "Nothing is published under this code (yet?).",
	PkarrResult.LOBBY_CLOSED: "This lobby is closed.",
	PkarrResult.LOBBY_EXPIRED: "This lobby's host is gone.",
	PkarrResult.LOBBY_FULL: "This lobby is full.",
	PkarrResult.OTHER_GAME: "This code belongs to another game or version.",
	PkarrResult.NOT_A_LOBBY: "This code does not lead to a lobby.",
	PkarrResult.TIMEOUT: "The host did not answer in time.",
	PkarrResult.JOIN_REFUSED: "The host refused the connection.",
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
	_status.text = "Joining…"
	var joined: PkarrResult = await session.join_game(code)
	if not is_inside_tree():
		return
	if joined.is_ok():
		main.show_screen("arena")
	else:
		_status.text = REASONS.get(joined.error_code, "Could not join: %s" % joined.error_message)
		_join_button.disabled = false
