@tool
class_name PkarrExportPlugin
extends EditorExportPlugin
## Ships the sidecar with desktop exports and keeps the prebuilt binaries out of the pack.
##
## Registered by the Pkarr editor plugin. At the start of an export it asks [PkarrExportPlan]
## what to do and hands the chosen binary to the exporter with
## [method EditorExportPlugin.add_shared_object]: next to the executable on Linux and Windows,
## into the bundle's [code]Contents/MacOS[/code] on macOS (where the exporter also signs it).
## Web, Android and iOS exports get no sidecar and a warning. A missing binary is reported as
## an error saying how to build or download it. Every file under
## [code]res://addons/pkarr/bin/[/code] is left out of the [code].pck[/code]: an executable
## cannot be run from inside it.
## A packed sidecar (the release zip's [code]pkarr-sidecar.zst[/code]) is unpacked into
## [member unpack_dir] first, its hashes checked, and that executable is shipped.
## [br][br]
## The exporter copies files without their permissions; the copy next to a Linux executable
## gets its executable bit back in [method _export_end], and [PkarrSidecarProcess] restores it
## at run time as well.

## [code]EditorExportPlatform.EXPORT_MESSAGE_WARNING[/code] (the enum is not exposed in 4.3).
const _MESSAGE_WARNING := 2
## [code]EditorExportPlatform.EXPORT_MESSAGE_ERROR[/code].
const _MESSAGE_ERROR := 3
## Permissions of a copied sidecar on Linux: rwxr-xr-x.
const _EXECUTABLE_PERMISSIONS := (FileAccess.UNIX_READ_OWNER | FileAccess.UNIX_WRITE_OWNER
		| FileAccess.UNIX_EXECUTE_OWNER | FileAccess.UNIX_READ_GROUP
		| FileAccess.UNIX_EXECUTE_GROUP | FileAccess.UNIX_READ_OTHER
		| FileAccess.UNIX_EXECUTE_OTHER)

## Folder holding the prebuilt binaries, [code]<bin_dir>/<platform>/pkarr-sidecar[.exe][/code].
var bin_dir: String = PkarrExportPlan.BIN_DIR
## Where packed sidecars are unpacked for exports, per platform folder.
var unpack_dir: String = "user://pkarr-sidecar/export"
## The plan of the export in progress (see [method PkarrExportPlan.plan]); empty between exports.
var current_plan: Dictionary = {}


func _get_name() -> String:
	return "Pkarr"


func _export_begin(features: PackedStringArray, _is_debug: bool, path: String,
		_flags: int) -> void:
	current_plan = PkarrExportPlan.plan(features, _absolute_export_path(path),
			PkarrExportPlan.find_binaries(bin_dir))
	for copy: Dictionary in current_plan["copies"]:
		var source: String = copy["source"]
		if PkarrExportPlan.is_packed_source(source):
			# The release zip's packed sidecar: unpack (hashes checked) and ship the executable.
			var installed := PkarrSidecarPackage.install(PkarrExportPlan.packed_path(source), source,
					unpack_dir.path_join(copy["platform"]))
			if installed["error"] != "":
				_report("Pkarr: cannot ship the %s sidecar: %s" % [copy["platform"],
						installed["error"]], true)
				continue
			source = ProjectSettings.globalize_path(installed["path"])
		add_shared_object(source, PackedStringArray(), copy["target"])
	if current_plan["warning"] != "":
		_report(current_plan["warning"], false)
	if current_plan["error"] != "":
		_report(current_plan["error"], true)


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	if PkarrExportPlan.is_packed_binary(path):
		skip()


func _export_end() -> void:
	if current_plan.get("os", "") == "linux" and OS.get_name() != "Windows":
		for copy: Dictionary in current_plan["copies"]:
			var destination: String = copy["destination"]
			if destination.is_absolute_path() and FileAccess.file_exists(destination):
				FileAccess.set_unix_permissions(destination, _EXECUTABLE_PERMISSIONS)
	current_plan = {}


## The export path as an absolute OS path (command-line exports may pass one relative to the
## project folder).
static func _absolute_export_path(path: String) -> String:
	if path.begins_with("res://") or path.begins_with("user://"):
		return ProjectSettings.globalize_path(path)
	if path.is_relative_path():
		return ProjectSettings.globalize_path("res://").path_join(path)
	return path


# Prints the message and, where the engine allows it (4.4+), adds it to the export's report.
func _report(message: String, is_error: bool) -> void:
	if is_error:
		push_error(message)
	else:
		push_warning(message)
	if not has_method("get_export_platform"):
		return
	var platform: Object = call("get_export_platform")
	if platform != null and platform.has_method("add_message"):
		platform.call("add_message", _MESSAGE_ERROR if is_error else _MESSAGE_WARNING, "Pkarr",
				message)
