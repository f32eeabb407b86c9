extends PkarrTestCase
## Connects to the loopback Node `ws` server given in res://test_config.json and round-trips a
## JSON-RPC message (the token travels as a subprotocol: custom headers are ignored on Web).

var _peer: WebSocketPeer = WebSocketPeer.new()


func after_each() -> void:
	_peer.close()


func test_json_rpc_echo() -> void:
	var token: String = str(config.get("token", ""))
	_peer.supported_protocols = PackedStringArray(["pkarr-godot.v1", "token." + token])
	var url: String = "ws://127.0.0.1:%d/rpc" % int(config.get("port", 0))
	if not assert_eq(_peer.connect_to_url(url), OK, "connect_to_url " + url):
		return
	var opened: bool = await wait_until(func() -> bool: return _poll() == WebSocketPeer.STATE_OPEN, 5.0)
	if not assert_true(opened, "socket opened"):
		return
	assert_eq(_peer.get_selected_protocol(), "pkarr-godot.v1")
	print("# ws open %s" % config.get("name", ""))
	var request: Dictionary = {
		"jsonrpc": "2.0",
		"id": "g1",
		"method": "echo",
		"params": {"text": "hello from " + str(config.get("name", "")), "n": 7},
	}
	assert_eq(_peer.send_text(JSON.stringify(request)), OK)
	var replied: bool = await wait_until(
		func() -> bool: return _poll() == WebSocketPeer.STATE_OPEN and _peer.get_available_packet_count() > 0,
		5.0,
	)
	if not assert_true(replied, "a reply arrived"):
		return
	var reply: Variant = JSON.parse_string(_peer.get_packet().get_string_from_utf8())
	assert_true(_peer.was_string_packet(), "reply is a text frame")
	if not assert_true(reply is Dictionary, "reply is an object"):
		return
	assert_eq(reply.get("id"), "g1", "string ids survive the round trip")
	var result: Dictionary = reply.get("result", {})
	assert_eq(result.get("text"), request["params"]["text"])
	assert_eq(typeof(result.get("n")), TYPE_FLOAT, "JSON numbers come back as floats")
	assert_eq(result.get("n"), 7)
	_peer.close(1000, "bye")
	var closed: bool = await wait_until(func() -> bool: return _poll() == WebSocketPeer.STATE_CLOSED, 5.0)
	assert_true(closed, "socket closed")
	assert_eq(_peer.get_close_code(), 1000)


func _poll() -> int:
	_peer.poll()
	return _peer.get_ready_state()
