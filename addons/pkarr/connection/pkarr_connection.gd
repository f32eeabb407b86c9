@tool
class_name PkarrConnection
extends Node
## Keeps one JSON-RPC connection to a Pkarr sidecar alive; the engine room of [PkarrService].
##
## It either spawns the sidecar (desktop: [PkarrSidecarLocator], [PkarrSidecarProcess]) and
## connects to the port from its ready line, or attaches to a running sidecar by URL and
## token (web exports, tests, a sidecar shared with other tools). When the connection or the
## process is lost, pending requests fail at once, and it retries with exponential back-off
## (1 s, 2 s, 4 s … at most 30 s), restarting a spawned sidecar that died. After
## [member retry_limit] failed attempts in a row it gives up and emits [signal failed].

## Emitted when the connection is ready for requests (also after a reconnect).
signal connected
## Emitted when a ready connection was lost.
signal disconnected
## Emitted when it gives up; [param reason] explains why.
signal failed(reason: String)
## Emitted for every notification from the sidecar.
signal notification_received(method: String, params: Variant)
## Emitted whenever [member state] changes.
signal state_changed(new_state: State)

## Where the connection is in its life cycle.
enum State {
	IDLE, ## Not started (or stopped).
	STARTING, ## Spawning the sidecar and waiting for its ready line.
	CONNECTING, ## Opening the WebSocket.
	READY, ## Connected: requests are sent.
	RECONNECTING, ## Waiting before the next attempt after a failure.
	FAILED, ## Gave up; see [member last_error]. Call [method start] to try again.
}

## Seconds before the first retry; each further retry waits twice as long.
const BACKOFF_INITIAL_SECONDS := 1.0
## Longest wait between two retries.
const BACKOFF_MAX_SECONDS := 30.0
## Default of [member retry_limit].
const DEFAULT_RETRY_LIMIT := 8
## A connection that lasted this long resets the retry count when it is lost.
const STABLE_CONNECTION_SECONDS := 30.0
## Seconds a spawned sidecar has to print its ready line.
const READY_TIMEOUT_SECONDS := 30.0
## Milliseconds a stopping sidecar gets after [code]shutdown[/code] before it is killed.
const SHUTDOWN_GRACE_MSEC := 1500
## Seconds between two checks that a spawned sidecar still runs.
const PROCESS_CHECK_SECONDS := 0.5

enum _Mode { NONE, SPAWN, ATTACH }

## Consecutive failed attempts after which it gives up and emits [signal failed].
var retry_limit: int = DEFAULT_RETRY_LIMIT
## Seconds a request may take unless the caller gives another timeout.
var request_timeout: float = PkarrRpcClient.DEFAULT_REQUEST_TIMEOUT:
	set(value):
		request_timeout = value
		_client.request_timeout = value
## The current [enum State] (read-only).
var state: State:
	get:
		return _state
	set(_value):
		push_error("PkarrConnection.state is read-only")
## Why the last connection or start attempt failed (empty while connected).
var last_error: String = ""
## The version a spawned sidecar reported in its ready line.
var sidecar_version: String = ""

var _state: State = State.IDLE
var _client: PkarrRpcClient = null
var _sidecar: PkarrSidecarProcess = null
var _mode: _Mode = _Mode.NONE
var _url: String = ""
var _token: String = ""
var _retries: int = 0
var _retry_pending: bool = false
var _generation: int = 0
var _stopping: bool = false
var _connected_at_msec: int = 0
var _ready_deadline_msec: int = 0
var _check_elapsed: float = 0.0
var _attempt: PkarrCompletion = null
var _waiters: Array[PkarrCompletion] = []


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS
	_client = PkarrRpcClient.new()
	_client.name = "RpcClient"
	_client.connected.connect(_on_client_connected)
	_client.connection_failed.connect(_on_client_connection_failed)
	_client.disconnected.connect(_on_client_disconnected)
	_client.notification_received.connect(_on_notification)
	add_child(_client)


func _process(delta: float) -> void:
	if _mode != _Mode.SPAWN or _sidecar == null:
		return
	_check_elapsed += delta
	if _check_elapsed < PROCESS_CHECK_SECONDS:
		return
	_check_elapsed = 0.0
	if not _sidecar.is_running():
		_on_sidecar_died()
	elif _state == State.STARTING and Time.get_ticks_msec() > _ready_deadline_msec:
		_on_sidecar_start_failed("no ready line within %d s" % int(READY_TIMEOUT_SECONDS), _sidecar)


func _notification(what: int) -> void:
	# Not on leaving the tree: editor docks are re-parented when they move between slots.
	if what == NOTIFICATION_PREDELETE:
		stop()


## Starts as configured: spawns the sidecar on desktop, or attaches to
## [code]pkarr/sidecar/web_url[/code] on the web. Does nothing if already started.
func start() -> void:
	if _mode != _Mode.NONE:
		return
	_retries = 0
	if OS.has_feature("web"):
		var url := str(PkarrSettings.get_value(PkarrSettings.SIDECAR_WEB_URL)).strip_edges()
		if url == "":
			last_error = "web exports need pkarr/sidecar/web_url (or call connect_to())"
			return
		attach(url, str(PkarrSettings.get_value(PkarrSettings.SIDECAR_WEB_TOKEN)))
	elif PkarrSidecarProcess.is_supported():
		_mode = _Mode.SPAWN
		_spawn()
	else:
		_give_up("%s cannot run the sidecar; set pkarr/sidecar/web_url" % OS.get_name(), false)


## Attaches to a running sidecar at [param url] with [param token], replacing any current
## connection. Returns a [PkarrCompletion] for the first attempt; later losses are retried.
func attach(url: String, token: String) -> PkarrCompletion:
	stop()
	_retries = 0
	_mode = _Mode.ATTACH
	_url = url
	_token = token
	_attempt = PkarrCompletion.new()
	var attempt := _attempt
	_open_connection()
	return attempt


## Stops: fails pending requests with [constant PkarrResult.STOPPED], asks a spawned sidecar
## to shut down (killing it after a short grace period) and closes the connection.
func stop() -> void:
	_stopping = true
	_generation += 1
	_retry_pending = false
	if _mode == _Mode.SPAWN and _sidecar != null:
		if _client.is_open():
			_client.send_request("shutdown", {}, 1.0)
			_client.poll()
		_sidecar.stop(SHUTDOWN_GRACE_MSEC)
		_sidecar = null
	_client.close(PkarrResult.STOPPED, "the Pkarr service was stopped")
	_mode = _Mode.NONE
	_finish_waiters(PkarrResult.failure(PkarrResult.STOPPED, "the Pkarr service was stopped"))
	_set_state(State.IDLE)
	_stopping = false


## [code]true[/code] when requests can be sent now.
func is_ready() -> bool:
	return _state == State.READY and _client.is_open()


## [code]true[/code] when this connection spawned (owns) its sidecar.
func owns_sidecar() -> bool:
	return _mode == _Mode.SPAWN


## The WebSocket URL of the current or last connection.
func get_url() -> String:
	return _url


## Coroutine: waits until ready, at most [param timeout] seconds. Succeeds at once when it
## already is; fails when it gives up, is stopped, or the time runs out.
func wait_ready(timeout: float = 10.0) -> PkarrResult:
	if is_ready():
		return PkarrResult.success(true)
	if _mode == _Mode.NONE:
		return PkarrResult.failure(PkarrResult.NOT_CONNECTED, not_ready_message())
	var waiter := PkarrCompletion.new()
	_waiters.append(waiter)
	if is_inside_tree():
		get_tree().create_timer(timeout, true, false, true).timeout.connect(func() -> void:
			waiter.complete(PkarrResult.failure(PkarrResult.REQUEST_TIMEOUT,
					"the sidecar was not ready within %.1f s (%s)" % [timeout, last_error])))
	var result: PkarrResult = await waiter.wait()
	_waiters.erase(waiter)
	return result


## Coroutine: sends a JSON-RPC request (see [method PkarrRpcClient.request]); fails with
## [constant PkarrResult.NOT_CONNECTED] at once when not ready.
func request(method: String, params: Dictionary = {}, timeout: float = -1.0) -> PkarrResult:
	if not is_ready():
		return PkarrResult.failure(PkarrResult.NOT_CONNECTED, not_ready_message())
	return await _client.request(method, params, timeout)


## Explains why requests cannot be sent now.
func not_ready_message() -> String:
	var detail := last_error if last_error != "" else "call start() or connect_to() first"
	return "the Pkarr sidecar is not connected (%s): %s" % [
		str(State.keys()[_state]).to_lower(), detail]


func _open_connection() -> void:
	_set_state(State.CONNECTING)
	_client.open(_url, _token)


func _spawn() -> void:
	_set_state(State.STARTING)
	var located := PkarrSidecarLocator.find_sidecar()
	if str(located["path"]) == "":
		_give_up("no sidecar executable found (looked at: %s)" % ", ".join(located["tried"]), true)
		return
	var settings := PkarrSettings.snapshot()
	var command := PkarrSidecarLocator.build_command(located["path"], settings, OS.get_process_id(),
			located["prefix"])
	var sidecar := PkarrSidecarProcess.new()
	sidecar.ready_received.connect(_on_sidecar_ready.bind(sidecar))
	sidecar.start_failed.connect(_on_sidecar_start_failed.bind(sidecar))
	var log_path := PkarrSidecarLocator.absolute_data_dir(
			str(settings[PkarrSettings.SIDECAR_DATA_DIR])).path_join("sidecar.log")
	var err := sidecar.start(command, log_path)
	if err != OK:
		last_error = "could not start %s: %s" % [command["path"], error_string(err)]
		_schedule_retry()
		return
	_sidecar = sidecar
	_check_elapsed = 0.0
	_ready_deadline_msec = Time.get_ticks_msec() + int(READY_TIMEOUT_SECONDS * 1000.0)


func _on_sidecar_ready(port: int, token: String, version: String,
		sidecar: PkarrSidecarProcess) -> void:
	if sidecar != _sidecar or _mode != _Mode.SPAWN:
		return
	if port <= 0 or token == "":
		_on_sidecar_start_failed("the ready line has no port or token", sidecar)
		return
	sidecar_version = version
	_url = "ws://127.0.0.1:%d/" % port
	_token = token
	_open_connection()


func _on_sidecar_start_failed(reason: String, sidecar: PkarrSidecarProcess) -> void:
	if sidecar != _sidecar:
		return
	last_error = reason
	_sidecar.stop(0)
	_sidecar = null
	_schedule_retry()


func _on_sidecar_died() -> void:
	var code := _sidecar.exit_code()
	var tail := _sidecar.stderr_tail()
	_sidecar.release()
	_sidecar = null
	var message := "the sidecar exited%s" % (" (status %d)" % code if code != -1 else "")
	if not tail.is_empty():
		message += ": " + tail[tail.size() - 1]
	last_error = message
	_client.close(PkarrResult.SIDECAR_EXITED, message)
	_schedule_retry()


func _on_client_connected() -> void:
	_connected_at_msec = Time.get_ticks_msec()
	last_error = ""
	_set_state(State.READY)
	if _attempt != null:
		_attempt.complete(PkarrResult.success(true))
		_attempt = null
	_finish_waiters(PkarrResult.success(true))
	connected.emit()


func _on_client_connection_failed(reason: String) -> void:
	last_error = reason
	if _attempt != null:
		_attempt.complete(PkarrResult.failure(PkarrResult.CONNECTION_FAILED, reason))
		_attempt = null
	if _stopping or _mode == _Mode.NONE:
		return
	_schedule_retry()


func _on_client_disconnected(reason: String) -> void:
	last_error = reason
	var was_ready := state == State.READY
	if was_ready:
		if Time.get_ticks_msec() - _connected_at_msec >= int(STABLE_CONNECTION_SECONDS * 1000.0):
			_retries = 0
		_set_state(State.RECONNECTING if not _stopping else State.IDLE)
		disconnected.emit()
	if _stopping or _mode == _Mode.NONE:
		return
	if _mode == _Mode.SPAWN and _sidecar != null and not _sidecar.is_running():
		_on_sidecar_died()
		return
	_schedule_retry()


func _on_notification(method: String, params: Variant) -> void:
	var data := PkarrJson.to_dict(params)
	match method:
		"log":
			print("[pkarr sidecar] %s: %s" % [PkarrJson.to_text(data.get("level")),
					PkarrJson.to_text(data.get("message"))])
	notification_received.emit(method, params)


func _schedule_retry() -> void:
	if _retry_pending or _mode == _Mode.NONE:
		return
	if _retries >= retry_limit:
		_give_up("gave up after %d attempts: %s" % [_retries, last_error], true)
		return
	var delay := minf(BACKOFF_INITIAL_SECONDS * pow(2.0, _retries), BACKOFF_MAX_SECONDS)
	_retries += 1
	_retry_pending = true
	_set_state(State.RECONNECTING)
	if not is_inside_tree():
		return
	var generation := _generation
	var timer := get_tree().create_timer(delay, true, false, true)
	timer.timeout.connect(_on_retry_due.bind(generation))


func _on_retry_due(generation: int) -> void:
	if generation != _generation or not _retry_pending:
		return
	_retry_pending = false
	if _mode == _Mode.ATTACH:
		_open_connection()
	elif _mode == _Mode.SPAWN:
		if _sidecar != null and not _sidecar.is_running():
			_sidecar.release()
			_sidecar = null
		if _sidecar == null:
			_spawn()
		else:
			_open_connection()


func _give_up(reason: String, warn: bool) -> void:
	last_error = reason
	_generation += 1
	_retry_pending = false
	if _sidecar != null:
		_sidecar.stop(0)
		_sidecar = null
	_mode = _Mode.NONE
	_stopping = true
	_client.close(PkarrResult.NOT_CONNECTED, reason)
	_stopping = false
	_finish_waiters(PkarrResult.failure(PkarrResult.SIDECAR_UNAVAILABLE, reason))
	_set_state(State.FAILED)
	if warn:
		push_warning("Pkarr: " + reason)
	failed.emit(reason)


func _finish_waiters(result: PkarrResult) -> void:
	if _attempt != null:
		_attempt.complete(result if not result.is_ok() else PkarrResult.success(true))
		_attempt = null
	var waiting := _waiters
	_waiters = []
	for waiter: PkarrCompletion in waiting:
		waiter.complete(result)


func _set_state(new_state: State) -> void:
	if _state == new_state:
		return
	_state = new_state
	state_changed.emit(new_state)
