class_name PkarrSignatures
extends RefCounted
## Ed25519 signatures for the addon's sidecar-free paths (web and mobile): one async API over the
## browser's WebCrypto and the pure-GDScript [PkarrEd25519].
##
## Every method is a coroutine; call it with [code]await[/code]:
## [codeblock]
## var signatures := PkarrSignatures.new()
## var ok: bool = await signatures.verify(public_key, message, signature)
## var signature: PackedByteArray = await signatures.sign(seed, message)
## var public_key: PackedByteArray = await signatures.public_key_from_seed(seed)
## var which: String = await signatures.backend()          # "webcrypto" or "gdscript"
## [/codeblock]
## - Keys: the 32-byte seed (pkarr's secret key) and the 32-byte public key; signatures are 64
##   bytes (R ‖ S). For pkarr the message is the BEP44 signable
##   ([code]3:seqi<ts>e1:v<len>:[/code] + DNS bytes).
## - [method verify] is strict on both paths and never raises: wrong lengths, S ≥ L, a
##   non-canonical or small-order public key, a key off the curve, or a wrong signature all give
##   false. The length/S/key-encoding checks run in GDScript before WebCrypto is asked.
## - [method sign] and [method public_key_from_seed] return an empty array for a seed that is not
##   32 bytes and set [member last_error] to [constant ERR_INVALID_SEED].
## - Backend: on a web export WebCrypto ([code]crypto.subtle[/code] Ed25519, Chrome ≥ 137,
##   Firefox ≥ 129, Safari ≥ 17) when the browser has it, detected once per page by checking a
##   known RFC 8032 signature (valid accepted, tampered refused). Elsewhere, or when WebCrypto
##   fails, pure GDScript: on a [WorkerThreadPool] task where the engine has threads
##   ([code]OS.has_feature("threads")[/code], the result arrives a frame or more later), inline on
##   single-threaded builds such as the standard web export (the call then blocks for its
##   duration: about 15 ms per verify in the web build, see docs/crypto.md).
##   [member force_pure] skips WebCrypto.

## [method sign] / [method public_key_from_seed] got a seed that is not 32 bytes.
const ERR_INVALID_SEED := "INVALID_SEED"

## Use the pure-GDScript path even where WebCrypto is available (tests, benchmarks).
var force_pure: bool = false
## Run the pure path on a worker thread when the engine has threads (default true).
var use_threads: bool = true
## The error code of the last call that failed ("" after a success).
var last_error: String = ""
## A human-readable explanation of [member last_error].
var last_error_message: String = ""
## Which path answered the last call: "webcrypto", "gdscript" or "" (refused before either).
var last_path: String = ""

## Tests only: take the worker-task branch even on a build without threads (the single-threaded
## web build's WorkerThreadPool then runs the task on the main thread).
var _assume_threads: bool = false

enum _Detect { UNKNOWN, PROBING, AVAILABLE, UNAVAILABLE }
static var _webcrypto: _Detect = _Detect.UNKNOWN
static var _probe: _Probe = null

## RFC 8032 §7.1 TEST 1 (empty message): the WebCrypto probe.
const _PROBE_PUBLIC_KEY := "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
const _PROBE_SIGNATURE := "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" \
		+ "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"


class _Probe:
	extends RefCounted
	signal done


## "webcrypto" when calls go to the browser, else "gdscript" (runs the one-time detection).
func backend() -> String:
	return "webcrypto" if await _use_webcrypto() else "gdscript"


## True when [param signature] is a valid Ed25519 signature of [param message] by
## [param public_key] (see the class doc for what "strict" rejects).
func verify(public_key: PackedByteArray, message: PackedByteArray,
		signature: PackedByteArray) -> bool:
	_clear_error()
	if not PkarrEd25519.check_encodings(public_key, signature):
		return false
	if await _use_webcrypto():
		var r: Array = await PkarrWebCrypto.verify(public_key, message, signature)
		if r[0] >= 0:
			last_path = "webcrypto"
			return r[0] == 1
		# WebCrypto refused the key (e.g. a point off the curve): the pure path decides.
	var result: Variant = await _run_pure(PkarrEd25519.verify.bind(public_key, message, signature))
	return result == true


## The 64-byte signature of [param message] with the 32-byte [param seed] (empty on bad input).
func sign(seed: PackedByteArray, message: PackedByteArray) -> PackedByteArray:
	_clear_error()
	if not _check_seed(seed):
		return PackedByteArray()
	if await _use_webcrypto():
		var r: Array = await PkarrWebCrypto.sign(seed, message)
		if r[0] == 1 and (r[1] as PackedByteArray).size() == 64:
			last_path = "webcrypto"
			return r[1]
	var result: Variant = await _run_pure(PkarrEd25519.sign.bind(seed, message))
	return result as PackedByteArray


## The 32-byte public key of a 32-byte [param seed] (empty on bad input).
func public_key_from_seed(seed: PackedByteArray) -> PackedByteArray:
	_clear_error()
	if not _check_seed(seed):
		return PackedByteArray()
	if await _use_webcrypto():
		var r: Array = await PkarrWebCrypto.public_key_from_seed(seed)
		if r[0] == 1 and (r[1] as PackedByteArray).size() == 32:
			last_path = "webcrypto"
			return r[1]
	var result: Variant = await _run_pure(PkarrEd25519.public_key_from_seed.bind(seed))
	return result as PackedByteArray


func _clear_error() -> void:
	last_path = ""
	last_error = ""
	last_error_message = ""


func _check_seed(seed: PackedByteArray) -> bool:
	if seed.size() == 32:
		return true
	last_error = ERR_INVALID_SEED
	last_error_message = "an Ed25519 seed is 32 bytes, got %d" % seed.size()
	return false


func _use_webcrypto() -> bool:
	if force_pure or not PkarrWebCrypto.is_possible():
		return false
	if _webcrypto == _Detect.UNKNOWN:
		_webcrypto = _Detect.PROBING
		_probe = _Probe.new()
		_detect_webcrypto()
	if _webcrypto == _Detect.PROBING:
		await _probe.done
	return _webcrypto == _Detect.AVAILABLE


## Forgets the WebCrypto detection, so the next call probes again (tests that take Ed25519 away
## from the page and give it back).
static func reset_detection() -> void:
	if _webcrypto != _Detect.PROBING:
		_webcrypto = _Detect.UNKNOWN


static func _detect_webcrypto() -> void:
	var public_key: PackedByteArray = _PROBE_PUBLIC_KEY.hex_decode()
	var signature: PackedByteArray = _PROBE_SIGNATURE.hex_decode()
	var good: Array = await PkarrWebCrypto.verify(public_key, PackedByteArray(), signature)
	var tampered: Array = await PkarrWebCrypto.verify(public_key, PackedByteArray([0]), signature)
	var works: bool = good[0] == 1 and tampered[0] == 0
	_webcrypto = _Detect.AVAILABLE if works else _Detect.UNAVAILABLE
	var probe: _Probe = _probe
	probe.done.emit()


## Runs a pure-GDScript call on a worker thread when there are threads, else inline.
func _run_pure(job: Callable) -> Variant:
	PkarrEd25519.prepare() # the tables are built on this (the main) thread
	last_path = "gdscript"
	var tree := Engine.get_main_loop() as SceneTree
	var threads: bool = OS.has_feature("threads") or _assume_threads
	if not use_threads or not threads or tree == null:
		return job.call()
	var box: Array = [null]
	var task: int = WorkerThreadPool.add_task(func() -> void: box[0] = job.call(), false,
			"PkarrSignatures")
	while not WorkerThreadPool.is_task_completed(task):
		await tree.process_frame
	WorkerThreadPool.wait_for_task_completion(task)
	return box[0]
