package observability

import (
	"io"
	"log/slog"
	"strings"

	"github.com/weft-dev/weft/internal/flagcheck"
)

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string // "text" or "json"
	Level  string // "debug", "info", "warn", "error"
}

// NewLogger builds a slog logger writing to w.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(cfg.Level) {
	case "", "info":
		lvl = slog.LevelInfo
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, flagcheck.Errorf("--log-level", cfg.Level, "be one of debug, info, warn, error")
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(cfg.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, flagcheck.Errorf("--log-format", cfg.Format, "be one of text, json")
	}
}

// DiscardLogger drops everything (a default for optional loggers).
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
