// Package jsonpath finds a number at a path of object keys in JSON text
// without decoding the rest: what rechist's aggregation runs per row.
package jsonpath

import (
	"strconv"
)

// Number returns the JSON number at path (object keys from the top) in js,
// and false when js is not an object along the path, the field is
// missing, or it is not a number. js must be valid JSON (rechist stores
// only valid JSON); on anything else it returns false.
func Number(js string, path []string) (float64, bool) {
	i := skipSpace(js, 0)
	for _, key := range path {
		var ok bool
		if i, ok = member(js, i, key); !ok {
			return 0, false
		}
	}
	if i >= len(js) || !(js[i] == '-' || js[i] >= '0' && js[i] <= '9') {
		return 0, false
	}
	j := i
	for j < len(js) && (js[j] == '-' || js[j] == '+' || js[j] == '.' || js[j] == 'e' || js[j] == 'E' || js[j] >= '0' && js[j] <= '9') {
		j++
	}
	if f, ok := decimal(js[i:j]); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(js[i:j], 64)
	return f, err == nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimal parses the common number, -?digits(.digits)? with at most 15
// digits in all, the way strconv.ParseFloat would, only faster: such a
// number is an integer below 2^53 divided by an exact power of ten, and
// one IEEE division of two exact operands is correctly rounded (the
// fast path of strconv itself). Anything else is left to ParseFloat.
func decimal(s string) (float64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot && digits > 0 && k+1 < len(s):
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// member returns where the value of key starts in the object at js[i:].
func member(js string, i int, key string) (int, bool) {
	if i >= len(js) || js[i] != '{' {
		return 0, false
	}
	i = skipSpace(js, i+1)
	for i < len(js) && js[i] == '"' {
		end, plain := stringEnd(js, i)
		if end < 0 {
			return 0, false
		}
		var match bool
		if plain {
			match = js[i+1:end-1] == key
		} else if k, err := strconv.Unquote(js[i:end]); err == nil {
			match = k == key
		}
		i = skipSpace(js, end)
		if i >= len(js) || js[i] != ':' {
			return 0, false
		}
		i = skipSpace(js, i+1)
		if match {
			return i, true
		}
		if i = skipValue(js, i); i < 0 {
			return 0, false
		}
		i = skipSpace(js, i)
		if i < len(js) && js[i] == ',' {
			i = skipSpace(js, i+1)
		}
	}
	return 0, false
}

// stringEnd returns the index after the string starting at js[i] (a
// quote), and whether it holds no escapes.
func stringEnd(js string, i int) (int, bool) {
	plain := true
	for j := i + 1; j < len(js); j++ {
		switch js[j] {
		case '\\':
			plain = false
			j++
		case '"':
			return j + 1, plain
		}
	}
	return -1, false
}

// skipValue returns the index after the JSON value at js[i].
func skipValue(js string, i int) int {
	if i >= len(js) {
		return -1
	}
	switch js[i] {
	case '"':
		end, _ := stringEnd(js, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(js); j++ {
			switch js[j] {
			case '"':
				end, _ := stringEnd(js, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(js) && js[j] != ',' && js[j] != '}' && js[j] != ']' && js[j] != ' ' && js[j] != '\t' && js[j] != '\n' && js[j] != '\r' {
		j++
	}
	return j
}

func skipSpace(js string, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\n' || js[i] == '\r') {
		i++
	}
	return i
}
