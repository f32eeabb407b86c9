class_name PkarrIp
extends RefCounted
## IPv4 and IPv6 text <-> bytes for the DNS codec, with the sidecar's rules: dotted-quad IPv4
## without leading zeros; IPv6 with 1-4 hex digits per group, at most one [code]::[/code], an
## optional dotted-quad tail, no zone id; IPv6 printed in RFC 5952 form ([code]::ffff:a.b.c.d[/code]
## for IPv4-mapped addresses).


## The 4 bytes of a dotted-quad IPv4, or an empty array when [param text] is not one.
static func parse_ipv4(text: String) -> PackedByteArray:
	var out := PackedByteArray()
	var part := 0
	var value := 0
	var digits := 0
	for i: int in text.length():
		var c := text.unicode_at(i)
		if c == 0x2E:
			if digits == 0 or part == 3:
				return PackedByteArray()
			out.append(value)
			part += 1
			value = 0
			digits = 0
			continue
		var d := c - 0x30
		if d < 0 or d > 9 or (digits > 0 and value == 0):
			return PackedByteArray()
		value = value * 10 + d
		digits += 1
		if value > 255:
			return PackedByteArray()
	if part != 3 or digits == 0:
		return PackedByteArray()
	out.append(value)
	return out


## The 16 bytes of an IPv6 address, or an empty array when [param text] is not one.
static func parse_ipv6(text: String) -> PackedByteArray:
	var n := text.length()
	var words := PackedInt32Array()
	var gap := -1
	var i := 0
	if n >= 2 and text.unicode_at(0) == 0x3A and text.unicode_at(1) == 0x3A:
		gap = 0
		i = 2
	while i < n:
		var k := i
		var value := 0
		var dotted := false
		while k < n:
			var c := text.unicode_at(k)
			if c == 0x3A:
				break
			if c == 0x2E:
				dotted = true
			else:
				var h := PkarrBytes.hex_digit(c)
				if h < 0:
					return PackedByteArray()
				value = ((value << 4) | h) & 0xFFFFFFF
			k += 1
		if dotted:
			# An embedded IPv4 ends the address and fills two groups.
			var v4 := parse_ipv4(text.substr(i, k - i))
			if k != n or words.size() > 6 or v4.is_empty():
				return PackedByteArray()
			words.append((v4[0] << 8) | v4[1])
			words.append((v4[2] << 8) | v4[3])
			break
		if k == i or k - i > 4 or words.size() == 8:
			return PackedByteArray()
		words.append(value)
		if k == n:
			break
		if k + 1 < n and text.unicode_at(k + 1) == 0x3A:
			if gap >= 0:
				return PackedByteArray()
			gap = words.size()
			i = k + 2
		else:
			i = k + 1
			if i == n:
				return PackedByteArray()
	var count := words.size()
	if (gap < 0 and count != 8) or (gap >= 0 and count > 7):
		return PackedByteArray()
	var out := PackedByteArray()
	for j: int in count + 1:
		if j == gap:
			for z: int in 8 - count:
				out.append(0)
				out.append(0)
		if j == count:
			break
		out.append(words[j] >> 8)
		out.append(words[j] & 0xFF)
	return out


## Dotted-quad text of the 4 bytes at [param at].
static func format_ipv4(bytes: PackedByteArray, at: int = 0) -> String:
	return "%d.%d.%d.%d" % [PkarrBytes.byte_at(bytes, at), PkarrBytes.byte_at(bytes, at + 1),
			PkarrBytes.byte_at(bytes, at + 2), PkarrBytes.byte_at(bytes, at + 3)]


## RFC 5952 text of the 16 bytes at [param at] (lowercase, longest run of two or more zero
## groups as [code]::[/code], the first on ties).
static func format_ipv6(bytes: PackedByteArray, at: int = 0) -> String:
	var words := PackedInt32Array()
	for i: int in 8:
		words.append(PkarrBytes.u16(bytes, at + 2 * i))
	if words[0] == 0 and words[1] == 0 and words[2] == 0 and words[3] == 0 and words[4] == 0 \
			and words[5] == 0xFFFF:
		return "::ffff:" + format_ipv4(bytes, at + 12)
	var best_start := -1
	var best_len := 1
	var i := 0
	while i < 8:
		if words[i] != 0:
			i += 1
			continue
		var j := i
		while j < 8 and words[j] == 0:
			j += 1
		if j - i > best_len:
			best_start = i
			best_len = j - i
		i = j
	var text := ""
	var colon := false
	i = 0
	while i < 8:
		if i == best_start:
			text += "::"
			colon = false
			i += best_len
			continue
		if colon:
			text += ":"
		text += "%x" % words[i]
		colon = true
		i += 1
	return text


## The canonical text of an IP literal (IPv6 in RFC 5952 form), or "" when it is not one.
static func canonical(text: String) -> String:
	if not parse_ipv4(text).is_empty():
		return text
	var v6 := parse_ipv6(text)
	return "" if v6.is_empty() else format_ipv6(v6)
