extends PkarrTestCase
## PkarrExportPlan (which sidecar an export ships, and where) and the PkarrExportPlugin glue.

const LINUX := ["pc", "s3tc", "bptc", "linux", "x86_64", "template", "release"]
const LINUX_ARM := ["pc", "etc2", "astc", "linux", "arm64", "template", "debug"]
const WINDOWS := ["pc", "s3tc", "bptc", "windows", "x86_64", "template", "release"]
const MACOS_ARM := ["pc", "macos", "arm64", "etc2", "astc", "template", "release"]
const MACOS_INTEL := ["pc", "macos", "x86_64", "s3tc", "bptc", "template", "release"]
const MACOS_UNIVERSAL := ["pc", "macos", "universal", "s3tc", "bptc", "x86_64", "arm64",
	"template", "release"]
const WEB := ["web", "wasm32", "etc2", "astc", "s3tc", "bptc", "template", "release"]
const ANDROID := ["mobile", "android", "arm64", "etc2", "astc", "template", "release"]
const IOS := ["mobile", "ios", "arm64", "etc2", "astc", "template", "release"]
## Where the plugin test writes its fake binaries and its stand-in base class.
const SCRATCH := "user://pkarr_export_test"
const PLUGIN_PATH := "res://addons/pkarr/export/pkarr_export_plugin.gd"
## Stands in for EditorExportPlugin, which the web engine does not have: records the calls.
const STUB_BASE := """extends RefCounted
var shared_objects: Array[Dictionary] = []
var skipped: int = 0


func add_shared_object(path: String, tags: PackedStringArray, target: String) -> void:
	shared_objects.append({"path": path, "tags": tags, "target": target})


func skip() -> void:
	skipped += 1
"""


func test_linux_exports_copy_the_binary_next_to_the_executable() -> void:
	var plan := _plan(LINUX, "/home/dev/builds/demo.x86_64")
	assert_eq(plan["action"], "copy")
	assert_eq(plan["os"], "linux")
	assert_eq(plan["copies"], [{
		"platform": "linux-x64",
		"source": "res://addons/pkarr/bin/linux-x64/pkarr-sidecar",
		"target": "",
		"destination": "/home/dev/builds/pkarr-sidecar",
	}])
	assert_eq([plan["warning"], plan["error"]], ["", ""])
	var arm := _plan(LINUX_ARM, "/home/dev/builds/demo.arm64")
	assert_eq(arm["copies"][0]["source"], "res://addons/pkarr/bin/linux-arm64/pkarr-sidecar")
	assert_eq(arm["copies"][0]["destination"], "/home/dev/builds/pkarr-sidecar")


func test_windows_exports_copy_the_exe() -> void:
	var plan := _plan(WINDOWS, "C:/Builds/Demo/demo.exe")
	assert_eq(plan["action"], "copy")
	assert_eq(plan["copies"], [{
		"platform": "windows-x64",
		"source": "res://addons/pkarr/bin/windows-x64/pkarr-sidecar.exe",
		"target": "",
		"destination": "C:/Builds/Demo/pkarr-sidecar.exe",
	}])


func test_macos_exports_put_the_binary_into_the_bundle() -> void:
	for path: String in ["/Users/dev/Demo.app", "/Users/dev/demo.zip", "/Users/dev/demo.dmg"]:
		var plan := _plan(MACOS_ARM, path)
		assert_eq(plan["action"], "copy", path)
		assert_eq(plan["copies"], [{
			"platform": "macos-arm64",
			"source": "res://addons/pkarr/bin/macos-arm64/pkarr-sidecar",
			"target": "Contents/MacOS",
			"destination": "Contents/MacOS/pkarr-sidecar",
		}], path)
	var intel := _plan(MACOS_INTEL, "/Users/dev/Demo.app")
	assert_eq(intel["copies"][0]["source"], "res://addons/pkarr/bin/macos-x64/pkarr-sidecar")
	assert_eq(intel["copies"][0]["target"], "Contents/MacOS")


func test_universal_macos_exports_ship_each_architecture() -> void:
	var both := _plan(MACOS_UNIVERSAL, "/Users/dev/demo.zip")
	assert_eq(both["action"], "copy")
	assert_eq(both["copies"], [
		{
			"platform": "macos-x64",
			"source": "res://addons/pkarr/bin/macos-x64/pkarr-sidecar",
			"target": "Contents/MacOS/macos-x64",
			"destination": "Contents/MacOS/macos-x64/pkarr-sidecar",
		},
		{
			"platform": "macos-arm64",
			"source": "res://addons/pkarr/bin/macos-arm64/pkarr-sidecar",
			"target": "Contents/MacOS/macos-arm64",
			"destination": "Contents/MacOS/macos-arm64/pkarr-sidecar",
		},
	])
	var intel_only := _plan(MACOS_UNIVERSAL, "/Users/dev/demo.zip",
			_available(["linux-x64", "macos-x64"]))
	assert_eq(intel_only["action"], "copy")
	assert_eq(intel_only["copies"].size(), 1)
	assert_eq(intel_only["copies"][0]["destination"], "Contents/MacOS/pkarr-sidecar")
	assert_true(intel_only["warning"].contains("Rosetta 2"), intel_only["warning"])
	assert_true(intel_only["warning"].contains("macos-arm64"), intel_only["warning"])
	var arm_only := _plan(MACOS_UNIVERSAL, "/Users/dev/demo.zip", _available(["macos-arm64"]))
	assert_eq(arm_only["action"], "error")
	assert_eq(arm_only["copies"], [])
	assert_true(arm_only["error"].contains("--target darwin-x64"), arm_only["error"])


func test_what_is_shipped_is_where_the_locator_looks() -> void:
	var cases := [
		[LINUX, "/opt/demo/demo.x86_64", "Linux", "x86_64", "/opt/demo/demo.x86_64", ""],
		[LINUX_ARM, "/opt/demo/demo.arm64", "Linux", "arm64", "/opt/demo/demo.arm64", ""],
		[WINDOWS, "C:/Demo/demo.exe", "Windows", "x86_64", "C:/Demo/demo.exe", ""],
		[MACOS_ARM, "/Users/dev/Demo.app", "macOS", "arm64",
			"/Applications/Demo.app/Contents/MacOS/Demo", "/Applications/Demo.app"],
		[MACOS_UNIVERSAL, "/Users/dev/demo.dmg", "macOS", "arm64",
			"/Applications/Demo.app/Contents/MacOS/Demo", "/Applications/Demo.app"],
		[MACOS_UNIVERSAL, "/Users/dev/demo.dmg", "macOS", "x86_64",
			"/Applications/Demo.app/Contents/MacOS/Demo", "/Applications/Demo.app"],
	]
	for entry: Array in cases:
		var plan := _plan(entry[0], entry[1])
		var arch_platform := PkarrSidecarLocator.platform_dir(entry[2], entry[3])
		var shipped := ""
		for copy: Dictionary in plan["copies"]:
			if copy["platform"] == arch_platform:
				var bundle: String = entry[5]
				shipped = bundle.path_join(copy["destination"]) if bundle != "" else copy["destination"]
		if not assert_ne(shipped, "", "%s ships %s" % [entry[1], arch_platform]):
			continue
		var looked_at: Array[String] = []
		for candidate: Dictionary in PkarrSidecarLocator.candidates({
			"os_name": entry[2], "arch": entry[3], "editor": false, "executable_path": entry[4],
		}):
			looked_at.append(candidate["path"])
		assert_has(looked_at, shipped, "%s %s" % [entry[2], entry[3]])


func test_web_and_mobile_exports_ship_nothing_and_warn() -> void:
	for entry: Array in [[WEB, "/srv/www/index.html", "Web"], [ANDROID, "/tmp/demo.apk", "Android"],
			[IOS, "/tmp/demo.ipa", "iOS"]]:
		var plan := _plan(entry[0], entry[1])
		assert_eq(plan["action"], "skip", entry[2])
		assert_eq(plan["copies"], [], entry[2])
		assert_eq(plan["error"], "", entry[2])
		var warning: String = plan["warning"]
		assert_true(warning.begins_with("Pkarr: %s exports ship no sidecar" % entry[2]), warning)
		assert_true(warning.contains("desktop only"), warning)
		assert_true(warning.contains("pkarr/sidecar/web_url"), warning)
		assert_true(warning.contains("pkarr/backend = auto"), warning)


func test_a_missing_binary_is_an_error_with_the_build_command() -> void:
	var linux := _plan(LINUX, "/b/demo.x86_64", _available(["windows-x64", "macos-x64"]))
	assert_eq(linux["action"], "error")
	assert_eq(linux["copies"], [])
	var message: String = linux["error"]
	assert_true(message.contains("res://addons/pkarr/bin/linux-x64/pkarr-sidecar"), message)
	assert_true(message.contains("npm run build:sidecar -- --target linux-x64"), message)
	assert_true(message.contains("release zip"), message)
	var windows := _plan(WINDOWS, "C:/b/demo.exe", {})
	assert_true(windows["error"].contains("--target win-x64"), windows["error"])
	assert_true(windows["error"].contains("pkarr-sidecar.exe"), windows["error"])
	var mac := _plan(MACOS_ARM, "/b/Demo.app", _available(["macos-x64"]))
	assert_eq(mac["action"], "error")
	assert_false(mac["error"].contains("npm run"), "macos-arm64 is not built on Linux")
	assert_true(mac["error"].contains("release zip"), mac["error"])


func test_platforms_without_a_sidecar_build_are_errors() -> void:
	var win_arm := _plan(["pc", "windows", "arm64", "template"], "C:/b/demo.exe")
	assert_eq(win_arm["action"], "error")
	assert_true(win_arm["error"].contains("windows arm64"), win_arm["error"])
	var linux_32 := _plan(["pc", "linux", "x86_32", "template"], "/b/demo.x86_32")
	assert_eq(linux_32["action"], "error")
	assert_true(linux_32["error"].contains("linux x86_32"), linux_32["error"])
	var unknown := _plan(["template", "release"], "/b/demo")
	assert_eq(unknown["action"], "skip")
	assert_ne(unknown["warning"], "")


func test_pack_only_exports_copy_nothing() -> void:
	for path: String in ["/b/patch.pck", "/b/patch.zip"]:
		var plan := _plan(LINUX, path)
		assert_eq(plan["action"], "skip", path)
		assert_eq(plan["copies"], [], path)
		assert_true(plan["warning"].contains("pack-only"), plan["warning"])


func test_every_prebuilt_binary_is_kept_out_of_the_pack() -> void:
	assert_true(PkarrExportPlan.is_packed_binary("res://addons/pkarr/bin/linux-x64/pkarr-sidecar"))
	assert_true(PkarrExportPlan.is_packed_binary(
			"res://addons/pkarr/bin/windows-x64/pkarr-sidecar.exe"))
	assert_false(PkarrExportPlan.is_packed_binary("res://addons/pkarr/plugin.gd"))
	assert_false(PkarrExportPlan.is_packed_binary("res://addons/pkarr/binary_notes.txt"))


func test_find_binaries_lists_the_platforms_present() -> void:
	var dir := SCRATCH.path_join("find")
	_write(dir.path_join("linux-x64/pkarr-sidecar"))
	_write(dir.path_join("windows-x64/pkarr-sidecar.exe"))
	_write(dir.path_join("macos-x64/pkarr-sidecar.tmp-1"))  # an unfinished build is not one
	assert_eq(PkarrExportPlan.find_binaries(dir), {
		"linux-x64": dir.path_join("linux-x64/pkarr-sidecar"),
		"windows-x64": dir.path_join("windows-x64/pkarr-sidecar.exe"),
	})
	assert_eq(PkarrExportPlan.find_binaries(SCRATCH.path_join("nothing here")), {})


func test_the_export_plugin_hands_the_plan_to_the_exporter() -> void:
	var plugin: Object = _plugin_under_test()
	if not assert_not_null(plugin, "the plugin compiles against a stand-in base"):
		return
	var bin := SCRATCH.path_join("plugin_bin")
	_write(bin.path_join("linux-x64/pkarr-sidecar"))
	plugin.set("bin_dir", bin)
	assert_eq(plugin.call("_get_name"), "Pkarr")
	plugin.call("_export_begin", PackedStringArray(LINUX), false, "/opt/out/demo.x86_64", 0)
	assert_eq(plugin.get("shared_objects"), [{
		"path": bin.path_join("linux-x64/pkarr-sidecar"),
		"tags": PackedStringArray(),
		"target": "",
	}])
	assert_eq(plugin.get("current_plan")["copies"][0]["destination"], "/opt/out/pkarr-sidecar")
	plugin.call("_export_file", "res://addons/pkarr/bin/linux-x64/pkarr-sidecar", "",
			PackedStringArray(LINUX))
	plugin.call("_export_file", "res://addons/pkarr/plugin.gd", "GDScript",
			PackedStringArray(LINUX))
	assert_eq(plugin.get("skipped"), 1, "only the prebuilt binary is skipped")
	plugin.call("_export_end")
	assert_eq(plugin.get("current_plan"), {}, "the plan is dropped after the export")
	# A relative export path (command line) is taken from the project folder.
	plugin.call("_export_begin", PackedStringArray(LINUX), false, "build/demo.x86_64", 0)
	assert_eq(plugin.get("current_plan")["copies"][0]["destination"],
			ProjectSettings.globalize_path("res://").path_join("build/pkarr-sidecar"))
	plugin.call("_export_end")
	# Web: nothing handed over; the warning is printed (the test host checks the output).
	var before: int = plugin.get("shared_objects").size()
	plugin.call("_export_begin", PackedStringArray(WEB), false, "/srv/www/index.html", 0)
	assert_eq(plugin.get("shared_objects").size(), before)
	assert_eq(plugin.get("current_plan")["action"], "skip")
	plugin.call("_export_end")


func test_packed_sidecars_are_found_and_unpacked_for_the_export() -> void:
	# A tiny stand-in executable, packed the way scripts/sea/compress.ts packs (one zstd frame)
	# with its manifest: what the release zip has in place of the executable.
	var bin := SCRATCH.path_join("packed_bin")
	var exe := "#!/bin/sh\necho packed sidecar\n".repeat(50).to_utf8_buffer()
	var packed := exe.compress(FileAccess.COMPRESSION_ZSTD)
	DirAccess.make_dir_recursive_absolute(bin.path_join("linux-x64"))
	var zst := FileAccess.open(bin.path_join("linux-x64/pkarr-sidecar.zst"), FileAccess.WRITE)
	zst.store_buffer(packed)
	zst.close()
	var manifest := {"format": 1, "file": "pkarr-sidecar", "compression": "zstd",
		"size": exe.size(), "sha256": PkarrSidecarPackage.sha256_hex(exe),
		"packed_size": packed.size(), "packed_sha256": PkarrSidecarPackage.sha256_hex(packed)}
	var json := FileAccess.open(bin.path_join("linux-x64/pkarr-sidecar.json"), FileAccess.WRITE)
	json.store_string(JSON.stringify(manifest))
	json.close()
	_write(bin.path_join("windows-x64/pkarr-sidecar.json"))  # a manifest without its .zst
	var found := PkarrExportPlan.find_binaries(bin)
	assert_eq(found, {"linux-x64": bin.path_join("linux-x64/pkarr-sidecar.json")})
	assert_true(PkarrExportPlan.is_packed_source(found["linux-x64"]))
	assert_false(PkarrExportPlan.is_packed_source(PkarrExportPlan.source_path("linux-x64")))
	var plan := PkarrExportPlan.plan(PackedStringArray(LINUX), "/opt/out/demo.x86_64", found)
	assert_eq(plan["copies"][0]["destination"], "/opt/out/pkarr-sidecar",
			"the game gets the executable, not the packed file")
	var plugin: Object = _plugin_under_test()
	if not assert_not_null(plugin, "the plugin compiles against a stand-in base"):
		return
	plugin.set("bin_dir", bin)
	plugin.set("unpack_dir", SCRATCH.path_join("unpacked"))
	plugin.call("_export_begin", PackedStringArray(LINUX), false, "/opt/out/demo.x86_64", 0)
	var handed: Array = plugin.get("shared_objects")
	assert_eq(handed.size(), 1)
	var shipped: String = handed[0]["path"] if handed.size() == 1 else ""
	assert_eq(shipped, ProjectSettings.globalize_path(SCRATCH.path_join("unpacked/linux-x64")
			.path_join(str(manifest["sha256"]).left(16)).path_join("pkarr-sidecar")))
	assert_eq(FileAccess.get_file_as_bytes(shipped), exe, "the unpacked executable is shipped")
	plugin.call("_export_end")
	# A packed file that does not match its manifest is an export error, and nothing is shipped.
	manifest["sha256"] = "0".repeat(64)
	json = FileAccess.open(bin.path_join("linux-x64/pkarr-sidecar.json"), FileAccess.WRITE)
	json.store_string(JSON.stringify(manifest))
	json.close()
	plugin.call("_export_begin", PackedStringArray(LINUX), false, "/opt/out/demo.x86_64", 0)
	assert_eq(plugin.get("shared_objects").size(), 1, "nothing more handed to the exporter")
	plugin.call("_export_end")


static func _available(platforms: Array) -> Dictionary:
	var available := {}
	for platform: String in platforms:
		available[platform] = PkarrExportPlan.source_path(platform)
	return available


static func _plan(features: Array, path: String, available: Variant = null) -> Dictionary:
	var binaries: Dictionary = available if available != null else _available(
			PkarrSidecarLocator.SUPPORTED_PLATFORMS)
	return PkarrExportPlan.plan(PackedStringArray(features), path, binaries)


static func _write(path: String) -> void:
	DirAccess.make_dir_recursive_absolute(path.get_base_dir())
	var file := FileAccess.open(path, FileAccess.WRITE)
	file.store_string("not really an executable")
	file.close()


# The real plugin source compiled against STUB_BASE instead of EditorExportPlugin.
static func _plugin_under_test() -> Object:
	DirAccess.make_dir_recursive_absolute(SCRATCH)
	var base_path := SCRATCH.path_join("export_plugin_stub_base.gd")
	var base := FileAccess.open(base_path, FileAccess.WRITE)
	base.store_string(STUB_BASE)
	base.close()
	var source := FileAccess.get_file_as_string(PLUGIN_PATH)
	if not source.contains("\nextends EditorExportPlugin\n"):
		return null
	source = source.replace("\nclass_name PkarrExportPlugin\n", "\n")
	source = source.replace("\nextends EditorExportPlugin\n", "\nextends \"%s\"\n" % base_path)
	var script := GDScript.new()
	script.source_code = source
	if script.reload() != OK:
		return null
	return script.new()
