class_name PkarrRelayClient
extends Node
## Resolves and publishes signed packets over pkarr HTTP relays (the v7 relay API), in GDScript:
## what a web or mobile export uses instead of the sidecar.
##
## [b]Which relays, in which order.[/b] [member local_relay] ([code]http://127.0.0.1:6881[/code]
## on the web by default: a desktop sidecar's [code]serve[/code], or any pkarr relay the player
## runs) is asked first, alone, with a short timeout ([member local_timeout]). Then the remote
## [member relays] are raced [member race_width] at a time (default: the first two together,
## then the next two, ...): the first verified packet ends the wave after a short grace
## ([constant RACE_GRACE_SECONDS]) in which a relay of the same wave can still bring a newer one.
## A wave that finds nothing (404, errors, rejected packets) falls back to the next.
## [br][b]Verification.[/b] Every packet is read by [PkarrRelayVerifier] before use: the key in
## the URL, the Ed25519 signature over the BEP44 signable, the DNS message. A tampered packet or
## one signed by another key is dropped and counted ([code]rejected[/code]); the next relay is
## asked. The most recent packet (timestamp, then bytes) wins, also against the last one kept.
## [br][b]Caching and rate limits.[/b] The last packet per key is kept; later lookups send
## [code]If-Modified-Since[/code]: the end of the kept packet's second, so a relay answers the same
## packet with [code]304[/code] (pkarr v7 sends the second before, which never gets a 304 for a
## packet not signed on a whole second). HTTP dates count whole seconds: a newer packet signed in
## that same second is also answered [code]304[/code] and seen only at its next change. A lobby
## host publishes at most every [member PkarrLobbyHost.player_update_interval] (2 s by default). A [code]429[/code] puts that relay on hold for
## its [code]Retry-After[/code] ([PkarrRelayBackoff]); it is skipped, not hammered. A relay that
## could not be reached is skipped for [constant DOWN_SECONDS] (the local one for
## [constant LOCAL_DOWN_SECONDS]). An empty 200 (relays of pkarr v3-v6 answer a conditional GET
## of a newer packet so) is asked again once without [code]If-Modified-Since[/code].
## [br][b]Publishing.[/b] [code]PUT[/code] goes to every relay (the local one too) at once; the
## outcomes merge like pkarr v7: [code]NOT_MOST_RECENT[/code] when conflicts are at least as many
## as successes, else any success wins, else the most common error.

## Relay status codes of a failed resolve or publish (the sidecar's codes where it has one).
const RATE_LIMITED := "RATE_LIMITED"
## A relay refused the packet ([code]400[/code]).
const BAD_REQUEST := "BAD_REQUEST"
## No relay could be reached, or one answered an unexpected status.
const RELAY_ERROR := "RELAY_ERROR"
## A relay holds a more recent packet ([code]409[/code]).
const NOT_MOST_RECENT := "NOT_MOST_RECENT"
## The packet is over the relay's size limit ([code]413[/code]).
const PACKET_TOO_LARGE := "PACKET_TOO_LARGE"
## Every packet received failed verification.
const INVALID_SIGNATURE := "INVALID_SIGNATURE"
## Seconds a wave waits, after its first verified packet, for a newer one from its other relays.
const RACE_GRACE_SECONDS := 0.15
## Seconds a remote relay that could not be reached is skipped.
const DOWN_SECONDS := 30.0
## Seconds the local relay is skipped after it could not be reached (nothing listens there).
const LOCAL_DOWN_SECONDS := 60.0

## Remote relay base URLs ([code]https://pkarr.pubky.app[/code], ...), asked in this order.
var relays: PackedStringArray = PackedStringArray()
## The local relay asked first ([code]""[/code]: none).
var local_relay: String = ""
## Seconds one request to a remote relay may take.
var timeout: float = 5.0
## Seconds the local relay may take (it answers at once or is not there).
var local_timeout: float = 1.5
## Remote relays asked at the same time in one wave.
var race_width: int = 2
## Reads and verifies received packets.
var verifier: PkarrRelayVerifier = PkarrRelayVerifier.new()
## 429 bookkeeping, per relay.
var backoff: PkarrRelayBackoff = PkarrRelayBackoff.new()
## What each relay did in the last [method resolve] or [method publish]: Arrays of
## [code]{relay, status, outcome, ms}[/code] ([code]outcome[/code]: [code]packet[/code],
## [code]not_modified[/code], [code]not_found[/code], [code]rejected[/code], [code]skipped[/code]
## (on hold after a 429), [code]down[/code] (on hold: unreachable a moment ago), [code]rate_limited[/code], [code]error[/code], [code]stored[/code], or an
## error code of a PUT).
var last_outcomes: Array[Dictionary] = []

var _kept: Dictionary = {}


## The relays in the order they are asked: the local relay (if any) then [member relays], each
## without a trailing slash, duplicates dropped.
func relay_order() -> PackedStringArray:
	var order := PackedStringArray()
	for url: String in [local_relay] + Array(relays):
		var clean := url.strip_edges().trim_suffix("/")
		if clean != "" and not order.has(clean):
			order.append(clean)
	return order


## The last packet kept for [param public_key] (z-base-32), or [code]null[/code].
func kept_packet(public_key: String) -> PkarrRelayPacket:
	return _kept.get(public_key) as PkarrRelayPacket


## Drops the kept packet of [param public_key] ([code]""[/code]: of every key).
func forget(public_key: String = "") -> void:
	if public_key == "":
		_kept.clear()
	else:
		_kept.erase(public_key)


## Keeps [param packet] as the last one of its key unless a more recent one is kept.
func keep(packet: PkarrRelayPacket) -> void:
	var current := kept_packet(packet.public_key)
	if current == null or packet.more_recent_than(current) or packet.dns == current.dns:
		_kept[packet.public_key] = packet


## Coroutine: the most recent verified packet of [param public_key] (52 z-base-32 characters)
## the relays have. The value is a [PkarrRelayPacket]. Fails with [code]NOT_FOUND[/code],
## [constant INVALID_SIGNATURE] (only rejected packets came back), [constant RATE_LIMITED] (every
## relay is on hold; [code]error_data.retryAfter[/code] seconds) or [constant RELAY_ERROR].
## With [param conditional] the kept packet's timestamp goes out as [code]If-Modified-Since[/code].
func resolve(public_key: String, conditional: bool = true) -> PkarrResult:
	last_outcomes = []
	var key_bytes := verifier.key_bytes(public_key)
	if key_bytes.is_empty():
		return PkarrResult.failure("INVALID_PUBLIC_KEY_ENCODING", "not a z-base-32 public key: %s" % public_key)
	var kept := kept_packet(public_key)
	var since: PkarrRelayPacket = kept if conditional else null
	var order := relay_order()
	if order.is_empty():
		return PkarrResult.failure("INVALID_ARGUMENT", "no relay configured (pkarr/network/relays)")
	var waves: Array[PackedStringArray] = []
	var start := 0
	if local_relay.strip_edges() != "":
		waves.append(PackedStringArray([order[0]]))
		start = 1
	while start < order.size():
		waves.append(order.slice(start, start + maxi(race_width, 1)))
		start += maxi(race_width, 1)
	var best: PkarrRelayPacket = null
	var not_modified := false
	for wave: PackedStringArray in waves:
		var collector := _Wave.new()
		for url: String in wave:
			if backoff.is_waiting(url):
				_note(last_outcomes, url, 0, "down" if backoff.is_down(url) else "skipped", 0)
				continue
			collector.pending += 1
			_resolve_one(url, public_key, key_bytes, since, collector)
		await collector.settled(self)
		last_outcomes.append_array(collector.outcomes)
		for packet: PkarrRelayPacket in collector.packets:
			if best == null or packet.more_recent_than(best):
				best = packet
		not_modified = not_modified or collector.not_modified
		if best != null or not_modified:
			break
	if kept != null and (best == null or kept.more_recent_than(best)) and (not_modified or best != null):
		kept.seen_msec = Time.get_ticks_msec()
		return PkarrResult.success(kept)
	if best != null:
		keep(best)
		return PkarrResult.success(best)
	return _resolve_failure(public_key)


## Coroutine: PUTs [param packet] to every relay. The value is
## [code]{storedOn, relays: {url: outcome}}[/code] ([code]storedOn[/code]: the largest
## [code]Pkarr-Dht-Stored-Nodes[/code] reported). Fails with [constant NOT_MOST_RECENT],
## [constant PACKET_TOO_LARGE], [constant BAD_REQUEST], [constant RATE_LIMITED] or [constant RELAY_ERROR].
func publish(packet: PkarrRelayPacket) -> PkarrResult:
	last_outcomes = []
	var order := relay_order()
	if order.is_empty():
		return PkarrResult.failure("INVALID_ARGUMENT", "no relay configured (pkarr/network/relays)")
	var collector := _Wave.new()
	collector.wait_all = true
	for url: String in order:
		if backoff.is_waiting(url):
			_note(last_outcomes, url, 0, RELAY_ERROR if backoff.is_down(url) else RATE_LIMITED, 0)
			continue
		collector.pending += 1
		_publish_one(url, packet, collector)
	await collector.settled(self)
	last_outcomes.append_array(collector.outcomes)
	var successes := 0
	var stored_on := 0
	var counts: Dictionary = {}
	var per_relay: Dictionary = {}
	for outcome: Dictionary in last_outcomes:
		var code: String = outcome["outcome"]
		per_relay[outcome["relay"]] = code
		if code == "stored":
			successes += 1
			stored_on = maxi(stored_on, int(outcome.get("storedOn", 1)))
		else:
			counts[code] = int(counts.get(code, 0)) + 1
	if successes > 0 and int(counts.get(NOT_MOST_RECENT, 0)) < successes:
		keep(packet)
		return PkarrResult.success({"storedOn": stored_on, "relays": per_relay})
	var worst := NOT_MOST_RECENT if int(counts.get(NOT_MOST_RECENT, 0)) > 0 else RELAY_ERROR
	if not counts.has(worst):
		var most := 0
		for code: String in counts:
			if int(counts[code]) > most:
				most = int(counts[code])
				worst = code
	var data := {"relays": per_relay}
	if worst == RATE_LIMITED:
		data["retryAfter"] = _shortest_wait(order)
	return PkarrResult.failure(worst, "publish failed on every relay: %s" % _summary(), data)


func _resolve_one(url: String, public_key: String, key_bytes: PackedByteArray,
		kept: PkarrRelayPacket, collector: _Wave) -> void:
	var lines := PackedStringArray()
	if kept != null:
		lines.append("If-Modified-Since: " + http_date(if_modified_since(kept.timestamp)))
	var wait := local_timeout if _is_local(url) else timeout
	var response := await PkarrRelayExchange.send(self, url + "/" + public_key, "GET", lines,
			PackedByteArray(), wait)
	if response.status == 200 and response.body.is_empty() and kept != null:
		# Relays of pkarr v3-v6 answer a conditional GET of a newer packet with an empty 200.
		response = await PkarrRelayExchange.send(self, url + "/" + public_key, "GET",
				PackedStringArray(["Cache-Control: no-cache"]), PackedByteArray(), wait)
	var outcome := "error"
	match response.status:
		200:
			var read: Dictionary = await verifier.read(public_key, key_bytes, response.body)
			if read.has("packet"):
				var packet: PkarrRelayPacket = read["packet"]
				packet.relay = url
				collector.packets.append(packet)
				outcome = "packet"
			else:
				outcome = "rejected"
				collector.rejected.append("%s: %s" % [url, read.get("error", "invalid packet")])
		304:
			outcome = "not_modified" if kept != null else "error"
			collector.not_modified = kept != null
		404:
			outcome = "not_found"
		429:
			outcome = "rate_limited"
			backoff.rate_limited(url, response)
	_after(url, response)
	_note(collector.outcomes, url, response.status, outcome, response.elapsed_msec, response.error)
	collector.finish_one()


func _publish_one(url: String, packet: PkarrRelayPacket, collector: _Wave) -> void:
	var response := await PkarrRelayExchange.send(self, url + "/" + packet.public_key, "PUT",
			PackedStringArray(["Content-Type: application/pkarr.org/relays#payload"]),
			packet.payload, timeout)
	var outcome := RELAY_ERROR
	var stored := 1
	match response.status:
		200, 204:
			outcome = "stored"
			var header := response.header("pkarr-dht-stored-nodes")
			stored = header.to_int() if header.is_valid_int() else 1
		400:
			outcome = BAD_REQUEST
		409, 428:
			outcome = NOT_MOST_RECENT
		413:
			outcome = PACKET_TOO_LARGE
		429:
			outcome = RATE_LIMITED
			backoff.rate_limited(url, response)
	_after(url, response)
	_note(collector.outcomes, url, response.status, outcome, response.elapsed_msec,
			response.error if response.error != "" or outcome == "stored" else response.body_text(120))
	collector.outcomes[-1]["storedOn"] = stored
	collector.finish_one()


func _is_local(url: String) -> bool:
	return local_relay.strip_edges() != "" and url == relay_order()[0]


# Back-off bookkeeping after an exchange with [param url] (429 is handled where it is read).
func _after(url: String, response: PkarrRelayExchange) -> void:
	if response.status == 0:
		backoff.unreachable(url, LOCAL_DOWN_SECONDS if _is_local(url) else DOWN_SECONDS)
	elif response.status != 429:
		backoff.answered(url)


func _resolve_failure(public_key: String) -> PkarrResult:
	var counts: Dictionary = {}
	for outcome: Dictionary in last_outcomes:
		counts[outcome["outcome"]] = int(counts.get(outcome["outcome"], 0)) + 1
	var data := {"relays": last_outcomes.duplicate(true)}
	if counts.has("not_found"):
		return PkarrResult.failure("NOT_FOUND", "no relay has a packet for %s" % public_key, data)
	if counts.has("rejected"):
		return PkarrResult.failure(INVALID_SIGNATURE,
				"every packet received for %s failed verification: %s" % [public_key, _summary()], data)
	if counts.has("rate_limited") or counts.has("skipped"):
		data["retryAfter"] = _shortest_wait(relay_order())
		if not counts.has("error") and not counts.has("down"):
			return PkarrResult.failure(RATE_LIMITED,
					"every relay asked to wait (retry in %.0f s)" % data["retryAfter"], data)
	return PkarrResult.failure(RELAY_ERROR, "no relay answered: %s" % _summary(), data)


func _shortest_wait(order: PackedStringArray) -> float:
	var shortest := PkarrRelayBackoff.MAX_SECONDS
	for url: String in order:
		shortest = minf(shortest, backoff.remaining_seconds(url))
	return shortest


func _note(into: Array[Dictionary], url: String, status: int, outcome: String, msec: int,
		detail: String = "") -> void:
	var entry := {"relay": url, "status": status, "outcome": outcome, "ms": msec}
	if detail != "":
		entry["detail"] = detail
	into.append(entry)


func _summary() -> String:
	var parts := PackedStringArray()
	for outcome: Dictionary in last_outcomes:
		var text := "%s %s" % [outcome["relay"], outcome["outcome"]]
		if outcome.has("detail"):
			text += " (%s)" % outcome["detail"]
		parts.append(text)
	return "; ".join(parts)


## The [code]If-Modified-Since[/code] second for a kept packet signed at [param timestamp] (µs):
## the end of its second, so a relay holding that very packet answers [code]304[/code] (relays
## compare with the packet's full µs timestamp). pkarr v7 asks from the second before instead,
## which never gets a 304 for the same packet; the price here: a newer packet signed within the
## same second as the kept one is not seen until a later one replaces it.
static func if_modified_since(timestamp: int) -> int:
	@warning_ignore("integer_division")
	return (timestamp + 999999) / 1000000


## [param unix_seconds] as an HTTP date (IMF-fixdate: [code]Sun, 06 Nov 1994 08:49:37 GMT[/code]).
static func http_date(unix_seconds: int) -> String:
	var d := Time.get_datetime_dict_from_unix_time(maxi(unix_seconds, 0))
	var days := ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
	var months := ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
	return "%s, %02d %s %04d %02d:%02d:%02d GMT" % [days[int(d["weekday"])], int(d["day"]),
			months[int(d["month"]) - 1], int(d["year"]), int(d["hour"]), int(d["minute"]), int(d["second"])]


## The requests of one wave: settles when all finished, or (unless [member wait_all]) a short
## grace after the first verified packet.
class _Wave:
	extends RefCounted
	signal progressed
	var pending: int = 0
	var wait_all: bool = false
	var packets: Array[PkarrRelayPacket] = []
	var rejected: PackedStringArray = PackedStringArray()
	var outcomes: Array[Dictionary] = []
	var not_modified: bool = false
	var _grace_started: bool = false
	var _grace_over: bool = false

	func finish_one() -> void:
		pending -= 1
		progressed.emit()

	func settled(node: Node) -> void:
		while pending > 0 and not _grace_over:
			if not wait_all and not _grace_started and (not packets.is_empty() or not_modified):
				_grace_started = true
				node.get_tree().create_timer(RACE_GRACE_SECONDS).timeout.connect(_on_grace_over)
			await progressed

	func _on_grace_over() -> void:
		_grace_over = true
		progressed.emit()
