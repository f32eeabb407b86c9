extends SignatureCases
## PkarrSignatures forced onto the pure-GDScript path (the SignatureCases), plus its worker-task
## branch.


func _pure() -> bool:
	return true


## The branch taken where OS.has_feature("threads"): this web build has no threads, so it is
## forced and WorkerThreadPool runs the task on the main thread; what is checked is the hand-over
## (task, frame polling, result box).
func test_the_worker_branch_returns_the_results() -> void:
	timeout_sec = 30.0
	var s := PkarrSignatures.new()
	s.force_pure = true
	s._assume_threads = true
	var v: Dictionary = CryptoVectors.load_list("rfc8032")[1] # TEST 2
	var seed: PackedByteArray = CryptoVectors.hex(v["seed"])
	var msg: PackedByteArray = CryptoVectors.hex(v["message"])
	var public_key: PackedByteArray = await s.public_key_from_seed(seed)
	assert_eq(public_key.hex_encode(), v["public_key"])
	var signature: PackedByteArray = await s.sign(seed, msg)
	assert_eq(signature.hex_encode(), v["signature"])
	assert_true(await s.verify(public_key, msg, signature))
	assert_false(await s.verify(public_key, msg, CryptoVectors.flipped(signature, 2)))
	assert_eq(s.last_path, "gdscript")
