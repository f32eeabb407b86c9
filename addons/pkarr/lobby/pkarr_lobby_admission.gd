class_name PkarrLobbyAdmission
extends RefCounted
## The admission handshake of a [PkarrLobbyHost]'s game server: each player is told whether it
## got a place before the game sees it.
##
## A transport connection alone cannot say why a server drops a player (ENet resets, WebSocket
## closes), so a player refused after connecting would first look joined. Hosts whose record says
## [code]admission[/code] (docs/lobby.md §4.1) therefore speak this, on the
## [MultiplayerPeer] itself before [SceneMultiplayer] sees the peer:
## [codeblock]
## host -> player   "pkarr-admit/1 ok"                 you have a place
## host -> player   "pkarr-admit/1 refuse LOBBY_FULL"  no place (or LOBBY_CLOSED), then disconnect
## player -> host   "pkarr-admit/1 ack"                the player read "ok"
## [/codeblock]
## Each message is one reliable packet on channel 0, UTF-8, at most [constant MAX_MESSAGE_BYTES].
## The host announces the player to its game ([signal MultiplayerPeer.peer_connected]) only after
## the ack, so no game packet can reach the player before its admission, on any channel.
## [PkarrMultiServerPeer] is the host side; [method await_admission] the player's
## ([code]Pkarr.join()[/code] runs it).

## Every message starts with this (protocol name and version).
const PREFIX := "pkarr-admit/1 "
## The host admits the player.
const ADMIT := "ok"
## The host refuses the player; a reason follows.
const REFUSE := "refuse"
## The player read the admission.
const ACK := "ack"
## Longest message; anything longer is not an admission message.
const MAX_MESSAGE_BYTES := 64
## Seconds a player waits for its admission by default.
const DEFAULT_TIMEOUT_SEC := 5.0
## The refusal reasons a host sends; a player reads any other reason as
## [constant PkarrResult.JOIN_REFUSED].
const REASONS: Array[String] = [PkarrResult.LOBBY_FULL, PkarrResult.LOBBY_CLOSED]


## The host's "you have a place".
static func admit_message() -> PackedByteArray:
	return (PREFIX + ADMIT).to_utf8_buffer()


## The host's refusal with [param reason] (one of [constant REASONS]).
static func refuse_message(reason: String) -> PackedByteArray:
	return (PREFIX + REFUSE + " " + reason).to_utf8_buffer()


## The player's acknowledgement of [method admit_message].
static func ack_message() -> PackedByteArray:
	return (PREFIX + ACK).to_utf8_buffer()


## Reads [param bytes]: [code]{"kind": "ok"}[/code], [code]{"kind": "ack"}[/code],
## [code]{"kind": "refuse", "reason": "LOBBY_FULL"}[/code], or [code]{}[/code] when they are
## not an admission message.
static func parse(bytes: PackedByteArray) -> Dictionary:
	if bytes.size() > MAX_MESSAGE_BYTES or bytes.size() <= PREFIX.length():
		return {}
	var text := bytes.get_string_from_utf8()
	if not text.begins_with(PREFIX):
		return {}
	var rest := text.substr(PREFIX.length())
	if rest == ADMIT or rest == ACK:
		return {"kind": rest}
	if rest.begins_with(REFUSE + " ") and rest.length() > REFUSE.length() + 1:
		return {"kind": REFUSE, "reason": rest.substr(REFUSE.length() + 1)}
	return {}


## Coroutine, the player's side: waits (at most [param timeout] seconds) for the host's
## admission on [param peer], a connected client peer not yet given to a [SceneMultiplayer].
## Admitted: sends the ack and succeeds with the peer. Refused: fails with the host's reason
## ([constant PkarrResult.LOBBY_FULL], [constant PkarrResult.LOBBY_CLOSED], otherwise
## [constant PkarrResult.JOIN_REFUSED]). Dropped without a word: [constant PkarrResult.JOIN_REFUSED];
## anything else first: [constant PkarrResult.BAD_RESPONSE]; no answer:
## [constant PkarrResult.TIMEOUT]. The caller closes the peer on failure.
static func await_admission(peer: MultiplayerPeer, timeout: float = DEFAULT_TIMEOUT_SEC) -> PkarrResult:
	var tree := Engine.get_main_loop() as SceneTree
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while true:
		peer.poll()
		if peer.get_available_packet_count() > 0:
			return _answer(peer, parse(peer.get_packet()))
		if peer.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED:
			return PkarrResult.failure(PkarrResult.JOIN_REFUSED,
					"the host closed the connection before admitting this player")
		if Time.get_ticks_msec() >= deadline or tree == null:
			break
		await tree.process_frame
	return PkarrResult.failure(PkarrResult.TIMEOUT,
			"the host did not admit this player within %.1f s" % timeout)


static func _answer(peer: MultiplayerPeer, message: Dictionary) -> PkarrResult:
	match str(message.get("kind", "")):
		ADMIT:
			peer.set_target_peer(MultiplayerPeer.TARGET_PEER_SERVER)
			peer.transfer_channel = 0
			peer.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
			var err := peer.put_packet(ack_message())
			if err != OK:
				return PkarrResult.failure(PkarrResult.JOIN_REFUSED,
						"could not acknowledge the admission: %s" % error_string(err))
			peer.poll()  # sends it now (ENet queues until the next service)
			return PkarrResult.success(peer)
		REFUSE:
			var reason := str(message.get("reason", ""))
			if reason in REASONS:
				return PkarrResult.failure(reason, "the host refused this player: %s" % (
						"the lobby is full" if reason == PkarrResult.LOBBY_FULL
						else "the lobby is closed"))
			return PkarrResult.failure(PkarrResult.JOIN_REFUSED,
					"the host refused this player (%s)" % reason.left(32))
	return PkarrResult.failure(PkarrResult.BAD_RESPONSE,
			"the host sent something other than an admission first")
