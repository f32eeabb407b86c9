class_name PkarrSignalLog
extends RefCounted
## Records emissions of signals for assertions, and disconnects from all of them in [method clear].

var _events: Array[Dictionary] = []
var _connections: Array[Dictionary] = []


## Starts recording [param sig] under [param label].
func watch(sig: Signal, label: String) -> void:
	var recorder := func(...args: Array) -> void:
		_events.append({"label": label, "args": args})
	sig.connect(recorder)
	_connections.append({"signal": sig, "callable": recorder})


## How often [param label] was emitted.
func count(label: String) -> int:
	return _of(label).size()


## The arguments of every emission of [param label].
func args_of(label: String) -> Array:
	var all: Array = []
	for event: Dictionary in _of(label):
		all.append(event["args"])
	return all


## Every recorded label in emission order.
func labels() -> Array[String]:
	var all: Array[String] = []
	for event: Dictionary in _events:
		all.append(event["label"])
	return all


## Disconnects everything and forgets the events.
func clear() -> void:
	for connection: Dictionary in _connections:
		var sig: Signal = connection["signal"]
		if not sig.is_null() and sig.is_connected(connection["callable"]):
			sig.disconnect(connection["callable"])
	_connections.clear()
	_events.clear()


func _of(label: String) -> Array[Dictionary]:
	var found: Array[Dictionary] = []
	for event: Dictionary in _events:
		if event["label"] == label:
			found.append(event)
	return found
