@tool
class_name PkarrSettings
extends RefCounted
## The project settings of the Pkarr addon, with their defaults, in one table.
##
## The editor plugin registers every entry of [method definitions] (type, hint, initial value,
## basic flag) each time the editor starts. Settings equal to their default are not saved to
## [code]project.godot[/code], so the running game reads them through [method get_value], which
## falls back to the same default.

## Path of the sidecar executable (or of a [code].js[/code]/[code].ts[/code] entry run with Node).
## Empty: found automatically.
const SIDECAR_PATH := "pkarr/sidecar/path"
## Where the sidecar keeps its keys and state.
const SIDECAR_DATA_DIR := "pkarr/sidecar/data_dir"
## Start the sidecar (or connect to [constant SIDECAR_WEB_URL] on the web) when the game starts.
const SIDECAR_AUTOSTART := "pkarr/sidecar/autostart"
## WebSocket URL of a sidecar that web exports connect to (they cannot spawn one).
const SIDECAR_WEB_URL := "pkarr/sidecar/web_url"
## Token of the sidecar at [constant SIDECAR_WEB_URL] (see its [code]--token-file[/code]).
const SIDECAR_WEB_TOKEN := "pkarr/sidecar/web_token"
## HTTP relays the sidecar (or the relay backend) publishes to and resolves from.
const NETWORK_RELAYS := "pkarr/network/relays"
## Which backend the [code]Pkarr[/code] autoload uses: [code]auto[/code] (the relay backend on the
## web without [constant SIDECAR_WEB_URL], on Android and iOS; the sidecar elsewhere),
## [code]sidecar[/code] or [code]relay[/code] (GDScript over HTTP relays, [PkarrRelayBackend]).
const BACKEND := "pkarr/backend"
## The relay backend asks this relay first, alone (a local pkarr relay, e.g. a desktop sidecar's
## [code]serve[/code]); empty: none.
const RELAY_LOCAL_URL := "pkarr/relay/local_relay_url"
## Seconds one relay request of the relay backend may take.
const RELAY_TIMEOUT := "pkarr/relay/timeout_seconds"
## DHT bootstrap nodes ([code]host:port[/code]); empty uses the sidecar's defaults.
const NETWORK_BOOTSTRAP := "pkarr/network/bootstrap"
## Whether the sidecar joins the Mainline DHT.
const NETWORK_USE_DHT := "pkarr/network/use_dht"
## Seconds between republishes of the records the sidecar keeps alive.
const REPUBLISH_INTERVAL := "pkarr/republish/interval_seconds"
## Sidecar log level: [code]error[/code], [code]warn[/code], [code]info[/code] or
## [code]debug[/code].
const LOG_LEVEL := "pkarr/log/level"
## Seconds before a request to the sidecar fails with [code]REQUEST_TIMEOUT[/code].
const REQUEST_TIMEOUT := "pkarr/requests/timeout_seconds"
## Your game's id ([code][A-Za-z0-9._-][/code], 1-64 characters), used by [PkarrLobbyHost],
## [PkarrLobbyBrowser] and [code]Pkarr.join()[/code] whenever their own value is empty: set it
## once here.
const LOBBY_GAME_ID := "pkarr/lobby/game_id"
## Your game's version; only players of the same version see and join each other's lobbies.
## Used like [constant LOBBY_GAME_ID].
const LOBBY_GAME_VERSION := "pkarr/lobby/game_version"

## The public relays used unless the project lists others.
const DEFAULT_RELAYS: Array[String] = ["https://pkarr.pubky.app", "https://pkarr.pubky.org"]
## Accepted values of [constant BACKEND].
const BACKENDS: Array[String] = ["auto", "sidecar", "relay"]
## The local relay web apps try first (pkarr's default relay port).
const DEFAULT_LOCAL_RELAY := "http://127.0.0.1:6881"
## Accepted values of [constant LOG_LEVEL].
const LOG_LEVELS: Array[String] = ["error", "warn", "info", "debug"]


## Every setting as a Dictionary: [code]name[/code], [code]type[/code] (a [enum Variant.Type]),
## [code]default[/code], [code]hint[/code], [code]hint_string[/code] and [code]basic[/code]
## (shown without "Advanced Settings"). Fresh values on every call, so callers may modify them.
static func definitions() -> Array[Dictionary]:
	return [
		_entry(SIDECAR_PATH, TYPE_STRING, "", PROPERTY_HINT_GLOBAL_FILE, "", false),
		_entry(SIDECAR_DATA_DIR, TYPE_STRING, "user://pkarr", PROPERTY_HINT_NONE, "", true),
		_entry(SIDECAR_AUTOSTART, TYPE_BOOL, true, PROPERTY_HINT_NONE, "", true),
		_entry(SIDECAR_WEB_URL, TYPE_STRING, "", PROPERTY_HINT_PLACEHOLDER_TEXT,
				"ws://127.0.0.1:7878/", false),
		_entry(SIDECAR_WEB_TOKEN, TYPE_STRING, "", PROPERTY_HINT_PASSWORD, "", false),
		_entry(NETWORK_RELAYS, TYPE_PACKED_STRING_ARRAY, PackedStringArray(DEFAULT_RELAYS),
				PROPERTY_HINT_NONE, "", true),
		_entry(BACKEND, TYPE_STRING, "auto", PROPERTY_HINT_ENUM, ",".join(BACKENDS), true),
		_entry(RELAY_LOCAL_URL, TYPE_STRING, DEFAULT_LOCAL_RELAY, PROPERTY_HINT_PLACEHOLDER_TEXT,
				DEFAULT_LOCAL_RELAY, false),
		_entry(RELAY_TIMEOUT, TYPE_FLOAT, 5.0, PROPERTY_HINT_RANGE, "0.5,60,0.5,or_greater,suffix:s", false),
		_entry(NETWORK_BOOTSTRAP, TYPE_PACKED_STRING_ARRAY, PackedStringArray(),
				PROPERTY_HINT_NONE, "", false),
		_entry(NETWORK_USE_DHT, TYPE_BOOL, true, PROPERTY_HINT_NONE, "", true),
		_entry(REPUBLISH_INTERVAL, TYPE_INT, 3600, PROPERTY_HINT_RANGE,
				"60,86400,1,or_greater,suffix:s", false),
		_entry(LOG_LEVEL, TYPE_STRING, "info", PROPERTY_HINT_ENUM, ",".join(LOG_LEVELS), false),
		_entry(REQUEST_TIMEOUT, TYPE_FLOAT, 10.0, PROPERTY_HINT_RANGE,
				"0.5,300,0.5,or_greater,suffix:s", false),
		_entry(LOBBY_GAME_ID, TYPE_STRING, "", PROPERTY_HINT_PLACEHOLDER_TEXT, "my-game", true),
		_entry(LOBBY_GAME_VERSION, TYPE_STRING, "1", PROPERTY_HINT_NONE, "", true),
	]


## The definition of setting [param setting_name], or an empty Dictionary if it is not ours.
static func definition(setting_name: String) -> Dictionary:
	for entry: Dictionary in definitions():
		if entry["name"] == setting_name:
			return entry
	return {}


## The default value of [param setting_name] ([code]null[/code] if it is not ours).
static func default_value(setting_name: String) -> Variant:
	return definition(setting_name).get("default")


## The value of [param setting_name] in this project, or its default when it is not set.
## The result always has the setting's declared type (e.g. a [PackedStringArray] for lists).
static func get_value(setting_name: String) -> Variant:
	var entry: Dictionary = definition(setting_name)
	if entry.is_empty():
		push_error("PkarrSettings: unknown setting %s" % setting_name)
		return null
	var value: Variant = ProjectSettings.get_setting(setting_name, entry["default"])
	return coerce(value, entry["type"], entry["default"])


## [param own] when it is set, otherwise the project's [constant LOBBY_GAME_ID].
static func game_id_or_default(own: String) -> String:
	var value := own.strip_edges()
	return value if value != "" else str(get_value(LOBBY_GAME_ID)).strip_edges()


## [param own] when it is set, otherwise the project's [constant LOBBY_GAME_VERSION].
static func game_version_or_default(own: String) -> String:
	var value := own.strip_edges()
	return value if value != "" else str(get_value(LOBBY_GAME_VERSION)).strip_edges()


## Adds [code]game[/code] and [code]gameVersion[/code] to the sidecar [param params] of a lookup
## by code: the caller's [param game] and [param game_version], or, when no game is given, both from
## the project settings (a given game id is never checked against the project's version). Nothing
## is added for what stays empty.
static func add_game_params(params: Dictionary, game: String, game_version: String) -> void:
	var id := game.strip_edges()
	var version := game_version.strip_edges()
	if id == "":
		id = game_id_or_default("")
		version = game_version_or_default(version)
	if id != "":
		params["game"] = id
	if version != "":
		params["gameVersion"] = version


## Why [param game_id] cannot be a game id (empty when it can): 1-64 characters of
## [code][A-Za-z0-9._-][/code], as the sidecar requires.
static func game_id_problem(game_id: String) -> String:
	if game_id == "":
		return "no game id: set pkarr/lobby/game_id in the Project Settings (or the node's game_id)"
	if not PkarrLobbyRecord.is_game_id(game_id):
		return "game id %s: use 1-64 of A-Z a-z 0-9 . _ -" % game_id
	return ""


## All settings as a Dictionary of name to value (see [method get_value]).
static func snapshot() -> Dictionary:
	var values: Dictionary = {}
	for entry: Dictionary in definitions():
		values[entry["name"]] = get_value(entry["name"])
	return values


## Converts [param value] to [param type], or returns [param fallback] when it cannot.
static func coerce(value: Variant, type: int, fallback: Variant) -> Variant:
	if typeof(value) == type:
		return value
	match type:
		TYPE_STRING:
			return str(value) if value != null else fallback
		TYPE_BOOL:
			if value is int or value is float:
				return value != 0
			return fallback
		TYPE_INT:
			if value is float or value is String:
				return int(value)
			return fallback
		TYPE_FLOAT:
			if value is int or value is String:
				return float(value)
			return fallback
		TYPE_PACKED_STRING_ARRAY:
			if value is Array:
				var strings := PackedStringArray()
				for item: Variant in value:
					strings.append(str(item))
				return strings
			if value is String:
				return PackedStringArray([value]) if value != "" else PackedStringArray()
			return fallback
	return fallback


## Registers every setting with the editor: value if missing, property info, initial value
## and basic flag. Safe to call on every editor start (property info is not
## saved, so it must be added again each time).
static func register_all() -> void:
	for entry: Dictionary in definitions():
		var setting_name: String = entry["name"]
		if not ProjectSettings.has_setting(setting_name):
			ProjectSettings.set_setting(setting_name, entry["default"])
		ProjectSettings.add_property_info({
			"name": setting_name,
			"type": entry["type"],
			"hint": entry["hint"],
			"hint_string": entry["hint_string"],
		})
		ProjectSettings.set_initial_value(setting_name, entry["default"])
		ProjectSettings.set_as_basic(setting_name, entry["basic"])


static func _entry(setting_name: String, type: int, default: Variant, hint: int,
		hint_string: String, basic: bool) -> Dictionary:
	return {
		"name": setting_name,
		"type": type,
		"default": default,
		"hint": hint,
		"hint_string": hint_string,
		"basic": basic,
	}
