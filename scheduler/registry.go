package scheduler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/drover-io/drover/scheduler/framework"
)

// PluginFactory makes a plugin of a profile from its arguments and the
// framework handle. args is what the configuration holds for the plugin:
// nil (defaults), the typed Args value itself (from Go), or a decoded
// YAML/JSON document (a map, from a file). Typed builds one from a
// constructor with a typed argument struct.
type PluginFactory func(args any, h framework.Handle) (framework.Plugin, error)

// Registry maps plugin names to their factories.
type Registry map[string]PluginFactory

// Typed returns the PluginFactory of a constructor taking a typed
// argument struct A: the configured args are decoded into A strictly
// (unknown fields are errors; missing args are A's zero value) and, if A
// has a Validate() error method, validated before factory is called.
//
//	reg["Gpu"] = scheduler.Typed(gpu.New) // func New(gpu.Args, framework.Handle) (*gpu.Plugin, error)
func Typed[A any, P framework.Plugin](factory func(A, framework.Handle) (P, error)) PluginFactory {
	return func(raw any, h framework.Handle) (framework.Plugin, error) {
		a, err := decodeArgs[A](raw)
		if err != nil {
			return nil, err
		}
		if v, ok := any(a).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, fmt.Errorf("invalid args: %w", err)
			}
		}
		p, err := factory(a, h)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// decodeArgs turns configured args into A.
func decodeArgs[A any](raw any) (A, error) {
	var a A
	switch v := raw.(type) {
	case nil:
		return a, nil
	case A:
		return v, nil
	case *A:
		if v != nil {
			return *v, nil
		}
		return a, nil
	case json.RawMessage:
		return a, strictJSON(v, &a)
	case []byte:
		return a, strictJSON(v, &a)
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return a, fmt.Errorf("args of type %T: %w", raw, err)
	}
	return a, strictJSON(data, &a)
}

func strictJSON(data []byte, into any) error {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("decode args into %s: %w", reflect.TypeOf(into).Elem(), err)
	}
	return nil
}

var (
	globalMu  sync.RWMutex
	globalReg = Registry{}
)

// Register adds a plugin to the process-wide registry, which every
// Scheduler's profiles may use by name (Config.Registry adds more for one
// Scheduler only). It panics if name is empty or already registered, as
// sql.Register does: registration happens in init functions or main.
//
//	scheduler.Register("Gpu", gpu.New)
func Register[A any, P framework.Plugin](name string, factory func(A, framework.Handle) (P, error)) {
	if name == "" || factory == nil {
		panic("scheduler: Register: the name and the factory are required")
	}
	globalMu.Lock()
	defer globalMu.Unlock()
	if _, dup := globalReg[name]; dup {
		panic("scheduler: Register called twice for plugin " + name)
	}
	globalReg[name] = Typed(factory)
}

// registered returns the global registry merged with extra; a name in
// both is an error.
func registered(extra Registry) (Registry, error) {
	globalMu.RLock()
	defer globalMu.RUnlock()
	out := make(Registry, len(globalReg)+len(extra))
	for k, v := range globalReg {
		out[k] = v
	}
	names := make([]string, 0, len(extra))
	for k := range extra {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("scheduler: Config.Registry[%q]: a plugin of that name is already registered with scheduler.Register", k)
		}
		if extra[k] == nil {
			return nil, fmt.Errorf("scheduler: Config.Registry[%q]: the factory is nil", k)
		}
		out[k] = extra[k]
	}
	return out, nil
}
