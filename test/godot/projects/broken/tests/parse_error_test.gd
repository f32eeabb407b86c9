extends PkarrTestCase
## Deliberately does not parse (test/godot-engine.test.ts expects the parse error).


func test_never_runs() -> void:
	var broken: int = 1 +
