class_name PkarrField25519
extends RefCounted
## Arithmetic modulo p = 2^255 - 19 for [PkarrEd25519] (internal).
##
## An element is a [PackedInt64Array] of ten signed limbs in radix 2^25.5: limb i holds bits from
## ceil(25.5·i), 26 bits wide for even i and 25 for odd i. [method mul], [method sq] and
## [method carry] return "carried" elements (|limb| ≤ about 2^25 / 2^24); [method add] and
## [method sub] do not carry, so a multiplication may take a sum or difference of up to three
## carried elements (all products then fit in a signed 64-bit int). Not constant-time.

const _LIMB_BITS: Array[int] = [26, 25, 26, 25, 26, 25, 26, 25, 26, 25]


## The element 0.
static func zero() -> PackedInt64Array:
	return PackedInt64Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])


## The element 1.
static func one() -> PackedInt64Array:
	return PackedInt64Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])


## f + g (not carried).
static func add(f: PackedInt64Array, g: PackedInt64Array) -> PackedInt64Array:
	return PackedInt64Array([f[0] + g[0], f[1] + g[1], f[2] + g[2], f[3] + g[3], f[4] + g[4],
			f[5] + g[5], f[6] + g[6], f[7] + g[7], f[8] + g[8], f[9] + g[9]])


## f - g (not carried).
static func sub(f: PackedInt64Array, g: PackedInt64Array) -> PackedInt64Array:
	return PackedInt64Array([f[0] - g[0], f[1] - g[1], f[2] - g[2], f[3] - g[3], f[4] - g[4],
			f[5] - g[5], f[6] - g[6], f[7] - g[7], f[8] - g[8], f[9] - g[9]])


## -f (not carried).
static func neg(f: PackedInt64Array) -> PackedInt64Array:
	return PackedInt64Array([-f[0], -f[1], -f[2], -f[3], -f[4], -f[5], -f[6], -f[7], -f[8], -f[9]])


## The element encoded little-endian in bytes [offset, offset + 32); bit 255 is ignored.
static func from_bytes(bytes: PackedByteArray, offset: int = 0) -> PackedInt64Array:
	var out := PackedInt64Array()
	out.resize(10)
	var acc: int = 0
	var have: int = 0
	var pos: int = offset
	for i in 10:
		var width: int = _LIMB_BITS[i]
		while have < width:
			acc |= int(bytes[pos]) << have
			pos += 1
			have += 8
		out[i] = acc & ((1 << width) - 1)
		acc >>= width
		have -= width
	return out


## The canonical 32-byte little-endian encoding of f (fully reduced modulo p).
static func to_bytes(f: PackedInt64Array) -> PackedByteArray:
	var h: PackedInt64Array = _floor_carry(f)
	# h < 2^255 now; h ≥ p exactly when h + 19 reaches 2^255.
	var t: PackedInt64Array = h.duplicate()
	t[0] += 19
	t = _floor_carry_no_wrap(t)
	if t[9] >= (1 << 25):
		t[9] -= 1 << 25
		h = t
	var out := PackedByteArray()
	out.resize(32)
	var acc: int = 0
	var have: int = 0
	var pos: int = 0
	for i in 10:
		acc |= h[i] << have
		have += _LIMB_BITS[i]
		while have >= 8 and pos < 32:
			out[pos] = acc & 0xff
			acc >>= 8
			have -= 8
			pos += 1
	out[31] = acc & 0xff # the last 7 bits
	return out


## True when f ≡ 0 (mod p).
static func is_zero(f: PackedInt64Array) -> bool:
	return to_bytes(f) == PackedByteArray([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])


## The low bit of the canonical form of f ("negative" in RFC 8032 terms).
static func is_negative(f: PackedInt64Array) -> bool:
	return (to_bytes(f)[0] & 1) == 1


## True when f ≡ g (mod p).
static func equal(f: PackedInt64Array, g: PackedInt64Array) -> bool:
	return to_bytes(f) == to_bytes(g)


## [f^(2^250 - 1), f^11], the common start of [method invert] and [method pow22523].
static func _pow_2_250_1(f: PackedInt64Array) -> Array[PackedInt64Array]:
	var f2: PackedInt64Array = sq(f)
	var f9: PackedInt64Array = mul(f, sq_times(f2, 2))
	var f11: PackedInt64Array = mul(f2, f9)
	var e5: PackedInt64Array = mul(f9, sq(f11)) # f^(2^5 - 1)
	var e10: PackedInt64Array = mul(sq_times(e5, 5), e5)
	var e20: PackedInt64Array = mul(sq_times(e10, 10), e10)
	var e40: PackedInt64Array = mul(sq_times(e20, 20), e20)
	var e50: PackedInt64Array = mul(sq_times(e40, 10), e10)
	var e100: PackedInt64Array = mul(sq_times(e50, 50), e50)
	var e200: PackedInt64Array = mul(sq_times(e100, 100), e100)
	var e250: PackedInt64Array = mul(sq_times(e200, 50), e50)
	return [e250, f11]


## 1/f = f^(p - 2) (0 for 0).
static func invert(f: PackedInt64Array) -> PackedInt64Array:
	var parts: Array[PackedInt64Array] = _pow_2_250_1(f)
	return mul(sq_times(parts[0], 5), parts[1])


## f^((p - 5) / 8) = f^(2^252 - 3), for square roots.
static func pow22523(f: PackedInt64Array) -> PackedInt64Array:
	var parts: Array[PackedInt64Array] = _pow_2_250_1(f)
	return mul(sq_times(parts[0], 2), f)


## Limbs made non-negative and within their width, the carry out of the top limb folded back
## as ·19 (the value is unchanged modulo p and ends below 2^255).
static func _floor_carry(f: PackedInt64Array) -> PackedInt64Array:
	var h: PackedInt64Array = f.duplicate()
	for _pass in 4:
		var c: int = 0
		for i in 10:
			var width: int = _LIMB_BITS[i]
			c = h[i] >> width
			h[i] -= c * (1 << width)
			if i < 9:
				h[i + 1] += c
		h[0] += 19 * c
		if c == 0:
			break
	return h


## Carries upward without folding the top limb (its excess stays in limb 9).
static func _floor_carry_no_wrap(f: PackedInt64Array) -> PackedInt64Array:
	var h: PackedInt64Array = f.duplicate()
	for i in 9:
		var width: int = _LIMB_BITS[i]
		var c: int = h[i] >> width
		h[i] -= c * (1 << width)
		h[i + 1] += c
	return h


## f·g, carried.
static func mul(f: PackedInt64Array, g: PackedInt64Array) -> PackedInt64Array:
	var f0: int = f[0]
	var f1: int = f[1]
	var f2: int = f[2]
	var f3: int = f[3]
	var f4: int = f[4]
	var f5: int = f[5]
	var f6: int = f[6]
	var f7: int = f[7]
	var f8: int = f[8]
	var f9: int = f[9]
	var g0: int = g[0]
	var g1: int = g[1]
	var g2: int = g[2]
	var g3: int = g[3]
	var g4: int = g[4]
	var g5: int = g[5]
	var g6: int = g[6]
	var g7: int = g[7]
	var g8: int = g[8]
	var g9: int = g[9]
	var g1_19: int = 19 * g1
	var g2_19: int = 19 * g2
	var g3_19: int = 19 * g3
	var g4_19: int = 19 * g4
	var g5_19: int = 19 * g5
	var g6_19: int = 19 * g6
	var g7_19: int = 19 * g7
	var g8_19: int = 19 * g8
	var g9_19: int = 19 * g9
	var f1_2: int = 2 * f1
	var f3_2: int = 2 * f3
	var f5_2: int = 2 * f5
	var f7_2: int = 2 * f7
	var f9_2: int = 2 * f9
	var h0: int = (f0 * g0 + f1_2 * g9_19 + f2 * g8_19 + f3_2 * g7_19 + f4 * g6_19 + f5_2 * g5_19
			+ f6 * g4_19 + f7_2 * g3_19 + f8 * g2_19 + f9_2 * g1_19)
	var h1: int = (f0 * g1 + f1 * g0 + f2 * g9_19 + f3 * g8_19 + f4 * g7_19 + f5 * g6_19
			+ f6 * g5_19 + f7 * g4_19 + f8 * g3_19 + f9 * g2_19)
	var h2: int = (f0 * g2 + f1_2 * g1 + f2 * g0 + f3_2 * g9_19 + f4 * g8_19 + f5_2 * g7_19
			+ f6 * g6_19 + f7_2 * g5_19 + f8 * g4_19 + f9_2 * g3_19)
	var h3: int = (f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9_19 + f5 * g8_19 + f6 * g7_19
			+ f7 * g6_19 + f8 * g5_19 + f9 * g4_19)
	var h4: int = (f0 * g4 + f1_2 * g3 + f2 * g2 + f3_2 * g1 + f4 * g0 + f5_2 * g9_19 + f6 * g8_19
			+ f7_2 * g7_19 + f8 * g6_19 + f9_2 * g5_19)
	var h5: int = (f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9_19
			+ f7 * g8_19 + f8 * g7_19 + f9 * g6_19)
	var h6: int = (f0 * g6 + f1_2 * g5 + f2 * g4 + f3_2 * g3 + f4 * g2 + f5_2 * g1 + f6 * g0
			+ f7_2 * g9_19 + f8 * g8_19 + f9_2 * g7_19)
	var h7: int = (f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0
			+ f8 * g9_19 + f9 * g8_19)
	var h8: int = (f0 * g8 + f1_2 * g7 + f2 * g6 + f3_2 * g5 + f4 * g4 + f5_2 * g3 + f6 * g2
			+ f7_2 * g1 + f8 * g0 + f9_2 * g9_19)
	var h9: int = (f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2
			+ f8 * g1 + f9 * g0)
	var c: int = (h0 + 33554432) >> 26
	h1 += c
	h0 -= c * 67108864
	c = (h4 + 33554432) >> 26
	h5 += c
	h4 -= c * 67108864
	c = (h1 + 16777216) >> 25
	h2 += c
	h1 -= c * 33554432
	c = (h5 + 16777216) >> 25
	h6 += c
	h5 -= c * 33554432
	c = (h2 + 33554432) >> 26
	h3 += c
	h2 -= c * 67108864
	c = (h6 + 33554432) >> 26
	h7 += c
	h6 -= c * 67108864
	c = (h3 + 16777216) >> 25
	h4 += c
	h3 -= c * 33554432
	c = (h7 + 16777216) >> 25
	h8 += c
	h7 -= c * 33554432
	c = (h4 + 33554432) >> 26
	h5 += c
	h4 -= c * 67108864
	c = (h8 + 33554432) >> 26
	h9 += c
	h8 -= c * 67108864
	c = (h9 + 16777216) >> 25
	h0 += c * 19
	h9 -= c * 33554432
	c = (h0 + 33554432) >> 26
	h1 += c
	h0 -= c * 67108864
	return PackedInt64Array([h0, h1, h2, h3, h4, h5, h6, h7, h8, h9])


## f², carried.
static func sq(f: PackedInt64Array) -> PackedInt64Array:
	return sq_times(f, 1)


## f with its limbs brought back into range (for sums of more than three carried values).
static func carry(f: PackedInt64Array) -> PackedInt64Array:
	var h0: int = f[0]
	var h1: int = f[1]
	var h2: int = f[2]
	var h3: int = f[3]
	var h4: int = f[4]
	var h5: int = f[5]
	var h6: int = f[6]
	var h7: int = f[7]
	var h8: int = f[8]
	var h9: int = f[9]
	var c: int = (h0 + 33554432) >> 26
	h1 += c
	h0 -= c * 67108864
	c = (h4 + 33554432) >> 26
	h5 += c
	h4 -= c * 67108864
	c = (h1 + 16777216) >> 25
	h2 += c
	h1 -= c * 33554432
	c = (h5 + 16777216) >> 25
	h6 += c
	h5 -= c * 33554432
	c = (h2 + 33554432) >> 26
	h3 += c
	h2 -= c * 67108864
	c = (h6 + 33554432) >> 26
	h7 += c
	h6 -= c * 67108864
	c = (h3 + 16777216) >> 25
	h4 += c
	h3 -= c * 33554432
	c = (h7 + 16777216) >> 25
	h8 += c
	h7 -= c * 33554432
	c = (h4 + 33554432) >> 26
	h5 += c
	h4 -= c * 67108864
	c = (h8 + 33554432) >> 26
	h9 += c
	h8 -= c * 67108864
	c = (h9 + 16777216) >> 25
	h0 += c * 19
	h9 -= c * 33554432
	c = (h0 + 33554432) >> 26
	h1 += c
	h0 -= c * 67108864
	return PackedInt64Array([h0, h1, h2, h3, h4, h5, h6, h7, h8, h9])


## f^(2^n) (n ≥ 1): n squarings on local variables (no array per step).
static func sq_times(f: PackedInt64Array, n: int) -> PackedInt64Array:
	var f0: int = f[0]
	var f1: int = f[1]
	var f2: int = f[2]
	var f3: int = f[3]
	var f4: int = f[4]
	var f5: int = f[5]
	var f6: int = f[6]
	var f7: int = f[7]
	var f8: int = f[8]
	var f9: int = f[9]
	for _i in n:
		var f0_2: int = 2 * f0
		var f1_2: int = 2 * f1
		var f2_2: int = 2 * f2
		var f3_2: int = 2 * f3
		var f4_2: int = 2 * f4
		var f5_2: int = 2 * f5
		var f5_38: int = 38 * f5
		var f6_2: int = 2 * f6
		var f6_19: int = 19 * f6
		var f7_2: int = 2 * f7
		var f7_19: int = 19 * f7
		var f7_38: int = 38 * f7
		var f8_2: int = 2 * f8
		var f8_19: int = 19 * f8
		var f9_19: int = 19 * f9
		var f9_38: int = 38 * f9
		var h0: int = (f0 * f0 + f1_2 * f9_38 + f2_2 * f8_19 + f3_2 * f7_38 + f4_2 * f6_19
				+ f5 * f5_38)
		var h1: int = f0_2 * f1 + f2_2 * f9_19 + f3_2 * f8_19 + f4_2 * f7_19 + f5_2 * f6_19
		var h2: int = (f0_2 * f2 + f1 * f1_2 + f3_2 * f9_38 + f4_2 * f8_19 + f5_2 * f7_38
				+ f6 * f6_19)
		var h3: int = f0_2 * f3 + f1_2 * f2 + f4_2 * f9_19 + f5_2 * f8_19 + f6_2 * f7_19
		var h4: int = f0_2 * f4 + f1_2 * f3_2 + f2 * f2 + f5_2 * f9_38 + f6_2 * f8_19 + f7 * f7_38
		var h5: int = f0_2 * f5 + f1_2 * f4 + f2_2 * f3 + f6_2 * f9_19 + f7_2 * f8_19
		var h6: int = f0_2 * f6 + f1_2 * f5_2 + f2_2 * f4 + f3 * f3_2 + f7_2 * f9_38 + f8 * f8_19
		var h7: int = f0_2 * f7 + f1_2 * f6 + f2_2 * f5 + f3_2 * f4 + f8_2 * f9_19
		var h8: int = f0_2 * f8 + f1_2 * f7_2 + f2_2 * f6 + f3_2 * f5_2 + f4 * f4 + f9 * f9_38
		var h9: int = f0_2 * f9 + f1_2 * f8 + f2_2 * f7 + f3_2 * f6 + f4_2 * f5
		var c: int = (h0 + 33554432) >> 26
		h1 += c
		h0 -= c * 67108864
		c = (h4 + 33554432) >> 26
		h5 += c
		h4 -= c * 67108864
		c = (h1 + 16777216) >> 25
		h2 += c
		h1 -= c * 33554432
		c = (h5 + 16777216) >> 25
		h6 += c
		h5 -= c * 33554432
		c = (h2 + 33554432) >> 26
		h3 += c
		h2 -= c * 67108864
		c = (h6 + 33554432) >> 26
		h7 += c
		h6 -= c * 67108864
		c = (h3 + 16777216) >> 25
		h4 += c
		h3 -= c * 33554432
		c = (h7 + 16777216) >> 25
		h8 += c
		h7 -= c * 33554432
		c = (h4 + 33554432) >> 26
		h5 += c
		h4 -= c * 67108864
		c = (h8 + 33554432) >> 26
		h9 += c
		h8 -= c * 67108864
		c = (h9 + 16777216) >> 25
		h0 += c * 19
		h9 -= c * 33554432
		c = (h0 + 33554432) >> 26
		h1 += c
		h0 -= c * 67108864
		f0 = h0
		f1 = h1
		f2 = h2
		f3 = h3
		f4 = h4
		f5 = h5
		f6 = h6
		f7 = h7
		f8 = h8
		f9 = h9
	return PackedInt64Array([f0, f1, f2, f3, f4, f5, f6, f7, f8, f9])
