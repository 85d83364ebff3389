package apiserverbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Drover is the API server of a Server, watched over HTTP: one loopback
// connection per watch, as client-go's HTTP/1.1 watches.
type Drover struct {
	srv   *Server
	watch *http.Client // one connection per watch
	write *http.Client
	value string
	rv    string
}

// NewDrover returns the System of srv, whose writes create ConfigMaps
// with one value of valueSize bytes in namespace "bench".
func NewDrover(ctx context.Context, srv *Server, valueSize int) (*Drover, error) {
	d := &Drover{
		srv:   srv,
		watch: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: -1}},
		write: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}},
		value: strings.Repeat("v", valueSize),
	}
	_, err := d.do(ctx, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}`, http.StatusCreated)
	return d, err
}

// Name implements System.
func (d *Drover) Name() string { return "drover" }

func (d *Drover) do(ctx context.Context, method, path, body string, code int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.write.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != code {
		err = fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return data, err
}

// Begin implements System: the watches start at the current revision.
func (d *Drover) Begin(ctx context.Context) error {
	data, err := d.do(ctx, "GET", "/api/v1/namespaces/bench/configmaps?limit=1", "", http.StatusOK)
	if err != nil {
		return err
	}
	var list struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	d.rv = list.Metadata.ResourceVersion
	return nil
}

var errorEvent = []byte(`{"type":"ERROR"`)

// Watch implements System.
func (d *Drover) Watch(ctx context.Context, c *Counter, wg *sync.WaitGroup) error {
	req, err := http.NewRequestWithContext(ctx, "GET",
		d.srv.URL+"/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion="+d.rv, nil)
	if err != nil {
		return err
	}
	resp, err := d.watch.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Errorf("watch: %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	wg.Go(func() {
		defer resp.Body.Close()
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			c.events.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
			if bytes.Contains(buf[:n], errorEvent) {
				c.failed.Store(true)
			}
			if err != nil {
				if ctx.Err() == nil {
					c.failed.Store(true)
				}
				return
			}
		}
	})
	return nil
}

// Write implements System: it creates ConfigMap cm-<i>.
func (d *Drover) Write(ctx context.Context, i int64) error {
	_, err := d.do(ctx, "POST", "/api/v1/namespaces/bench/configmaps",
		fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d"},"data":{"v":%q}}`, i, d.value),
		http.StatusCreated)
	return err
}

// Memory implements System: the server's Go heap and stacks after a GC,
// and its resident set.
func (d *Drover) Memory(ctx context.Context) (Memory, error) {
	data, err := d.do(ctx, "GET", MemStatsPath, "", http.StatusOK)
	if err != nil {
		return Memory{}, err
	}
	var ms MemStats
	if err := json.Unmarshal(data, &ms); err != nil {
		return Memory{}, err
	}
	return Memory{Go: ms.HeapInuse + ms.StackInuse, RSS: processRSS(d.srv.Pid())}, nil
}

// SlowTerminated returns the server's count of watches it ended for
// falling behind (all resources).
func (d *Drover) SlowTerminated(ctx context.Context) (int, error) {
	data, err := d.do(ctx, "GET", "/metrics", "", http.StatusOK)
	if err != nil {
		return 0, err
	}
	n := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "drover_apiserver_watch_slow_terminated_total{") {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				n += int(v)
			}
		}
	}
	return n, nil
}

// CPU implements System.
func (d *Drover) CPU() time.Duration { return processCPU(d.srv.Pid()) }

// Close implements System.
func (d *Drover) Close() error {
	d.watch.CloseIdleConnections()
	d.write.CloseIdleConnections()
	d.srv.Close()
	return nil
}
