extends PkarrTestCase
## The editor dock's control (it only needs Control classes, so it runs here too): status,
## key list, key creation and the resolver, wired to its own PkarrService.

const DockScript := preload("res://addons/pkarr/editor/pkarr_dock.gd")


func before_all() -> void:
	timeout_sec = 90.0
	var live := await PkarrTestHost.live_config(tree, 80.0)
	if assert_false(live.is_empty(), "the host injected the sidecar configuration"):
		shared["live"] = live


func before_each() -> void:
	timeout_sec = 40.0


func test_starts_idle_and_explains_why_it_cannot_spawn_here() -> void:
	var dock: Control = add_child_autofree(DockScript.new())
	await wait_frames(1)
	assert_true(dock._status_label.text.begins_with("Sidecar: idle"), dock._status_label.text)
	assert_eq(dock._start_button.text, "Start sidecar")
	assert_true(dock._create_button.disabled, "nothing to talk to yet")
	dock._start_button.pressed.emit()
	await wait_frames(1)
	assert_true(dock._status_label.text.contains("web_url"), dock._status_label.text)
	assert_false(dock._service.is_ready())


func test_lists_creates_and_resolves_keys_through_its_own_service() -> void:
	var dock: Control = add_child_autofree(DockScript.new())
	await wait_frames(1)
	var a: Dictionary = shared["live"]["sidecars"]["a"]
	var connected: PkarrResult = await dock._service.connect_to(a["url"], a["token"])
	if not assert_true(connected.is_ok(), str(connected)):
		return
	assert_eq(dock._start_button.text, "Stop sidecar")
	assert_true(await wait_until(func() -> bool: return dock._key_list.item_count > 0, 10.0),
			"the keys of sidecar A are listed")
	assert_true(_list_has(dock, "keeper"), "keys made by earlier suites are there")

	dock._key_name_edit.text = "made-in-dock"
	dock._create_button.pressed.emit()
	assert_true(await wait_until(func() -> bool: return _list_has(dock, "made-in-dock"), 10.0),
			"the new key is listed")
	assert_true(dock._output.text.begins_with("Created key made-in-dock"), dock._output.text)
	dock._key_name_edit.text = "bad name"
	dock._create_button.pressed.emit()
	assert_true(dock._output.text.contains("Key names are"), dock._output.text)

	var keeper: PkarrKeyInfo = null
	for key: PkarrKeyInfo in dock._keys:
		if key.name == "keeper":
			keeper = key
	if not assert_not_null(keeper, "keeper key"):
		return
	dock._resolve_edit.text = keeper.public_key
	dock._resolve_button.pressed.emit()
	assert_true(await wait_until(func() -> bool: return dock._output.text.contains("TXT _lobby"), 15.0),
			"the records are shown: %s" % dock._output.text)
	assert_true(dock._output.text.begins_with(keeper.public_key), dock._output.text)
	assert_true(dock._output.text.contains("\"v=1 keeper\""), dock._output.text)

	dock._start_button.pressed.emit()
	assert_eq(dock._service.state, PkarrConnection.State.IDLE, "Stop sidecar disconnects")
	assert_eq(dock._start_button.text, "Start sidecar")


func _list_has(dock: Control, key_name: String) -> bool:
	for index: int in dock._key_list.item_count:
		if dock._key_list.get_item_text(index).begins_with(key_name + "  "):
			return true
	return false
