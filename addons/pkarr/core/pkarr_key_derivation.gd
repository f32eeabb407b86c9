class_name PkarrKeyDerivation
extends RefCounted
## Keys of the core that need the curve (addons/pkarr/crypto): strict public-key parsing (the
## sidecar's [code]PublicKey.parse[/code]: z32 forms, 32 bytes, a canonical curve point) and the
## keypairs anyone can derive from a public text ([PkarrPublicSeeds]): directory slots, short-code
## slots. The keypair methods are coroutines (they call [PkarrSignatures]); await them:
## [codeblock]
## var signatures := PkarrSignatures.new()
## var slot: PkarrResult = await PkarrKeyDerivation.directory_slot_keypair(signatures, "demo", "1.0", window, 0)
## if slot.is_ok():
##     print(slot.value["z32"])     # {"seed": PackedByteArray, "public_key": PackedByteArray, "z32": String}
## [/codeblock]


## [code]true[/code] when 32 bytes are the canonical encoding of an Ed25519 curve point (what
## the sidecar's [code]isValidPoint[/code] accepts). Usable as the [code]is_valid_point[/code]
## callable of [method PkarrDirectorySlot.read] and [method PkarrShortCode.slot_candidates].
static func is_valid_point(public_key: PackedByteArray) -> bool:
	return public_key.size() == 32 and not PkarrEd25519.decode_point(public_key).is_empty()


## Parses a public key in any accepted text form and checks it is a curve point. Success value:
## like [method PkarrZ32.parse_public_key]; failures: its codes and
## [code]INVALID_ED25519_PUBLIC_KEY[/code].
static func parse_public_key(text: String) -> PkarrResult:
	var parsed := PkarrZ32.parse_public_key(text)
	if parsed.is_ok() and not is_valid_point(parsed.value["bytes"]):
		return PkarrResult.failure(PkarrResult.INVALID_ED25519_PUBLIC_KEY,
				"invalid Ed25519 public key %s: cannot decompress Edwards point" % parsed.value["z32"])
	return parsed


## The keypair of a 32-byte [param seed]. Success value: [code]{"seed", "public_key", "z32"}[/code];
## failure: [code]INVALID_ARGUMENT[/code] (not 32 bytes) or [code]INTERNAL[/code].
static func keypair_of_seed(signatures: PkarrSignatures, seed: PackedByteArray) -> PkarrResult:
	if seed.size() != 32:
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "a seed is 32 bytes, got %d" % seed.size())
	var public_key: PackedByteArray = await signatures.public_key_from_seed(seed)
	if public_key.size() != 32:
		return PkarrResult.failure(PkarrResult.INTERNAL, "could not derive the public key: %s"
				% signatures.last_error_message)
	return PkarrResult.success({"seed": seed, "public_key": public_key, "z32": PkarrZ32.encode(public_key)})


## The keypair whose seed is [code]sha256(text)[/code] (a public meeting point).
static func public_keypair(signatures: PkarrSignatures, text: String) -> PkarrResult:
	return await keypair_of_seed(signatures, PkarrPublicSeeds.public_seed(text))


## The keypair of directory slot [param slot] (of [param slots]) in [param window].
static func directory_slot_keypair(signatures: PkarrSignatures, game: String, game_version: String,
		window: int, slot: int, slots: int = PkarrPublicSeeds.DEFAULT_DIRECTORY_SLOTS) -> PkarrResult:
	var seed := PkarrPublicSeeds.directory_slot_seed(game, game_version, window, slot, slots)
	if not seed.is_ok():
		return seed
	return await keypair_of_seed(signatures, seed.value)


## The keypair of a short code's slot ([param code] in any spelling [method PkarrShortCode.parse]
## reads). Failure: [code]INVALID_ARGUMENT[/code] when it is not a short code.
static func short_code_slot_keypair(signatures: PkarrSignatures, code: String) -> PkarrResult:
	var canonical := PkarrShortCode.parse(code)
	if canonical == "":
		return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "not a short code: %s" % JSON.stringify(code))
	return await keypair_of_seed(signatures, PkarrPublicSeeds.short_code_slot_seed(canonical))
