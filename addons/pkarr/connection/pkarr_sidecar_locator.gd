@tool
class_name PkarrSidecarLocator
extends RefCounted
## Finds the sidecar executable and builds its command line.
##
## Everything here except [method gather_environment] and [method find_sidecar] is a pure
## function of its arguments, so it is tested on any platform (also in the web engine).
## [br][br]
## Where the sidecar is looked for, in order:
## [br]1. The project setting [code]pkarr/sidecar/path[/code] when set (only there). A
## [code].js[/code]/[code].ts[/code] file is run with [code]node[/code] from [code]PATH[/code].
## [br]2. In the editor: [code]res://addons/pkarr/bin/<platform>/pkarr-sidecar[.exe][/code],
## else the compressed [code]pkarr-sidecar.zst[/code] there (how the release zip ships it),
## unpacked once into [code]user://pkarr-sidecar/<platform>/[/code] after its SHA-256 matched
## its manifest ([PkarrSidecarPackage]).
## [br]3. In exports: next to the game's executable (on macOS also in
## [code]Contents/MacOS/<platform>/[/code], where a universal export keeps each architecture's
## binary, and in the bundle's [code]Contents/Resources[/code]).
## [br]4. In the editor, in a source checkout: [code]node[/code] from [code]PATH[/code] with
## [code]sidecar/dist/cli/main.js[/code] or [code]sidecar/src/cli/main.ts[/code] found in the
## project folder or one of its parents.

## File name of the sidecar without the Windows [code].exe[/code] suffix.
const BINARY_BASE_NAME := "pkarr-sidecar"
## Where the addon lives; platform binaries are in its [code]bin/<platform>/[/code] folder.
const ADDON_DIR := "res://addons/pkarr"
## Platform folder names that prebuilt sidecars exist for.
const SUPPORTED_PLATFORMS: Array[String] = [
	"linux-x64",
	"linux-arm64",
	"windows-x64",
	"macos-x64",
	"macos-arm64",
]
## Entry points of the sidecar in a source checkout, relative to the checkout root.
const CHECKOUT_ENTRIES: Array[String] = ["sidecar/dist/cli/main.js", "sidecar/src/cli/main.ts"]
## Folder under [code]user://[/code] that packed sidecars are unpacked into, per platform.
const UNPACK_DIR := "pkarr-sidecar"
## How many parent folders of the project are searched for a source checkout.
const CHECKOUT_SEARCH_DEPTH := 3
## Extensions of sidecar entry points that must be run with Node.
const SCRIPT_EXTENSIONS: Array[String] = ["js", "mjs", "cjs", "ts", "mts"]
## Log levels the sidecar accepts.
const LOG_LEVELS: Array[String] = ["error", "warn", "info", "debug"]


## The operating-system part of a platform folder for [method OS.get_name] values:
## [code]linux[/code], [code]windows[/code], [code]macos[/code], or empty if unsupported.
static func os_dir_name(os_name: String) -> String:
	match os_name.to_lower():
		"linux":
			return "linux"
		"windows":
			return "windows"
		"macos", "osx":
			return "macos"
	return ""


## The architecture part of a platform folder for [method Engine.get_architecture_name]
## values: [code]x64[/code], [code]arm64[/code], or empty if unsupported.
static func arch_dir_name(arch: String) -> String:
	match arch.to_lower():
		"x86_64", "x64", "amd64":
			return "x64"
		"arm64", "aarch64", "arm64v8":
			return "arm64"
	return ""


## The platform folder name such as [code]linux-x64[/code] or [code]macos-arm64[/code], or an
## empty String when no sidecar is built for that OS and architecture.
static func platform_dir(os_name: String, arch: String) -> String:
	var platform := "%s-%s" % [os_dir_name(os_name), arch_dir_name(arch)]
	return platform if platform in SUPPORTED_PLATFORMS else ""


## The executable's file name: [code]pkarr-sidecar.exe[/code] on Windows, else
## [code]pkarr-sidecar[/code].
static func binary_name(os_name: String) -> String:
	return BINARY_BASE_NAME + (".exe" if os_dir_name(os_name) == "windows" else "")


## [code]true[/code] when [param path] is a JavaScript/TypeScript entry point run with Node.
static func is_script_path(path: String) -> bool:
	return path.get_extension().to_lower() in SCRIPT_EXTENSIONS


## The folders of a [code]PATH[/code] value ([code];[/code]-separated on Windows).
static func path_directories(path_env: String, os_name: String) -> PackedStringArray:
	var separator := ";" if os_dir_name(os_name) == "windows" else ":"
	var folders := PackedStringArray()
	for folder: String in path_env.split(separator, false):
		var trimmed := folder.strip_edges()
		if trimmed != "" and not trimmed in folders:
			folders.append(trimmed)
	return folders


## Where [param program] would be on [code]PATH[/code], in search order
## ([code]node.exe[/code] on Windows).
static func program_paths(program: String, path_env: String, os_name: String) -> PackedStringArray:
	var file := program + (".exe" if os_dir_name(os_name) == "windows" else "")
	var paths := PackedStringArray()
	for folder: String in path_directories(path_env, os_name):
		paths.append(folder.path_join(file))
	return paths


## [param project_dir] and up to [constant CHECKOUT_SEARCH_DEPTH] of its parents, nearest first.
static func checkout_roots(project_dir: String) -> PackedStringArray:
	var roots := PackedStringArray()
	var dir := project_dir.simplify_path()
	for i: int in CHECKOUT_SEARCH_DEPTH + 1:
		if dir == "" or dir in roots:
			break
		roots.append(dir)
		var parent := dir.get_base_dir()
		if parent == dir:
			break
		dir = parent
	return roots


## The places to look for the sidecar, in order, as Dictionaries: [code]kind[/code]
## ([code]setting[/code], [code]addon_bin[/code], [code]addon_packed[/code], [code]export[/code],
## [code]checkout[/code]), [code]path[/code] (the executable; empty when [code]program[/code]
## must be found on [code]PATH[/code] or the sidecar must be unpacked first),
## [code]program[/code], [code]prefix[/code] (arguments before [code]serve[/code]) and
## [code]requires[/code] (files that must exist). An [code]addon_packed[/code] candidate also
## has [code]packed[/code], [code]manifest[/code] and [code]unpack_root[/code] (see
## [method PkarrSidecarPackage.install]).
## [br][br]
## [param env] has the keys of [method gather_environment]: [code]os_name[/code],
## [code]arch[/code], [code]editor[/code], [code]setting_path[/code], [code]project_dir[/code],
## [code]user_dir[/code] and [code]executable_path[/code].
static func candidates(env: Dictionary) -> Array[Dictionary]:
	var os_name := str(env.get("os_name", ""))
	var found: Array[Dictionary] = []
	var setting := str(env.get("setting_path", "")).strip_edges()
	if setting != "":
		var path := _resolve_user_path(setting, str(env.get("project_dir", "")),
				str(env.get("user_dir", "")))
		found.append(_candidate("setting", path))
		return found
	var binary := binary_name(os_name)
	var platform := platform_dir(os_name, str(env.get("arch", "")))
	var project_dir := str(env.get("project_dir", ""))
	if bool(env.get("editor", false)):
		if platform != "" and project_dir != "":
			var addon_dir := project_dir.path_join(ADDON_DIR.trim_prefix("res://"))
			var bin_dir := addon_dir.path_join("bin").path_join(platform)
			found.append(_candidate("addon_bin", bin_dir.path_join(binary)))
			var user_dir := str(env.get("user_dir", ""))
			if user_dir != "":
				found.append(_packed_candidate(bin_dir, user_dir.path_join(UNPACK_DIR)
						.path_join(platform)))
	else:
		var exe_dir := str(env.get("executable_path", "")).get_base_dir()
		if exe_dir != "":
			found.append(_candidate("export", exe_dir.path_join(binary)))
			if exe_dir.ends_with("Contents/MacOS"):
				if platform != "":
					found.append(_candidate("export", exe_dir.path_join(platform).path_join(binary)))
				found.append(_candidate("export", exe_dir.get_base_dir().path_join("Resources")
						.path_join(binary)))
	if bool(env.get("editor", false)) and project_dir != "":
		for root: String in checkout_roots(project_dir):
			for entry: String in CHECKOUT_ENTRIES:
				found.append(_candidate("checkout", root.path_join(entry)))
	return found


## The environment [method candidates] reads, taken from the running engine.
static func gather_environment() -> Dictionary:
	return {
		"os_name": OS.get_name(),
		"arch": Engine.get_architecture_name(),
		"editor": OS.has_feature("editor"),
		"setting_path": str(PkarrSettings.get_value(PkarrSettings.SIDECAR_PATH)),
		"project_dir": ProjectSettings.globalize_path("res://"),
		"user_dir": ProjectSettings.globalize_path("user://"),
		"executable_path": OS.get_executable_path(),
		"path_env": OS.get_environment("PATH"),
	}


## The first candidate whose files exist, as [code]{kind, path, prefix}[/code], plus
## [code]tried[/code] (every path looked at). [code]path[/code] is empty when nothing was found.
## Reads the file system; [param env] defaults to [method gather_environment].
static func find_sidecar(env: Dictionary = {}) -> Dictionary:
	var environment := env if not env.is_empty() else gather_environment()
	var os_name := str(environment.get("os_name", ""))
	var tried := PackedStringArray()
	for candidate: Dictionary in candidates(environment):
		var missing := false
		for required: String in candidate["requires"]:
			tried.append(required)
			if not FileAccess.file_exists(required):
				missing = true
				break
		if missing:
			continue
		var path: String = candidate["path"]
		if candidate.has("packed"):
			var installed := PkarrSidecarPackage.install(candidate["packed"], candidate["manifest"],
					candidate["unpack_root"])
			if installed["error"] != "":
				push_warning("Pkarr: %s" % installed["error"])
				tried.append("%s (%s)" % [candidate["packed"], installed["error"]])
				continue
			path = installed["path"]
		elif path == "":
			path = _first_existing(program_paths(candidate["program"],
					str(environment.get("path_env", "")), os_name))
			if path == "":
				tried.append("%s on PATH" % candidate["program"])
				continue
		return {
			"kind": candidate["kind"],
			"path": path,
			"prefix": candidate["prefix"],
			"tried": tried,
		}
	return {"kind": "", "path": "", "prefix": PackedStringArray(), "tried": tried}


## The command line that starts the sidecar: [code]{path, args}[/code] with [code]args[/code] =
## [param prefix_args] followed by exactly
## [code]serve --data-dir <abs> --parent-pid <pid> [--relay U]… [--bootstrap B]… [--no-dht]
## --republish-interval N --log-level L[/code].
## [param settings] maps [PkarrSettings] names to values; missing ones use their defaults.
## An empty relay list gives [code]--no-relays[/code] in place of the [code]--relay[/code]
## flags (the sidecar would otherwise fall back to public relays), and with the DHT off the
## bootstrap nodes are left out ([code]--no-dht[/code] excludes them).
static func build_command(exe_path: String, settings: Dictionary, parent_pid: int,
		prefix_args: PackedStringArray = PackedStringArray()) -> Dictionary:
	var args: Array[String] = []
	args.append_array(Array(prefix_args))
	args.append("serve")
	args.append_array(["--data-dir", absolute_data_dir(str(_setting(settings,
			PkarrSettings.SIDECAR_DATA_DIR)))])
	args.append_array(["--parent-pid", str(parent_pid)])
	var relays := _non_empty(_setting(settings, PkarrSettings.NETWORK_RELAYS))
	for relay: String in relays:
		args.append_array(["--relay", relay])
	if relays.is_empty():
		args.append("--no-relays")
	if bool(_setting(settings, PkarrSettings.NETWORK_USE_DHT)):
		for node: String in _non_empty(_setting(settings, PkarrSettings.NETWORK_BOOTSTRAP)):
			args.append_array(["--bootstrap", node])
	else:
		args.append("--no-dht")
	var interval: int = maxi(1, int(_setting(settings, PkarrSettings.REPUBLISH_INTERVAL)))
	args.append_array(["--republish-interval", str(interval)])
	var level := str(_setting(settings, PkarrSettings.LOG_LEVEL)).to_lower()
	args.append_array(["--log-level", level if level in LOG_LEVELS else "info"])
	return {"path": exe_path, "args": PackedStringArray(args)}


## [param data_dir] as an absolute OS path: [code]user://[/code] and [code]res://[/code] are
## globalized, a relative path is taken inside [code]user://[/code].
static func absolute_data_dir(data_dir: String) -> String:
	var dir := data_dir.strip_edges()
	if dir == "":
		dir = str(PkarrSettings.default_value(PkarrSettings.SIDECAR_DATA_DIR))
	if dir.begins_with("user://") or dir.begins_with("res://"):
		return ProjectSettings.globalize_path(dir)
	if dir.is_relative_path():
		return ProjectSettings.globalize_path("user://".path_join(dir))
	return dir


static func _packed_candidate(bin_dir: String, unpack_root: String) -> Dictionary:
	var packed := bin_dir.path_join("%s.%s" % [BINARY_BASE_NAME, PkarrSidecarPackage.PACKED_EXTENSION])
	var manifest := bin_dir.path_join(PkarrSidecarPackage.MANIFEST_NAME)
	return {
		"kind": "addon_packed",
		"path": "",
		"program": "",
		"prefix": PackedStringArray(),
		"requires": PackedStringArray([packed, manifest]),
		"packed": packed,
		"manifest": manifest,
		"unpack_root": unpack_root,
	}


static func _candidate(kind: String, path: String) -> Dictionary:
	if is_script_path(path):
		return {
			"kind": kind,
			"path": "",
			"program": "node",
			"prefix": PackedStringArray([path]),
			"requires": PackedStringArray([path]),
		}
	return {
		"kind": kind,
		"path": path,
		"program": "",
		"prefix": PackedStringArray(),
		"requires": PackedStringArray([path]),
	}


static func _resolve_user_path(path: String, project_dir: String, user_dir: String) -> String:
	if path.begins_with("res://"):
		return project_dir.path_join(path.trim_prefix("res://"))
	if path.begins_with("user://"):
		return user_dir.path_join(path.trim_prefix("user://"))
	return path


static func _non_empty(values: PackedStringArray) -> PackedStringArray:
	var kept := PackedStringArray()
	for value: String in values:
		if value.strip_edges() != "":
			kept.append(value.strip_edges())
	return kept


static func _first_existing(paths: PackedStringArray) -> String:
	for path: String in paths:
		if FileAccess.file_exists(path):
			return path
	return ""


static func _setting(settings: Dictionary, setting_name: String) -> Variant:
	var entry := PkarrSettings.definition(setting_name)
	return PkarrSettings.coerce(settings.get(setting_name, entry["default"]), entry["type"],
			entry["default"])
