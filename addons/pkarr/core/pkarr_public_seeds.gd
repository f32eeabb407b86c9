class_name PkarrPublicSeeds
extends RefCounted
## The hash rules behind the keys anyone can derive (docs/nat.md §4, docs/lobby.md "Short invite
## codes"), and the BEP5 lobby topic: a public key's 32-byte Ed25519 seed is
## [code]sha256(text)[/code] of a public text, so whoever knows the text can sign for it (a
## meeting point, never a proof). Turning a seed into its public key needs Ed25519:
## [code]PkarrSignatures.public_key_from_seed(seed)[/code] (addons/pkarr/crypto).
## [codeblock]
## directory slot  "pkarr-godot-directory:v1:<game>:<gameVersion>:<window>:<slot>"
## home slot       u32be(sha256("pkarr-godot-directory-slot:v1:<window>:<hostZ32>")[0..4]) mod slots
## short-code slot "pkarr-godot-short-code-slot:v1:<code without dash>"
## lobby topic     sha1("pkarr-godot-lobby:v1:<game>:<gameVersion>")
## [/codeblock]

const DIRECTORY_SEED_PREFIX := "pkarr-godot-directory:v1:"
const DIRECTORY_SLOT_PREFIX := "pkarr-godot-directory-slot:v1:"
const SHORT_CODE_SLOT_PREFIX := "pkarr-godot-short-code-slot:v1:"
const TOPIC_PREFIX := "pkarr-godot-lobby:v1:"
## Window length of directory scheme v1, seconds.
const DIRECTORY_WINDOW_SECONDS := 600
const DEFAULT_DIRECTORY_SLOTS := 8
const MAX_DIRECTORY_SLOTS := 64


## SHA-256 of [param data].
static func sha256(data: PackedByteArray) -> PackedByteArray:
	var context := HashingContext.new()
	context.start(HashingContext.HASH_SHA256)
	context.update(data)
	return context.finish()


## SHA-256 of the UTF-8 of [param text].
static func sha256_text(text: String) -> PackedByteArray:
	return sha256(text.to_utf8_buffer())


## The 32-byte Ed25519 seed of the public key of [param text]: [code]sha256(text)[/code].
static func public_seed(text: String) -> PackedByteArray:
	return sha256_text(text)


## The topic text of a game version; "" when the game id or version is invalid.
static func lobby_topic_text(game: String, game_version: String) -> String:
	if not PkarrLobbyRecord.is_game_id(game) or not PkarrLobbyRecord.is_game_version(game_version):
		return ""
	return "%s%s:%s" % [TOPIC_PREFIX, game, game_version]


## The 20-byte BEP5 info-hash of a game version's lobby topic (empty when invalid).
static func lobby_topic(game: String, game_version: String) -> PackedByteArray:
	var text := lobby_topic_text(game, game_version)
	if text == "":
		return PackedByteArray()
	var context := HashingContext.new()
	context.start(HashingContext.HASH_SHA1)
	context.update(text.to_utf8_buffer())
	return context.finish()


## The directory window of a time in µs since the epoch.
static func directory_window(now_micros: int) -> int:
	return now_micros / 1000000 / DIRECTORY_WINDOW_SECONDS


## The seed text of directory slot [param slot] of [param slots]. Failure:
## [code]INVALID_ARGUMENT[/code] (bad game id, version, window or slot).
static func directory_slot_text(game: String, game_version: String, window: int, slot: int,
		slots: int = DEFAULT_DIRECTORY_SLOTS) -> PkarrResult:
	if lobby_topic_text(game, game_version) == "":
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"invalid game id or version %s %s" % [JSON.stringify(game), JSON.stringify(game_version)])
	if slots < 1 or slots > MAX_DIRECTORY_SLOTS:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"invalid directory slot count %d (1-%d)" % [slots, MAX_DIRECTORY_SLOTS])
	if window < 0:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "invalid directory window %d" % window)
	if slot < 0 or slot >= slots:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT,
				"invalid directory slot %d (0-%d)" % [slot, slots - 1])
	return PkarrResult.success("%s%s:%s:%d:%d" % [DIRECTORY_SEED_PREFIX, game, game_version, window, slot])


## The Ed25519 seed of a directory slot (see [method directory_slot_text]).
static func directory_slot_seed(game: String, game_version: String, window: int, slot: int,
		slots: int = DEFAULT_DIRECTORY_SLOTS) -> PkarrResult:
	var text := directory_slot_text(game, game_version, window, slot, slots)
	return PkarrResult.success(public_seed(text.value)) if text.is_ok() else text


## The slot a host (z32) tries first in a window.
static func home_slot(host_z32: String, window: int, slots: int) -> int:
	var digest := sha256_text("%s%d:%s" % [DIRECTORY_SLOT_PREFIX, window, host_z32])
	return PkarrBytes.u32(digest, 0) % maxi(slots, 1)


## The order a host tries the slots: home slot first, then the next ones, wrapping.
static func slot_order(host_z32: String, window: int, slots: int) -> Array[int]:
	var home := home_slot(host_z32, window, slots)
	var out: Array[int] = []
	for i: int in slots:
		out.append((home + i) % slots)
	return out


## The Ed25519 seed of a canonical short code's slot (10 characters, no dash).
static func short_code_slot_seed(canonical: String) -> PackedByteArray:
	return public_seed(SHORT_CODE_SLOT_PREFIX + canonical)
