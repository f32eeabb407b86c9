@tool
extends RefCounted
## The lobbies a [PkarrLobbyBrowser] shows, by key and in the sidecar's order.
##
## The sidecar compares and sorts lobbies (docs/lobby.md §3.5, "One place"): a watch's
## [code]lobby.found[/code] / [code]lobby.updated[/code] say where the lobby now stands
## ([code]index[/code]), so this list only inserts, moves and removes. [method changes_to]
## compares two whole lists, for the cases where the sidecar has nothing to compare with (a
## one-off browse, a new watch after a reconnection). Internal to [PkarrLobbyBrowser]
## (preloaded, no global class).

var _by_key: Dictionary = {}
var _order: Array[String] = []


## Appends the lobbies of the sidecar's JSON [param listed] (an Array of lobby objects, in its
## order) that are not listed yet.
func read(listed: Variant) -> void:
	if listed is Array:
		for item: Variant in listed:
			if item is Dictionary:
				var lobby := PkarrLobby.from_dict(item)
				if lobby.public_key != "" and not has(lobby.public_key):
					place(lobby, -1)


## Puts [param lobby] at [param index] (0 = first; -1 or past the end: last), taking it out of
## its old place. [code]true[/code] when it was listed before.
func place(lobby: PkarrLobby, index: int) -> bool:
	var key := lobby.public_key
	var known := _by_key.has(key)
	if known:
		_order.erase(key)
	_by_key[key] = lobby
	_order.insert(clampi(index, 0, _order.size()) if index >= 0 else _order.size(), key)
	return known


## Sets [member PkarrLobby.rtt_ms] of the listed lobbies named in [param rtts]
## ([code]{public key: ms}[/code], a watch's [code]lobby.refreshed[/code]), in place.
func set_rtts(rtts: Dictionary) -> void:
	for key: Variant in rtts:
		var lobby: PkarrLobby = _by_key.get(str(key))
		var ms: Variant = rtts[key]
		if lobby != null and (ms is float or ms is int) and ms > 0:
			lobby.rtt_ms = float(ms)


## Takes the lobby of [param key] out; [code]true[/code] when it was listed.
func remove(key: String) -> bool:
	if not _by_key.erase(key):
		return false
	_order.erase(key)
	return true


func has(key: String) -> bool:
	return _by_key.has(key)


## The lobby of [param key], or [code]null[/code].
func get_lobby(key: String) -> PkarrLobby:
	return _by_key.get(key)


func size() -> int:
	return _order.size()


## The lobbies in order.
func lobbies() -> Array[PkarrLobby]:
	var out: Array[PkarrLobby] = []
	for key: String in _order:
		out.append(_by_key[key])
	return out


## What changes from this list to [param next]: [code]{"found": Array[PkarrLobby],
## "updated": Array[PkarrLobby], "lost": Array[String]}[/code] (found and updated in
## [param next]'s order; updated = [method PkarrLobby.has_same_content] says no).
func changes_to(next: RefCounted) -> Dictionary:
	var found: Array[PkarrLobby] = []
	var updated: Array[PkarrLobby] = []
	var lost: Array[String] = []
	var next_lobbies: Array[PkarrLobby] = next.lobbies()
	for lobby: PkarrLobby in next_lobbies:
		var known: PkarrLobby = _by_key.get(lobby.public_key)
		if known == null:
			found.append(lobby)
		elif not known.has_same_content(lobby):
			updated.append(lobby)
	var next_keys := {}
	for lobby: PkarrLobby in next_lobbies:
		next_keys[lobby.public_key] = true
	for key: String in _order:
		if not next_keys.has(key):
			lost.append(key)
	return {"found": found, "updated": updated, "lost": lost}
