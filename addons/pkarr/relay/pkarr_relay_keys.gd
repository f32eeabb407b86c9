class_name PkarrRelayKeys
extends RefCounted
## The named signing keys of the relay backend, kept in [code]<data dir>/keys/<name>.key[/code]
## ([code]user://pkarr/keys[/code] by default) in the sidecar's format: 64 lowercase hex
## characters of the 32-byte Ed25519 seed and a newline, written to a temporary file and renamed.
##
## [b]Protection.[/b] Key files are made owner-only (0600) before the secret is written, as the
## sidecar's, where the platform has Unix permissions (Android, iOS, Linux, macOS); on Windows they
## have the user folder's rights, and on the web [code]user://[/code]
## lives in the page origin's IndexedDB: any script of the same origin can read it. Keys there
## are as safe as the game's origin (on itch.io: the game's own subdomain). Do not put keys of
## value into a web build's storage; import a throwaway key or generate one per player.
## [br]Every operation answers like the sidecar's [code]keys.*[/code] methods: a [PkarrResult]
## whose value is the same JSON shape, failures [code]KEY_NOT_FOUND[/code] /
## [code]KEY_EXISTS[/code] / [method PkarrResult.invalid_params] (bad name or secret) /
## [code]IO_ERROR[/code].

## Key names the sidecar accepts.
const NAME_PATTERN := "^[A-Za-z0-9_.-]{1,64}$"

## Where the key files live.
var directory: String = "user://pkarr/keys"

var _public_keys: Dictionary = {}
var _signatures: PkarrSignatures = null
var _name_regex: RegEx = RegEx.create_from_string(NAME_PATTERN)


## Keys under [param data_dir]/keys, public keys derived with [param signatures].
func _init(data_dir: String = "user://pkarr", signatures: PkarrSignatures = null) -> void:
	directory = data_dir.trim_suffix("/") + "/keys"
	_signatures = signatures if signatures != null else PkarrSignatures.new()


## How many key files there are.
func count() -> int:
	return _names().size()


## Coroutine: [code]{name, publicKey}[/code] of a new random key named [param key_name].
func generate(key_name: String) -> PkarrResult:
	var bad := _check_name(key_name)
	if bad != null:
		return bad
	if FileAccess.file_exists(_path(key_name)):
		return PkarrResult.failure("KEY_EXISTS", "a key named \"%s\" exists" % key_name)
	return await _store(key_name, Crypto.new().generate_random_bytes(32))


## Coroutine: stores [param secret_hex] (64 hex characters) as [param key_name]. An existing
## name is refused unless [param overwrite], or it already holds this very key.
func import(key_name: String, secret_hex: String, overwrite: bool = false) -> PkarrResult:
	var bad := _check_name(key_name)
	if bad != null:
		return bad
	var hex := secret_hex.strip_edges().to_lower()
	if hex.length() != 64 or not PkarrBytes.is_hex(hex):
		return PkarrResult.invalid_params("secretKey", "secretKey must be 64 hex characters (the 32-byte seed)",
				"INVALID_SECRET_KEY")
	if FileAccess.file_exists(_path(key_name)) and not overwrite:
		if _read_seed(key_name) != PkarrBytes.from_hex(hex):
			return PkarrResult.failure("KEY_EXISTS", "a key named \"%s\" exists" % key_name)
	return await _store(key_name, PkarrBytes.from_hex(hex))


## Coroutine: [code]{name, publicKey, secretKey}[/code] of [param key_name].
func export_key(key_name: String) -> PkarrResult:
	var found := await get_key(key_name)
	if not found.is_ok():
		return found
	var value: Dictionary = found.value
	return PkarrResult.success({"name": key_name, "publicKey": value["publicKey"],
			"secretKey": PkarrBytes.to_hex(value["seed"])})


## Coroutine: [code]{name, publicKey, seed: PackedByteArray}[/code] of [param key_name]
## (for signing; never sent anywhere).
func get_key(key_name: String) -> PkarrResult:
	var bad := _check_name(key_name)
	if bad != null:
		return bad
	var secret_seed := _read_seed(key_name)
	if secret_seed.is_empty():
		return PkarrResult.failure("KEY_NOT_FOUND", "no key named \"%s\"" % key_name)
	var public_key: String = _public_keys.get(key_name, "")
	if public_key == "":
		public_key = PkarrZ32.encode(await _signatures.public_key_from_seed(secret_seed))
		_public_keys[key_name] = public_key
	return PkarrResult.success({"name": key_name, "publicKey": public_key, "seed": secret_seed})


## Coroutine: [code][{name, publicKey}][/code] of every key, sorted by name.
func list() -> PkarrResult:
	var out: Array = []
	for key_name: String in _names():
		var found := await get_key(key_name)
		if found.is_ok():
			out.append({"name": key_name, "publicKey": found.value["publicKey"]})
	return PkarrResult.success(out)


## [code]{deleted: bool}[/code]: removes [param key_name].
func delete(key_name: String) -> PkarrResult:
	var bad := _check_name(key_name)
	if bad != null:
		return bad
	_public_keys.erase(key_name)
	if not FileAccess.file_exists(_path(key_name)):
		return PkarrResult.success({"deleted": false})
	var err := DirAccess.remove_absolute(_path(key_name))
	if err != OK:
		return PkarrResult.failure("IO_ERROR", "cannot delete %s: %s" % [_path(key_name), error_string(err)])
	return PkarrResult.success({"deleted": true})


func _store(key_name: String, secret_seed: PackedByteArray) -> PkarrResult:
	var err := DirAccess.make_dir_recursive_absolute(directory)
	if err != OK and not DirAccess.dir_exists_absolute(directory):
		return PkarrResult.failure("IO_ERROR", "cannot create %s: %s" % [directory, error_string(err)])
	var temp := _path(key_name) + ".tmp"
	var file := FileAccess.open(temp, FileAccess.WRITE)
	if file == null:
		return PkarrResult.failure("IO_ERROR", "cannot write %s: %s"
				% [temp, error_string(FileAccess.get_open_error())])
	if _has_unix_permissions():
		# Owner-only before the secret is written, as the sidecar's 0600 files (Android, iOS,
		# Linux, macOS; the web and Windows have no Unix permissions).
		err = FileAccess.set_unix_permissions(ProjectSettings.globalize_path(temp),
				FileAccess.UNIX_READ_OWNER | FileAccess.UNIX_WRITE_OWNER)
		if err != OK:
			file.close()
			DirAccess.remove_absolute(temp)
			return PkarrResult.failure("IO_ERROR", "cannot make %s owner-only: %s" % [temp, error_string(err)])
	file.store_string(PkarrBytes.to_hex(secret_seed) + "\n")
	file.close()
	err = DirAccess.rename_absolute(temp, _path(key_name))
	if err != OK:
		return PkarrResult.failure("IO_ERROR", "cannot write %s: %s" % [_path(key_name), error_string(err)])
	var public_key := PkarrZ32.encode(await _signatures.public_key_from_seed(secret_seed))
	_public_keys[key_name] = public_key
	return PkarrResult.success({"name": key_name, "publicKey": public_key})


static func _has_unix_permissions() -> bool:
	return not OS.has_feature("web") and OS.get_name() != "Windows"


func _read_seed(key_name: String) -> PackedByteArray:
	if not FileAccess.file_exists(_path(key_name)):
		return PackedByteArray()
	var text := FileAccess.get_file_as_string(_path(key_name)).strip_edges().to_lower()
	if text.length() != 64 or not PkarrBytes.is_hex(text):
		push_warning("Pkarr: %s is not a key file (64 hex characters); ignored" % _path(key_name))
		return PackedByteArray()
	return PkarrBytes.from_hex(text)


func _names() -> PackedStringArray:
	var names := PackedStringArray()
	if not DirAccess.dir_exists_absolute(directory):
		return names
	for file_name: String in DirAccess.get_files_at(directory):
		if file_name.ends_with(".key") and _name_regex.search(file_name.trim_suffix(".key")) != null:
			names.append(file_name.trim_suffix(".key"))
	names.sort()
	return names


func _path(key_name: String) -> String:
	return "%s/%s.key" % [directory, key_name]


func _check_name(key_name: String) -> PkarrResult:
	if _name_regex.search(key_name) != null:
		return null
	return PkarrResult.invalid_params("name", "invalid key name %s: expected 1-64 characters from A-Z a-z 0-9 _ . -"
			% JSON.stringify(key_name))
