extends PkarrTestCase
## PkarrSidecarPackage on a real packed sidecar: the linux-x64 executable compressed by
## scripts/sea/compress.ts, placed by test/sea-unpack-engine.test.ts at
## res://addons/pkarr/bin/linux-x64/ (pkarr-sidecar.zst + pkarr-sidecar.json). The Node test
## passes the executable's size and SHA-256, computed from the file it built, in the config.

const BIN := "res://addons/pkarr/bin/linux-x64/"
const PACKED := BIN + "pkarr-sidecar.zst"
const MANIFEST := BIN + "pkarr-sidecar.json"


func _manifest() -> Dictionary:
	var read := PkarrSidecarPackage.read_manifest(MANIFEST)
	assert_eq(read["error"], "")
	return read["manifest"]


func test_the_manifest_is_read_and_checked() -> void:
	var manifest := _manifest()
	assert_eq(manifest["file"], "pkarr-sidecar")
	assert_eq(manifest["size"], int(config["size"]))
	assert_eq(manifest["sha256"], str(config["sha256"]))
	var good: Dictionary = JSON.parse_string(FileAccess.get_file_as_string(MANIFEST))
	var cases := {
		"not json": "not a JSON object",
		"[1, 2]": "not a JSON object",
	}
	for text: String in cases:
		assert_has(PkarrSidecarPackage.parse_manifest(text)["error"], cases[text], text)
	var broken := {
		"format": [2, "format 2"],
		"compression": ["gzip", "not zstd"],
		"file": ["../../bin/sh", "names the file"],
		"size": [0, "size"],
		"packed_size": [-5, "packed_size"],
		"sha256": ["abc", "sha256"],
		"packed_sha256": [null, "packed_sha256"],
	}
	for field: String in broken:
		var changed := good.duplicate()
		changed[field] = broken[field][0]
		var result := PkarrSidecarPackage.parse_manifest(JSON.stringify(changed))
		assert_has(result["error"], broken[field][1], field)
		assert_eq(result["manifest"], {}, field)
	var not_hex := good.duplicate()
	not_hex["sha256"] = "g".repeat(64)
	assert_has(PkarrSidecarPackage.parse_manifest(JSON.stringify(not_hex))["error"], "sha256")
	assert_has(PkarrSidecarPackage.read_manifest(BIN + "missing.json")["error"], "no sidecar manifest")


func test_a_real_packed_sidecar_unpacks_to_the_built_executable() -> void:
	timeout_sec = 60.0
	var manifest := _manifest()
	var packed := FileAccess.get_file_as_bytes(PACKED)
	assert_eq(packed.size(), manifest["packed_size"])
	var started := Time.get_ticks_msec()
	var result := PkarrSidecarPackage.unpack(packed, manifest)
	print("# figure: unpack (zstd + SHA-256) of %d -> %d bytes in the web engine: %d ms" % [
			packed.size(), int(result["bytes"].size()), Time.get_ticks_msec() - started])
	assert_eq(result["error"], "")
	var bytes: PackedByteArray = result["bytes"]
	assert_eq(bytes.size(), int(config["size"]))
	# The SHA-256 Node computed of the executable it built, not only the manifest's claim.
	assert_eq(PkarrSidecarPackage.sha256_hex(bytes), str(config["sha256"]))
	assert_eq(bytes.slice(0, 4), PackedByteArray([0x7f, 0x45, 0x4c, 0x46]), "an ELF executable")


func test_a_hash_or_size_that_does_not_match_is_refused() -> void:
	timeout_sec = 60.0
	var manifest := _manifest()
	var packed := FileAccess.get_file_as_bytes(PACKED)
	var wrong_hash := manifest.duplicate()
	wrong_hash["sha256"] = "0".repeat(64)
	var result := PkarrSidecarPackage.unpack(packed, wrong_hash)
	assert_has(result["error"], "SHA-256")
	assert_eq(result["bytes"].size(), 0, "nothing is handed out")
	var wrong_packed_size := manifest.duplicate()
	wrong_packed_size["packed_size"] = packed.size() - 1
	assert_has(PkarrSidecarPackage.unpack(packed, wrong_packed_size)["error"], "packed sidecar has")
	# A flipped byte inside the packed file: its size still matches, its hash does not, and zstd
	# never sees it (Godot 4.6 web aborts on a damaged frame).
	var tampered := packed.duplicate()
	tampered[tampered.size() / 2] = tampered[tampered.size() / 2] ^ 0x01
	var tampered_result := PkarrSidecarPackage.unpack(tampered, manifest)
	assert_has(tampered_result["error"], "packed sidecar's SHA-256")
	assert_eq(tampered_result["bytes"].size(), 0)


func test_install_unpacks_once_and_reuses_it() -> void:
	timeout_sec = 90.0
	var root := "user://pkarr-sidecar-test/linux-x64"
	# What an earlier addon version left behind: removed once this one is unpacked.
	DirAccess.make_dir_recursive_absolute(root.path_join("0123456789abcdef"))
	var old := FileAccess.open(root.path_join("0123456789abcdef/pkarr-sidecar"), FileAccess.WRITE)
	old.store_string("an older sidecar")
	old.close()
	var first := PkarrSidecarPackage.install(PACKED, MANIFEST, root)
	assert_eq(first["error"], "")
	assert_true(first["unpacked"], "the first call unpacks")
	var path: String = first["path"]
	assert_eq(path, root.path_join(str(config["sha256"]).left(16)).path_join("pkarr-sidecar"))
	assert_eq(FileAccess.get_file_as_string(path + ".sha256"), str(config["sha256"]))
	var file := FileAccess.open(path, FileAccess.READ)
	assert_eq(file.get_length(), int(config["size"]))
	file.close()
	assert_false(FileAccess.file_exists(path + ".part-%d" % OS.get_process_id()), "no temp file left")
	assert_eq(DirAccess.get_directories_at(root), PackedStringArray([path.get_base_dir().get_file()]),
			"the older version's folder is gone")
	var second := PkarrSidecarPackage.install(PACKED, MANIFEST, root)
	assert_eq([second["path"], second["unpacked"], second["error"]], [path, false, ""],
			"an unpacked sidecar whose record matches is used as it is")
	# A record that does not match (an older or damaged unpack) makes it unpack again.
	var stamp := FileAccess.open(path + ".sha256", FileAccess.WRITE)
	stamp.store_string("0".repeat(64))
	stamp.close()
	var third := PkarrSidecarPackage.install(PACKED, MANIFEST, root)
	assert_eq([third["path"], third["unpacked"], third["error"]], [path, true, ""])
	assert_has(PkarrSidecarPackage.install(BIN + "missing.zst", MANIFEST, "user://other")["error"],
			"cannot read the packed sidecar")


func test_find_sidecar_unpacks_the_packed_addon_binary() -> void:
	timeout_sec = 90.0
	var env := {
		"os_name": "Linux", "arch": "x86_64", "editor": true, "setting_path": "",
		"project_dir": "res://", "user_dir": "user://locator-test", "executable_path": "",
		"path_env": "",
	}
	var found := PkarrSidecarLocator.find_sidecar(env)
	assert_eq(found["kind"], "addon_packed")
	assert_eq(found["path"], "user://locator-test/pkarr-sidecar/linux-x64/%s/pkarr-sidecar" % [
			str(config["sha256"]).left(16)])
	assert_has(found["tried"], "res://addons/pkarr/bin/linux-x64/pkarr-sidecar",
			"the executable itself was looked for first")
	assert_eq(PkarrSidecarPackage.sha256_hex(FileAccess.get_file_as_bytes(found["path"])),
			str(config["sha256"]))
