extends PkarrTestCase
## PkarrSidecarLocator: platform mapping, candidate paths and the exact command line.

const FIXTURE := "res://fixtures/build_command.json"
const SAMPLE := {
	"{exe}": "/opt/game/pkarr-sidecar",
	"{entry}": "/src/pkarr-godot/sidecar/src/cli/main.ts",
	"{data_dir}": "/home/player/.local/share/game/pkarr",
	"{pid}": "4242",
	"{bootstrap}": "127.0.0.1:6881",
}


func test_platform_dir_maps_os_and_arch() -> void:
	assert_eq(PkarrSidecarLocator.platform_dir("Linux", "x86_64"), "linux-x64")
	assert_eq(PkarrSidecarLocator.platform_dir("Linux", "arm64"), "linux-arm64")
	assert_eq(PkarrSidecarLocator.platform_dir("Windows", "x86_64"), "windows-x64")
	assert_eq(PkarrSidecarLocator.platform_dir("macOS", "x86_64"), "macos-x64")
	assert_eq(PkarrSidecarLocator.platform_dir("macOS", "arm64"), "macos-arm64")


func test_platform_dir_is_empty_where_no_sidecar_exists() -> void:
	assert_eq(PkarrSidecarLocator.platform_dir("Web", "wasm32"), "")
	assert_eq(PkarrSidecarLocator.platform_dir("Android", "arm64"), "")
	assert_eq(PkarrSidecarLocator.platform_dir("Linux", "x86_32"), "")
	assert_eq(PkarrSidecarLocator.platform_dir("Windows", "arm64"), "")
	assert_eq(PkarrSidecarLocator.platform_dir(OS.get_name(), Engine.get_architecture_name()), "",
			"this web engine has no sidecar platform")


func test_binary_name() -> void:
	assert_eq(PkarrSidecarLocator.binary_name("Windows"), "pkarr-sidecar.exe")
	assert_eq(PkarrSidecarLocator.binary_name("Linux"), "pkarr-sidecar")
	assert_eq(PkarrSidecarLocator.binary_name("macOS"), "pkarr-sidecar")


func test_path_directories_and_program_paths() -> void:
	assert_eq(PkarrSidecarLocator.path_directories("/usr/local/bin::/usr/bin:/usr/local/bin", "Linux"),
			PackedStringArray(["/usr/local/bin", "/usr/bin"]))
	assert_eq(PkarrSidecarLocator.program_paths("node", "C:\\Node;C:\\Windows", "Windows"),
			PackedStringArray(["C:\\Node/node.exe", "C:\\Windows/node.exe"]))


func test_checkout_roots_walk_up_from_the_project() -> void:
	assert_eq(PkarrSidecarLocator.checkout_roots("/work/repo/demo_project/"),
			PackedStringArray(["/work/repo/demo_project", "/work/repo", "/work", "/"]))
	assert_eq(PkarrSidecarLocator.checkout_roots("/a"), PackedStringArray(["/a", "/"]))


func test_candidates_in_the_editor() -> void:
	var found := PkarrSidecarLocator.candidates({
		"os_name": "Linux",
		"arch": "x86_64",
		"editor": true,
		"setting_path": "",
		"project_dir": "/work/repo/demo_project",
		"user_dir": "/home/dev/.local/share/godot/app_userdata/demo",
		"executable_path": "/usr/bin/godot",
	})
	var kinds: Array[String] = []
	for candidate: Dictionary in found:
		kinds.append(candidate["kind"])
	assert_eq(found[0]["path"], "/work/repo/demo_project/addons/pkarr/bin/linux-x64/pkarr-sidecar")
	assert_eq(found[0]["prefix"], PackedStringArray())
	assert_eq(kinds.count("addon_bin"), 1)
	assert_eq(kinds.count("export"), 0, "the editor binary's folder is not searched")
	# Then the packed sidecar of the release zip, unpacked into user:// on first use.
	var bin := "/work/repo/demo_project/addons/pkarr/bin/linux-x64/"
	assert_eq(found[1]["kind"], "addon_packed")
	assert_eq(found[1]["path"], "", "known only once unpacked")
	assert_eq(found[1]["requires"], PackedStringArray([bin + "pkarr-sidecar.zst",
			bin + "pkarr-sidecar.json"]))
	assert_eq(found[1]["unpack_root"],
			"/home/dev/.local/share/godot/app_userdata/demo/pkarr-sidecar/linux-x64")
	# Then node + an entry point in the project or its parents, nearest first, built JS first.
	assert_eq(found[2]["program"], "node")
	assert_eq(found[2]["prefix"], PackedStringArray(["/work/repo/demo_project/sidecar/dist/cli/main.js"]))
	assert_eq(found[3]["prefix"], PackedStringArray(["/work/repo/demo_project/sidecar/src/cli/main.ts"]))
	assert_eq(found[4]["prefix"], PackedStringArray(["/work/repo/sidecar/dist/cli/main.js"]))
	assert_eq(found[5]["requires"], PackedStringArray(["/work/repo/sidecar/src/cli/main.ts"]))


func test_candidates_in_exports() -> void:
	var linux := PkarrSidecarLocator.candidates({
		"os_name": "Linux", "arch": "x86_64", "editor": false,
		"executable_path": "/games/demo/demo.x86_64", "project_dir": "",
	})
	assert_eq(linux.size(), 1)
	assert_eq(linux[0]["path"], "/games/demo/pkarr-sidecar")
	var windows := PkarrSidecarLocator.candidates({
		"os_name": "Windows", "arch": "x86_64", "editor": false,
		"executable_path": "C:/Games/Demo/demo.exe",
	})
	assert_eq(windows[0]["path"], "C:/Games/Demo/pkarr-sidecar.exe")
	var mac := PkarrSidecarLocator.candidates({
		"os_name": "macOS", "arch": "arm64", "editor": false,
		"executable_path": "/Applications/Demo.app/Contents/MacOS/Demo",
	})
	assert_eq(mac.size(), 3)
	assert_eq(mac[0]["path"], "/Applications/Demo.app/Contents/MacOS/pkarr-sidecar")
	assert_eq(mac[1]["path"], "/Applications/Demo.app/Contents/MacOS/macos-arm64/pkarr-sidecar",
			"a universal export keeps each architecture in its own folder")
	assert_eq(mac[2]["path"], "/Applications/Demo.app/Contents/Resources/pkarr-sidecar")


func test_a_configured_path_is_the_only_candidate() -> void:
	var binary := PkarrSidecarLocator.candidates({
		"os_name": "Linux", "editor": true, "project_dir": "/p", "user_dir": "/u",
		"setting_path": "res://tools/pkarr-sidecar",
	})
	assert_eq(binary.size(), 1)
	assert_eq(binary[0]["kind"], "setting")
	assert_eq(binary[0]["path"], "/p/tools/pkarr-sidecar")
	var script := PkarrSidecarLocator.candidates({
		"os_name": "Linux", "editor": false, "user_dir": "/u", "setting_path": "user://side/main.js",
	})
	assert_eq(script[0]["path"], "", "a script is run by node from PATH")
	assert_eq(script[0]["program"], "node")
	assert_eq(script[0]["prefix"], PackedStringArray(["/u/side/main.js"]))


func test_build_command_matches_every_fixture_case() -> void:
	var cases: Array = _fixture_cases()
	if not assert_eq(cases.size(), 3, "fixture cases"):
		return
	for raw: Variant in cases:
		var entry: Dictionary = _substitute(raw, SAMPLE)
		var command := PkarrSidecarLocator.build_command(entry["exe"], entry["settings"],
				int(entry["parent_pid"]), PackedStringArray(entry["prefix"]))
		assert_eq(command["path"], entry["exe"], entry["name"])
		assert_eq(command["args"], PackedStringArray(entry["expected_args"]), entry["name"])


func test_build_command_globalizes_user_paths() -> void:
	var command := PkarrSidecarLocator.build_command("/x/pkarr-sidecar", {}, 7)
	var args: PackedStringArray = command["args"]
	var data_dir := args[args.find("--data-dir") + 1]
	assert_false(data_dir.contains("://"), "absolute path, got %s" % data_dir)
	assert_true(data_dir.ends_with("/pkarr"), data_dir)
	assert_eq(data_dir, ProjectSettings.globalize_path("user://pkarr"))
	var relative := PkarrSidecarLocator.absolute_data_dir("lobby-keys")
	assert_eq(relative, ProjectSettings.globalize_path("user://lobby-keys"))
	assert_eq(PkarrSidecarLocator.absolute_data_dir("/srv/keys"), "/srv/keys")


func test_build_command_reads_project_settings() -> void:
	# project.godot of this test project stores an empty relay list.
	var command := PkarrSidecarLocator.build_command("/x/pkarr-sidecar", PkarrSettings.snapshot(), 9)
	var args: PackedStringArray = command["args"]
	assert_has(args, "--no-relays")
	assert_false("--relay" in args)
	assert_eq(args[args.find("--parent-pid") + 1], "9")


func _fixture_cases() -> Array:
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(FIXTURE))
	if not parsed is Dictionary:
		fail("cannot read %s" % FIXTURE)
		return []
	return parsed.get("cases", [])


func _substitute(value: Variant, values: Dictionary) -> Variant:
	if value is String:
		var text: String = value
		for placeholder: String in values:
			text = text.replace(placeholder, values[placeholder])
		return text
	if value is Array:
		var out: Array = []
		for item: Variant in value:
			out.append(_substitute(item, values))
		return out
	if value is Dictionary:
		var out_dict: Dictionary = {}
		for key: Variant in value:
			out_dict[key] = _substitute(value[key], values)
		return out_dict
	return value
