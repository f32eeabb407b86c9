@tool
extends EditorPlugin
## Registers the Pkarr project settings, the [code]Pkarr[/code] autoload, the Pkarr dock and
## the export plugin that ships the sidecar with desktop exports.
##
## The autoload is added when the plugin is enabled and removed when it is disabled (not on
## every editor start). Settings are registered on every start because their property info
## is not saved. This script never names the [code]Pkarr[/code] global: before the autoload
## exists such a script would not parse.

## Name of the autoload singleton.
const AUTOLOAD_NAME := "Pkarr"
## Title of the dock.
const DOCK_TITLE := "Pkarr"
## The dock's script (kept out of the global class list: it is editor-only).
const DockScript := preload("editor/pkarr_dock.gd")
## The export plugin's script (editor-only as well).
const ExportPluginScript := preload("export/pkarr_export_plugin.gd")

var _dock: Control = null
var _dock_host: Node = null
var _export_plugin: EditorExportPlugin = null


func _enable_plugin() -> void:
	add_autoload_singleton(AUTOLOAD_NAME, _addon_dir().path_join("pkarr_service.gd"))


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)


func _get_plugin_icon() -> Texture2D:
	var icon_path := _addon_dir().path_join("icon.svg")
	if not ResourceLoader.exists(icon_path):
		return null
	return load(icon_path) as Texture2D


func _enter_tree() -> void:
	PkarrSettings.register_all()
	_export_plugin = ExportPluginScript.new()
	add_export_plugin(_export_plugin)
	_dock = DockScript.new()
	_dock.name = DOCK_TITLE
	if ClassDB.class_exists("EditorDock") and has_method("add_dock"):
		# Godot 4.6+: docks are EditorDock nodes. Created by name and added with call() so this
		# script still parses on 4.3-4.5, where neither exists.
		_dock_host = ClassDB.instantiate("EditorDock")
		_dock_host.set("title", DOCK_TITLE)
		_dock_host.set("default_slot", DOCK_SLOT_RIGHT_UL)
		_dock_host.add_child(_dock)
		call("add_dock", _dock_host)
	else:
		add_control_to_dock(DOCK_SLOT_RIGHT_UL, _dock)


func _exit_tree() -> void:
	if _export_plugin != null:
		remove_export_plugin(_export_plugin)
		_export_plugin = null
	if _dock_host != null:
		call("remove_dock", _dock_host)
		_dock_host.queue_free()
	elif _dock != null:
		remove_control_from_docks(_dock)
		_dock.queue_free()
	_dock_host = null
	_dock = null


func _addon_dir() -> String:
	var script: Script = get_script()
	return script.resource_path.get_base_dir()
