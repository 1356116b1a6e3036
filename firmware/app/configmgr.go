package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/webui"
)

// applyWait is how long a configuration change waits for the gateway to
// restart with it before it is reported as pending.
const applyWait = 5 * time.Second

// configManager owns the configuration in force. The web UI and
// provisioning change it through Apply: validate, check that the gateway
// can run it, store it atomically at path, apply it. It implements
// webui.Configurator.
type configManager struct {
	path  string
	sup   *gateway.Supervisor
	build func(*config.Config) gateway.Config
	log   *slog.Logger

	mu  sync.Mutex // serialises Apply
	cur *config.Config
}

var _ webui.Configurator = (*configManager)(nil)

// Current returns a copy of the configuration in force.
func (m *configManager) Current() *config.Config {
	m.mu.Lock()
	c := m.cur
	m.mu.Unlock()
	return c.Clone()
}

// Apply validates c, stores it and applies it; on any error the old
// configuration stays in force and on disk.
func (m *configManager) Apply(c *config.Config, source string) (webui.ApplyResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.Validate(); err != nil {
		return webui.ApplyResult{}, err
	}
	gc := m.build(c)
	if err := gateway.CheckConfig(gc); err != nil {
		return webui.ApplyResult{}, err
	}
	if err := config.Save(m.path, c); err != nil {
		return webui.ApplyResult{}, err
	}
	old := m.cur
	m.cur = c
	ctx, cancel := context.WithTimeout(context.Background(), applyWait)
	defer cancel()
	res, err := m.sup.Apply(ctx, gc)
	if err != nil {
		m.cur = old
		if serr := config.Save(m.path, old); serr != nil {
			m.log.Error("config: cannot restore the old file", "err", serr)
		}
		return webui.ApplyResult{}, err
	}
	out := webui.ApplyResult{Applied: res.Applied, Pending: res.Pending}
	if res.Applied {
		out.Message = "saved and applied"
	} else {
		out.Message = "saved; " + res.Pending
	}
	m.log.Info("config changed", "source", source, "applied", res.Applied, "pending", res.Pending, "file", m.path)
	return out, nil
}

// String names the manager's file, for logs.
func (m *configManager) String() string { return fmt.Sprintf("config %s", m.path) }
