package runtime_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drover-io/drover/runtime"
)

func TestResolveArgs(t *testing.T) {
	img := runtime.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve", "--port=80"}}
	for _, c := range []struct {
		name          string
		img           runtime.ImageConfig
		command, args []string
		want          []string
	}{
		{"image defaults", img, nil, nil, []string{"/entry", "serve", "--port=80"}},
		{"args replace cmd", img, nil, []string{"check"}, []string{"/entry", "check"}},
		{"command drops cmd", img, []string{"/bin/sh"}, nil, []string{"/bin/sh"}},
		{"command and args", img, []string{"/bin/sh"}, []string{"-c", "true"}, []string{"/bin/sh", "-c", "true"}},
		{"cmd only image", runtime.ImageConfig{Cmd: []string{"sh"}}, nil, nil, []string{"sh"}},
		{"nothing", runtime.ImageConfig{}, nil, nil, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, runtime.ResolveArgs(c.img, c.command, c.args))
		})
	}
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "runc://1.1.5", runtime.Version{Name: "runc", Version: "1.1.5"}.String())
	assert.Equal(t, "Ready", runtime.SandboxReady.String())
	assert.Equal(t, "NotReady", runtime.SandboxNotReady.String())
	for s, want := range map[runtime.ContainerState]string{
		runtime.ContainerCreated: "Created", runtime.ContainerRunning: "Running",
		runtime.ContainerExited: "Exited", runtime.ContainerUnknown: "Unknown",
	} {
		assert.Equal(t, want, s.String())
	}
}
