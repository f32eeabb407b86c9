extends PkarrTestCase
## Coroutine tests, hooks and shared suite state.

var _order: Array[String] = []


func before_all() -> void:
	await wait_frames(1)
	shared["from_before_all"] = 42


func before_each() -> void:
	_order.append("before_each")


func test_awaits_a_timer() -> void:
	# Only game time is guaranteed: a timer created during a frame is already advanced by that
	# frame's delta, and on a loaded machine one delta can exceed the whole wait.
	var timer: SceneTreeTimer = tree.create_timer(0.25)
	await timer.timeout
	assert_eq(timer.time_left, 0.0, "resumed by the timer's timeout")
	assert_eq(_order, ["before_each"] as Array[String])


func test_awaits_frames() -> void:
	var before: int = Engine.get_process_frames()
	await wait_frames(3)
	assert_eq(Engine.get_process_frames() - before, 3)


func test_shared_state_from_before_all() -> void:
	await wait_seconds(0.05)
	assert_eq(shared.get("from_before_all"), 42)


func test_waits_for_a_signal() -> void:
	var counter: SelftestCounter = SelftestCounter.new()
	var bump_later: Callable = func() -> void:
		await wait_frames(2)
		counter.bump(5)
	bump_later.call()
	assert_true(await wait_for_signal(counter.bumped, 2.0), "bumped fired")
	assert_eq(last_signal_args, [5])


func test_wait_until() -> void:
	var node: Node = add_child_autofree(Node.new())
	assert_true(node.is_inside_tree())
	var done_at: int = Time.get_ticks_msec() + 100
	assert_true(await wait_until(func() -> bool: return Time.get_ticks_msec() >= done_at, 2.0))
