class_name PkarrSha512
extends RefCounted
## SHA-512 (FIPS 180-4) in pure GDScript: Godot 4.6's [HashingContext] has no SHA-512, and
## Ed25519 ([PkarrEd25519]) needs it. [code]PkarrSha512.hash(data)[/code] returns the 64-byte
## digest.
##
## GDScript ints are signed 64-bit: additions wrap, [code]>>[/code] is arithmetic, so every
## logical right shift masks off the copied sign bits. All operands are typed ints (the engine's
## validated operators, which do not refuse negative shift operands).

## Round constants (FIPS 180-4 §4.2.3) as signed 64-bit values.
static var _K := PackedInt64Array([
	4794697086780616226, 8158064640168781261, -5349999486874862801, -1606136188198331460,
	4131703408338449720, 6480981068601479193, -7908458776815382629, -6116909921290321640,
	-2880145864133508542, 1334009975649890238, 2608012711638119052, 6128411473006802146,
	8268148722764581231, -9160688886553864527, -7215885187991268811, -4495734319001033068,
	-1973867731355612462, -1171420211273849373, 1135362057144423861, 2597628984639134821,
	3308224258029322869, 5365058923640841347, 6679025012923562964, 8573033837759648693,
	-7476448914759557205, -6327057829258317296, -5763719355590565569, -4658551843659510044,
	-4116276920077217854, -3051310485924567259, 489312712824947311, 1452737877330783856,
	2861767655752347644, 3322285676063803686, 5560940570517711597, 5996557281743188959,
	7280758554555802590, 8532644243296465576, -9096487096722542874, -7894198246740708037,
	-6719396339535248540, -6333637450476146687, -4446306890439682159, -4076793802049405392,
	-3345356375505022440, -2983346525034927856, -860691631967231958, 1182934255886127544,
	1847814050463011016, 2177327727835720531, 2830643537854262169, 3796741975233480872,
	4115178125766777443, 5681478168544905931, 6601373596472566643, 7507060721942968483,
	8399075790359081724, 8693463985226723168, -8878714635349349518, -8302665154208450068,
	-8016688836872298968, -6606660893046293015, -4685533653050689259, -4147400797238176981,
	-3880063495543823972, -3348786107499101689, -1523767162380948706, -757361751448694408,
	500013540394364858, 748580250866718886, 1242879168328830382, 1977374033974150939,
	2944078676154940804, 3659926193048069267, 4368137639120453308, 4836135668995329356,
	5532061633213252278, 6448918945643986474, 6902733635092675308, 7801388544844847127,
])
## Initial hash value (§5.3.5).
static var _H0 := PackedInt64Array([
	7640891576956012808, -4942790177534073029, 4354685564936845355, -6534734903238641935,
	5840696475078001361, -7276294671716946913, 2270897969802886507, 6620516959819538809,
])


## The SHA-512 digest (64 bytes) of [param data].
static func hash(data: PackedByteArray) -> PackedByteArray:
	var n: int = data.size()
	var padded: PackedByteArray = data.duplicate()
	padded.append(0x80)
	var total: int = ((n + 17 + 127) >> 7) << 7 # whole 128-byte blocks
	padded.resize(total) # zero fill
	var bits: int = n * 8
	for i in 8:
		padded[total - 1 - i] = (bits >> (8 * i)) & 0xff
	# The top 64 bits of the 128-bit length stay 0 (messages below 2^61 bytes).
	var h: PackedInt64Array = _H0.duplicate()
	var w := PackedInt64Array()
	w.resize(80)
	var k: PackedInt64Array = _K
	for block in range(0, total, 128):
		for t in 16:
			var o: int = block + 8 * t
			w[t] = ((int(padded[o]) << 56) | (int(padded[o + 1]) << 48)
					| (int(padded[o + 2]) << 40) | (int(padded[o + 3]) << 32)
					| (int(padded[o + 4]) << 24) | (int(padded[o + 5]) << 16)
					| (int(padded[o + 6]) << 8) | int(padded[o + 7]))
		for t in range(16, 80):
			var x: int = w[t - 15]
			var y: int = w[t - 2]
			var s0: int = ((((x >> 1) & 0x7fffffffffffffff) | (x << 63))
					^ (((x >> 8) & 0xffffffffffffff) | (x << 56)) ^ ((x >> 7) & 0x1ffffffffffffff))
			var s1: int = ((((y >> 19) & 0x1fffffffffff) | (y << 45))
					^ (((y >> 61) & 0x7) | (y << 3)) ^ ((y >> 6) & 0x3ffffffffffffff))
			w[t] = w[t - 16] + s0 + w[t - 7] + s1
		var a: int = h[0]
		var b: int = h[1]
		var c: int = h[2]
		var d: int = h[3]
		var e: int = h[4]
		var f: int = h[5]
		var g: int = h[6]
		var hh: int = h[7]
		for t in 80:
			var big_s1: int = ((((e >> 14) & 0x3ffffffffffff) | (e << 50))
					^ (((e >> 18) & 0x3fffffffffff) | (e << 46))
					^ (((e >> 41) & 0x7fffff) | (e << 23)))
			var ch: int = (e & f) ^ (~e & g)
			var t1: int = hh + big_s1 + ch + k[t] + w[t]
			var big_s0: int = ((((a >> 28) & 0xfffffffff) | (a << 36))
					^ (((a >> 34) & 0x3fffffff) | (a << 30))
					^ (((a >> 39) & 0x1ffffff) | (a << 25)))
			var maj: int = (a & b) ^ (a & c) ^ (b & c)
			hh = g
			g = f
			f = e
			e = d + t1
			d = c
			c = b
			b = a
			a = t1 + big_s0 + maj
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		h[5] += f
		h[6] += g
		h[7] += hh
	var out := PackedByteArray()
	out.resize(64)
	for i in 8:
		var v: int = h[i]
		for j in 8:
			out[8 * i + j] = (v >> (56 - 8 * j)) & 0xff
	return out
