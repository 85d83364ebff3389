package logs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drover-io/drover/runtime/logs"
)

func Example() {
	dir, _ := os.MkdirTemp("", "logs")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "web", "0.log")

	w, _ := logs.NewWriter(path, logs.WriterConfig{Clock: fixedClock(time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC))})
	fmt.Fprint(w.Stdout(), "listening on :8080\nGET /")
	fmt.Fprint(w.Stderr(), "warning: no TLS\n")
	fmt.Fprint(w.Stdout(), " 200\n")
	w.Close()

	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	fmt.Println("--- kubectl logs --timestamps --tail=2")
	logs.Read(context.Background(), path, logs.ReadOptions{Timestamps: true, TailLines: new(int64(2))}, os.Stdout)
	// Output:
	// 2016-10-06T00:17:09.669794202Z stdout F listening on :8080
	// 2016-10-06T00:17:09.669794202Z stderr F warning: no TLS
	// 2016-10-06T00:17:09.669794202Z stdout F GET / 200
	// --- kubectl logs --timestamps --tail=2
	// 2016-10-06T00:17:09.669794202Z warning: no TLS
	// 2016-10-06T00:17:09.669794202Z GET / 200
}
