@tool
class_name PkarrSidecarPackage
extends RefCounted
## The compressed sidecar the addon zip ships, and how it becomes an executable.
##
## The release zip carries [code]bin/<platform>/pkarr-sidecar.zst[/code] (Zstandard) and its
## manifest [code]pkarr-sidecar.json[/code] in place of the 100+ MB executable. On first use the
## addon unpacks it into [code]user://[/code]: decompress, check size and SHA-256 against the
## manifest, write it under a temporary name, make it executable, rename it into place, and
## only then record the hash next to it. Later starts find it by that record and run it as is.
## [br][br]
## [method read_manifest] and [method unpack] are pure (tested in the web engine on a real
## compressed sidecar); [method install] writes files.

## Manifest file name next to the packed sidecar.
const MANIFEST_NAME := "pkarr-sidecar.json"
## Extension of the packed sidecar (Zstandard frame).
const PACKED_EXTENSION := "zst"
## The only manifest format this addon reads.
const MANIFEST_FORMAT := 1
## Characters of the SHA-256 naming the folder an unpacked sidecar lives in.
const DIR_HASH_CHARS := 16
## rwxr-xr-x, set before the unpacked sidecar is moved into place.
const EXECUTABLE_PERMISSIONS := (FileAccess.UNIX_READ_OWNER | FileAccess.UNIX_WRITE_OWNER
		| FileAccess.UNIX_EXECUTE_OWNER | FileAccess.UNIX_READ_GROUP
		| FileAccess.UNIX_EXECUTE_GROUP | FileAccess.UNIX_READ_OTHER
		| FileAccess.UNIX_EXECUTE_OTHER)


## The manifest at [param path] as [code]{manifest, error}[/code]: [code]manifest[/code] has
## [code]file[/code], [code]size[/code] (int), [code]sha256[/code] (lowercase hex),
## [code]packed_size[/code] and [code]packed_sha256[/code]; [code]error[/code] says what is wrong, empty when nothing is.
static func read_manifest(path: String) -> Dictionary:
	if not FileAccess.file_exists(path):
		return {"manifest": {}, "error": "no sidecar manifest at %s" % path}
	return parse_manifest(FileAccess.get_file_as_string(path))


## [method read_manifest] on the manifest's text.
static func parse_manifest(text: String) -> Dictionary:
	var json := JSON.new()
	if json.parse(text) != OK or not json.data is Dictionary:
		return _bad("the sidecar manifest is not a JSON object")
	var data: Dictionary = json.data
	if PkarrJson.to_int(data.get("format", 0)) != MANIFEST_FORMAT:
		return _bad("the sidecar manifest has format %s, this addon reads %d" % [
				str(data.get("format")), MANIFEST_FORMAT])
	if str(data.get("compression", "")) != "zstd":
		return _bad("the sidecar manifest names compression %s, not zstd" % str(data.get("compression")))
	var file := str(data.get("file", ""))
	if not file in [PkarrSidecarLocator.BINARY_BASE_NAME, PkarrSidecarLocator.BINARY_BASE_NAME + ".exe"]:
		return _bad("the sidecar manifest names the file %s" % JSON.stringify(file))
	var size := PkarrJson.to_int(data.get("size", 0))
	var packed_size := PkarrJson.to_int(data.get("packed_size", 0))
	if size <= 0 or packed_size <= 0:
		return _bad("the sidecar manifest has no valid size / packed_size")
	var sha := str(data.get("sha256", "")).to_lower()
	var packed_sha := str(data.get("packed_sha256", "")).to_lower()
	if sha.length() != 64 or not _is_hex(sha):
		return _bad("the sidecar manifest has no valid sha256")
	if packed_sha.length() != 64 or not _is_hex(packed_sha):
		return _bad("the sidecar manifest has no valid packed_sha256")
	return {"manifest": {"file": file, "size": size, "sha256": sha, "packed_size": packed_size,
			"packed_sha256": packed_sha}, "error": ""}


## Checks [param packed] against [param manifest] (from [method read_manifest]), decompresses
## it and checks the result: [code]{bytes, error}[/code], [code]bytes[/code] empty on error.
## The packed bytes are checked (size, SHA-256) before zstd sees them: Godot 4.6's
## [method PackedByteArray.decompress] does not fail cleanly on a damaged frame (the web build
## even aborts, reading zstd's error code as a 4 GB size).
static func unpack(packed: PackedByteArray, manifest: Dictionary) -> Dictionary:
	if packed.size() != int(manifest["packed_size"]):
		return {"bytes": PackedByteArray(), "error": "the packed sidecar has %d bytes, the manifest says %d" % [
				packed.size(), int(manifest["packed_size"])]}
	var packed_digest := sha256_hex(packed)
	if packed_digest != manifest["packed_sha256"]:
		return {"bytes": PackedByteArray(), "error": "the packed sidecar's SHA-256 is %s, the manifest says %s" % [
				packed_digest, manifest["packed_sha256"]]}
	var bytes := packed.decompress(int(manifest["size"]), FileAccess.COMPRESSION_ZSTD)
	if bytes.size() != int(manifest["size"]):
		return {"bytes": PackedByteArray(), "error": "the packed sidecar unpacked to %d bytes, the manifest says %d" % [
				bytes.size(), int(manifest["size"])]}
	var digest := sha256_hex(bytes)
	if digest != manifest["sha256"]:
		return {"bytes": PackedByteArray(), "error": "the unpacked sidecar's SHA-256 is %s, the manifest says %s" % [
				digest, manifest["sha256"]]}
	return {"bytes": bytes, "error": ""}


## Lowercase hex SHA-256 of [param bytes].
static func sha256_hex(bytes: PackedByteArray) -> String:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_SHA256)
	ctx.update(bytes)
	return ctx.finish().hex_encode()


## Where [method install] puts the sidecar of [param manifest] under [param root]:
## [code]<root>/<first 16 hex of its SHA-256>/<file>[/code].
static func install_path(root: String, manifest: Dictionary) -> String:
	return root.path_join(str(manifest["sha256"]).left(DIR_HASH_CHARS)).path_join(manifest["file"])


## Makes sure the packed sidecar [param packed_path] (manifest [param manifest_path]) is unpacked
## under the folder [param root] (an absolute path or [code]user://[/code]).
## Returns [code]{path, unpacked, error}[/code]: [code]path[/code] is the executable (empty on
## error), [code]unpacked[/code] is [code]true[/code] when this call wrote it. A sidecar already
## there is used when its recorded hash and its size match the manifest. After an unpack, the
## folders of other versions under [param root] are deleted.
static func install(packed_path: String, manifest_path: String, root: String) -> Dictionary:
	var read := read_manifest(manifest_path)
	if read["error"] != "":
		return _failed(read["error"])
	var manifest: Dictionary = read["manifest"]
	var path := install_path(root, manifest)
	var record := path + ".sha256"
	if FileAccess.file_exists(path) and FileAccess.file_exists(record) \
			and FileAccess.get_file_as_string(record).strip_edges() == manifest["sha256"] \
			and _file_size(path) == int(manifest["size"]):
		return {"path": path, "unpacked": false, "error": ""}
	var packed := FileAccess.get_file_as_bytes(packed_path)
	if packed.is_empty():
		return _failed("cannot read the packed sidecar %s (%s)" % [packed_path,
				error_string(FileAccess.get_open_error())])
	var result := unpack(packed, manifest)
	if result["error"] != "":
		return _failed("%s: %s" % [packed_path, result["error"]])
	var err := DirAccess.make_dir_recursive_absolute(path.get_base_dir())
	if err != OK:
		return _failed("cannot create %s: %s" % [path.get_base_dir(), error_string(err)])
	var temp := "%s.part-%d" % [path, OS.get_process_id()]
	var file := FileAccess.open(temp, FileAccess.WRITE)
	if file == null:
		return _failed("cannot write %s: %s" % [temp, error_string(FileAccess.get_open_error())])
	file.store_buffer(result["bytes"])
	file.close()
	if _file_size(temp) != int(manifest["size"]):
		DirAccess.remove_absolute(temp)
		return _failed("writing %s stopped short (disk full?)" % temp)
	if OS.get_name() != "Windows":
		FileAccess.set_unix_permissions(temp, EXECUTABLE_PERMISSIONS)
	if FileAccess.file_exists(path):
		DirAccess.remove_absolute(path)
	err = DirAccess.rename_absolute(temp, path)
	if err != OK:
		DirAccess.remove_absolute(temp)
		return _failed("cannot move the sidecar to %s: %s" % [path, error_string(err)])
	var stamp := FileAccess.open(record, FileAccess.WRITE)
	if stamp == null:
		return _failed("cannot write %s: %s" % [record, error_string(FileAccess.get_open_error())])
	stamp.store_string(manifest["sha256"])
	stamp.close()
	_remove_other_versions(root, path.get_base_dir().get_file())
	return {"path": path, "unpacked": true, "error": ""}


# Deletes the folders of earlier unpacked versions under `root` (all but `keep`). One that is
# still running (Windows locks it) stays, with a warning; the next unpack tries again.
static func _remove_other_versions(root: String, keep: String) -> void:
	for folder: String in DirAccess.get_directories_at(root):
		if folder == keep:
			continue
		var dir := root.path_join(folder)
		for file: String in DirAccess.get_files_at(dir):
			DirAccess.remove_absolute(dir.path_join(file))
		if DirAccess.remove_absolute(dir) != OK:
			push_warning("Pkarr: could not remove the old sidecar folder %s" % dir)


static func _is_hex(text: String) -> bool:
	for c: String in text:
		if not c in "0123456789abcdef":
			return false
	return true


static func _file_size(path: String) -> int:
	var file := FileAccess.open(path, FileAccess.READ)
	return -1 if file == null else file.get_length()


static func _bad(message: String) -> Dictionary:
	return {"manifest": {}, "error": message}


static func _failed(message: String) -> Dictionary:
	return {"path": "", "unpacked": false, "error": message}
