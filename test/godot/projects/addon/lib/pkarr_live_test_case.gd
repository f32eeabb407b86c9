class_name PkarrLiveTestCase
extends PkarrTestCase
## A suite against sidecars that the Node test started: their URLs and tokens arrive after boot as
## the live configuration ([method PkarrTestHost.live_config]); [method service_on] connects a
## fresh [PkarrService] to one of them by label.


## Coroutine: waits for the live configuration and keeps it in [code]shared["live"][/code];
## [code]false[/code] (after a failed assertion) when it did not come within [param timeout].
func load_live_config(timeout: float) -> bool:
	var live := await PkarrTestHost.live_config(tree, timeout)
	if not assert_false(live.is_empty(), "the host injected the sidecar configuration"):
		return false
	shared["live"] = live
	return true


## Coroutine: a new [PkarrService] (freed after the test) connected to the sidecar
## [param label] of the live configuration, or [code]null[/code] after a failed assertion.
func service_on(label: String) -> PkarrService:
	var service := PkarrService.new()
	service.autostart = false
	add_child_autofree(service)
	var sidecar: Dictionary = shared["live"]["sidecars"][label]
	var connected: PkarrResult = await service.connect_to(sidecar["url"], sidecar["token"])
	if not assert_true(connected.is_ok(), "connect to %s: %s" % [label, connected]):
		return null
	return service
