@tool
extends VBoxContainer
## The Pkarr editor dock: sidecar status, the project's keys, and a resolver.
##
## It runs its own [PkarrService] (the autoload does not start in the editor), and only when
## "Start sidecar" is pressed, so opening the project never spawns a process by itself.

## Characters of a public key shown in the key list before the ellipsis.
const SHORT_KEY_LENGTH := 12

var _service: PkarrService = null
var _status_label: Label = null
var _start_button: Button = null
var _key_list: ItemList = null
var _key_name_edit: LineEdit = null
var _create_button: Button = null
var _copy_button: Button = null
var _refresh_button: Button = null
var _resolve_edit: LineEdit = null
var _resolve_button: Button = null
var _output: RichTextLabel = null
var _keys: Array[PkarrKeyInfo] = []


func _init() -> void:
	size_flags_vertical = Control.SIZE_EXPAND_FILL
	_build()


func _ready() -> void:
	if _service != null:
		return
	_service = PkarrService.new()
	_service.name = "DockService"
	_service.autostart = false
	_service.state_changed.connect(_on_state_changed)
	_service.connected.connect(_on_connected)
	_service.sidecar_failed.connect(_on_failed)
	add_child(_service)
	_update_controls()


func _build() -> void:
	var header := HBoxContainer.new()
	_status_label = Label.new()
	_status_label.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_status_label.text_overrun_behavior = TextServer.OVERRUN_TRIM_ELLIPSIS
	header.add_child(_status_label)
	_start_button = _button("Start sidecar", _on_start_pressed)
	header.add_child(_start_button)
	add_child(header)

	add_child(_section("Keys"))
	_key_list = ItemList.new()
	_key_list.custom_minimum_size = Vector2(0, 120)
	_key_list.size_flags_vertical = Control.SIZE_EXPAND_FILL
	_key_list.item_selected.connect(func(_index: int) -> void: _update_controls())
	add_child(_key_list)
	var create_row := HBoxContainer.new()
	_key_name_edit = LineEdit.new()
	_key_name_edit.placeholder_text = "new key name"
	_key_name_edit.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_key_name_edit.text_submitted.connect(func(_text: String) -> void: _create_key())
	create_row.add_child(_key_name_edit)
	_create_button = _button("Create", _create_key)
	create_row.add_child(_create_button)
	add_child(create_row)
	var key_actions := HBoxContainer.new()
	_copy_button = _button("Copy public key", _copy_public_key)
	key_actions.add_child(_copy_button)
	_refresh_button = _button("Refresh", _refresh_keys)
	key_actions.add_child(_refresh_button)
	add_child(key_actions)

	add_child(_section("Resolve"))
	var resolve_row := HBoxContainer.new()
	_resolve_edit = LineEdit.new()
	_resolve_edit.placeholder_text = "public key (z-base-32 or pk:…)"
	_resolve_edit.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_resolve_edit.text_submitted.connect(func(_text: String) -> void: _resolve())
	resolve_row.add_child(_resolve_edit)
	_resolve_button = _button("Resolve", _resolve)
	resolve_row.add_child(_resolve_button)
	add_child(resolve_row)
	_output = RichTextLabel.new()
	_output.bbcode_enabled = false
	_output.selection_enabled = true
	_output.custom_minimum_size = Vector2(0, 140)
	_output.size_flags_vertical = Control.SIZE_EXPAND_FILL
	add_child(_output)


func _section(title: String) -> Label:
	var label := Label.new()
	label.text = title
	label.add_theme_font_size_override("font_size", 15)
	return label


func _button(text: String, action: Callable) -> Button:
	var button := Button.new()
	button.text = text
	button.pressed.connect(action)
	return button


func _update_controls() -> void:
	if _service == null:
		return
	var usable := _service.is_ready()
	var state_name := str(PkarrConnection.State.keys()[_service.state]).to_lower()
	var detail := _service.last_error if _service.last_error != "" else ""
	_status_label.text = "Sidecar: %s%s" % [state_name, " — " + detail if detail != "" else ""]
	_status_label.tooltip_text = _status_label.text
	var idle := _service.state in [PkarrConnection.State.IDLE, PkarrConnection.State.FAILED]
	_start_button.text = "Start sidecar" if idle else "Stop sidecar"
	_create_button.disabled = not usable
	_refresh_button.disabled = not usable
	_resolve_button.disabled = not usable
	_copy_button.disabled = _key_list.get_selected_items().is_empty()


func _on_start_pressed() -> void:
	var idle := _service.state in [PkarrConnection.State.IDLE, PkarrConnection.State.FAILED]
	if idle:
		_show("Starting the sidecar…")
		_service.start()
	else:
		_service.stop()
		_show("Sidecar stopped.")
	_update_controls()


func _on_state_changed(_new_state: PkarrConnection.State) -> void:
	_update_controls()


func _on_connected() -> void:
	_update_controls()
	_refresh_keys()
	var result: PkarrResult = await _service.status()
	if result.is_ok():
		var status: PkarrStatus = result.value
		_show("Sidecar %s ready (pid %d, data in %s, DHT %s, %d relays). NAT type: %s%s" % [
				status.version, status.pid, status.data_dir, "on" if status.dht_enabled else "off",
				status.relays.size(), status.nat.nat_type,
				" — " + status.nat.description if status.nat.description != "" else ""])


func _on_failed(reason: String) -> void:
	_show("The sidecar failed: " + reason)
	_update_controls()


func _refresh_keys() -> void:
	var result: PkarrResult = await _service.list_keys()
	if not result.is_ok():
		_show_error(result)
		return
	_keys.assign(result.value)
	_key_list.clear()
	for key: PkarrKeyInfo in _keys:
		var label := "%s  %s…" % [key.name, key.public_key.left(SHORT_KEY_LENGTH)]
		var index := _key_list.add_item(label)
		_key_list.set_item_tooltip(index, key.public_key)
	_update_controls()


func _create_key() -> void:
	var key_name := _key_name_edit.text.strip_edges()
	if not _service.is_valid_key_name(key_name):
		_show("Key names are 1-64 letters, digits, '_', '.' or '-'.")
		return
	var result: PkarrResult = await _service.generate_key(key_name)
	if not result.is_ok():
		_show_error(result)
		return
	var info: PkarrKeyInfo = result.value
	_key_name_edit.clear()
	_show("Created key %s: %s" % [info.name, info.public_key])
	await _refresh_keys()


func _copy_public_key() -> void:
	var selected := _key_list.get_selected_items()
	if selected.is_empty() or selected[0] >= _keys.size():
		return
	var key := _keys[selected[0]]
	DisplayServer.clipboard_set(key.public_key)
	_show("Copied the public key of %s: %s" % [key.name, key.public_key])


func _resolve() -> void:
	var public_key := _resolve_edit.text.strip_edges()
	if public_key == "":
		return
	_show("Resolving %s…" % public_key)
	var result: PkarrResult = await _service.resolve(public_key)
	if not result.is_ok():
		_show_error(result)
		return
	var resolved: PkarrResolved = result.value
	var lines := PackedStringArray()
	lines.append("%s (from %s, %d s old, %d bytes)" % [resolved.public_key, resolved.source,
			resolved.age_seconds, resolved.size])
	for record: PkarrRecord in resolved.records:
		lines.append("  " + str(record))
	_show("\n".join(lines))


func _show(text: String) -> void:
	_output.text = text


func _show_error(result: PkarrResult) -> void:
	_show("%s: %s" % [result.error_code, result.error_message])
