package server

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseProcStat(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	ns, err := parseProcStat([]byte("cpu  100 20 30 5000 40 5 5 0 50 7\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	require.NoError(t, err)
	require.Equal(t, uint64(160)*uint64(10*time.Millisecond), ns, "busy = all but idle and iowait; guest is in user already")

	for _, bad := range []string{"", "cpu0 1 2 3 4\n", "cpu 1 2 3\n", "cpu 1 x 3 4\n"} {
		_, err := parseProcStat([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestParseMeminfo(t *testing.T) {
	avail, usage, ws, err := parseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 200 kB\nMemAvailable: 600 kB\nInactive(file): 300 kB\nHugePages_Total: 0\n"))
	require.NoError(t, err)
	require.Equal(t, uint64(600*1024), avail)
	require.Equal(t, uint64(800*1024), usage)
	require.Equal(t, uint64(500*1024), ws)

	_, _, _, err = parseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 200 kB\n"))
	require.ErrorContains(t, err, "no MemAvailable line")
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("cpu  100 20 30 5000 40 5 5 0 50 7\n"))
	f.Add([]byte("MemTotal: 1000 kB\nMemFree: 2000 kB\nMemAvailable: 600 kB\nInactive(file): 3000 kB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseProcStat(data)
		_, usage, ws, err := parseMeminfo(data)
		if err == nil && ws > usage {
			t.Fatalf("working set %d above usage %d", ws, usage)
		}
	})
}

func TestParseLogQuery(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("follow=true&timestamps=1&tailLines=5&limitBytes=10&sinceSeconds=60&unknown=x")
	req, err := parseLogQuery(q, now)
	require.NoError(t, err)
	require.True(t, req.opts.Follow)
	require.True(t, req.opts.Timestamps)
	require.False(t, req.previous)
	require.Equal(t, int64(5), *req.opts.TailLines)
	require.Equal(t, int64(10), req.opts.LimitBytes)
	require.Equal(t, now.Add(-time.Minute), req.opts.SinceTime)

	req, err = parseLogQuery(url.Values{"sinceSeconds": {"9223372036854775807"}}, now)
	require.NoError(t, err)
	require.True(t, req.opts.SinceTime.Before(now), "a huge sinceSeconds is the beginning, not an overflow")
}

func FuzzParseLogQuery(f *testing.F) {
	f.Add("follow=true&tailLines=3&sinceTime=2026-01-01T00:00:00Z")
	f.Add("sinceSeconds=10&limitBytes=1&previous=false")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseLogQuery(q, now)
		if err != nil {
			return
		}
		if req.opts.TailLines != nil && *req.opts.TailLines < 0 || req.opts.LimitBytes < 0 || req.opts.SinceTime.After(now) && q.Get("sinceTime") == "" {
			t.Fatalf("%q gave invalid options %+v", raw, req.opts)
		}
	})
}
