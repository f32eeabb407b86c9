@tool
class_name PkarrRpcClient
extends Node
## A JSON-RPC 2.0 client for the Pkarr sidecar over one WebSocket.
##
## Add it to the tree, call [method open], then [method request]. It polls its socket every
## frame (also while the game is paused); leaving the tree does not close it, [method close]
## or freeing it does. Requests carry string ids ([code]"g1"[/code], ...),
## each has its own timeout, and every pending request completes exactly once — with the
## response, [constant PkarrResult.REQUEST_TIMEOUT], or, when the connection closes,
## [constant PkarrResult.CONNECTION_LOST] — so an [code]await[/code] never hangs.
## [br][br]
## The token travels as the subprotocol [code]token.<hex>[/code] next to
## [constant PROTOCOL], which also works in web exports where custom headers are ignored.

## Emitted when the handshake succeeded and requests can be sent.
signal connected
## Emitted when [method open] could not establish the connection (refused, wrong token,
## origin not allowed, timeout). [param reason] explains it.
signal connection_failed(reason: String)
## Emitted when an open connection closed (by either side). [param reason] explains it.
signal disconnected(reason: String)
## Emitted for every JSON-RPC notification from the sidecar (a message without an id).
signal notification_received(method: String, params: Variant)

## The versioned subprotocol the sidecar selects.
const PROTOCOL := "pkarr-godot.v1"
## Prefix of the subprotocol that carries the token.
const TOKEN_PROTOCOL_PREFIX := "token."
## Inbound and outbound WebSocket buffer size (set before connecting).
const BUFFER_SIZE := 1 << 20
## Seconds a connection attempt may take before it fails.
const DEFAULT_CONNECT_TIMEOUT := 10.0
## Seconds a request may take unless the caller gives another timeout.
const DEFAULT_REQUEST_TIMEOUT := 10.0

## Seconds a request may take when [method request] gets no timeout.
var request_timeout: float = DEFAULT_REQUEST_TIMEOUT
## Seconds a connection attempt may take.
var connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

var _peer: WebSocketPeer = null
var _url: String = ""
var _was_open: bool = false
var _connect_started_msec: int = 0
var _next_id: int = 1
var _pending: Dictionary = {}
var _close_code: String = ""
var _close_message: String = ""


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS


func _process(_delta: float) -> void:
	poll()


func _notification(what: int) -> void:
	if what == NOTIFICATION_PREDELETE:
		# Whoever still awaits a request gets an answer; the socket closes with the peer.
		_fail_pending(PkarrResult.CONNECTION_LOST, "the RPC client was freed")


## Starts connecting to [param url] ([code]ws://127.0.0.1:<port>/[/code]) with [param token].
## Closes a previous connection first. The outcome arrives as [signal connected] or
## [signal connection_failed].
func open(url: String, token: String) -> Error:
	close(PkarrResult.CONNECTION_LOST, "reconnecting")
	_peer = WebSocketPeer.new()
	_peer.inbound_buffer_size = BUFFER_SIZE
	_peer.outbound_buffer_size = BUFFER_SIZE
	_peer.max_queued_packets = 4096
	var protocols := PackedStringArray([PROTOCOL])
	if token != "":
		protocols.append(TOKEN_PROTOCOL_PREFIX + token)
	_peer.supported_protocols = protocols
	_url = url
	_was_open = false
	_connect_started_msec = Time.get_ticks_msec()
	var err := _peer.connect_to_url(url)
	if err != OK:
		_peer = null
		call_deferred("emit_signal", "connection_failed",
				"cannot connect to %s: %s" % [url, error_string(err)])
	return err


## Closes the connection. Pending requests complete with [param code] and [param message].
## Emits [signal disconnected] if the connection was open.
func close(code: String = PkarrResult.CONNECTION_LOST,
		message: String = "connection closed") -> void:
	if _peer != null:
		var peer := _peer
		_peer = null
		peer.close(1000, "client closing")
		# One poll lets the close frame leave; the peer is dropped afterwards.
		peer.poll()
		if _was_open:
			_was_open = false
			_fail_pending(code, message)
			disconnected.emit(message)
			return
	_fail_pending(code, message)


## [code]true[/code] while the connection is open.
func is_open() -> bool:
	return _peer != null and _was_open and _peer.get_ready_state() == WebSocketPeer.STATE_OPEN


## [code]true[/code] while a connection attempt is in progress.
func is_connecting() -> bool:
	return _peer != null and not _was_open


## The URL of the current or last connection.
func get_url() -> String:
	return _url


## How many requests are waiting for an answer.
func pending_count() -> int:
	return _pending.size()


## Coroutine: calls [param method] with [param params] and returns its [PkarrResult]. The
## value is the JSON-RPC [code]result[/code] as parsed (numbers are floats). A negative
## [param timeout] uses [member request_timeout].
func request(method: String, params: Variant = null, timeout: float = -1.0) -> PkarrResult:
	return await send_request(method, params, timeout).wait()


## Sends a request and returns its [PkarrCompletion] at once (await its
## [method PkarrCompletion.wait]). See [method request].
func send_request(method: String, params: Variant = null, timeout: float = -1.0) -> PkarrCompletion:
	var completion := PkarrCompletion.new()
	if not is_open():
		var why := "connecting" if is_connecting() else "closed"
		completion.complete(PkarrResult.failure(PkarrResult.NOT_CONNECTED,
				"not connected to the Pkarr sidecar (%s)" % why))
		return completion
	var id := "g%d" % _next_id
	_next_id += 1
	var message: Dictionary = {"jsonrpc": "2.0", "id": id, "method": method}
	if params != null:
		message["params"] = params
	var err := _peer.send_text(JSON.stringify(message))
	if err != OK:
		completion.complete(PkarrResult.failure(PkarrResult.SEND_FAILED,
				"could not send %s: %s" % [method, error_string(err)]))
		return completion
	_pending[id] = completion
	var seconds := timeout if timeout > 0.0 else request_timeout
	if is_inside_tree():
		var timer := get_tree().create_timer(seconds, true, false, true)
		timer.timeout.connect(_on_request_timed_out.bind(id, method, seconds))
	return completion


## Sends a notification (no answer expected).
func notify(method: String, params: Variant = null) -> Error:
	if not is_open():
		return ERR_UNCONFIGURED
	var message: Dictionary = {"jsonrpc": "2.0", "method": method}
	if params != null:
		message["params"] = params
	return _peer.send_text(JSON.stringify(message))


## Drives the socket: connects, reads messages and detects closes. Called every frame from
## [method Node._process]; call it yourself to flush before blocking (e.g. at shutdown).
func poll() -> void:
	if _peer == null:
		return
	_peer.poll()
	var state := _peer.get_ready_state()
	if state == WebSocketPeer.STATE_OPEN and not _was_open:
		_was_open = true
		connected.emit()
	if _peer == null:
		return
	while _peer != null and _peer.get_available_packet_count() > 0:
		var packet := _peer.get_packet()
		_handle_text(packet.get_string_from_utf8())
	if _peer == null:
		return
	state = _peer.get_ready_state()
	if state == WebSocketPeer.STATE_CLOSED:
		_on_closed()
	elif state == WebSocketPeer.STATE_CONNECTING:
		var elapsed := float(Time.get_ticks_msec() - _connect_started_msec) / 1000.0
		if elapsed > connect_timeout:
			var peer := _peer
			_peer = null
			peer.close(-1)
			connection_failed.emit("connecting to %s timed out after %.1f s"
					% [_url, connect_timeout])


func _on_closed() -> void:
	var code := _peer.get_close_code()
	var reason := _peer.get_close_reason()
	_peer = null
	if _was_open:
		_was_open = false
		var message := "the sidecar closed the connection (code %d%s)" % [
			code, ": " + reason if reason != "" else ""]
		_fail_pending(PkarrResult.CONNECTION_LOST, message)
		disconnected.emit(message)
	else:
		connection_failed.emit(("could not connect to %s (code %d): the sidecar is not running "
				+ "there, or refused the token or this page's origin") % [_url, code])


func _handle_text(text: String) -> void:
	var json := JSON.new()
	var err := json.parse(text)
	if err != OK:
		push_warning("Pkarr: unparsable message from the sidecar (line %d: %s)" % [
			json.get_error_line(), json.get_error_message()])
		return
	var data: Variant = json.data
	if data is Array:
		for item: Variant in data:
			_handle_message(item)
	else:
		_handle_message(data)


func _handle_message(data: Variant) -> void:
	if not data is Dictionary:
		push_warning("Pkarr: ignored a non-object message from the sidecar")
		return
	var message: Dictionary = data
	if message.has("method") and not message.has("id"):
		notification_received.emit(PkarrJson.to_text(message["method"]), message.get("params"))
		return
	var id := PkarrJson.to_text(message.get("id"))
	if not _pending.has(id):
		return # Answer to a request that already timed out.
	var completion: PkarrCompletion = _pending[id]
	_pending.erase(id)
	if message.has("error"):
		completion.complete(_error_result(message["error"]))
	elif message.has("result"):
		completion.complete(PkarrResult.success(message["result"]))
	else:
		completion.complete(PkarrResult.failure(PkarrResult.BAD_RESPONSE,
				"response %s has neither result nor error" % id))


func _error_result(error: Variant) -> PkarrResult:
	if not error is Dictionary:
		return PkarrResult.failure(PkarrResult.BAD_RESPONSE, "malformed error: %s" % str(error))
	var details: Dictionary = error
	var data := PkarrJson.to_dict(details.get("data"))
	var message := PkarrJson.to_text(details.get("message"), "unknown error")
	var code := PkarrJson.to_text(data.get("code"))
	if code == "":
		match PkarrJson.to_int(details.get("code")):
			-32700:
				code = PkarrResult.PARSE_ERROR
			-32600:
				code = PkarrResult.INVALID_REQUEST
			-32601:
				code = PkarrResult.METHOD_NOT_FOUND
			-32602:
				code = PkarrResult.INVALID_PARAMS
			_:
				code = PkarrResult.INTERNAL
	return PkarrResult.failure(code, message, data)


func _on_request_timed_out(id: String, method: String, seconds: float) -> void:
	if not _pending.has(id):
		return
	var completion: PkarrCompletion = _pending[id]
	_pending.erase(id)
	completion.complete(PkarrResult.failure(PkarrResult.REQUEST_TIMEOUT,
			"%s got no answer within %.1f s" % [method, seconds]))


func _fail_pending(code: String, message: String) -> void:
	var waiting := _pending
	_pending = {}
	for id: String in waiting:
		var completion: PkarrCompletion = waiting[id]
		completion.complete(PkarrResult.failure(code, message))
