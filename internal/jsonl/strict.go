package jsonl

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The checks encoding/json does not make, each a single pass over the line.

// fieldProblem checks the field names of the JSON object obj (valid JSON):
// "name", "value" and "at", spelled exactly so, each at most once.
func fieldProblem(obj []byte) error {
	var seen [3]bool
	depth := 0
	for i := 0; i < len(obj); i++ {
		switch obj[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			start := i
			for i++; i < len(obj) && obj[i] != '"'; i++ {
				if obj[i] == '\\' {
					i++
				}
			}
			if depth != 1 {
				continue
			}
			// At the top level a string followed by ':' is a field name.
			j := i + 1
			for j < len(obj) && (obj[j] == ' ' || obj[j] == '\t' || obj[j] == '\r' || obj[j] == '\n') {
				j++
			}
			if j == len(obj) || obj[j] != ':' {
				continue
			}
			key := string(obj[start+1 : i])
			if bytes.IndexByte(obj[start:i], '\\') >= 0 {
				_ = json.Unmarshal(obj[start:i+1], &key)
			}
			n := -1
			switch key {
			case "name":
				n = 0
			case "value":
				n = 1
			case "at":
				n = 2
			default:
				return invalidf(`unknown field %q (the fields are "name", "value" and "at")`, key)
			}
			if seen[n] {
				return invalidf("field %q appears twice", key)
			}
			seen[n] = true
		}
	}
	return nil
}

// invalidUTF8 returns the offset of the first byte of b that is not UTF-8,
// or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogate says whether the JSON string s has a \uD800-\uDFFF escape
// that is not half of a surrogate pair.
func loneSurrogate(s []byte) bool {
	hex := func(i int) (rune, bool) {
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range s[i+2 : i+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // an escape such as \" or \\: skip its second byte
			continue
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			if low, ok := hex(i + 6); ok && 0xDC00 <= low && low < 0xE000 {
				i += 11
				continue
			}
			return true
		case 0xDC00 <= r && r < 0xE000:
			return true
		}
		i += 5
	}
	return false
}
