package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the program: every step of a container's life through the
// runtime interface, in order.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, t.TempDir()))
	assert.Equal(t, `runtime funcrt://0.1.0
pull of an unregistered image fails: funcrt: pull "example.com/tasks/thumbnail:v1": not registered in this program (registered: example.com/tasks/resize:v1); funcrt images are Go programs registered with funcrt.Register, never fetched from a registry: runtime: image not found
pulled example.com/tasks/resize:v1 (entrypoint ["main"])
container resize is Running
  log: resized cat.png to 128px
  log: resized dog.png to 128px
  log: waiting for more work
exec healthy: exit 0, "ok\n"
container resize is Exited: exit code 0 (Completed)
its log (resize/0.log):
  resized cat.png to 128px
  resized dog.png to 128px
  waiting for more work
  stopping after 2 images
sandbox removed
`, out.String())
}
