package main

import "fmt"

// plural counts n things in English: "1 row", "2 rows", "0 rows". many is
// the plural when it is not one+"s" ("city", "cities").
func plural[N int | int64](n N, one string, many ...string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, one)
}
