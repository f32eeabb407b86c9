class_name PkarrRelayFetch
extends RefCounted
## Relay requests through the browser's own [code]fetch()[/code] (web exports; internal: used by
## [PkarrRelayExchange]).
##
## Why not [HTTPClient] there: the engine moves a web request one step per frame (send, headers,
## each body chunk, end: about 4 frames, 67 ms at 60 fps, measured by bench/relay-engine.bench.ts).
## Here the promise's [code]then[/code] calls a [method JavaScriptBridge.create_callback]
## callback that emits a signal the coroutine awaits, so the answer is used as soon as it arrives,
## between frames. Bytes cross the bridge as base64; headers as JSON. The browser applies CORS
## (the relay must allow the page's origin) and its mixed-content rules (an https page may call
## [code]http://127.0.0.1[/code] in Chromium and Firefox, not in Safari). [code]cache:
## "no-store"[/code]: the relay client keeps its own last packet and asks with
## [code]If-Modified-Since[/code]. A body over [param limit] bytes is cut off and reported.

## Defines window.__pkarrRelayFetch once. The callback always fires asynchronously.
const _JS := """
(function () {
  if (window.__pkarrRelayFetch) return;
  const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const toB64 = (u) => {
    let s = '';
    for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s);
  };
  const readLimited = async (res, limit) => {
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    const parts = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) { reader.cancel(); return null; }
      parts.push(value);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  window.__pkarrRelayFetch = function (url, method, headersJson, bodyB64, timeoutMs, limit, cb) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const init = { method, headers: JSON.parse(headersJson), signal: ctl.signal, cache: 'no-store',
      credentials: 'omit', redirect: 'follow' };
    if (bodyB64 !== '') init.body = fromB64(bodyB64);
    fetch(url, init)
      .then(async (res) => {
        const body = await readLimited(res, limit);
        const headers = {};
        res.headers.forEach((v, k) => { headers[k] = v; });
        clearTimeout(timer);
        if (body === null) cb(0, '{}', '', 'response larger than ' + limit + ' bytes');
        else cb(res.status, JSON.stringify(headers), toB64(body), '');
      })
      .catch((e) => {
        clearTimeout(timer);
        const aborted = e && e.name === 'AbortError';
        cb(0, '{}', '', aborted ? 'timed out' : 'cannot connect (' + String((e && e.message) || e) + ')');
      });
  };
})();
"""

## Calls in flight (their JS callbacks must outlive the call).
static var _live: Array = []
static var _installed: bool = false


## One pending fetch: the JS callback and the signal it fires.
class Pending:
	extends RefCounted
	signal finished(result: Array)
	var callback: Object # a JavaScriptObject (the class exists only on the web)

	func _init(bridge: Object) -> void:
		callback = bridge.create_callback(_on_result)
		PkarrRelayFetch._live.append(self)

	func _on_result(args: Array) -> void:
		# Released in the main loop, never while the JS callback runs.
		_release.call_deferred()
		finished.emit(args)

	func _release() -> void:
		callback = null
		PkarrRelayFetch._live.erase(self)


## [code]true[/code] on a web export, where the browser's [code]fetch()[/code] is used.
static func is_possible() -> bool:
	return OS.has_feature("web") and Engine.has_singleton("JavaScriptBridge")


## Coroutine: fills [param exchange] (status, headers, body or error) from a [code]fetch()[/code]
## of [param url].
static func send(exchange: PkarrRelayExchange, url: String, method: String,
		header_lines: PackedStringArray, payload: PackedByteArray, timeout: float, limit: int) -> void:
	var js: Object = Engine.get_singleton("JavaScriptBridge")
	if not _installed:
		js.call("eval", _JS, true)
		_installed = true
	var window: Object = js.call("get_interface", "window")
	var headers := {}
	for line: String in header_lines:
		var colon := line.find(":")
		if colon > 0:
			headers[line.substr(0, colon).strip_edges()] = line.substr(colon + 1).strip_edges()
	var pending := Pending.new(js)
	window.call("__pkarrRelayFetch", url, method, JSON.stringify(headers),
			PkarrBytes.to_base64(payload),
			int(maxf(timeout, 0.1) * 1000.0), limit, pending.callback)
	var result: Array = await pending.finished
	exchange.status = int(result[0]) if result.size() > 0 else 0
	if exchange.status == 0:
		exchange.error = str(result[3]) if result.size() > 3 else "fetch failed"
		return
	var parsed: Variant = JSON.parse_string(str(result[1]))
	if parsed is Dictionary:
		for header_name: String in parsed:
			exchange.headers[header_name.to_lower()] = str(parsed[header_name])
	var body_b64 := str(result[2])
	exchange.body = Marshalls.base64_to_raw(body_b64) if body_b64 != "" else PackedByteArray()
