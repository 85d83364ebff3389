package controllertest

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/controller"
)

// NewManager returns a controller.Manager over the Env, for the
// reconcilers under test: cfg's zero Client is Env.Client, its zero Clock
// Env.Clock (so RequeueAfter and the retries of failed reconciles wait
// for the test to move a fake clock), and its zero Logger the Env's. The
// rest is cfg's; the zero ManagerConfig has no leader election and no
// metrics or health servers. Add controllers to it, then StartManager.
//
//	mgr, err := env.NewManager(controller.ManagerConfig{})
//	err = controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(r)
//	err = env.StartManager(mgr)
func (e *Env) NewManager(cfg controller.ManagerConfig) (*controller.Manager, error) {
	if cfg.Client == nil {
		cfg.Client = e.Client
	}
	if cfg.Clock == nil {
		cfg.Clock = e.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	m, err := controller.NewManager(cfg)
	if err != nil {
		return nil, fmt.Errorf("controllertest: %w", err)
	}
	return m, nil
}

// StartManager runs m until the Env is closed: m.Start runs on a
// goroutine of its own, and Close, before it stops the API server, ends
// Start's ctx, waits for Start to return and returns its error. A Start
// that fails before is logged at once (and its error returned by Close);
// New's Env then fails the test. StartManager does not wait for the
// informer caches to sync: reconcilers are level-triggered, and objects
// made before the caches sync are reconciled all the same.
func (e *Env) StartManager(m *controller.Manager) error {
	if m == nil {
		return errors.New("controllertest: StartManager: the manager is nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		cancel()
		return errors.New("controllertest: StartManager: the Env is closed")
	}
	e.closers = append(e.closers, func() error {
		cancel()
		return <-done
	})
	go func() {
		err := m.Start(ctx)
		if err != nil {
			err = fmt.Errorf("controllertest: manager: %w", err)
			if ctx.Err() == nil {
				e.log.Error("controllertest: the manager stopped", "err", err)
			}
		}
		done <- err
	}()
	return nil
}
