extends PkarrTestCase
## A test that never finishes: the runner must fail it after its timeout and go on.


func test_never_finishes() -> void:
	timeout_sec = 1.0
	await tree.create_timer(3600.0).timeout
	fail("unreachable")


func test_runs_after_the_hang() -> void:
	assert_true(true, "the runner moved on")
