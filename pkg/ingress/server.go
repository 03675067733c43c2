package ingress

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/weft-dev/weft/internal/flagcheck"
)

// The HTTP server's limits. A client that sends its headers slowly (a
// slowloris) is disconnected after ReadHeaderTimeout; one that sends its
// body slowly after ReadHeaderTimeout plus its Content-Length at
// MinBodyRate (a body of unknown length: ReadTimeout); a body over the
// limit of its kind is refused as soon as the limit is passed, without
// reading the rest; headers over MaxHeaderBytes get 431. Each connection
// costs the server a goroutine and a few KiB while it waits, not a request
// slot: MaxInFlight counts requests whose headers arrived.

// writeTimeoutMargin is what WriteTimeout adds, by default, to the time a
// request may take to be read and stored: enough to write the answer.
const writeTimeoutMargin = 5 * time.Second

// EffectiveReadTimeout is ReadTimeout, or when it is 0 ReadHeaderTimeout
// plus the time MaxBatchBytes takes at MinBodyRate: the largest request
// accepted, uploaded at the slowest rate accepted.
func (c *Config) EffectiveReadTimeout() time.Duration {
	if c.ReadTimeout > 0 {
		return c.ReadTimeout
	}
	if c.MinBodyRate <= 0 {
		return c.ReadHeaderTimeout
	}
	return c.ReadHeaderTimeout + bodyTime(c.MaxBatchBytes, c.MinBodyRate)
}

// EffectiveWriteTimeout is WriteTimeout, or when it is 0 the read timeout
// plus ProduceTimeout plus a margin to write the answer.
func (c *Config) EffectiveWriteTimeout() time.Duration {
	if c.WriteTimeout > 0 {
		return c.WriteTimeout
	}
	return c.EffectiveReadTimeout() + c.ProduceTimeout + writeTimeoutMargin
}

// bodyTime is how long n bytes take at rate bytes/s.
func bodyTime(n, rate int64) time.Duration {
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}

func (c *Config) validateTimeouts() []error {
	var errs []error
	if c.ReadTimeout != 0 && c.ReadTimeout < c.ReadHeaderTimeout {
		errs = append(errs, flagcheck.Errorf("--read-timeout", c.ReadTimeout, "be 0 (derived) or at least --read-header-timeout (%s)", c.ReadHeaderTimeout))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, flagcheck.Errorf("--write-timeout", c.WriteTimeout, "be 0 (derived) or positive"))
	} else if min := c.EffectiveReadTimeout() + c.ProduceTimeout; c.WriteTimeout != 0 && c.WriteTimeout < min {
		// A request read at the slowest rate accepted, then stored in
		// ProduceTimeout, must still get its answer.
		errs = append(errs, flagcheck.Errorf("--write-timeout", c.WriteTimeout,
			"be 0 (derived) or at least the read timeout plus --produce-timeout (%s)", min))
	}
	if c.ReadTimeout < 0 {
		errs = append(errs, flagcheck.Errorf("--read-timeout", c.ReadTimeout, "be 0 (derived) or positive"))
	}
	if math.IsNaN(c.RateLimitPerBroker) || math.IsInf(c.RateLimitPerBroker, 0) {
		errs = append(errs, flagcheck.Errorf("--rate-limit-per-broker", c.RateLimitPerBroker, "be a finite number of events per second (0: no limit)"))
	}
	return errs
}

// newServer is the event server, with the limits of the Config.
func (in *Ingress) newServer() *http.Server {
	return &http.Server{
		Handler:           in,
		ReadHeaderTimeout: in.cfg.ReadHeaderTimeout,
		ReadTimeout:       in.cfg.EffectiveReadTimeout(),
		WriteTimeout:      in.cfg.EffectiveWriteTimeout(),
		IdleTimeout:       in.cfg.IdleTimeout,
		MaxHeaderBytes:    in.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(in.logger.Handler(), slog.LevelWarn),
	}
}

// readBody reads the request body into req.body, at most limit bytes: a
// Content-Length over it is refused before anything is read, and a body of
// unknown length is refused as soon as it passes the limit
// (http.MaxBytesReader), and in both cases the server closes the
// connection rather than reading the rest (abandonBody). A body with a Content-Length must arrive within
// ReadHeaderTimeout plus its length at MinBodyRate. Once the body is read
// the connection's read deadline is lifted, so that the server's wait for
// the next request does not cancel this one while Kafka answers.
func (in *Ingress) readBody(w http.ResponseWriter, r *http.Request, req *request, limit int64) error {
	rc := http.NewResponseController(w)
	if r.ContentLength > limit {
		abandonBody(rc)
		return fmt.Errorf("%w: body is %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, limit)
	}
	if r.ContentLength > 0 {
		d := min(in.cfg.ReadHeaderTimeout+bodyTime(r.ContentLength, in.cfg.MinBodyRate), in.cfg.EffectiveReadTimeout())
		// Not supported (a ResponseWriter of another server): the server's
		// own ReadTimeout still applies.
		_ = rc.SetReadDeadline(time.Now().Add(d))
		req.body.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := req.body.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		abandonBody(rc)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: body larger than the limit of %d bytes", ErrTooLarge, mbe.Limit)
		}
		return fmt.Errorf("%w: reading the body: %v", ErrInvalidEvent, err)
	}
	_ = rc.SetReadDeadline(time.Time{})
	return nil
}

// abandonBody makes the server read no more of a request whose body is
// refused: without it, net/http reads up to 256 KiB more of the body
// looking for its end, to keep the connection. With the read deadline in
// the past those reads fail at once and the connection is closed after the
// answer.
func abandonBody(rc *http.ResponseController) {
	_ = rc.SetReadDeadline(time.Now())
}
