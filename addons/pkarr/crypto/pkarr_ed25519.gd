class_name PkarrEd25519
extends RefCounted
## Ed25519 (RFC 8032 §5.1) in pure GDScript: key derivation, signing and strict verification.
##
## [codeblock]
## var public_key := PkarrEd25519.public_key_from_seed(seed)        # 32 bytes
## var signature := PkarrEd25519.sign(seed, message)                 # 64 bytes
## var ok := PkarrEd25519.verify(public_key, message, signature)     # bool
## [/codeblock]
## Keys are the 32-byte seed (pkarr's secret key) and the 32-byte encoded public key.
## [method verify] is strict and never raises: wrong lengths, a public key that is not a canonical
## encoding of a curve point or is one of the 8 points of small order, and a non-canonical S
## (≥ L) all give [code]false[/code]; the check is the cofactorless [S]B = R + [k]A, comparing
## encodings (so a non-canonical R fails too).
## [method sign] and [method public_key_from_seed] return an empty array for a seed that is not
## 32 bytes. Not constant-time (timings depend on the secret): fine for signing pkarr records in
## a game, not a hardened signer.
##
## Thread use: call [method prepare] once on the main thread first (it builds the base-point
## tables); after that every function is safe to call from worker threads. Most callers should use
## the async facade [PkarrSignatures], which also picks WebCrypto in browsers.

const _F := preload("res://addons/pkarr/crypto/pkarr_field25519.gd")
const _T := preload("res://addons/pkarr/crypto/pkarr_ed25519_tables.gd")
const _D := preload("res://addons/pkarr/crypto/pkarr_ed25519_double.gd")

## Base-point multiples unpacked from [PkarrEd25519Tables]: [ypx, ymx, xy2d] per point.
static var _comb: Array = []
static var _odd: Array = []


## Builds the base-point tables (idempotent). Call on the main thread before using threads.
static func prepare() -> void:
	if not _comb.is_empty():
		return
	var comb: Array = _unpack(_T.COMB)
	_odd = _unpack(_T.ODD)
	_comb = comb


## The 32-byte public key of a 32-byte seed (empty for a seed of another length).
static func public_key_from_seed(seed: PackedByteArray) -> PackedByteArray:
	if seed.size() != 32:
		return PackedByteArray()
	var a: PackedByteArray = _expand(seed)[0]
	return encode_point(_base_mul(a))


## The 64-byte signature R ‖ S of [param message] (empty for a seed that is not 32 bytes).
static func sign(seed: PackedByteArray, message: PackedByteArray) -> PackedByteArray:
	if seed.size() != 32:
		return PackedByteArray()
	var expanded: Array[PackedByteArray] = _expand(seed)
	var a: PackedByteArray = expanded[0]
	var public_key: PackedByteArray = encode_point(_base_mul(a))
	var r: PackedByteArray = PkarrScalar25519.reduce(PkarrSha512.hash(expanded[1] + message))
	var big_r: PackedByteArray = encode_point(_base_mul(r))
	var k: PackedByteArray = PkarrScalar25519.reduce(PkarrSha512.hash(big_r + public_key + message))
	return big_r + PkarrScalar25519.mul_add(k, a, r)


## True when [param signature] (64 bytes) is a valid signature of [param message] by
## [param public_key] (32 bytes). Never raises; any malformed input gives false.
static func verify(public_key: PackedByteArray, message: PackedByteArray,
		signature: PackedByteArray) -> bool:
	if not check_encodings(public_key, signature):
		return false
	var point_a: Array = decode_point(public_key)
	if point_a.is_empty():
		return false
	var big_r: PackedByteArray = signature.slice(0, 32)
	var k: PackedByteArray = PkarrScalar25519.reduce(PkarrSha512.hash(big_r + public_key + message))
	var neg_a: Array = [_F.neg(point_a[0]), point_a[1], point_a[2], _F.neg(point_a[3])]
	var check: Array = _double_scalar_mul(k, neg_a, signature.slice(32, 64))
	return encode_point(check) == big_r


## The cheap part of strict verification, shared with the WebCrypto path: a 32-byte public key
## whose y is canonical (below p) and not the y of one of the 8 small-order points, and a 64-byte
## signature whose S is below L. A key that passes can still be off the curve. The y alone is
## compared (sign bit cleared): both points of such a y are of small order, and the x = 0 ones
## with the sign bit set, which RFC 8032 refuses, are taken as the identity or (0, -1) by a
## lenient decoder such as the browser's WebCrypto (a forged signature then verifies).
static func check_encodings(public_key: PackedByteArray, signature: PackedByteArray) -> bool:
	if public_key.size() != 32 or signature.size() != 64:
		return false
	if not PkarrScalar25519.is_canonical(signature, 32):
		return false
	if not _is_canonical_y(public_key):
		return false
	var y_only: PackedByteArray = public_key.duplicate()
	y_only[31] &= 0x7f
	return not _T.SMALL_ORDER_HEX.has(y_only.hex_encode())


## The point [X, Y, Z, T] (extended coordinates) encoded in 32 bytes, or [] when the bytes are
## not the canonical encoding of a curve point (RFC 8032 §5.1.3).
static func decode_point(bytes: PackedByteArray) -> Array:
	if bytes.size() != 32:
		return []
	if not _is_canonical_y(bytes):
		return []
	var x_sign: int = bytes[31] >> 7
	var y: PackedInt64Array = _F.from_bytes(bytes)
	var one: PackedInt64Array = _F.one()
	var yy: PackedInt64Array = _F.sq(y)
	var u: PackedInt64Array = _F.sub(yy, one)
	var v: PackedInt64Array = _F.add(_F.mul(yy, _T.D), one)
	var v3: PackedInt64Array = _F.mul(_F.sq(v), v)
	var v7: PackedInt64Array = _F.mul(_F.sq(v3), v)
	var x: PackedInt64Array = _F.mul(_F.mul(u, v3), _F.pow22523(_F.mul(u, v7)))
	var vxx: PackedInt64Array = _F.mul(v, _F.sq(x))
	if not _F.equal(vxx, u):
		if not _F.equal(vxx, _F.neg(u)):
			return []
		x = _F.mul(x, _T.SQRT_M1)
	var x_bytes: PackedByteArray = _F.to_bytes(x)
	if x_sign == 1 and x_bytes == PackedByteArray(PkarrScalar25519.ZERO32):
		return []
	if (x_bytes[0] & 1) != x_sign:
		x = _F.carry(_F.neg(x))
	return [x, _F.carry(y), one, _F.mul(x, y)]


## True when the low 255 bits of the 32 bytes encode a y below p = 2^255 - 19.
static func _is_canonical_y(bytes: PackedByteArray) -> bool:
	if (bytes[31] & 0x7f) != 0x7f or bytes[0] < 0xed:
		return true
	for i in range(1, 31):
		if bytes[i] != 0xff:
			return true
	return false


## The 32-byte encoding of a point [X, Y, Z, ...].
static func encode_point(p: Array) -> PackedByteArray:
	var zi: PackedInt64Array = _F.invert(p[2])
	var out: PackedByteArray = _F.to_bytes(_F.mul(p[1], zi))
	if _F.is_negative(_F.mul(p[0], zi)):
		out[31] |= 0x80
	return out


## seed -> [clamped scalar a, prefix] (RFC 8032 §5.1.5).
static func _expand(seed: PackedByteArray) -> Array[PackedByteArray]:
	var h: PackedByteArray = PkarrSha512.hash(seed)
	var a: PackedByteArray = h.slice(0, 32)
	a[0] &= 248
	a[31] &= 127
	a[31] |= 64
	return [a, h.slice(32, 64)]


static func _identity() -> Array:
	return [_F.zero(), _F.one(), _F.one(), _F.zero()]


## 2·P for P = [X, Y, Z, ...]; T is computed only when [param with_t] (an addition follows).
## With A = X², B = Y², C = 2·Z², H = A + B, E = H - (X + Y)², G = A - B, F = C + G:
## X3 = E·F, Y3 = G·H, Z3 = F·G, T3 = E·H (the negated forms of the a = -1 doubling, whose signs
## cancel in every product). [PkarrEd25519Double] computes it with the field code inlined.
static func _dbl(p: Array, with_t: bool) -> Array:
	return _D.dbl(p[0], p[1], p[2], with_t)


## P ± Q for P = [X, Y, Z, T] and Q cached as [Y + X, Y - X, Z, 2·d·T] (Q's Z = 1 when
## [param affine], for the precomputed tables: then Q is [y + x, y - x, 2·d·x·y]).
static func _add(p: Array, q: Array, subtract: bool, affine: bool) -> Array:
	var x: PackedInt64Array = p[0]
	var y: PackedInt64Array = p[1]
	var a: PackedInt64Array
	var b: PackedInt64Array
	if subtract:
		a = _F.mul(_F.sub(y, x), q[0])
		b = _F.mul(_F.add(y, x), q[1])
	else:
		a = _F.mul(_F.sub(y, x), q[1])
		b = _F.mul(_F.add(y, x), q[0])
	var c: PackedInt64Array = _F.mul(p[3], q[2] if affine else q[3])
	var d: PackedInt64Array
	if affine:
		d = _F.add(p[2], p[2])
	else:
		var zz: PackedInt64Array = _F.mul(p[2], q[2])
		d = _F.add(zz, zz)
	var e: PackedInt64Array = _F.sub(b, a)
	var h: PackedInt64Array = _F.add(b, a)
	var f: PackedInt64Array
	var g: PackedInt64Array
	if subtract:
		f = _F.add(d, c)
		g = _F.sub(d, c)
	else:
		f = _F.sub(d, c)
		g = _F.add(d, c)
	return [_F.mul(e, f), _F.mul(g, h), _F.mul(f, g), _F.mul(e, h)]


static func _cached(p: Array) -> Array:
	return [_F.add(p[1], p[0]), _F.sub(p[1], p[0]), p[2], _F.mul(p[3], _T.D2)]


## a·B for a 32-byte scalar below 2^255 (radix-16 signed digits, 64 table additions).
static func _base_mul(a: PackedByteArray) -> Array:
	prepare()
	var e := PackedInt64Array()
	e.resize(64)
	for i in 32:
		e[2 * i] = a[i] & 15
		e[2 * i + 1] = (a[i] >> 4) & 15
	var carry: int = 0
	for i in 63:
		e[i] += carry
		carry = (e[i] + 8) >> 4
		e[i] -= carry * 16
	e[63] += carry
	var p: Array = _identity()
	for i in range(1, 64, 2):
		p = _add_digit(p, i >> 1, e[i])
	p = _dbl(_dbl(_dbl(_dbl(p, false), false), false), true)
	for i in range(0, 64, 2):
		p = _add_digit(p, i >> 1, e[i])
	return p


static func _add_digit(p: Array, block: int, digit: int) -> Array:
	if digit == 0:
		return p
	if digit > 0:
		return _add(p, _comb[block * 8 + digit - 1], false, true)
	return _add(p, _comb[block * 8 - digit - 1], true, true)


## k·P + s·B (P in extended coordinates), with width-5 NAF for P and width-8 NAF for B.
static func _double_scalar_mul(k: PackedByteArray, p: Array, s: PackedByteArray) -> Array:
	prepare()
	var naf_k: PackedInt64Array = _naf(k, 5)
	var naf_s: PackedInt64Array = _naf(s, 8)
	var p2: Array = _dbl(p, true)
	var p2c: Array = _cached(p2)
	var odd_p: Array = [_cached(p)] # odd_p[j] = (2j + 1)·P
	var cur: Array = p
	for _j in 7:
		cur = _add(cur, p2c, false, false)
		odd_p.append(_cached(cur))
	var top: int = naf_k.size() - 1
	while top >= 0 and naf_k[top] == 0 and naf_s[top] == 0:
		top -= 1
	var r: Array = _identity()
	for i in range(top, -1, -1):
		var dk: int = naf_k[i]
		var ds: int = naf_s[i]
		if i != top:
			r = _dbl(r, dk != 0 or ds != 0)
		if dk > 0:
			r = _add(r, odd_p[dk >> 1], false, false)
		elif dk < 0:
			r = _add(r, odd_p[(-dk) >> 1], true, false)
		if ds > 0:
			r = _add(r, _odd[ds >> 1], false, true)
		elif ds < 0:
			r = _add(r, _odd[(-ds) >> 1], true, true)
	return r


## Width-w non-adjacent form of a 32-byte scalar: 257 signed digits, each 0 or odd with
## |digit| < 2^(w-1), any w consecutive digits holding at most one non-zero.
static func _naf(scalar: PackedByteArray, w: int) -> PackedInt64Array:
	var bits := PackedInt64Array()
	bits.resize(257 + w)
	for i in 256:
		bits[i] = (scalar[i >> 3] >> (i & 7)) & 1
	var out := PackedInt64Array()
	out.resize(257)
	var full: int = 1 << w
	var half: int = 1 << (w - 1)
	var carry: int = 0
	var i: int = 0
	while i < 257:
		var t: int = bits[i] + carry
		if (t & 1) == 0:
			carry = t >> 1
			i += 1
			continue
		var val: int = carry
		for j in w:
			val += bits[i + j] << j
		if val > half:
			out[i] = val - full
			carry = 1
		else:
			out[i] = val
			carry = 0
		i += w
	return out


static func _unpack(table: PackedInt64Array) -> Array:
	var out: Array = []
	for o in range(0, table.size(), 30):
		out.append([table.slice(o, o + 10), table.slice(o + 10, o + 20),
				table.slice(o + 20, o + 30)])
	return out
