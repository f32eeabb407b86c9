extends DemoScreen
## The playing field: every player is a coloured square; move yours with the arrow keys.
## The side panel shows the lobby, its invite code (with a Copy button) and the players.

## Pixels per second.
const SPEED := 260.0

var _roster_signature: String = ""

@onready var _field: Control = %Field
@onready var _lobby_label: Label = %LobbyLabel
@onready var _code_label: Label = %CodeLabel
@onready var _copy_button: Button = %CopyButton
@onready var _players: ItemList = %Players
@onready var _leave_button: Button = %LeaveButton


func _ready() -> void:
	_field.draw.connect(_draw_field)
	session.roster_changed.connect(_on_roster_changed)
	session.lobby_host.updated.connect(_show_lobby)
	_copy_button.pressed.connect(func() -> void:
		DisplayServer.clipboard_set(_code_label.text)
		_copy_button.text = "Copied")
	_leave_button.pressed.connect(_on_leave_pressed)
	_show_lobby()
	_on_roster_changed()


func _process(delta: float) -> void:
	var direction := Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down")
	session.move_by(direction * SPEED * delta)


func _show_lobby() -> void:
	var lobby := session.lobby_host.lobby if session.is_hosting() else session.lobby
	if lobby == null:
		_lobby_label.text = "Practice (offline)"
		_code_label.text = "—"
		_copy_button.disabled = true
		return
	var role := "Hosting" if session.is_hosting() else "Joined"
	_lobby_label.text = "%s: %s (%d / %d)" % [role, lobby.name, session.players.size(),
			lobby.max_players]
	var short_code := session.lobby_host.short_code if session.is_hosting() else ""
	_code_label.text = lobby.invite_code if short_code == "" else "%s   (%s)" % [short_code,
			lobby.invite_code]


func _on_roster_changed() -> void:
	_field.queue_redraw()
	var signature := ""
	for id: int in session.players:
		signature += "%d:%s;" % [id, session.players[id]["name"]]
	if signature == _roster_signature:
		return
	_roster_signature = signature
	_show_lobby()
	_players.clear()
	var me := multiplayer.get_unique_id()
	for id: int in session.players:
		var player: Dictionary = session.players[id]
		var label: String = player["name"]
		if id == me:
			label += " (you)"
		if id == 1 and session.lobby != null:
			label += " · host"
		var index := _players.add_item(label)
		_players.set_item_custom_fg_color(index, player["color"])


func _draw_field() -> void:
	var bounds := Rect2(Vector2.ZERO, DemoSession.FIELD_SIZE)
	_field.draw_rect(bounds, Color(0.07, 0.08, 0.11))
	for x: int in range(0, int(bounds.size.x) + 1, 40):
		_field.draw_line(Vector2(x, 0), Vector2(x, bounds.size.y), Color(1, 1, 1, 0.04))
	for y: int in range(0, int(bounds.size.y) + 1, 40):
		_field.draw_line(Vector2(0, y), Vector2(bounds.size.x, y), Color(1, 1, 1, 0.04))
	var font := get_theme_default_font()
	for id: int in session.players:
		var player: Dictionary = session.players[id]
		var at: Vector2 = player["position"]
		_field.draw_rect(Rect2(at, Vector2(40, 40)), player["color"])
		_field.draw_string(font, at + Vector2(0, -6), player["name"], HORIZONTAL_ALIGNMENT_LEFT,
				-1, 14)
	_field.draw_rect(bounds, Color(1, 1, 1, 0.25), false, 2.0)


func _on_leave_pressed() -> void:
	session.leave()
	main.show_screen("menu")
