@tool
class_name PkarrRecord
extends RefCounted
## One DNS resource record of a Pkarr packet.
##
## Build records with the static constructors and publish an Array of them:
## [codeblock]
## var records: Array[PkarrRecord] = [
##     PkarrRecord.txt("_lobby", "v=1 game=demo players=2/4", 60),
##     PkarrRecord.a("@", "203.0.113.7"),
##     PkarrRecord.svcb("_enet", 1, ".", {"port": 7777}),
## ]
## await Pkarr.publish(records, "host")
## [/codeblock]
## Names are relative to the key: [code]"@"[/code] is the apex, [code]"_lobby"[/code] becomes
## [code]_lobby.<public key>[/code]. Only the fields of the record's [member type] are used.

## IPv4 address record.
const TYPE_A := "A"
## IPv6 address record.
const TYPE_AAAA := "AAAA"
## Text record.
const TYPE_TXT := "TXT"
## Alias record.
const TYPE_CNAME := "CNAME"
## Name server record.
const TYPE_NS := "NS"
## Service locator record.
const TYPE_SRV := "SRV"
## Service binding record.
const TYPE_SVCB := "SVCB"
## Service binding record for HTTPS.
const TYPE_HTTPS := "HTTPS"
## Time to live used when none is given, in seconds.
const DEFAULT_TTL := 300

## The record type, e.g. [constant TYPE_TXT].
var type: String = ""
## The name relative to the key ([code]"@"[/code] for the apex).
var name: String = "@"
## The absolute name as resolved ([code]_lobby.<z32 key>[/code]); empty for records you build.
var full_name: String = ""
## Time to live in seconds.
var ttl: int = DEFAULT_TTL
## A and AAAA: the address.
var address: String = ""
## TXT: the text (the sidecar splits it into strings of at most 255 bytes).
var text: String = ""
## TXT: explicit character-strings; when set they are published instead of [member text].
var strings: PackedStringArray = PackedStringArray()
## CNAME, NS, SRV, SVCB and HTTPS: the target name ([code]"."[/code] for SVCB "same name").
var target: String = ""
## SRV, SVCB and HTTPS: the priority.
var priority: int = 0
## SRV: the weight.
var weight: int = 0
## SRV: the port.
var port: int = 0
## SVCB and HTTPS: the service parameters, e.g. [code]{"port": 7777, "alpn": ["x"]}[/code].
var params: Dictionary = {}


## An A record: [param record_name] points at IPv4 [param ipv4].
static func a(record_name: String, ipv4: String, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_A, record_name, record_ttl)
	record.address = ipv4
	return record


## An AAAA record: [param record_name] points at IPv6 [param ipv6].
static func aaaa(record_name: String, ipv6: String, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_AAAA, record_name, record_ttl)
	record.address = ipv6
	return record


## A TXT record holding [param value] (split into 255-byte strings by the sidecar).
static func txt(record_name: String, value: String, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_TXT, record_name, record_ttl)
	record.text = value
	return record


## A TXT record with explicit character-strings [param values].
static func txt_strings(record_name: String, values: PackedStringArray,
		record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_TXT, record_name, record_ttl)
	record.strings = values
	record.text = "".join(values)
	return record


## A CNAME record: [param record_name] is an alias of [param target_name].
static func cname(record_name: String, target_name: String,
		record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_CNAME, record_name, record_ttl)
	record.target = target_name
	return record


## An NS record delegating [param record_name] to [param target_name].
static func ns(record_name: String, target_name: String,
		record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_NS, record_name, record_ttl)
	record.target = target_name
	return record


## An SRV record for a service such as [code]_game._udp[/code].
static func srv(record_name: String, srv_priority: int, srv_weight: int, srv_port: int,
		target_name: String, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_SRV, record_name, record_ttl)
	record.priority = srv_priority
	record.weight = srv_weight
	record.port = srv_port
	record.target = target_name
	return record


## An SVCB record; [param svc_params] such as [code]{"port": 7777, "ipv4hint": ["1.2.3.4"]}[/code].
static func svcb(record_name: String, svc_priority: int, target_name: String,
		svc_params: Dictionary = {}, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := _make(TYPE_SVCB, record_name, record_ttl)
	record.priority = svc_priority
	record.target = target_name
	record.params = svc_params.duplicate(true)
	return record


## An HTTPS record (an SVCB record for HTTPS services).
static func https(record_name: String, svc_priority: int, target_name: String,
		svc_params: Dictionary = {}, record_ttl: int = DEFAULT_TTL) -> PkarrRecord:
	var record := svcb(record_name, svc_priority, target_name, svc_params, record_ttl)
	record.type = TYPE_HTTPS
	return record


## Reads a record in the sidecar's JSON shape (numbers may be floats). Resolved records carry
## an absolute [code]name[/code] and a [code]relative[/code] one; both are kept.
static func from_dict(data: Dictionary) -> PkarrRecord:
	var record := PkarrRecord.new()
	record.type = PkarrJson.to_text(data.get("type")).to_upper()
	var absolute_name := PkarrJson.to_text(data.get("name"), "@")
	if data.has("relative"):
		record.name = PkarrJson.to_text(data.get("relative"), "@")
		record.full_name = absolute_name
	else:
		record.name = absolute_name
	record.ttl = PkarrJson.to_int(data.get("ttl"), DEFAULT_TTL)
	record.address = PkarrJson.to_text(data.get("address"))
	record.strings = PkarrJson.to_strings(data.get("strings"))
	record.text = PkarrJson.to_text(data.get("text"), "".join(record.strings))
	record.target = PkarrJson.to_text(data.get("target"))
	record.priority = PkarrJson.to_int(data.get("priority"))
	record.weight = PkarrJson.to_int(data.get("weight"))
	record.port = PkarrJson.to_int(data.get("port"))
	record.params = PkarrJson.normalize_numbers(PkarrJson.to_dict(data.get("params")))
	return record


## The record in the sidecar's JSON shape, with only the fields of its [member type].
func to_dict() -> Dictionary:
	var data: Dictionary = {"type": type, "name": name, "ttl": ttl}
	match type:
		TYPE_A, TYPE_AAAA:
			data["address"] = address
		TYPE_TXT:
			if strings.is_empty():
				data["text"] = text
			else:
				data["strings"] = Array(strings)
		TYPE_CNAME, TYPE_NS:
			data["target"] = target
		TYPE_SRV:
			data["priority"] = priority
			data["weight"] = weight
			data["port"] = port
			data["target"] = target
		TYPE_SVCB, TYPE_HTTPS:
			data["priority"] = priority
			data["target"] = target
			data["params"] = params.duplicate(true)
	return data


## [code]true[/code] when this record is named [param record_name]: a relative name
## ([code]"_lobby"[/code], [code]"@"[/code]) or the absolute one.
func has_name(record_name: String) -> bool:
	var wanted := record_name.to_lower().trim_suffix(".")
	return wanted == name.to_lower() or (full_name != "" and wanted == full_name.to_lower())


## A one-line description, e.g. [code]TXT _lobby 60 "v=1"[/code].
func _to_string() -> String:
	var shown := ""
	match type:
		TYPE_A, TYPE_AAAA:
			shown = address
		TYPE_TXT:
			shown = JSON.stringify(text)
		TYPE_CNAME, TYPE_NS:
			shown = target
		TYPE_SRV:
			shown = "%d %d %d %s" % [priority, weight, port, target]
		TYPE_SVCB, TYPE_HTTPS:
			shown = "%d %s %s" % [priority, target, JSON.stringify(params)]
	return "%s %s %d %s" % [type, name, ttl, shown]


static func _make(record_type: String, record_name: String, record_ttl: int) -> PkarrRecord:
	var record := PkarrRecord.new()
	record.type = record_type
	record.name = record_name
	record.ttl = record_ttl
	return record
