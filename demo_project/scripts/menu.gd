extends DemoScreen
## The main menu: your name, then host, browse or join by code.

@onready var _name_edit: LineEdit = %NameEdit
@onready var _host_button: Button = %HostButton
@onready var _browse_button: Button = %BrowseButton
@onready var _join_button: Button = %JoinButton
@onready var _quit_button: Button = %QuitButton


func _ready() -> void:
	_name_edit.text = session.player_name
	_name_edit.text_changed.connect(func(text: String) -> void:
		session.player_name = text.strip_edges() if text.strip_edges() != "" else "Player")
	_host_button.pressed.connect(main.show_screen.bind("host"))
	_browse_button.pressed.connect(main.show_screen.bind("browse"))
	_join_button.pressed.connect(main.show_screen.bind("join"))
	_quit_button.pressed.connect(get_tree().quit)
	_quit_button.visible = not OS.has_feature("web")
	_host_button.grab_focus()
