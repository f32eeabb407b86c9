class_name PkarrLobbyTestLink
extends RefCounted
## Links an engine instance to the Node test that runs it (test/lobby-engine.test.ts), and
## through it to the other instance.
##
## The sidecars start once the page's origin is known, so this instance's sidecar URL and token
## arrive after boot in [code]window.__pkarrLobby[/code]. [method post] prints
## [code]PKARR_LOBBY_POST <key> <json>[/code]; the host copies the value into
## [code]window.__pkarrBus[<key>][/code] of every instance, where [method wait_for] finds it.
## [method ask] prints [code]PKARR_LOBBY_ACT <id> <action>[/code] and waits for the host's
## acknowledgement under [code]ack:<id>[/code].

## Prefix of the lines the host copies to every instance.
const POST_PREFIX := "PKARR_LOBBY_POST"
## Prefix of the requests the host performs (e.g. restarting this instance's sidecar).
const ACT_PREFIX := "PKARR_LOBBY_ACT"

static var _next_request: int = 0


## Coroutine: this instance's configuration ([code]{sidecar: {url, token}, role}[/code]), or an
## empty Dictionary if it did not arrive within [param timeout] seconds.
static func live_config(tree: SceneTree, timeout: float = 60.0) -> Dictionary:
	var found: Variant = await _poll(tree, "window.__pkarrLobby", timeout)
	return found if found is Dictionary else {}


## Coroutine: connects [param pkarr] to this instance's sidecar. Returns the outcome.
static func connect_service(tree: SceneTree, pkarr: PkarrService) -> PkarrResult:
	var live := await live_config(tree)
	if live.is_empty():
		return PkarrResult.failure(PkarrResult.NOT_CONNECTED, "no live configuration arrived")
	var sidecar: Dictionary = live["sidecar"]
	return await pkarr.connect_to(sidecar["url"], sidecar["token"])


## Publishes [param value] under [param key] to every instance.
static func post(key: String, value: Variant) -> void:
	print("%s %s %s" % [POST_PREFIX, key, JSON.stringify(value)])


## Coroutine: the value posted under [param key] (by any instance), or [code]null[/code] if
## none came within [param timeout] seconds.
static func wait_for(tree: SceneTree, key: String, timeout: float = 60.0) -> Variant:
	return await _poll(tree, "(window.__pkarrBus || {})[%s]" % JSON.stringify(key), timeout)


## Coroutine: asks the host to perform [param action] (e.g. [code]restart a[/code]: kill
## sidecar a and start it again on the same port, token and data) and returns its
## acknowledgement, [code]{ok: bool, …}[/code] ([code]{ok: false}[/code] after [param timeout]).
static func ask(tree: SceneTree, action: String, timeout: float = 60.0) -> Dictionary:
	_next_request += 1
	var id := "r%d" % _next_request
	print("%s %s %s" % [ACT_PREFIX, id, action])
	var ack: Variant = await wait_for(tree, "ack:" + id, timeout)
	return ack if ack is Dictionary else {"ok": false, "error": "no acknowledgement for " + action}


static func _poll(tree: SceneTree, expression: String, timeout: float) -> Variant:
	var probe := "JSON.stringify(%s === undefined ? null : %s)" % [expression, expression]
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while Time.get_ticks_msec() < deadline:
		var text: Variant = JavaScriptBridge.eval(probe, true)
		if text is String and text != "null" and text != "":
			return JSON.parse_string(text)
		await tree.create_timer(0.1, true, false, true).timeout
	return null
