// Package cmdutil owns what every Weft binary's main shares: a signal-aware
// context, flags with WEFT_* environment fallbacks, the logger, and printing
// a failure once with exit code 1.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/observability"
)

// Main runs a service binary: register adds the service's flags, run is
// called with a context cancelled on SIGINT/SIGTERM and the process's
// telemetry (set up from the OTEL_* environment, flushed once run returns),
// whose providers run passes on to the service as options. It never returns.
func Main(name string, register func(*pflag.FlagSet), run func(ctx context.Context, logger *slog.Logger, tel *observability.Telemetry) error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	logCfg := observability.LogConfig{Format: "json", Level: "info"}
	fs.StringVar(&logCfg.Format, "log-format", logCfg.Format, "log format: text or json")
	fs.StringVar(&logCfg.Level, "log-level", logCfg.Level, "log level: debug, info, warn or error")
	register(fs)
	AnnotateEnv(fs)
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(runProbe(name, fs, os.Args[2:]))
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		os.Exit(2)
	}
	if err := ApplyEnv(fs); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		os.Exit(2)
	}
	logger, err := observability.NewLogger(os.Stdout, logCfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		os.Exit(2)
	}
	logger = logger.With("service", name)
	tel, err := observability.SetupTelemetry(context.Background(), name, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, logger, tel)
	stop()
	if serr := tel.Shutdown(context.Background()); serr != nil {
		logger.Warn("telemetry not flushed", "err", serr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		os.Exit(1)
	}
	os.Exit(0)
}

// OneLine renders err as the single line a user sees: a gRPC status as its
// message and code, several joined problems separated by "; ".
func OneLine(err error) string {
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (%s)", strings.ReplaceAll(st.Message(), "\n", "; "), st.Code())
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// stderr is where probe failures go (a variable for tests).
var stderr io.Writer = os.Stderr

// EnvName is the environment variable a flag falls back to: WEFT_ and the
// flag name in upper snake case (--bootstrap-servers: WEFT_BOOTSTRAP_SERVERS).
func EnvName(flag string) string {
	return "WEFT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// AnnotateEnv appends each flag's environment variable to its help text
// ("[$WEFT_BOOTSTRAP_SERVERS]"), so --help tells both ways to set it. A flag
// is annotated once however many flag sets hold it; help is not.
func AnnotateEnv(fs ...*pflag.FlagSet) {
	for _, s := range fs {
		s.VisitAll(func(f *pflag.Flag) {
			suffix := " [$" + EnvName(f.Name) + "]"
			if f.Name == "help" || strings.HasSuffix(f.Usage, suffix) {
				return
			}
			f.Usage += suffix
		})
	}
}

// ApplyEnv sets every flag not given on the command line from its
// environment variable, when that is set.
func ApplyEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}
