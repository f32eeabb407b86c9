class_name PkarrRelayExchange
extends RefCounted
## One HTTP request to a pkarr relay, as a coroutine, through a short-lived [HTTPRequest] node.
##
## Works on every platform Godot's [HTTPRequest] works on, the web included (there it becomes a
## [code]fetch()[/code], so the relay must send CORS headers: the pkarr relays and ours do).
## [codeblock]
## var response: PkarrRelayExchange = await PkarrRelayExchange.send(self, url, "GET", [], PackedByteArray(), 2.0)
## if response.status == 200: ...
## [/codeblock]

## Largest body read from a relay: a relay payload is at most 1072 bytes, an error text a few
## hundred; anything bigger is cut off by [HTTPRequest] and reported as a network error.
const BODY_LIMIT := 8192

## The HTTP status, or 0 when no response arrived (see [member error]).
var status: int = 0
## Response headers, names in lower case (on the web only those the relay exposes to scripts).
var headers: Dictionary = {}
## The response body.
var body: PackedByteArray = PackedByteArray()
## Why no response arrived (timeout, refused, ...); empty when [member status] is set.
var error: String = ""
## Wall-clock milliseconds the exchange took.
var elapsed_msec: int = 0


## Coroutine: sends [param method] [param url] with [param header_lines] ([code]"Name: value"[/code])
## and [param payload], from an [HTTPRequest] added under [param parent], and waits at most
## [param timeout] seconds. Never fails: a lost exchange has [member status] 0 and an [member error].
static func send(parent: Node, url: String, method: String, header_lines: PackedStringArray,
		payload: PackedByteArray, timeout: float) -> PkarrRelayExchange:
	var exchange := PkarrRelayExchange.new()
	var started := Time.get_ticks_msec()
	if parent == null or not parent.is_inside_tree():
		exchange.error = "the relay client is not in the scene tree"
		return exchange
	var http := HTTPRequest.new()
	http.timeout = maxf(timeout, 0.1)
	http.body_size_limit = BODY_LIMIT
	http.accept_gzip = false
	http.use_threads = false
	parent.add_child(http)
	var http_method := HTTPClient.METHOD_GET
	if method == "PUT":
		http_method = HTTPClient.METHOD_PUT
	var err := http.request_raw(url, header_lines, http_method, payload)
	if err != OK:
		http.queue_free()
		exchange.error = "cannot send the request to %s (%s)" % [url, error_string(err)]
		return exchange
	var args: Array = await http.request_completed
	http.queue_free()
	exchange.elapsed_msec = Time.get_ticks_msec() - started
	var result: int = args[0]
	if result != HTTPRequest.RESULT_SUCCESS:
		exchange.error = _result_text(result)
		return exchange
	exchange.status = args[1]
	for line: String in args[2]:
		var colon := line.find(":")
		if colon > 0:
			exchange.headers[line.substr(0, colon).strip_edges().to_lower()] = line.substr(colon + 1).strip_edges()
	exchange.body = args[3]
	return exchange


## The header [param header_name] (lower case), or [param fallback].
func header(header_name: String, fallback: String = "") -> String:
	return str(headers.get(header_name, fallback))


## The body as text (for error messages), cut to [param limit] characters.
func body_text(limit: int = 200) -> String:
	return body.get_string_from_utf8().strip_edges().left(limit)


static func _result_text(result: int) -> String:
	match result:
		HTTPRequest.RESULT_TIMEOUT:
			return "timed out"
		HTTPRequest.RESULT_CANT_CONNECT, HTTPRequest.RESULT_CONNECTION_ERROR:
			return "cannot connect"
		HTTPRequest.RESULT_CANT_RESOLVE:
			return "cannot resolve the host name"
		HTTPRequest.RESULT_TLS_HANDSHAKE_ERROR:
			return "TLS handshake failed"
		HTTPRequest.RESULT_BODY_SIZE_LIMIT_EXCEEDED:
			return "response larger than %d bytes" % BODY_LIMIT
		HTTPRequest.RESULT_NO_RESPONSE:
			return "no response"
	return "request failed (HTTPRequest result %d)" % result
