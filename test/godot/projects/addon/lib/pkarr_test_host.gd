class_name PkarrTestHost
extends RefCounted
## Talks to the Node test that runs this engine (test/addon-engine.test.ts).
##
## The sidecars can only start once the page's origin is known (they must allow it), so their
## URLs and tokens arrive after boot, through [code]window.__pkarrTest[/code], read here with
## [JavaScriptBridge]. Requests to the host (kill or restart a sidecar, ...) are printed as
## [code]PKARR_HOST <id> <action>[/code] lines; the host acknowledges each in
## [code]window.__pkarrAcks[<id>][/code].

## Prefix of the request lines the host reacts to.
const REQUEST_PREFIX := "PKARR_HOST"

static var _next_request: int = 0


## Coroutine: the live configuration ([code]{sidecars: {a: {url, token}, …}, …}[/code]), or an
## empty Dictionary if it did not arrive within [param timeout] seconds.
static func live_config(tree: SceneTree, timeout: float = 60.0) -> Dictionary:
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while Time.get_ticks_msec() < deadline:
		var text: Variant = JavaScriptBridge.eval(
				"window.__pkarrTest ? JSON.stringify(window.__pkarrTest) : ''", true)
		if text is String and text != "":
			var parsed: Variant = JSON.parse_string(text)
			return parsed if parsed is Dictionary else {}
		await tree.process_frame
	return {}


## Coroutine: asks the host to perform [param action] and waits for its acknowledgement
## (a Dictionary, [code]{ok: bool, …}[/code]); [code]{ok: false}[/code] after [param timeout].
static func ask(tree: SceneTree, action: String, timeout: float = 30.0) -> Dictionary:
	_next_request += 1
	var id := "r%d" % _next_request
	print("%s %s %s" % [REQUEST_PREFIX, id, action])
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	var probe := "JSON.stringify((window.__pkarrAcks || {})[%s] || null)" % JSON.stringify(id)
	while Time.get_ticks_msec() < deadline:
		var text: Variant = JavaScriptBridge.eval(probe, true)
		if text is String and text != "null":
			var parsed: Variant = JSON.parse_string(text)
			if parsed is Dictionary:
				return parsed
		await tree.process_frame
	return {"ok": false, "error": "no acknowledgement for %s within %.0f s" % [action, timeout]}
