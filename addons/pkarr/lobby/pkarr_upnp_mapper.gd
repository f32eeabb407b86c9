class_name PkarrUpnpMapper
extends RefCounted
## Opens ports on the local router with UPnP so players on the internet can reach a host.
##
## UPnP calls block for seconds, so [method start] runs discovery and the mappings on a
## [Thread] and emits [signal completed] on the main thread. Desktop only
## ([method is_supported]); many routers have UPnP disabled, so a failure is normal and the
## game should still offer manual port forwarding.
##
## A fallback: [PkarrLobbyHost] no longer uses it. The sidecar maps the lobby's ports itself
## (UPnP IGD v1/v2, NAT-PMP and PCP, renewed and removed on close: [member PkarrLobbyHost.use_upnp],
## or [code]Pkarr.call_method("nat.map", ...)[/code] for ports of your own). Use this class only
## for a port the sidecar should not manage, with Godot's own UPnP client.

## Emitted once per [method start] with [code]{ok: bool, external_address: String,
## mapped: Array, error: String}[/code]. [code]mapped[/code] lists the mappings that were
## added ([code]{port, protocol}[/code]); [code]ok[/code] is [code]true[/code] when all were.
signal completed(result: Dictionary)

## Milliseconds UPnP discovery waits for routers to answer.
const DISCOVER_TIMEOUT_MSEC := 2000

var _thread: Thread = null
var _upnp: UPNP = null
var _mapped: Array[Dictionary] = []


## [code]true[/code] where UPnP can run: desktop platforms (not the web, not mobile).
static func is_supported() -> bool:
	return OS.has_feature("pc") and not OS.has_feature("web")


## [code]true[/code] while a [method start] is running.
func is_busy() -> bool:
	return _thread != null


## Starts discovering the router and mapping [param mappings] (each
## [code]{port: int, protocol: "UDP" or "TCP"}[/code], external port = internal port) under
## [param description]. Returns [constant OK], [constant ERR_UNAVAILABLE] where UPnP is not
## supported, or [constant ERR_BUSY] while a previous start runs.
func start(mappings: Array[Dictionary], description: String) -> Error:
	if not is_supported():
		return ERR_UNAVAILABLE
	if _thread != null:
		return ERR_BUSY
	_thread = Thread.new()
	var err := _thread.start(_run.bind(mappings.duplicate(true), description))
	if err != OK:
		_thread = null
	return err


## Coroutine: [method start], then waits for [signal completed] and returns its result (a
## failure result at once when the start failed).
func map_ports(mappings: Array[Dictionary], description: String) -> Dictionary:
	var err := start(mappings, description)
	if err != OK:
		return {"ok": false, "external_address": "", "mapped": [], "error": error_string(err)}
	return await completed


## Removes the mappings this object added (blocks briefly: one request per mapping to a
## router already found). Call it when the game server stops.
func remove_mappings() -> void:
	if _upnp == null or _thread != null:
		return
	for mapping: Dictionary in _mapped:
		_upnp.delete_port_mapping(int(mapping["port"]), str(mapping["protocol"]))
	_mapped.clear()


## The mappings currently in place.
func get_mapped() -> Array[Dictionary]:
	return _mapped.duplicate(true)


func _run(mappings: Array[Dictionary], description: String) -> void:
	var upnp := UPNP.new()
	var result := {"ok": false, "external_address": "", "mapped": [], "error": ""}
	var discovered := upnp.discover(DISCOVER_TIMEOUT_MSEC, 2, "InternetGatewayDevice")
	var gateway := upnp.get_gateway()
	if discovered != UPNP.UPNP_RESULT_SUCCESS or gateway == null or not gateway.is_valid_gateway():
		result["error"] = "no UPnP router found (result %d)" % discovered
		_finish.call_deferred(result, null)
		return
	var errors: PackedStringArray = []
	for mapping: Dictionary in mappings:
		var port := int(mapping["port"])
		var protocol := str(mapping["protocol"])
		var code := upnp.add_port_mapping(port, port, description, protocol, 0)
		if code == UPNP.UPNP_RESULT_SUCCESS:
			result["mapped"].append({"port": port, "protocol": protocol})
		else:
			errors.append("%s %d: result %d" % [protocol, port, code])
	result["external_address"] = upnp.query_external_address()
	result["ok"] = errors.is_empty()
	result["error"] = "; ".join(errors)
	_finish.call_deferred(result, upnp)


func _finish(result: Dictionary, upnp: UPNP) -> void:
	if _thread != null:
		_thread.wait_to_finish()
		_thread = null
	if upnp != null:
		_upnp = upnp
		for mapping: Variant in result["mapped"]:
			_mapped.append(mapping)
	completed.emit(result)
