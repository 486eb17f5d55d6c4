package kafka

// Errors from brokers and contexts as SQLSTATEs, and franz-go's own log
// sent to the source's logger.

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// netErr translates a failed request: 57014 when ctx ended, else the
// brokers are unreachable (08001) or answered an error.
func (s *source) netErr(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return canceled(ctxErr)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return s.kafkaErr(err)
	}
	e := pgerr.New(pgerrcode.SQLClientUnableToEstablishSQLConnection,
		"%s: %s %q: cannot reach brokers %s within %v: %v", Name, what, s.set.topic, strings.Join(s.set.brokers, ","), s.timeout, err)
	e.Cause = err
	return e
}

// kafkaErr translates an error code a broker answered.
func (s *source) kafkaErr(err error) error {
	var code string
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		e := pgerr.InvalidParameter("%s topic %q does not exist (brokers %s)", Name, s.set.topic, strings.Join(s.set.brokers, ","))
		e.Cause = err
		return e
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		code = pgerrcode.InsufficientPrivilege
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		code = pgerrcode.InvalidAuthorizationSpecification
	default:
		code = pgerrcode.ConnectionFailure
	}
	e := pgerr.New(code, "%s topic %q: %v", Name, s.set.topic, err)
	e.Cause = err
	return e
}

// canceled is a context's end as 57014.
func canceled(err error) error {
	e := pgerr.New(pgerrcode.QueryCanceled, "canceling the %s read: %v", Name, err)
	e.Cause = err
	return e
}

// kgoLogger sends franz-go's warnings and errors to the source's logger.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level == kgo.LogLevelError {
		l.log.Error("kafka client: "+msg, keyvals...)
		return
	}
	l.log.Warn("kafka client: "+msg, keyvals...)
}
