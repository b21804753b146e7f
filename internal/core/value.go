package core

import (
	"fmt"
	"strconv"
)

// MaxJSONDepth is the deepest nesting encoding/json decodes: a value nested
// deeper could be stored but never read back.
const MaxJSONDepth = 10_000

// ValueProblem says why the JSON text js (valid JSON: the typed layer
// encodes it) must not be stored, or "" when every reader reads it back:
// the Rust crate (serde_json) and encoding/json. It refuses
//
//   - nesting deeper than MaxJSONDepth (encoding/json refuses to decode it);
//   - a number beyond float64's range, such as 1e400 or a 400-digit
//     integer (serde_json fails with "number out of range", so the crate
//     reads the value as null, and encoding/json cannot decode it into a
//     float64). A number too small for float64 (1e-400) is accepted: both
//     read it as 0, without an error;
//   - an escaped lone surrogate, such as "\ud800", "\udc00", or a high
//     surrogate not followed by an escaped low one (serde_json fails, and
//     encoding/json quietly reads U+FFFD). An unescaped surrogate is not
//     UTF-8, which the core refuses anyway.
//
// It is one pass over js, on the store path of every value; a number is
// parsed only when it has an exponent or more than 308 digits, the only
// numbers that can overflow.
func ValueProblem(js []byte) string {
	depth := 0
	for i := 0; i < len(js); i++ {
		switch class[js[i]] {
		case 0:
		case '"':
			for i++; i < len(js) && js[i] != '"'; i++ {
				if js[i] != '\\' {
					continue
				}
				i++ // the escaped byte
				if i < len(js) && js[i] == 'u' {
					n, lone := surrogateEscape(js, i-1)
					if lone {
						return fmt.Sprintf("value holds the escaped lone surrogate %s, which is not Unicode text (the Rust crate reads the value as null)", js[i-1:i-1+n])
					}
					i += n - 2 // the last byte of the escape, or of the pair
				}
			}
		case '[':
			if depth++; depth > MaxJSONDepth {
				return fmt.Sprintf("value nests more than %d levels deep, which encoding/json does not decode", MaxJSONDepth)
			}
		case ']':
			depth--
		case '0':
			start := i
			i = skipDigits(js, i+1) // the sign or first digit, then the integer's digits
			if i < len(js) && js[i] == '.' {
				i = skipDigits(js, i+1)
			}
			exp := i < len(js) && js[i]|0x20 == 'e'
			if exp {
				i = skipDigits(js, i+2) // 'e', its sign or first digit, the rest
			}
			num := js[start:i]
			i-- // the loop's i++ reads the byte after the number
			if !exp && len(num) <= 308 {
				continue // at most 308 digits: below 1e308, within range
			}
			if _, err := strconv.ParseFloat(string(num), 64); err != nil {
				return fmt.Sprintf("value holds the number %s, beyond float64's range (about ±1.8e308), which neither the Rust crate nor encoding/json reads", shorten(num))
			}
		}
	}
	return ""
}

// class sorts the bytes of JSON text outside strings for ValueProblem:
// '"', '[' for '[' and '{', ']' for ']' and '}', '0' for the first byte of a
// number, 0 for the rest.
var class = func() (t [256]byte) {
	t['"'], t['['], t['{'], t[']'], t['}'], t['-'] = '"', '[', '[', ']', ']', '0'
	for c := '0'; c <= '9'; c++ {
		t[c] = '0'
	}
	return t
}()

// skipDigits returns the index of the first byte from i on that is not a
// decimal digit.
func skipDigits(js []byte, i int) int {
	for i < len(js) && js[i]-'0' < 10 {
		i++
	}
	return i
}

// surrogateEscape looks at the \u escape at js[i:] (valid JSON) and returns
// how many bytes to skip (the escape, or the pair of escapes of a surrogate
// pair) and whether it is a lone surrogate; then the bytes to skip are the
// lone escape's 6.
func surrogateEscape(js []byte, i int) (n int, lone bool) {
	if i+6 > len(js) {
		return len(js) - i, false // not valid JSON; not this function's to judge
	}
	r := hex4(js[i+2 : i+6])
	switch {
	case r < 0xD800 || r >= 0xE000:
		return 6, false
	case r >= 0xDC00: // a low surrogate first
		return 6, true
	}
	if i+12 <= len(js) && js[i+6] == '\\' && js[i+7] == 'u' {
		if low := hex4(js[i+8 : i+12]); low >= 0xDC00 && low < 0xE000 {
			return 12, false
		}
	}
	return 6, true
}

// hex4 reads four hex digits (valid JSON guarantees them).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

// shorten is b for an error message, cut to 40 bytes.
func shorten(b []byte) string {
	const most = 40
	if len(b) > most {
		return fmt.Sprintf("%s… (%d bytes)", b[:most], len(b))
	}
	return string(b)
}
