class_name PkarrRelayBackoff
extends RefCounted
## Per-relay holds: after [code]429 Too Many Requests[/code] a relay that asked us to wait is not
## contacted again before the time it named; a relay that could not be reached at all is left
## alone for a short while ([method unreachable]: no timeout paid on every lookup, and no
## repeated loopback probe, which Chromium may turn into a permission prompt).
##
## The wait is the response's [code]Retry-After[/code] (seconds; the pkarr relays and ours send
## it and expose it to scripts), else the [code]Wait for Ns[/code] of the reference relay's
## body, else [constant DEFAULT_SECONDS] doubled for every further 429 in a row (at most
## [constant MAX_SECONDS]). A relay that answers anything else is forgiven at once.

## Wait after a 429 that names no time.
const DEFAULT_SECONDS := 5.0
## Longest wait, whatever the relay asks for.
const MAX_SECONDS := 600.0

var _until_msec: Dictionary = {}
var _strikes: Dictionary = {}
var _down: Dictionary = {}


## Records a 429 from [param relay] carried by [param response]; returns the seconds to wait.
func rate_limited(relay: String, response: PkarrRelayExchange) -> float:
	var strikes: int = int(_strikes.get(relay, 0)) + 1
	_strikes[relay] = strikes
	var seconds := retry_after_seconds(response)
	if seconds < 0.0:
		seconds = DEFAULT_SECONDS * pow(2.0, float(mini(strikes - 1, 8)))
	seconds = clampf(seconds, 1.0, MAX_SECONDS)
	_down.erase(relay)
	_until_msec[relay] = Time.get_ticks_msec() + int(seconds * 1000.0)
	return seconds


## Records that [param relay] could not be reached; it is skipped for [param seconds].
func unreachable(relay: String, seconds: float) -> void:
	_down[relay] = true
	_until_msec[relay] = Time.get_ticks_msec() + int(clampf(seconds, 0.0, MAX_SECONDS) * 1000.0)


## Records that [param relay] answered without rate limiting.
func answered(relay: String) -> void:
	_strikes.erase(relay)
	_until_msec.erase(relay)
	_down.erase(relay)


## [code]true[/code] when [param relay] is on hold because it was unreachable (not for a 429).
func is_down(relay: String) -> bool:
	return is_waiting(relay) and _down.has(relay)


## Seconds [param relay] still asks us to wait (0 when it may be contacted).
func remaining_seconds(relay: String) -> float:
	var until: int = int(_until_msec.get(relay, 0))
	var left := until - Time.get_ticks_msec()
	return maxf(float(left) / 1000.0, 0.0)


## [code]true[/code] while [param relay] must not be contacted.
func is_waiting(relay: String) -> bool:
	return remaining_seconds(relay) > 0.0


## The wait a 429 [param response] asks for, in seconds, or -1 when it names none.
static func retry_after_seconds(response: PkarrRelayExchange) -> float:
	var value := response.header("retry-after")
	if value.is_valid_int():
		return float(value.to_int())
	if value.is_valid_float():
		return value.to_float()
	var text := response.body_text(200)
	var match_ := RegEx.create_from_string("[Ww]ait for (\\d+)\\s*s").search(text)
	if match_ != null:
		return float(match_.get_string(1).to_int())
	return -1.0
