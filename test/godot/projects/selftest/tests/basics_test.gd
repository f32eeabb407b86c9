extends PkarrTestCase
## Synchronous assertions of every kind.


func test_equality() -> void:
	assert_eq(1 + 1, 2)
	assert_eq(2.0, 2, "int and float compare equal")
	assert_eq([1, "a", {"k": true}], [1, "a", {"k": true}])
	assert_ne("1", 1, "a String is never an int")
	assert_ne(1, 2)


func test_booleans_and_null() -> void:
	assert_true(true)
	assert_false(false)
	assert_null(null)
	assert_not_null(RefCounted.new())


func test_has() -> void:
	assert_has([1, 2, 3], 2)
	assert_has({"a": 1}, "a")
	assert_has("pkarr-godot", "godot")
	assert_has(PackedStringArray(["x", "y"]), "y")


func test_json_numbers_are_floats() -> void:
	var parsed: Variant = JSON.parse_string('{"id": 7, "list": [1, 2], "name": "x"}')
	assert_eq(typeof(parsed["id"]), TYPE_FLOAT, "Godot's JSON parser reads every number as a float")
	assert_eq(parsed, {"id": 7, "list": [1, 2], "name": &"x"}, "deep equality: int == float")
	assert_ne(parsed, {"id": 7, "list": [1, 2, 3], "name": "x"})
	assert_eq(["a"] as Array[String], ["a"], "typed and untyped arrays compare by content")


func test_skipped() -> void:
	skip("shows the SKIP directive")
