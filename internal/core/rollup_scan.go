package core

import (
	"encoding/json"
	"strconv"
)

// stateScanner reads the JSON that RollupState.Encode writes, and nothing
// more general: any surprise makes it give up (ok false), and the caller
// falls back to encoding/json.
type stateScanner struct {
	s  string
	i  int
	ok bool
}

func (c *stateScanner) expect(b byte) {
	if c.ok && c.i < len(c.s) && c.s[c.i] == b {
		c.i++
		return
	}
	c.ok = false
}

// peek reports whether the next byte is b.
func (c *stateScanner) peek(b byte) bool { return c.ok && c.i < len(c.s) && c.s[c.i] == b }

// number returns the text of the number at i.
func (c *stateScanner) number() string {
	j := c.i
	for j < len(c.s) {
		switch b := c.s[j]; {
		case b >= '0' && b <= '9', b == '-', b == '+', b == '.', b == 'e', b == 'E':
			j++
			continue
		}
		break
	}
	if j == c.i {
		c.ok = false
	}
	t := c.s[c.i:j]
	c.i = j
	return t
}

func (c *stateScanner) int() int64 {
	v, err := strconv.ParseInt(c.number(), 10, 64)
	if err != nil {
		c.ok = false
	}
	return v
}

func (c *stateScanner) float() float64 {
	v, err := strconv.ParseFloat(c.number(), 64)
	if err != nil {
		c.ok = false
	}
	return v
}

// str reads a JSON string: as it is when it has no escape, through
// encoding/json when it has.
func (c *stateScanner) str() string {
	if !c.peek('"') {
		c.ok = false
		return ""
	}
	escaped := false
	for j := c.i + 1; j < len(c.s); j++ {
		switch c.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			raw := c.s[c.i : j+1]
			c.i = j + 1
			if !escaped {
				return raw[1 : len(raw)-1]
			}
			var out string
			if json.Unmarshal([]byte(raw), &out) != nil {
				c.ok = false
			}
			return out
		}
	}
	c.ok = false
	return ""
}

// rowRef reads [ms,id,"json"].
func (c *stateScanner) rowRef() RowRef {
	var r RowRef
	c.expect('[')
	r.Ms = c.int()
	c.expect(',')
	r.ID = c.int()
	c.expect(',')
	r.JSON = c.str()
	c.expect(']')
	return r
}

// numRef reads [ms,id,x].
func (c *stateScanner) numRef() NumRef {
	var n NumRef
	c.expect('[')
	n.Ms = c.int()
	c.expect(',')
	n.ID = c.int()
	c.expect(',')
	n.X = c.float()
	c.expect(']')
	return n
}

// scanRollupState is DecodeRollupState's fast path.
func scanRollupState(text string) (RollupState, bool) {
	c := &stateScanner{s: text, ok: true}
	var s RollupState
	c.expect('[')
	s.Rows = c.int()
	c.expect(',')
	s.First = c.rowRef()
	c.expect(',')
	s.Last = c.rowRef()
	for c.ok && c.peek(',') {
		c.i++
		var f Field
		c.expect('[')
		c.expect('[')
		f.Path = []string{}
		for c.ok && !c.peek(']') {
			if len(f.Path) > 0 {
				c.expect(',')
			}
			f.Path = append(f.Path, c.str())
		}
		c.expect(']')
		c.expect(',')
		f.N = c.int()
		c.expect(',')
		sum, ok := ParseDecimalSum(c.str())
		if !ok {
			return RollupState{}, false
		}
		f.Sum = sum
		c.expect(',')
		f.Min = c.float()
		c.expect(',')
		f.Max = c.float()
		c.expect(',')
		f.First = c.numRef()
		c.expect(',')
		f.Last = c.numRef()
		c.expect(']')
		s.Fields = append(s.Fields, f)
	}
	c.expect(']')
	if !c.ok || c.i != len(text) {
		return RollupState{}, false
	}
	return s, true
}
