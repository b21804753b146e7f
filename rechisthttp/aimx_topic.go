package rechisthttp

import "strings"

// AimX topic patterns, as AimDB matches them: aimdb-core's
// src/session/topic_match.rs at aimdb-dev/aimdb commit
// 0348e9f85b1188b32a2d040c35544fa39dcec2d5 (topic_matches, is_wildcard).
// Record keys are dot-separated; a "*" segment covers exactly one segment,
// a "#" segment zero or more, and the pattern goes on after it (RabbitMQ's
// topic exchange); every other segment, '*' or '/' inside it included,
// stands for itself. AimX uses this grammar whatever the DB's own pattern
// language is ([TopicPatterns] or not).

// topicMatches reports whether topic matches pattern: upstream's
// topic_matches, the same walk (only the most recent "#" is a backtrack
// point, so it is O(len(pattern)·len(topic)), never exponential).
func topicMatches(pattern, topic string) bool {
	if pattern == topic || pattern == "#" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, ".#"); ok && !strings.ContainsAny(prefix, "*#") {
		return strings.HasPrefix(topic, prefix) && (len(topic) == len(prefix) || topic[len(prefix)] == '.')
	}
	pat := strings.Split(pattern, ".")
	sub := strings.Split(topic, ".")
	p, s := 0, 0
	resumeP, resumeS := -1, -1 // after the most recent "#": its pattern tail and where it stops absorbing
	for {
		switch {
		case p < len(pat) && pat[p] == "#":
			p++
			resumeP, resumeS = p, s
			continue
		case p < len(pat) && s < len(sub) && (pat[p] == "*" || pat[p] == sub[s]):
			p++
			s++
			continue
		case p == len(pat) && s == len(sub):
			return true
		}
		// A mismatch, or one side ran out: let the last "#" absorb one
		// more segment and retry its tail from there.
		if resumeP < 0 || resumeS >= len(sub) {
			return false
		}
		resumeS++
		p, s = resumeP, resumeS
	}
}

// isWildcard says whether subscribing to pattern means matching many
// records (upstream's is_wildcard: it holds a '#' or a '*').
func isWildcard(pattern string) bool { return strings.ContainsAny(pattern, "#*") }

// topicPrefix is the literal text every topic the pattern matches starts
// with: the segments before its first wildcard segment (without the dot
// before a "#", which may absorb nothing), as aimdb-persistence's
// literal_prefix narrows a store's scan.
func topicPrefix(pattern string) (prefix string, exact bool) {
	segs := strings.Split(pattern, ".")
	for i, s := range segs {
		if s == "*" || s == "#" {
			if i == 0 {
				return "", false
			}
			prefix = strings.Join(segs[:i], ".")
			if s == "*" {
				prefix += "."
			}
			return prefix, false
		}
	}
	return pattern, true
}
