package rechistmcp

import (
	"errors"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// Every form a time argument takes, read against a fixed now, and the
// forms it refuses with an error wrapping ErrInvalidArgument.
func TestTimeArg(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	vie, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"", time.UTC, time.Time{}},
		{"now", time.UTC, now},
		{"7d", time.UTC, now.Add(-7 * 24 * time.Hour)},
		{"-36h", time.UTC, now.Add(-36 * time.Hour)},
		{"1d12h ago", time.UTC, now.Add(-36 * time.Hour)},
		{"90m", time.UTC, now.Add(-90 * time.Minute)},
		{"2026-11-25T08:00:00Z", vie, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"2026-11-25T08:00:00+01:00", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)},
		{"2026-11-25 08:00", vie, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)},
		{"2026-11-25", vie, time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)},
		{"2026-11-25", time.UTC, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{"1795593600000", vie, time.UnixMilli(1795593600000)},
	} {
		got, err := timeArg("start", c.in, now, c.loc)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%q in %v: %v, %v; want %v", c.in, c.loc, got, err, c.want)
		}
	}
	for _, in := range []string{"yesterday", "7x", "0d", "1795593600", "1969-12-31T23:59:59Z", "100000d"} {
		if _, err := timeArg("start", in, now, time.UTC); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("%q: %v, want an invalid argument", in, err)
		}
	}
}

// Durations print as the tools read them back.
func TestAgeTextReadsBack(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 7 * 24 * time.Hour: "7d", 36 * time.Hour: "1d12h", 5*time.Hour + 26*time.Second: "5h26s",
		250 * time.Millisecond: "250ms", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "2s",
	} {
		got := ageText(d)
		if got != want {
			t.Errorf("ageText(%v) = %q, want %q", d, got, want)
		}
		if back, err := timeparse.Duration(got); err != nil || back != d.Round(time.Second) && d >= time.Second {
			t.Errorf("%q reads back as %v, %v", got, back, err)
		}
	}
}

// A local time is read in the call's zone whatever the process's own:
// 02:30 on 29 March 2026 does not exist in Vienna (clocks go forward),
// and is an ordinary time in New York. Not parallel: it sets time.Local.
func TestTimeArgLocalZoneGap(t *testing.T) {
	vie, ny := mustZone(t, "Europe/Vienna"), mustZone(t, "America/New_York")
	saved := time.Local
	time.Local = vie
	defer func() { time.Local = saved }()
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	got, err := timeArg("start", "2026-03-29 02:30", now, ny)
	if want := time.Date(2026, 3, 29, 2, 30, 0, 0, ny); err != nil || !got.Equal(want) {
		t.Errorf("02:30 in New York with Local Vienna: %v, %v; want %v", got, err, want)
	}
	got, err = timeArg("start", "2026-03-29 02:30", now, vie)
	if want, _ := time.ParseInLocation("2006-01-02 15:04", "2026-03-29 02:30", vie); err != nil || !got.Equal(want) {
		t.Errorf("02:30 in Vienna: %v, %v; want %v", got, err, want)
	}
}
