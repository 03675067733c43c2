package watch

import "errors"

// ErrTopicNotFound means the broker's topic does not exist (yet).
var ErrTopicNotFound = errors.New("topic not found")
