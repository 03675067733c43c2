package dispatcher

import "errors"

var (
	// ErrInvalidContract means a contract could not be compiled; nothing of
	// it was applied.
	ErrInvalidContract = errors.New("invalid contract")
	// ErrStopped means the Dispatcher's Run has returned.
	ErrStopped = errors.New("dispatcher stopped")
	// ErrAlreadyRunning means Run was called twice.
	ErrAlreadyRunning = errors.New("dispatcher already running")
)
