@tool
class_name PkarrKeyInfo
extends RefCounted
## A named signing key kept by the sidecar.

## The key's name (letters, digits, [code]_[/code], [code].[/code] and [code]-[/code]).
var name: String = ""
## The public key (52 z-base-32 characters) — share it: it is the address of your records.
var public_key: String = ""
## The 64 hex characters of the secret seed; only filled by [code]Pkarr.export_key()[/code].
## Keep it secret: whoever has it can publish under this key.
var secret_key: String = ""


## Reads a key from the sidecar's JSON shape ([code]{name, publicKey, secretKey?}[/code]).
static func from_dict(data: Dictionary) -> PkarrKeyInfo:
	var info := PkarrKeyInfo.new()
	info.name = PkarrJson.to_text(data.get("name"))
	info.public_key = PkarrJson.to_text(data.get("publicKey"))
	info.secret_key = PkarrJson.to_text(data.get("secretKey"))
	return info


## [code]name: public key[/code].
func _to_string() -> String:
	return "%s: %s" % [name, public_key]
