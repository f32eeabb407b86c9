@tool
class_name PkarrResult
extends RefCounted
## The outcome of a Pkarr call: a value on success, an error code and a message on failure.
##
## Every awaitable method of the [code]Pkarr[/code] autoload returns one, so a caller awaits a
## single thing and branches on [method is_ok]:
## [codeblock]
## var result: PkarrResult = await Pkarr.resolve(code)
## if result.is_ok():
##     var lobby: PkarrResolved = result.value
## else:
##     print("%s: %s" % [result.error_code, result.error_message])
## [/codeblock]
## Error codes are stable strings: the sidecar's codes ([code]NOT_FOUND[/code],
## [code]INVALID_PUBLIC_KEY_ENCODING[/code], [code]KEY_NOT_FOUND[/code], ...), the JSON-RPC
## ones below, and the client-side ones below.

## No connection to a sidecar (not started yet, failed, or reconnecting).
const NOT_CONNECTED := "NOT_CONNECTED"
## The connection closed while the request was pending.
const CONNECTION_LOST := "CONNECTION_LOST"
## Connecting to the sidecar failed (refused, wrong token, origin not allowed, timeout).
const CONNECTION_FAILED := "CONNECTION_FAILED"
## The sidecar did not answer within the request timeout.
const REQUEST_TIMEOUT := "REQUEST_TIMEOUT"
## The request could not be sent (buffer full or socket error).
const SEND_FAILED := "SEND_FAILED"
## The sidecar answered something that is not a valid JSON-RPC response.
const BAD_RESPONSE := "BAD_RESPONSE"
## The sidecar process exited.
const SIDECAR_EXITED := "SIDECAR_EXITED"
## No sidecar executable was found, or it could not be started.
const SIDECAR_UNAVAILABLE := "SIDECAR_UNAVAILABLE"
## This platform cannot run a sidecar (and no web URL is configured).
const UNSUPPORTED_PLATFORM := "UNSUPPORTED_PLATFORM"
## The service was stopped while the call was waiting.
const STOPPED := "STOPPED"
## An argument was rejected before anything was sent.
const INVALID_ARGUMENT := "INVALID_ARGUMENT"
# Lobby, join and NAT outcomes (the sidecar's lobbyError reasons and error codes).
## Nothing is published under the code.
const NO_LOBBY := "NO_LOBBY"
## The latest record says the lobby is closed (or locked).
const LOBBY_CLOSED := "LOBBY_CLOSED"
## The host stopped refreshing the record: it is gone without closing.
const LOBBY_EXPIRED := "LOBBY_EXPIRED"
## The key publishes records, but not a lobby.
const NOT_A_LOBBY := "NOT_A_LOBBY"
## The record uses a lobby schema version this sidecar does not read.
const UNSUPPORTED_SCHEMA := "UNSUPPORTED_SCHEMA"
## The record is a lobby with a missing or malformed field.
const INVALID_LOBBY := "INVALID_LOBBY"
## The lobby does not fit the 1000-byte record limit (when hosting).
const LOBBY_TOO_LARGE := "LOBBY_TOO_LARGE"
## Every place is taken.
const LOBBY_FULL := "LOBBY_FULL"
## A valid lobby, but of another game or game version.
const OTHER_GAME := "OTHER_GAME"
## Neither side can be reached: both NATs are strict and no router mapped a port.
const UNREACHABLE_NAT := "UNREACHABLE_NAT"
## The lobby offers no transport this platform can use.
const NO_TRANSPORT := "NO_TRANSPORT"
## The operation did not complete in time (the game's peer did not connect, the DHT did not answer).
const TIMEOUT := "TIMEOUT"
## The game's peer could not be created, or the host refused or dropped it.
const JOIN_REFUSED := "JOIN_REFUSED"
## The host's public address is not known yet (no DHT node reported it, no router mapping).
const ADDRESS_UNKNOWN := "ADDRESS_UNKNOWN"
## The game server could not be started (the port is in use or not allowed).
const SERVER_FAILED := "SERVER_FAILED"
## The router did not map the port (no UPnP IGD, NAT-PMP or PCP answered, or it refused).
const PORT_MAPPING_FAILED := "PORT_MAPPING_FAILED"

# Pkarr core outcomes (the sidecar's error codes; addons/pkarr/core).
## A z-base-32 text has a character outside the alphabet (uppercase included).
const INVALID_ZBASE32 := "INVALID_ZBASE32"
## A public key text is not z-base-32.
const INVALID_PUBLIC_KEY_ENCODING := "INVALID_PUBLIC_KEY_ENCODING"
## A public key is not 32 bytes.
const INVALID_PUBLIC_KEY_LENGTH := "INVALID_PUBLIC_KEY_LENGTH"
## A public key's 32 bytes are not an Ed25519 curve point.
const INVALID_ED25519_PUBLIC_KEY := "INVALID_ED25519_PUBLIC_KEY"
## A signed packet (or relay body) is shorter than its fixed header.
const INVALID_SIGNED_PACKET_BYTES_LENGTH := "INVALID_SIGNED_PACKET_BYTES_LENGTH"
## A signed packet is over 1104 bytes, or its DNS message over 1000.
const PACKET_TOO_LARGE := "PACKET_TOO_LARGE"
## A packet timestamp is not a valid BEP44 seq (negative, or 2^63 µs and more).
const INVALID_TIMESTAMP := "INVALID_TIMESTAMP"
## A DNS message is malformed.
const DNS_ERROR := "DNS_ERROR"
## A record cannot be encoded (bad field, address, length, SvcParam, ...).
const INVALID_RECORD := "INVALID_RECORD"
## A record name or target is not a valid DNS name.
const INVALID_NAME := "INVALID_NAME"

## JSON-RPC [code]-32700[/code]: the sidecar could not parse the request.
const PARSE_ERROR := "PARSE_ERROR"
## JSON-RPC [code]-32600[/code]: the request was not a valid JSON-RPC request.
const INVALID_REQUEST := "INVALID_REQUEST"
## JSON-RPC [code]-32601[/code]: the sidecar does not know the method.
const METHOD_NOT_FOUND := "METHOD_NOT_FOUND"
## JSON-RPC [code]-32602[/code] without a more specific code (the sidecar always gives one).
const INVALID_PARAMS := "INVALID_PARAMS"
## JSON-RPC [code]-32603[/code] or any other unexpected sidecar failure.
const INTERNAL := "INTERNAL"

## [code]true[/code] when the call succeeded; [member value] then holds its result.
var ok: bool = false
## A stable error code (empty on success).
var error_code: String = ""
## A human-readable explanation (empty on success).
var error_message: String = ""
## The result on success: a typed object such as [PkarrResolved], an Array or a Dictionary.
var value: Variant = null
## Extra error details from the sidecar (e.g. [code]field[/code], limits), empty otherwise.
var error_data: Dictionary = {}


## A successful result holding [param result_value].
static func success(result_value: Variant = null) -> PkarrResult:
	var result := PkarrResult.new()
	result.ok = true
	result.value = result_value
	return result


## A failed result with [param code] and [param message] (and optional [param data]).
static func failure(code: String, message: String, data: Dictionary = {}) -> PkarrResult:
	var result := PkarrResult.new()
	result.ok = false
	result.error_code = code
	result.error_message = message
	result.error_data = data
	return result


## The failure of a parameter the game passed: [param code] (by default
## [constant INVALID_ARGUMENT]) with [code]error_data.field[/code] naming [param field]. It is the
## sidecar's JSON-RPC [code]-32602[/code] as the RPC client decodes it, so the relay backend fails
## bad input with the same code and field as the sidecar.
static func invalid_params(field: String, message: String, code: String = INVALID_ARGUMENT) -> PkarrResult:
	return failure(code, message, {"field": field, "code": code})


## [code]true[/code] when the call succeeded.
func is_ok() -> bool:
	return ok


## A short description for logs: [code]ok(<value>)[/code] or [code]CODE: message[/code].
func _to_string() -> String:
	if ok:
		return "ok(%s)" % str(value)
	return "%s: %s" % [error_code, error_message]
