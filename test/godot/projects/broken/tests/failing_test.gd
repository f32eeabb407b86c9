extends PkarrTestCase
## Exactly one deliberately failing assertion (test/godot-engine.test.ts expects it).


func test_passes() -> void:
	assert_eq("pkarr", "pkarr")


func test_fails_on_purpose() -> void:
	assert_true(true)
	assert_eq(2 + 2, 5, "deliberate failure")
