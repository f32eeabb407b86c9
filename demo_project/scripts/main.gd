class_name DemoMain
extends Control
## The demo's root: switches between screens and shows the state of the Pkarr sidecar.
##
## Command-line user arguments (after [code]--[/code]) open screens directly, e.g.
## [code]-- --demo-screen=browse[/code]; a comma-separated list shows each for
## [code]--demo-dwell=<seconds>[/code] (1 by default), which is how the web build's
## screenshots and the engine test visit every screen. [code]arena[/code] opens the playing
## field in practice mode (alone, no network).

## The screens by name.
const SCREENS: Dictionary = {
	"menu": preload("res://scenes/menu.tscn"),
	"host": preload("res://scenes/host_screen.tscn"),
	"browse": preload("res://scenes/browse_screen.tscn"),
	"join": preload("res://scenes/join_screen.tscn"),
	"arena": preload("res://scenes/arena.tscn"),
}

var _current: DemoScreen = null

@onready var session: DemoSession = $Session
@onready var _screen_root: Control = %Screen
@onready var _status_label: Label = %StatusLabel
@onready var _message_label: Label = %MessageLabel


func _ready() -> void:
	Pkarr.state_changed.connect(func(_state: PkarrConnection.State) -> void: _update_status())
	Pkarr.sidecar_failed.connect(func(_reason: String) -> void: _update_status())
	session.ended.connect(_on_session_ended)
	_update_status()
	var requested := _requested_screens()
	if requested.is_empty():
		show_screen("menu")
	else:
		_tour(requested)


## Replaces the current screen with [param screen_name] (a key of [constant SCREENS]).
func show_screen(screen_name: String) -> void:
	if not SCREENS.has(screen_name):
		push_warning("demo: no screen named %s" % screen_name)
		return
	if _current != null:
		_current.queue_free()
	_current = (SCREENS[screen_name] as PackedScene).instantiate() as DemoScreen
	_current.main = self
	_current.session = session
	_screen_root.add_child(_current)
	show_message("")


## Shows [param text] above the status bar (empty hides it).
func show_message(text: String) -> void:
	_message_label.text = text
	_message_label.visible = text != ""


func _requested_screens() -> PackedStringArray:
	for argument: String in OS.get_cmdline_user_args():
		if argument.begins_with("--demo-screen="):
			return argument.trim_prefix("--demo-screen=").split(",", false)
	return PackedStringArray()


func _dwell_seconds() -> float:
	for argument: String in OS.get_cmdline_user_args():
		if argument.begins_with("--demo-dwell="):
			return maxf(argument.trim_prefix("--demo-dwell=").to_float(), 0.1)
	return 1.0


func _tour(screens: PackedStringArray) -> void:
	for index: int in screens.size():
		var screen_name := screens[index]
		if screen_name == "arena":
			session.start_practice()
		show_screen(screen_name)
		for _frame: int in 3:
			await get_tree().process_frame
		print("[demo] screen %s" % screen_name)
		if index < screens.size() - 1:
			await get_tree().create_timer(_dwell_seconds()).timeout
	print("[demo] tour done")


func _update_status() -> void:
	var previous := _status_label.text
	var detail: String = Pkarr.last_error
	match Pkarr.state:
		PkarrConnection.State.READY:
			_status_label.text = "Pkarr sidecar connected"
		PkarrConnection.State.STARTING, PkarrConnection.State.CONNECTING:
			_status_label.text = "Starting the Pkarr sidecar…"
		PkarrConnection.State.RECONNECTING:
			_status_label.text = "Reconnecting to the Pkarr sidecar… %s" % detail
		PkarrConnection.State.FAILED:
			_status_label.text = "Pkarr sidecar unavailable: %s" % detail
		_:
			if OS.has_feature("web"):
				_status_label.text = "No sidecar: web builds need pkarr/sidecar/web_url"
			else:
				_status_label.text = "Pkarr sidecar stopped %s" % detail
	if _status_label.text != previous:
		print("[demo] sidecar: %s" % _status_label.text)


func _on_session_ended(reason: String) -> void:
	show_screen("menu")
	show_message(reason)
