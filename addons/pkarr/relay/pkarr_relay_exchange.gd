class_name PkarrRelayExchange
extends RefCounted
## One HTTP request to a pkarr relay, as a coroutine, on its own [HTTPClient].
##
## Works on every platform, the web included (there it becomes a [code]fetch()[/code], so the
## relay must send CORS headers: the pkarr relays and ours do).
## [codeblock]
## var response: PkarrRelayExchange = await PkarrRelayExchange.send(self, url, "GET", [], PackedByteArray(), 2.0)
## if response.status == 200: ...
## [/codeblock]

## Largest body read from a relay: a relay payload is at most 1072 bytes, an error text a few
## hundred; anything bigger is dropped and reported as a network error.
const BODY_LIMIT := 8192

## On the web, go through the browser's [code]fetch()[/code] ([PkarrRelayFetch]; default). Off:
## [HTTPClient] there too (benchmarks compare both).
static var use_browser_fetch: bool = true

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
## and [param payload], polled once per frame of [param parent]'s tree, and waits at most
## [param timeout] seconds. Never fails: a lost exchange has [member status] 0 and an [member error].
## On the web the browser's [code]fetch()[/code] ([PkarrRelayFetch]), answered between frames;
## elsewhere an [HTTPClient] polled here once per frame (an [HTTPRequest] node moves one state per
## frame: 6 frames, 100 ms at 60 fps for a GET on the web, against 4 for this loop).
static func send(parent: Node, url: String, method: String, header_lines: PackedStringArray,
		payload: PackedByteArray, timeout: float) -> PkarrRelayExchange:
	var exchange := PkarrRelayExchange.new()
	var started := Time.get_ticks_msec()
	if parent == null or not parent.is_inside_tree():
		exchange.error = "the relay client is not in the scene tree"
		return exchange
	if use_browser_fetch and PkarrRelayFetch.is_possible():
		await PkarrRelayFetch.send(exchange, url, method, header_lines, payload, timeout, BODY_LIMIT)
		exchange.elapsed_msec = Time.get_ticks_msec() - started
		return exchange
	var target := _split_url(url)
	if target.is_empty():
		exchange.error = "not an http(s) URL: %s" % url
		return exchange
	var tree := parent.get_tree()
	var client := HTTPClient.new()
	client.blocking_mode_enabled = false
	var tls: TLSOptions = TLSOptions.client() if target["tls"] else null
	var err := client.connect_to_host(target["host"], target["port"], tls)
	if err != OK:
		exchange.error = "cannot connect to %s (%s)" % [url, error_string(err)]
		return exchange
	var deadline := started + int(maxf(timeout, 0.1) * 1000.0)
	var sent := false
	var body := PackedByteArray()
	while true:
		client.poll()
		var status := client.get_status()
		if status == HTTPClient.STATUS_CONNECTED and not sent:
			var http_method := HTTPClient.METHOD_PUT if method == "PUT" else HTTPClient.METHOD_GET
			err = client.request_raw(http_method, target["path"], header_lines, payload)
			if err != OK:
				exchange.error = "cannot send the request to %s (%s)" % [url, error_string(err)]
				break
			sent = true
			continue
		if status == HTTPClient.STATUS_BODY:
			var chunk := client.read_response_body_chunk()
			body.append_array(chunk)
			if body.size() > BODY_LIMIT:
				exchange.error = "response larger than %d bytes" % BODY_LIMIT
				break
			if not chunk.is_empty():
				continue
		elif sent and client.has_response() and status != HTTPClient.STATUS_REQUESTING:
			exchange.status = client.get_response_code()
			break
		elif _FAILED.has(status):
			exchange.error = _FAILED[status]
			break
		if Time.get_ticks_msec() >= deadline:
			exchange.error = "timed out"
			break
		await tree.process_frame
	if exchange.status != 0:
		var headers := client.get_response_headers_as_dictionary()
		for header_name: Variant in headers:
			exchange.headers[str(header_name).to_lower()] = str(headers[header_name])
		exchange.body = body
	client.close()
	exchange.elapsed_msec = Time.get_ticks_msec() - started
	return exchange


## The header [param header_name] (lower case), or [param fallback].
func header(header_name: String, fallback: String = "") -> String:
	return str(headers.get(header_name, fallback))


## The body as text (for error messages), cut to [param limit] characters.
func body_text(limit: int = 200) -> String:
	return body.get_string_from_utf8().strip_edges().left(limit)


const _FAILED := {
	HTTPClient.STATUS_CANT_RESOLVE: "cannot resolve the host name",
	HTTPClient.STATUS_CANT_CONNECT: "cannot connect",
	HTTPClient.STATUS_CONNECTION_ERROR: "connection error",
	HTTPClient.STATUS_TLS_HANDSHAKE_ERROR: "TLS handshake failed",
}


## [code]{tls, host, port, path}[/code] of an http(s) [param url], or an empty Dictionary.
static func _split_url(url: String) -> Dictionary:
	var tls := url.begins_with("https://")
	if not tls and not url.begins_with("http://"):
		return {}
	var rest := url.substr(8 if tls else 7)
	var slash := rest.find("/")
	var authority := rest if slash < 0 else rest.substr(0, slash)
	var path := "/" if slash < 0 else rest.substr(slash)
	var port := 443 if tls else 80
	var colon := authority.rfind(":")
	if colon > 0 and not authority.ends_with("]"):
		if not authority.substr(colon + 1).is_valid_int():
			return {}
		port = authority.substr(colon + 1).to_int()
		authority = authority.substr(0, colon)
	if authority == "":
		return {}
	return {"tls": tls, "host": authority.trim_prefix("[").trim_suffix("]"), "port": port, "path": path}
