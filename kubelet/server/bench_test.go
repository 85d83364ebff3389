package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkStatsSummary measures /stats/summary of a node with 100 pods
// of 2 running containers each, over TLS with a kept connection.
func BenchmarkStatsSummary(b *testing.B) {
	e := newEnv(b)
	for i := range 100 {
		name, uid := fmt.Sprintf("pod-%d", i), fmt.Sprintf("uid-%d", i)
		sb := e.sandbox("default", name, uid, 0)
		e.container(sb, "default", name, uid, "app", 0, "sleep infinity")
		e.container(sb, "default", name, uid, "sidecar", 0, "sleep infinity")
	}
	c := e.client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(e.ts.URL + "/stats/summary")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkLogs measures reading a whole 10,000-line log.
func BenchmarkLogs(b *testing.B) {
	e := newEnv(b)
	sb := e.sandbox("default", "web", "u1", 0)
	line := strings.Repeat("x", 70)
	var script strings.Builder
	for range 10000 {
		script.WriteString("echo " + line + "; ")
	}
	script.WriteString("sleep infinity")
	e.container(sb, "default", "web", "u1", "app", 0, script.String())
	c := e.client()
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		resp, err := c.Get(e.ts.URL + "/containerLogs/default/web/app")
		if err != nil {
			b.Fatal(err)
		}
		n, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.SetBytes(n)
}
