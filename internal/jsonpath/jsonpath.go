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
	f, err := strconv.ParseFloat(js[i:j], 64)
	return f, err == nil
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
