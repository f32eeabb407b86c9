extends Node
## Ed25519 throughput in the web engine, run by bench/crypto-engine.bench.ts: pure GDScript
## (PkarrEd25519 inline) against WebCrypto (through PkarrSignatures), sequential and with many
## calls in flight; and one short-code scrypt (PkarrScrypt). Prints one "BENCH <json>" line, then "# crypto-bench done".

const BUDGET_USEC := 3_000_000
const WINDOW_USEC := 250_000
const IN_FLIGHT := 64

var _seed: PackedByteArray
var _public_key: PackedByteArray
var _message: PackedByteArray
var _signature: PackedByteArray


func _ready() -> void:
	for i in 32:
		_seed.append((i * 29 + 3) & 0xff)
	# A pkarr-sized signable: 3:seqi<ts>e1:v<len>: + a 300-byte DNS message.
	_message = "3:seqi1697016827303000e1:v300:".to_utf8_buffer()
	for i in 300:
		_message.append((i * 13) & 0xff)
	_public_key = PkarrEd25519.public_key_from_seed(_seed)
	_signature = PkarrEd25519.sign(_seed, _message)
	await get_tree().process_frame
	var results: Dictionary = {}
	var fail: Array[String] = []
	results["pure_verify"] = await _time_serial(func() -> bool:
		return PkarrEd25519.verify(_public_key, _message, _signature), fail, "pure verify")
	results["pure_sign"] = await _time_serial(func() -> bool:
		return PkarrEd25519.sign(_seed, _message) == _signature, fail, "pure sign")
	results["pure_public_key"] = await _time_serial(func() -> bool:
		return PkarrEd25519.public_key_from_seed(_seed) == _public_key, fail, "pure public key")
	results["pure_sha512_1k"] = await _time_serial(func() -> bool:
		return PkarrSha512.hash(_message + _message + _message).size() == 64, fail, "sha512")
	var web := PkarrSignatures.new()
	results["backend"] = await web.backend()
	results["webcrypto_verify_seq"] = await _time_serial(func() -> bool:
		return await web.verify(_public_key, _message, _signature), fail, "webcrypto verify")
	results["webcrypto_sign_seq"] = await _time_serial(func() -> bool:
		return await web.sign(_seed, _message) == _signature, fail, "webcrypto sign")
	results["webcrypto_verify_batch"] = await _time_batch(func() -> bool:
		return await web.verify(_public_key, _message, _signature), fail, "webcrypto verify batch")
	results["webcrypto_sign_batch"] = await _time_batch(func() -> bool:
		return await web.sign(_seed, _message) == _signature, fail, "webcrypto sign batch")
	var scrypt := PkarrScrypt.new()
	var expected_fingerprint: PackedByteArray = await scrypt.short_code_fingerprint(_public_key)
	results["scrypt_short_code"] = await _time_serial(func() -> bool:
		return await scrypt.short_code_fingerprint(_public_key) == expected_fingerprint \
				and expected_fingerprint.size() == 7, fail, "scrypt short code")
	results["failures"] = fail
	print("BENCH " + JSON.stringify(results))
	print("# crypto-bench done")
	get_tree().quit(0 if fail.is_empty() else 1)


## {ops, usec, best_usec_per_op}: awaits op one call after the other for about BUDGET_USEC, in
## windows of WINDOW_USEC; the best window shows the cost on a quiet core (this machine is shared).
## A synchronous op is awaited too (the await then returns at once).
func _time_serial(op: Callable, fail: Array[String], label: String) -> Dictionary:
	await op.call()
	var ops: int = 0
	var best: float = INF
	var start: int = Time.get_ticks_usec()
	var now: int = start
	while now - start < BUDGET_USEC or ops < 3:
		var window_start: int = now
		var window_ops: int = 0
		while now - window_start < WINDOW_USEC or window_ops < 1:
			if not await op.call():
				fail.append(label)
				return {"ops": 1, "usec": 1, "best_usec_per_op": 1}
			window_ops += 1
			now = Time.get_ticks_usec()
		ops += window_ops
		best = minf(best, float(now - window_start) / window_ops)
	return {"ops": ops, "usec": now - start, "best_usec_per_op": best}


## {ops, usec, best_usec_per_op}: batches of IN_FLIGHT calls started together, until the budget
## is spent; the best batch gives best_usec_per_op.
func _time_batch(op: Callable, fail: Array[String], label: String) -> Dictionary:
	var ops: int = 0
	var best: float = INF
	var start: int = Time.get_ticks_usec()
	while Time.get_ticks_usec() - start < BUDGET_USEC:
		var batch_start: int = Time.get_ticks_usec()
		var state: Dictionary = {"done": 0, "bad": 0}
		for i in IN_FLIGHT:
			_run_one(op, state)
		while state["done"] < IN_FLIGHT:
			await get_tree().process_frame
		if state["bad"] > 0:
			fail.append(label)
			break
		ops += IN_FLIGHT
		best = minf(best, float(Time.get_ticks_usec() - batch_start) / IN_FLIGHT)
	return {"ops": ops, "usec": Time.get_ticks_usec() - start, "best_usec_per_op": best}


func _run_one(op: Callable, state: Dictionary) -> void:
	var ok: bool = await op.call()
	if not ok:
		state["bad"] += 1
	state["done"] += 1
