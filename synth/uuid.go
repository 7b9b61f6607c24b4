package synth

import "math/rand/v2"

const hexDigits = "0123456789abcdef"

// appendUUIDv7 appends the text form of a version 7 UUID (RFC 9562) whose
// timestamp is ms and whose random bits come from r. uuid.NewV7 reads the
// wall clock and crypto/rand, which would make the output irreproducible.
func appendUUIDv7(dst []byte, ms int64, r *rand.Rand) []byte {
	var b [16]byte
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	ra, rb := r.Uint64(), r.Uint64()
	b[6] = 0x70 | byte(ra>>8)&0x0f
	b[7] = byte(ra)
	b[8] = 0x80 | byte(rb>>56)&0x3f
	for i := 9; i < 16; i++ {
		b[i] = byte(rb >> (8 * (15 - i)))
	}
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return dst
}

func uuidV7(ms int64, r *rand.Rand) string {
	var buf [36]byte
	return string(appendUUIDv7(buf[:0], ms, r))
}
