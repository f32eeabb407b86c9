extends Node
## Runs [PkarrTestCase] suites and prints the results as TAP version 14.
##
## Suites come from the [code]suites[/code] array of [code]res://test_config.json[/code], or
## else every [code]res://tests/*_test.gd[/code] in name order. Each test prints
## [code]ok N - suite: test[/code] or [code]not ok N - suite: test[/code] followed by a
## YAML-ish diagnostic block. The plan line [code]1..N[/code] comes last, then the completion
## marker [code]# pkarr-tests done: P passed, F failed, S skipped[/code], then the game quits
## with exit code 1 if anything failed.
## [br][br]
## Config keys read here: [code]suites[/code] (Array of res:// paths), [code]suite_dir[/code],
## [code]filter[/code] (substring of "suite: test"), [code]test_timeout_sec[/code] (default 10).

## Where the test host puts its configuration.
const CONFIG_PATH: String = "res://test_config.json"
## Default folder scanned for [code]*_test.gd[/code].
const DEFAULT_SUITE_DIR: String = "res://tests"
## First words of the completion marker line.
const DONE_MARKER: String = "# pkarr-tests done:"

var _config: Dictionary = {}
var _count: int = 0
var _passed: int = 0
var _failed: int = 0
var _skipped: int = 0


func _ready() -> void:
	_run.call_deferred()


func _run() -> void:
	await _settle_frames()
	print("TAP version 14")
	_config = _load_config()
	for path: String in _discover_suites():
		await _run_suite(path)
	print("1..%d" % _count)
	print("%s %d passed, %d failed, %d skipped" % [DONE_MARKER, _passed, _failed, _skipped])
	get_tree().quit(1 if _failed > 0 else 0)


## The first frames after boot carry the loading time as their delta, which would make the
## first test's timers fire early: wait (at most 2 s) until a few frames in a row are short.
func _settle_frames() -> void:
	var calm: int = 0
	var deadline: int = Time.get_ticks_msec() + 2000
	while calm < 3 and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
		calm = calm + 1 if get_process_delta_time() < 0.05 else 0


func _load_config() -> Dictionary:
	if not FileAccess.file_exists(CONFIG_PATH):
		return {}
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(CONFIG_PATH))
	if parsed is Dictionary:
		return parsed
	push_error("test runner: %s is not a JSON object" % CONFIG_PATH)
	return {}


func _discover_suites() -> PackedStringArray:
	var listed: Variant = _config.get("suites")
	if listed is Array:
		return PackedStringArray(listed)
	var dir_path: String = _config.get("suite_dir", DEFAULT_SUITE_DIR)
	var found: PackedStringArray = []
	for file: String in DirAccess.get_files_at(dir_path):
		var name: String = file.trim_suffix(".remap")
		if name.ends_with("_test.gd"):
			found.append(dir_path.path_join(name))
	found.sort()
	return found


func _run_suite(path: String) -> void:
	var suite: String = path.get_file().trim_suffix(".gd").trim_suffix("_test")
	print("# suite %s (%s)" % [suite, path])
	var script: GDScript = load(path) as GDScript
	if script == null or not script.can_instantiate():
		_report(suite, "load", [{"message": "could not load or parse " + path}], false, "")
		return
	var probe: Object = script.new()
	if not probe is PkarrTestCase:
		_report(suite, "load", [{"message": path + " does not extend PkarrTestCase"}], false, "")
		return
	var tests: PackedStringArray = []
	for method: Dictionary in script.get_script_method_list():
		var method_name: String = method["name"]
		if method_name.begins_with("test_") and not method_name in tests:
			tests.append(method_name)
	var filter: String = str(_config.get("filter", ""))
	var shared: Dictionary = {}
	var hooks: PkarrTestCase = _prepare(probe as PkarrTestCase, suite, "before_all", shared)
	var setup_ok: bool = await _invoke(hooks, "before_all")
	for test: String in tests:
		if filter != "" and not ("%s: %s" % [suite, test]).contains(filter):
			continue
		if hooks._skipped:
			_report(suite, test, [], true, hooks._skip_reason)
		elif not setup_ok or not hooks._failures.is_empty():
			var why: Array[Dictionary] = [{"message": "before_all failed"}]
			why.append_array(hooks._failures)
			_report(suite, test, why, false, "")
		else:
			await _run_test(script, suite, test, shared)
	hooks.test_name = "after_all"
	hooks._failures.clear()
	if not await _invoke(hooks, "after_all") or not hooks._failures.is_empty():
		var why: Array[Dictionary] = [{"message": "after_all failed"}]
		why.append_array(hooks._failures)
		_report(suite, "after_all", why, false, "")


func _run_test(script: GDScript, suite: String, test: String, shared: Dictionary) -> void:
	var case: PkarrTestCase = _prepare(script.new() as PkarrTestCase, suite, test, shared)
	var ran_body: bool = false
	if await _invoke(case, "before_each") and case._failures.is_empty() and not case._skipped:
		ran_body = true
		await _invoke(case, test)
	if not ran_body and not case._skipped and case._failures.is_empty():
		case._failures.append({"message": "before_each did not finish"})
	await _invoke(case, "after_each")
	case._free_autofree()
	var skipped: bool = case._skipped and case._failures.is_empty()
	_report(suite, test, case._failures, skipped, case._skip_reason)


func _prepare(case: PkarrTestCase, suite: String, test: String, shared: Dictionary) -> PkarrTestCase:
	case.tree = get_tree()
	case.config = _config
	case.shared = shared
	case.suite_name = suite
	case.test_name = test
	case.timeout_sec = float(_config.get("test_timeout_sec", case.timeout_sec))
	return case


## Runs [param method] on [param case] with the case's timeout. Returns false on timeout
## (and records the timeout as a failure).
func _invoke(case: PkarrTestCase, method: String) -> bool:
	var pending: PendingCall = PendingCall.new()
	var started: int = Time.get_ticks_msec()
	pending.start(case, StringName(method))
	while not pending.done:
		if Time.get_ticks_msec() - started > int(case.timeout_sec * 1000.0):
			case._failures.append({"message": "%s timed out after %.1f s" % [method, case.timeout_sec]})
			return false
		await get_tree().process_frame
	return true


func _report(suite: String, test: String, failures: Array[Dictionary], skipped: bool, reason: String) -> void:
	_count += 1
	var title: String = "%d - %s: %s" % [_count, suite, test]
	if skipped:
		_skipped += 1
		print("ok %s # SKIP %s" % [title, reason])
		return
	if failures.is_empty():
		_passed += 1
		print("ok " + title)
		return
	_failed += 1
	print("not ok " + title)
	print("  ---")
	print("  failures:")
	for failure: Dictionary in failures:
		var prefix: String = "    - "
		for key: String in failure:
			print("%s%s: %s" % [prefix, key, _yaml_scalar(str(failure[key]))])
			prefix = "      "
	print("  ...")


func _yaml_scalar(value: String) -> String:
	if value == "" or value.contains(": ") or value.contains("#") or value.begins_with("\""):
		return JSON.stringify(value)
	return value.replace("\n", "\\n")


## Tracks one (possibly asynchronous) call so the runner can stop waiting after a timeout.
class PendingCall:
	extends RefCounted
	## True once the called method (or coroutine) has returned.
	var done: bool = false

	## Calls [param method] on [param target] and awaits it if it is a coroutine.
	func start(target: Object, method: StringName) -> void:
		await target.call(method)
		done = true
