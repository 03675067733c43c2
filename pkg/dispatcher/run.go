package dispatcher

import "context"

// Run runs a dispatcher process until ctx ends (what cmd/dispatcher calls).
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	d, err := New(cfg, opts...)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
