@tool
class_name PkarrExportPlan
extends RefCounted
## Decides what an export ships of the sidecar: which prebuilt binary goes where, or why none.
##
## [method plan] is a pure function of the export's feature tags, its path and the binaries
## that exist, so it is tested in any engine (also the web one). [PkarrExportPlugin] gathers
## those inputs in the editor and carries the plan out.
## [br][br]
## Where the sidecar ends up (matching [method PkarrSidecarLocator.candidates]):
## [br]- Linux and Windows: next to the game's executable.
## [br]- macOS: in the bundle's [code]Contents/MacOS[/code], beside the game's executable. A
## [code]universal[/code] export gets both architectures in
## [code]Contents/MacOS/macos-x64/[/code] and [code]Contents/MacOS/macos-arm64/[/code]; with
## only the x86_64 binary it gets that one alone (Apple Silicon runs it through Rosetta 2).
## [br]- Web, Android, iOS: nothing; the sidecar runs on desktop only (those exports use the
## relay backend, [PkarrRelayBackend], or a sidecar reached over [code]pkarr/sidecar/web_url[/code]).
## [br][br]
## A platform whose addon folder holds only the packed sidecar of the release zip
## ([code]pkarr-sidecar.zst[/code] + [code]pkarr-sidecar.json[/code]) is available too: its
## source is the manifest, and [PkarrExportPlugin] unpacks it ([PkarrSidecarPackage]) before
## handing the executable to the exporter. Exported games always get the executable.

## Where the addon keeps the prebuilt binaries:
## [code]<BIN_DIR>/<platform>/pkarr-sidecar[.exe][/code].
const BIN_DIR := "res://addons/pkarr/bin"
## Folder of a macOS bundle that holds its executables.
const MACOS_EXECUTABLE_DIR := "Contents/MacOS"
## Export path extensions of a macOS export (a bundle or an archive holding one).
const MACOS_EXTENSIONS: Array[String] = ["app", "zip", "dmg", "pkg"]
## Export path extensions that mean "pack only" (no executable) on Linux and Windows.
const PACK_EXTENSIONS: Array[String] = ["pck", "zip"]
## [code]npm run build:sidecar -- --target <name>[/code] names of the platform folders.
const BUILD_TARGETS := {
	"linux-x64": "linux-x64",
	"linux-arm64": "linux-arm64",
	"windows-x64": "win-x64",
	"macos-x64": "darwin-x64",
}
## Feature tags of platforms that cannot run a sidecar, with the name used in messages.
const NO_SIDECAR_PLATFORMS := {
	"web": "Web",
	"android": "Android",
	"ios": "iOS",
	"visionos": "visionOS",
	"mobile": "mobile",
}


## The operating system an export targets, from its feature tags: [code]linux[/code],
## [code]windows[/code], [code]macos[/code], a key of [constant NO_SIDECAR_PLATFORMS], or empty
## when none is recognized. Web exports are recognized first (they also carry host tags).
static func target_os(features: PackedStringArray) -> String:
	for tag: String in NO_SIDECAR_PLATFORMS:
		if tag in features:
			return tag
	if "windows" in features:
		return "windows"
	if "macos" in features:
		return "macos"
	if "linux" in features or "linuxbsd" in features:
		return "linux"
	return ""


## The architecture tags of an export that the sidecar exists for ([code]x86_64[/code],
## [code]arm64[/code]); a macOS [code]universal[/code] export has both.
static func target_arches(features: PackedStringArray) -> PackedStringArray:
	var arches := PackedStringArray()
	for arch: String in ["x86_64", "arm64"]:
		if arch in features:
			arches.append(arch)
	if "universal" in features:
		arches = PackedStringArray(["x86_64", "arm64"])
	return arches


## The first architecture tag of an export, also one the sidecar does not exist for
## (e.g. [code]x86_32[/code]), for messages. Empty if it has none.
static func arch_tag(features: PackedStringArray) -> String:
	for arch: String in ["universal", "x86_64", "arm64", "x86_32", "arm32", "rv64", "ppc64",
			"loongarch64", "wasm32"]:
		if arch in features:
			return arch
	return ""


## Where the binary of [param platform] (e.g. [code]linux-x64[/code]) is in the addon.
static func source_path(platform: String) -> String:
	var os_name := platform.get_slice("-", 0)
	return BIN_DIR.path_join(platform).path_join(PkarrSidecarLocator.binary_name(os_name))


## How to get the binary of [param platform] when it is missing.
static func build_hint(platform: String) -> String:
	var release := ("download the release zip and copy its addons/pkarr/bin/%s/ folder into "
			+ "this project") % platform
	if BUILD_TARGETS.has(platform):
		return ("Build it with `npm run build:sidecar -- --target %s` in a pkarr-godot "
				+ "checkout, or %s.") % [BUILD_TARGETS[platform], release]
	return "It is not built on Linux; build it on a Mac of that architecture, or %s." % release


## The plan for one export. [param features] are the export's feature tags, [param export_path]
## the path it writes (executable, [code].app[/code], archive or pack), [param available] maps
## platform folders (e.g. [code]linux-x64[/code]) to the [code]res://[/code] path of a binary
## that exists (see [method find_binaries]).
## [br][br]
## Returns [code]{action, os, copies, warning, error}[/code]: [code]action[/code] is
## [code]"copy"[/code], [code]"skip"[/code] or [code]"error"[/code]; [code]copies[/code] is an
## Array of [code]{platform, source, target, destination}[/code] where [code]target[/code] is
## the folder for [method EditorExportPlugin.add_shared_object] (relative to the executable's
## folder, or to the [code].app[/code] bundle on macOS) and [code]destination[/code] is where
## the file ends up (absolute next to a Linux/Windows executable; relative to the bundle on
## macOS). [code]warning[/code] may accompany any action; [code]error[/code] only
## [code]"error"[/code].
static func plan(features: PackedStringArray, export_path: String,
		available: Dictionary) -> Dictionary:
	var os_name := target_os(features)
	if NO_SIDECAR_PLATFORMS.has(os_name):
		return _result("skip", os_name, [], ("Pkarr: %s exports ship no sidecar; it runs on "
				+ "desktop only (Linux, Windows, macOS). With %s = auto the game talks to pkarr "
				+ "relays itself (the local relay first, then %s): resolve, publish, browse and "
				+ "join lobbies work; hosting needs an address and there is no NAT traversal "
				+ "(docs/relay-backend.md). To use a sidecar running elsewhere instead, set %s "
				+ "(read on the web) or call Pkarr.connect_to(url, token).") % [
				NO_SIDECAR_PLATFORMS[os_name], PkarrSettings.BACKEND, PkarrSettings.NETWORK_RELAYS,
				PkarrSettings.SIDECAR_WEB_URL])
	if os_name == "":
		return _result("skip", "", [], ("Pkarr: this export's platform (%s) is not one the "
				+ "sidecar is built for, so none is shipped.") % ", ".join(features))
	var extension := export_path.get_extension().to_lower()
	if os_name == "macos":
		if extension != "" and not extension in MACOS_EXTENSIONS:
			return _error(os_name, "Pkarr: unexpected macOS export path %s." % export_path)
		return _plan_macos(target_arches(features), available)
	if extension in PACK_EXTENSIONS:
		return _result("skip", os_name, [], ("Pkarr: %s is a pack-only export, so no sidecar "
				+ "is copied; the game's folder must already hold %s.") % [export_path.get_file(),
				PkarrSidecarLocator.binary_name(os_name)])
	var arches := target_arches(features)
	var platform := PkarrSidecarLocator.platform_dir(os_name, arches[0] if arches.size() == 1 else "")
	if platform == "":
		return _error(os_name, ("Pkarr: no sidecar is built for %s %s (only for %s); the "
				+ "exported game cannot start one. It can still connect to a sidecar elsewhere "
				+ "with Pkarr.connect_to(url, token).") % [os_name, arch_tag(features),
				", ".join(PkarrSidecarLocator.SUPPORTED_PLATFORMS)])
	var missing := _missing([platform], available)
	if missing != "":
		return _error(os_name, missing)
	var source := str(available[platform])
	var destination := export_path.get_base_dir().path_join(PkarrSidecarLocator.binary_name(os_name))
	return _result("copy", os_name, [_copy(platform, source, "", destination)])


## The binaries under [param bin_dir] as [method plan] wants them: platform folder →
## [code]res://[/code] path, for each platform whose executable exists, else the path of its
## packed sidecar's manifest when both [code]pkarr-sidecar.zst[/code] and the manifest exist
## (see [method is_packed_source]). Reads the file system.
static func find_binaries(bin_dir: String = BIN_DIR) -> Dictionary:
	var found := {}
	for platform: String in PkarrSidecarLocator.SUPPORTED_PLATFORMS:
		var os_name := platform.get_slice("-", 0)
		var folder := bin_dir.path_join(platform)
		var path := folder.path_join(PkarrSidecarLocator.binary_name(os_name))
		var manifest := folder.path_join(PkarrSidecarPackage.MANIFEST_NAME)
		if FileAccess.file_exists(path):
			found[platform] = path
		elif FileAccess.file_exists(manifest) and FileAccess.file_exists(packed_path(manifest)):
			found[platform] = manifest
	return found


## [code]true[/code] when a plan's [code]source[/code] is a packed sidecar's manifest, which
## must be unpacked before it is shipped.
static func is_packed_source(source: String) -> bool:
	return source.get_file() == PkarrSidecarPackage.MANIFEST_NAME


## The [code].zst[/code] next to the manifest [param manifest].
static func packed_path(manifest: String) -> String:
	return manifest.get_base_dir().path_join("%s.%s" % [PkarrSidecarLocator.BINARY_BASE_NAME,
			PkarrSidecarPackage.PACKED_EXTENSION])


## [code]true[/code] for files that must stay out of the exported pack: everything under
## [constant BIN_DIR] (an executable inside a [code].pck[/code] cannot be run).
static func is_packed_binary(path: String) -> bool:
	return path.begins_with(BIN_DIR + "/")


static func _plan_macos(arches: PackedStringArray, available: Dictionary) -> Dictionary:
	if arches.is_empty():
		return _error("macos", "Pkarr: the macOS export names no architecture the sidecar is "
				+ "built for (x86_64, arm64 or universal).")
	if arches.size() == 1:
		var platform := PkarrSidecarLocator.platform_dir("macos", arches[0])
		var missing := _missing([platform], available)
		if missing != "":
			return _error("macos", missing)
		return _result("copy", "macos", [_macos_copy(platform, available, MACOS_EXECUTABLE_DIR)])
	# Universal: each architecture in its own folder, found by the locator at run time.
	var has_intel := available.has("macos-x64")
	var has_arm := available.has("macos-arm64")
	if has_intel and has_arm:
		return _result("copy", "macos", [
			_macos_copy("macos-x64", available, MACOS_EXECUTABLE_DIR.path_join("macos-x64")),
			_macos_copy("macos-arm64", available, MACOS_EXECUTABLE_DIR.path_join("macos-arm64")),
		])
	if has_intel:
		return _result("copy", "macos", [_macos_copy("macos-x64", available,
				MACOS_EXECUTABLE_DIR)], ("Pkarr: this universal macOS export ships only the "
				+ "x86_64 sidecar; Apple Silicon Macs run it through Rosetta 2, which may have to "
				+ "be installed first. For a native one add %s. %s") % [
				source_path("macos-arm64"), build_hint("macos-arm64")])
	return _error("macos", _missing(["macos-x64"], available) + (" A universal export needs "
			+ "at least the x86_64 sidecar (Intel Macs cannot run the arm64 one); or export "
			+ "for arm64 only."))


static func _missing(platforms: Array[String], available: Dictionary) -> String:
	for platform: String in platforms:
		if not available.has(platform):
			return ("Pkarr: the sidecar for %s is missing (%s), so the exported game "
					+ "cannot start one. %s") % [platform, source_path(platform), build_hint(platform)]
	return ""


static func _macos_copy(platform: String, available: Dictionary, target: String) -> Dictionary:
	var source := str(available[platform])
	return _copy(platform, source, target, target.path_join(PkarrSidecarLocator.binary_name("macos")))


static func _copy(platform: String, source: String, target: String,
		destination: String) -> Dictionary:
	return {"platform": platform, "source": source, "target": target, "destination": destination}


static func _error(os_name: String, message: String) -> Dictionary:
	var result := _result("error", os_name, [])
	result["error"] = message
	return result


static func _result(action: String, os_name: String, copies: Array[Dictionary],
		warning: String = "") -> Dictionary:
	return {"action": action, "os": os_name, "copies": copies, "warning": warning, "error": ""}
