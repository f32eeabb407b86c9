extends PkarrTestCase
## The example of addons/pkarr/README.md runs as written (the host copies its code block to
## res://generated/readme_example.gd): it publishes a lobby that another sidecar resolves.

const EXAMPLE := "res://generated/readme_example.gd"


func test_the_readme_example_publishes_a_lobby_others_resolve() -> void:
	timeout_sec = 60.0
	var live := await PkarrTestHost.live_config(tree, 30.0)
	var pkarr: PkarrService = tree.root.get_node("Pkarr")
	if not pkarr.is_ready():
		var a: Dictionary = live["sidecars"]["a"]
		await pkarr.connect_to(a["url"], a["token"])
	var script: GDScript = load(EXAMPLE)
	if not assert_true(script != null and script.can_instantiate(), "the example compiles"):
		return
	var example: Node = add_child_autofree(script.new())
	await example.host_lobby()
	var keys: PkarrResult = await pkarr.export_key("host")
	if not assert_true(keys.is_ok(), str(keys)):
		return
	var code: String = keys.value.public_key
	await example.join_lobby(code)
	var other := PkarrService.new()
	other.autostart = false
	add_child_autofree(other)
	var b: Dictionary = live["sidecars"]["b"]
	await other.connect_to(b["url"], b["token"])
	var found: PkarrResult = await other.resolve(code, "NetworkOnly")
	if assert_true(found.is_ok(), str(found)):
		assert_eq(found.value.get_txt("_lobby"), "v=1 game=demo players=1/4")
		var enet: Array[PkarrRecord] = found.value.get_records("_enet", "SVCB")
		assert_eq(enet.size(), 1)
