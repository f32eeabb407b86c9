class_name PkarrScalar25519
extends RefCounted
## Arithmetic modulo the Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493
## for [PkarrEd25519] (internal). Scalars are 32-byte little-endian [PackedByteArray]s.

## L in 16-bit limbs, least significant first.
const _L16: Array[int] = [54253, 23797, 25370, 22546, 40150, 41719, 63966, 5342,
		0, 0, 0, 0, 0, 0, 0, 4096]
## L as 32 little-endian bytes.
const L_BYTES: Array[int] = [237, 211, 245, 92, 26, 99, 18, 88, 214, 156, 247, 162, 222, 249, 222,
		20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]
## 32 zero bytes.
const ZERO32: Array[int] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0]
## Keeps carried values non-negative before a shift (|limb| stays far below it).
const _BIAS: int = 1 << 40
const _BIAS_SHIFTED: int = 1 << 24


## True when the 32 bytes at [param offset] encode an integer below L (RFC 8032 §5.1.7: a
## signature's S must be).
static func is_canonical(bytes: PackedByteArray, offset: int = 0) -> bool:
	for i in range(31, -1, -1):
		var b: int = bytes[offset + i]
		if b != L_BYTES[i]:
			return b < L_BYTES[i]
	return false # equal to L


## The little-endian integer in [param bytes] (any length) modulo L, as 32 bytes.
static func reduce(bytes: PackedByteArray) -> PackedByteArray:
	var r := PackedInt64Array()
	r.resize(17)
	for idx in range(bytes.size() - 1, -1, -1):
		# r = r·256 + byte, then r -= q·L with q = floor(r / 2^252); r stays in [0, L).
		for i in 17:
			r[i] *= 256
		r[0] += bytes[idx]
		_carry(r)
		var q: int = (r[15] >> 12) | (r[16] << 4)
		if q != 0:
			for i in 16:
				r[i] -= q * _L16[i]
			_carry(r)
			if r[16] < 0:
				for i in 16:
					r[i] += _L16[i]
				_carry(r)
	var out := PackedByteArray()
	out.resize(32)
	for i in 16:
		out[2 * i] = r[i] & 0xff
		out[2 * i + 1] = (r[i] >> 8) & 0xff
	return out


## (a·b + c) mod L for 32-byte scalars (the S of a signature: r + k·s).
static func mul_add(a: PackedByteArray, b: PackedByteArray, c: PackedByteArray) -> PackedByteArray:
	var a16: PackedInt64Array = _limbs16(a)
	var b16: PackedInt64Array = _limbs16(b)
	var c16: PackedInt64Array = _limbs16(c)
	var prod := PackedInt64Array()
	prod.resize(33)
	for i in 16:
		var ai: int = a16[i]
		for j in 16:
			prod[i + j] += ai * b16[j]
	for i in 16:
		prod[i] += c16[i]
	_carry(prod)
	var wide := PackedByteArray()
	wide.resize(66)
	for i in 33:
		wide[2 * i] = prod[i] & 0xff
		wide[2 * i + 1] = (prod[i] >> 8) & 0xff
	return reduce(wide)


static func _limbs16(bytes: PackedByteArray) -> PackedInt64Array:
	var out := PackedInt64Array()
	out.resize(16)
	for i in 16:
		out[i] = int(bytes[2 * i]) | (int(bytes[2 * i + 1]) << 8)
	return out


## Floor carries in radix 2^16 (limbs may be negative); the last limb keeps the sign.
static func _carry(r: PackedInt64Array) -> void:
	var last: int = r.size() - 1
	for i in last:
		var c: int = ((r[i] + _BIAS) >> 16) - _BIAS_SHIFTED
		r[i] -= c * 65536
		r[i + 1] += c
