package jsonpath

import (
	"slices"
	"strconv"
)

// Leaves calls fn with every number Number can reach in js: the value
// itself when it is a number (path empty), and the numbers at a path of
// object keys, depth first, in the order of the text. A key that comes
// twice in one object counts once, at its first place, as Number reads
// it; arrays are not entered (no path of keys reaches into them). fn must
// not keep path: Leaves reuses it. It returns false, having called fn for
// nothing, when js is not valid JSON as far as it reads.
func Leaves(js string, fn func(path []string, x float64)) bool {
	var path []string
	return LeavesBuf(js, &path, fn)
}

// LeavesBuf is Leaves with the path built in *buf, which it keeps for
// the next call: a caller walking many values allocates it once.
func LeavesBuf(js string, buf *[]string, fn func(path []string, x float64)) bool {
	*buf = (*buf)[:0]
	_, ok := leaves(js, skipSpace(js, 0), buf, fn)
	return ok
}

// leaves walks the value at js[i], returns the index after it.
func leaves(js string, i int, path *[]string, fn func([]string, float64)) (int, bool) {
	if i >= len(js) {
		return i, false
	}
	switch c := js[i]; {
	case c == '{':
		return object(js, i, path, fn)
	case c == '-' || c >= '0' && c <= '9':
		j := i
		for j < len(js) && (js[j] == '-' || js[j] == '+' || js[j] == '.' || js[j] == 'e' || js[j] == 'E' || js[j] >= '0' && js[j] <= '9') {
			j++
		}
		if f, ok := decimal(js[i:j]); ok {
			fn(*path, f)
		} else if f, err := strconv.ParseFloat(js[i:j], 64); err == nil {
			fn(*path, f)
		}
		return j, true
	}
	j := skipValue(js, i)
	return j, j >= 0
}

// object walks the object at js[i].
func object(js string, i int, path *[]string, fn func([]string, float64)) (int, bool) {
	// The keys seen so far: a short list while the object is small (most
	// are), a map past it; no allocation for an object of a few keys.
	var small [8]string
	keys := small[:0]
	var many map[string]bool
	i = skipSpace(js, i+1)
	for i < len(js) && js[i] == '"' {
		end, plain := stringEnd(js, i)
		if end < 0 {
			return i, false
		}
		var key string
		if plain {
			key = js[i+1 : end-1]
		} else if k, err := strconv.Unquote(js[i:end]); err == nil {
			key = k
		} else {
			return i, false
		}
		i = skipSpace(js, end)
		if i >= len(js) || js[i] != ':' {
			return i, false
		}
		i = skipSpace(js, i+1)
		var ok bool
		if many[key] || many == nil && slices.Contains(keys, key) {
			if i = skipValue(js, i); i < 0 {
				return i, false
			}
		} else {
			switch {
			case many != nil:
				many[key] = true
			case len(keys) < len(small):
				keys = append(keys, key)
			default:
				many = make(map[string]bool, 2*len(small))
				for _, k := range keys {
					many[k] = true
				}
				many[key] = true
			}
			*path = append(*path, key)
			i, ok = leaves(js, i, path, fn)
			*path = (*path)[:len(*path)-1]
			if !ok {
				return i, false
			}
		}
		i = skipSpace(js, i)
		if i < len(js) && js[i] == ',' {
			i = skipSpace(js, i+1)
		}
	}
	if i >= len(js) || js[i] != '}' {
		return i, false
	}
	return i + 1, true
}
