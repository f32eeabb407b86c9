class_name PkarrRelayShortCodes
extends RefCounted
## Short invite codes ([code]K7M4Q-X9PT2[/code], docs/lobby.md "Short invite codes") for the relay
## backend: the code's slot key is derived ([PkarrKeyDerivation]), the slot's packet resolved
## (verified like every packet) and each host key it names is accepted only when its scrypt
## fingerprint IS the code ([PkarrScrypt]: WebCrypto + JavaScript, so browsers only; elsewhere
## the lookup fails with [code]NEEDS_SIDECAR[/code]). Same order and failures as the sidecar's
## [code]resolveShortCode[/code]: the cached slot first, then the network; an empty slot is
## [code]NO_LOBBY[/code], a slot naming no matching key is [code]NO_LOBBY[/code] with
## [code]squatted: true[/code].

var _backend: PkarrRelayBackend = null
var _scrypt: PkarrScrypt = null
var _hosts: Dictionary = {}


func _init(backend: PkarrRelayBackend) -> void:
	_backend = backend


## [code]true[/code] when [param text] reads as a short code (any spelling).
static func is_short_code(text: String) -> bool:
	return PkarrShortCode.parse(text) != ""


## Coroutine: the host key (z32) behind the short code [param text].
func host_of(text: String) -> PkarrResult:
	var canonical := PkarrShortCode.parse(text)
	if canonical == "":
		return _no_lobby("not a short code: %s" % JSON.stringify(text), {})
	var code := PkarrShortCode.format(canonical)
	if _hosts.has(canonical):
		return PkarrResult.success(_hosts[canonical])
	var slot: PkarrResult = await PkarrKeyDerivation.short_code_slot_keypair(_backend.signatures, canonical)
	if not slot.is_ok():
		return slot
	var slot_z32: String = slot.value["z32"]
	var cached := await _backend.resolve(slot_z32, "CacheFirst")
	if not cached.is_ok():
		return cached
	if bool(cached.value.get("found", false)):
		var host := await _matching_host(cached.value["records"], slot_z32, canonical)
		if not host.is_ok() or host.value != "":
			return _remember(canonical, host)
	var fresh := await _backend.resolve(slot_z32, "NetworkOnly")
	if not fresh.is_ok():
		return fresh
	if not bool(fresh.value.get("found", false)) and not bool(cached.value.get("found", false)):
		return _no_lobby("no lobby under the short code %s: nothing is published for it (mistyped, or the host is gone)"
				% code, {"shortCode": code})
	var again := PkarrResult.success("")
	if bool(fresh.value.get("found", false)):
		again = await _matching_host(fresh.value["records"], slot_z32, canonical)
	if again.is_ok() and again.value == "":
		return _no_lobby("no lobby under the short code %s: its slot names no key with this fingerprint (overwritten by someone else; ask the host for the long code)"
				% code, {"shortCode": code, "squatted": true})
	return _remember(canonical, again)


func _matching_host(records: Array, slot_z32: String, canonical: String) -> PkarrResult:
	if _scrypt == null:
		_scrypt = PkarrScrypt.new()
	var host: PkarrResult = await PkarrShortCode.host_of_slot(_scrypt, records, slot_z32, canonical,
			PkarrKeyDerivation.is_valid_point)
	if not host.is_ok():
		return PkarrResult.failure(PkarrRelayBackend.NEEDS_SIDECAR,
				"short codes need scrypt, which runs only in a browser here (%s: %s); use the long invite code (pk:...)"
				% [host.error_code, host.error_message])
	return host


func _remember(canonical: String, host: PkarrResult) -> PkarrResult:
	if host.is_ok() and host.value != "":
		_hosts[canonical] = host.value
	return host


static func _no_lobby(message: String, data: Dictionary) -> PkarrResult:
	var details := data.duplicate()
	details["lobbyError"] = "NO_LOBBY"
	return PkarrResult.failure("NOT_FOUND", message, details)
