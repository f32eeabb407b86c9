class_name PkarrTestCase
extends RefCounted
## Base class for GDScript test suites run by [code]res://test_runner/test_main.gd[/code].
##
## A suite is a script named [code]*_test.gd[/code] that extends this class. Every method whose
## name starts with [code]test_[/code] is a test; it may be a coroutine ([code]await[/code]).
## Each test runs on a fresh instance of the suite: [method before_each], the test, then
## [method after_each]. [method before_all] and [method after_all] run once per suite on their
## own instance; use [member shared] to pass state from them to the tests.
## [br][br]
## Assertions record a failure and let the test go on; they return [code]true[/code] when they
## pass, so a test can stop early: [code]if not assert_not_null(x): return[/code].
## A test that runs longer than [member timeout_sec] fails and the runner moves on.
## [codeblock]
## extends PkarrTestCase
##
## func test_adds() -> void:
##     assert_eq(1 + 1, 2)
##
## func test_waits() -> void:
##     await wait_seconds(0.1)
##     assert_true(true, "resumed after the timer")
## [/codeblock]

const _NUMERIC: Array[int] = [TYPE_INT, TYPE_FLOAT]
const _STRINGS: Array[int] = [TYPE_STRING, TYPE_STRING_NAME]

## Seconds a test (or hook) may take before it is failed. A test may raise it as its first step.
var timeout_sec: float = 10.0
## Contents of [code]res://test_config.json[/code] (ports, tokens, ... passed in by the host).
var config: Dictionary = {}
## State shared by all instances of one suite (filled e.g. in [method before_all]).
var shared: Dictionary = {}
## The running scene tree.
var tree: SceneTree
## Name of the suite (file name without [code]_test.gd[/code]).
var suite_name: String = ""
## Name of the running test method (or hook).
var test_name: String = ""
## Arguments of the last signal caught by [method wait_for_signal].
var last_signal_args: Array = []

var _failures: Array[Dictionary] = []
var _skip_reason: String = ""
var _skipped: bool = false
var _autofree: Array[Node] = []
var _signal_fired: bool = false


## Runs once per suite before its first test (on a separate instance). May be a coroutine.
func before_all() -> void:
	pass


## Runs once per suite after its last test (on a separate instance). May be a coroutine.
func after_all() -> void:
	pass


## Runs before each test, on the test's instance. May be a coroutine.
func before_each() -> void:
	pass


## Runs after each test (also after a failed one). May be a coroutine.
func after_each() -> void:
	pass


## Fails the running test unless [param actual] equals [param expected].
## Values of different types are never equal, except [int] with [float] and [String] with
## [StringName]; arrays (typed or not) and dictionaries are compared element by element with the
## same rule, so JSON-parsed data (every number a [float]) equals literals written with ints.
func assert_eq(actual: Variant, expected: Variant, message: String = "") -> bool:
	if _values_equal(actual, expected):
		return true
	_record("assert_eq", message, {"expected": _repr(expected), "actual": _repr(actual)})
	return false


## Fails the running test if [param actual] equals [param unexpected].
func assert_ne(actual: Variant, unexpected: Variant, message: String = "") -> bool:
	if not _values_equal(actual, unexpected):
		return true
	_record("assert_ne", message, {"unexpected": _repr(unexpected), "actual": _repr(actual)})
	return false


## Fails the running test unless [param condition] is [code]true[/code].
func assert_true(condition: bool, message: String = "") -> bool:
	if condition:
		return true
	_record("assert_true", message, {"expected": "true", "actual": "false"})
	return false


## Fails the running test unless [param condition] is [code]false[/code].
func assert_false(condition: bool, message: String = "") -> bool:
	if not condition:
		return true
	_record("assert_false", message, {"expected": "false", "actual": "true"})
	return false


## Fails the running test unless [param value] is [code]null[/code].
func assert_null(value: Variant, message: String = "") -> bool:
	if value == null:
		return true
	_record("assert_null", message, {"expected": "null", "actual": _repr(value)})
	return false


## Fails the running test if [param value] is [code]null[/code] (or a freed object).
func assert_not_null(value: Variant, message: String = "") -> bool:
	if value != null and not (value is Object and not is_instance_valid(value)):
		return true
	_record("assert_not_null", message, {"expected": "not null", "actual": "null"})
	return false


## Fails the running test unless [param container] holds [param item]: an element of an
## [Array] or packed array, a key of a [Dictionary], or a substring of a [String].
func assert_has(container: Variant, item: Variant, message: String = "") -> bool:
	var found: bool = false
	match typeof(container):
		TYPE_DICTIONARY:
			found = (container as Dictionary).has(item)
		TYPE_STRING, TYPE_STRING_NAME:
			found = typeof(item) in [TYPE_STRING, TYPE_STRING_NAME] and str(container).contains(str(item))
		TYPE_ARRAY:
			for element: Variant in container:
				if _values_equal(element, item):
					found = true
					break
		_:
			if typeof(container) >= TYPE_PACKED_BYTE_ARRAY:
				found = Array(container).any(func(e: Variant) -> bool: return _values_equal(e, item))
	if found:
		return true
	_record("assert_has", message, {"container": _repr(container), "missing": _repr(item)})
	return false


## Fails the running test unconditionally.
func fail(message: String) -> void:
	_record("fail", message, {})


## Marks the running test as skipped (call it, then [code]return[/code]). In
## [method before_all] it skips the whole suite, in [method before_each] the test.
func skip(reason: String = "") -> void:
	_skipped = true
	_skip_reason = reason


## Coroutine: waits [param seconds] of real time.
func wait_seconds(seconds: float) -> void:
	await tree.create_timer(seconds, true, false, true).timeout


## Coroutine: waits [param count] process frames.
func wait_frames(count: int = 1) -> void:
	for i: int in count:
		await tree.process_frame


## Coroutine: polls [param condition] every frame until it returns [code]true[/code] or
## [param timeout] seconds pass. Returns whether the condition became true.
func wait_until(condition: Callable, timeout: float = 5.0) -> bool:
	var deadline: int = Time.get_ticks_msec() + int(timeout * 1000.0)
	while not condition.call():
		if Time.get_ticks_msec() > deadline:
			return false
		await tree.process_frame
	return true


## Coroutine: waits until [param sig] is emitted or [param timeout] seconds pass. Returns
## whether it fired; its arguments are then in [member last_signal_args].
func wait_for_signal(sig: Signal, timeout: float = 5.0) -> bool:
	_signal_fired = false
	last_signal_args = []
	sig.connect(_on_waited_signal, CONNECT_ONE_SHOT)
	var fired: bool = await wait_until(func() -> bool: return _signal_fired, timeout)
	if sig.is_connected(_on_waited_signal):
		sig.disconnect(_on_waited_signal)
	return fired


## Adds [param node] to the scene root for the running test and frees it after the test.
func add_child_autofree(node: Node) -> Node:
	_autofree.append(node)
	tree.root.add_child(node)
	return node


func _on_waited_signal(...args: Array) -> void:
	_signal_fired = true
	last_signal_args = args


func _values_equal(a: Variant, b: Variant) -> bool:
	var ta: int = typeof(a)
	var tb: int = typeof(b)
	if ta in _NUMERIC and tb in _NUMERIC:
		return a == b
	if ta in _STRINGS and tb in _STRINGS:
		return str(a) == str(b)
	if ta != tb:
		return false
	if ta == TYPE_ARRAY:
		var left: Array = a
		var right: Array = b
		if left.size() != right.size():
			return false
		for i: int in left.size():
			if not _values_equal(left[i], right[i]):
				return false
		return true
	if ta == TYPE_DICTIONARY:
		var left_dict: Dictionary = a
		var right_dict: Dictionary = b
		if left_dict.size() != right_dict.size():
			return false
		for key: Variant in left_dict:
			if not right_dict.has(key) or not _values_equal(left_dict[key], right_dict[key]):
				return false
		return true
	return a == b


func _repr(value: Variant) -> String:
	if value is Object:
		return str(value)
	return var_to_str(value).replace("\n", "\\n")


func _record(kind: String, message: String, details: Dictionary) -> void:
	var failure: Dictionary = {"message": message if message != "" else kind + " failed"}
	failure.merge(details)
	var at: String = _caller_location()
	if at != "":
		failure["at"] = at
	_failures.append(failure)


func _caller_location() -> String:
	for frame: Dictionary in get_stack():
		var source: String = frame.get("source", "")
		if source != "" and not source.ends_with("pkarr_test_case.gd"):
			return "%s:%d" % [source, frame.get("line", 0)]
	return ""


func _free_autofree() -> void:
	for node: Node in _autofree:
		if is_instance_valid(node):
			node.queue_free()
	_autofree.clear()
