//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// errorPrefixes are the "<Type> Error: " prefixes DuckDB puts on messages
// that reach the C API only as text (prepare and extract errors).
var errorPrefixes = map[string]duckdb.ErrorType{
	"Out of Range Error": duckdb.ErrorTypeOutOfRange, "Conversion Error": duckdb.ErrorTypeConversion,
	"Decimal Error": duckdb.ErrorTypeDecimal, "Mismatch Type Error": duckdb.ErrorTypeMismatchType,
	"Divide by Zero Error": duckdb.ErrorTypeDivideByZero, "Invalid type Error": duckdb.ErrorTypeInvalidType,
	"TransactionContext Error": duckdb.ErrorTypeTransaction, "Not implemented Error": duckdb.ErrorTypeNotImplemented,
	"Catalog Error": duckdb.ErrorTypeCatalog, "Parser Error": duckdb.ErrorTypeParser,
	"Constraint Error": duckdb.ErrorTypeConstraint, "Syntax Error": duckdb.ErrorTypeSyntax,
	"Binder Error": duckdb.ErrorTypeBinder, "IO Error": duckdb.ErrorTypeIO,
	"INTERRUPT Error": duckdb.ErrorTypeInterrupt, "INTERNAL Error": duckdb.ErrorTypeInternal,
	"FATAL Error": duckdb.ErrorTypeFatal, "Invalid Input Error": duckdb.ErrorTypeInvalidInput,
	"Out of Memory Error": duckdb.ErrorTypeOutOfMemory, "Permission Error": duckdb.ErrorTypePermission,
	"Parameter Not Resolved Error": duckdb.ErrorTypeParameterNotResolved,
	"Parameter Not Allowed Error":  duckdb.ErrorTypeParameterNotAllowed,
	"Dependency Error":             duckdb.ErrorTypeDependency, "Sequence Error": duckdb.ErrorTypeSequence,
	"Missing Extension Error": duckdb.ErrorTypeMissingExtension, "Extension Autoloading Error": duckdb.ErrorTypeAutoLoad,
	"Invalid Configuration Error": duckdb.ErrorTypeInvalidConfiguration, "Settings Error": duckdb.ErrorTypeSettings,
	"Serialization Error": duckdb.ErrorTypeSerialization, "Expression Error": duckdb.ErrorTypeExpression,
	"Executor Error": duckdb.ErrorTypeExecutor, "Invalid Error": duckdb.ErrorTypeInvalid,
	"Connection Error": duckdb.ErrorTypeConnection, "HTTP Error": duckdb.ErrorTypeHTTP,
}

// duckError types a DuckDB message by its type prefix.
func duckError(msg string) *duckdb.Error {
	t := duckdb.ErrorTypeInvalid
	if prefix, _, ok := strings.Cut(msg, ": "); ok {
		if pt, ok := errorPrefixes[prefix]; ok {
			t = pt
		}
	}
	return &duckdb.Error{Type: t, Msg: msg}
}

// Translate turns a DuckDB error (or a context error) into a *pgerr.Error
// with a SQLSTATE chosen by the DuckDB error type. Errors that already carry
// a SQLSTATE are returned unchanged.
func Translate(err error) error { return translate(err, "") }

// TranslateQuery is Translate for an error DuckDB raised on query (run
// elsewhere, e.g. through database/sql): the error's position is computed
// from DuckDB's "LINE n:" context against query.
func TranslateQuery(err error, query string) error { return translate(err, query) }

// translate is Translate with the query text, used to compute the error
// position from DuckDB's "LINE n:" context.
func translate(err error, query string) error {
	if err == nil {
		return nil
	}
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return &pgerr.Error{Code: pgerrcode.QueryCanceled, Message: "canceling statement due to user request", Cause: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &pgerr.Error{Code: pgerrcode.QueryCanceled, Message: "canceling statement due to statement timeout", Cause: err}
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		// A Go write (staging, encryption, a rename's directory) on a
		// full file system.
		return &pgerr.Error{Code: pgerrcode.DiskFull, Message: err.Error(), Hint: diskFullHint, Cause: err}
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return pgerr.Wrap(pgerrcode.InternalError, err)
	}
	msg, hint, context := splitMessage(de.Msg)
	if c, m, h, ok := fromUDF(msg); ok {
		return &pgerr.Error{Code: c, Message: m, Hint: h, Cause: err}
	}
	e := &pgerr.Error{Code: code(de.Type, msg), Message: msg, Hint: hint, Cause: err}
	switch e.Code {
	case pgerrcode.QueryCanceled:
		e.Message = "canceling statement due to user request"
	case pgerrcode.OutOfMemory:
		// DuckDB's advice (SET threads, SET memory_limit) names settings
		// the gateway's configuration fixes.
		first, _, _ := strings.Cut(msg, "\n")
		if strings.Contains(msg, "max_temp_directory_size") {
			// PostgreSQL's temp_file_limit error, for the gateway's
			// max_temp_dir_size.
			e.Code = pgerrcode.ConfigurationLimitExceeded
			e.Message = "temporary files exceed max_temp_dir_size"
			e.Detail = first
			e.Hint = "The query spills more to temp_dir than the gateway's max_temp_dir_size allows: make it sort, join or aggregate fewer rows at once, or raise max_temp_dir_size."
			break
		}
		e.Message = "out of memory"
		e.Detail = first
		e.Hint = "The query needs more memory than the gateway's memory_limit and cannot spill it to temp_dir (sorts, joins and aggregates spill; one value as large as a whole list or string aggregate does not): make it build smaller values, or raise memory_limit."
	case pgerrcode.DiskFull:
		e.Hint = diskFullHint
	case pgerrcode.DataCorrupted:
		e.Hint = "The Parquet file does not authenticate under the key configured with that name: it was encrypted with another key, or it was altered."
	case pgerrcode.UndefinedObject:
		if name, ok := strings.CutPrefix(msg, "No key with name "); ok {
			name, _, _ = strings.Cut(name, " exists")
			e.Message = "encryption key " + name + " is not configured"
			e.Hint = "Add an encryption_keys entry of that name to the gateway's configuration and restart it."
		}
	}
	if context != "" {
		e.Position = int32(position(context, query))
	}
	return e
}

// diskFullHint is the hint of every 53100 the engine reports.
const diskFullHint = "The file system the statement writes to is full: free space there and run the statement again. A failed refresh has removed its own files and left the published version as it was."

// udfMark starts the text a Go function called by DuckDB (a UDF) gives
// DuckDB for an error that has a SQLSTATE: DuckDB keeps only the text, and
// prefixes it ("database/sql/driver: API error: ..."), so the code and the
// hint travel inside it and translate takes them back out.
var udfMark = regexp.MustCompile(`\[sluice sqlstate ([0-9A-Z]{5})\] `)

const udfHintSep = " [sluice hint] "

// udfError is err as a UDF returns it to DuckDB: with its SQLSTATE (and
// hint) in the text when it has one.
func udfError(err error) error {
	var pe *pgerr.Error
	if !errors.As(err, &pe) {
		return err
	}
	text := "[sluice sqlstate " + pe.Code + "] " + pe.Message
	if pe.Hint != "" {
		text += udfHintSep + pe.Hint
	}
	return errors.New(text)
}

// fromUDF takes the SQLSTATE, message and hint back out of a DuckDB error
// message that holds a udfError.
func fromUDF(msg string) (code, message, hint string, ok bool) {
	loc := udfMark.FindStringSubmatchIndex(msg)
	if loc == nil {
		return "", "", "", false
	}
	message, hint, _ = strings.Cut(msg[loc[1]:], udfHintSep)
	return msg[loc[2]:loc[3]], message, hint, true
}

// code maps a DuckDB error type to a SQLSTATE. Within a type, DuckDB's
// fixed message wording refines the class (catalog: missing or duplicate).
func code(t duckdb.ErrorType, msg string) string {
	has := func(s string) bool { return strings.Contains(msg, s) }
	// A full file system, whatever DuckDB was doing: an IO Error writing
	// a file, a TransactionContext Error writing the WAL at commit. DuckDB
	// puts the system's reason (strerror) in the text.
	if has("No space left on device") || has("Disk quota exceeded") {
		return pgerrcode.DiskFull
	}
	switch t {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		return pgerrcode.SyntaxError
	case duckdb.ErrorTypeCatalog:
		switch {
		case has("already exists"):
			return pgerrcode.DuplicateTable
		case has("Table") || has("View") || has("Relation"):
			return pgerrcode.UndefinedTable
		case has("Schema"):
			return pgerrcode.InvalidSchemaName
		case has("Function") || has("Macro"):
			return pgerrcode.UndefinedFunction
		}
		return pgerrcode.UndefinedObject
	case duckdb.ErrorTypeBinder:
		switch {
		case has("Referenced column") || has("column") && has("not found"):
			return pgerrcode.UndefinedColumn
		case has("No function matches") || has("does not exist"):
			return pgerrcode.UndefinedFunction
		case has("No key with name"):
			// encryption_config names a key that is not registered: an
			// encryption_keys entry missing from the configuration.
			return pgerrcode.UndefinedObject
		case has("Cannot compare") || has("type") || has("Type"):
			return pgerrcode.DatatypeMismatch
		}
		return pgerrcode.SyntaxErrorOrAccessRuleViolation
	case duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType:
		return pgerrcode.DatatypeMismatch
	case duckdb.ErrorTypeConversion:
		if has("out of range") {
			return pgerrcode.NumericValueOutOfRange
		}
		return pgerrcode.InvalidTextRepresentation
	case duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeSettings, duckdb.ErrorTypeInvalidConfiguration:
		if has("AES tag") {
			// An encrypted Parquet module failed its AES-GCM check: the
			// wrong key, or altered bytes (the two cannot be told apart).
			// Not transient, and not the caller's parameter: the stored
			// data fails its integrity check, as a page checksum failure
			// does in PostgreSQL.
			return pgerrcode.DataCorrupted
		}
		return pgerrcode.InvalidParameterValue
	case duckdb.ErrorTypeOutOfRange, duckdb.ErrorTypeDecimal:
		return pgerrcode.NumericValueOutOfRange
	case duckdb.ErrorTypeDivideByZero:
		return pgerrcode.DivisionByZero
	case duckdb.ErrorTypeConstraint:
		switch {
		case has("NOT NULL"):
			return pgerrcode.NotNullViolation
		case has("CHECK"):
			return pgerrcode.CheckViolation
		case has("foreign key"):
			return pgerrcode.ForeignKeyViolation
		case has("UNIQUE") || has("PRIMARY KEY") || has("Duplicate key"):
			return pgerrcode.UniqueViolation
		}
		return pgerrcode.IntegrityConstraintViolation
	case duckdb.ErrorTypeTransaction:
		if has("aborted") {
			return pgerrcode.InFailedSQLTransaction
		}
		if has("no transaction is active") || has("already active") {
			return pgerrcode.ActiveSQLTransaction
		}
		return pgerrcode.SerializationFailure
	case duckdb.ErrorTypeInterrupt:
		return pgerrcode.QueryCanceled
	case duckdb.ErrorTypeOutOfMemory:
		return pgerrcode.OutOfMemory
	case duckdb.ErrorTypeIO:
		return pgerrcode.IOError
	case duckdb.ErrorTypePermission:
		return pgerrcode.InsufficientPrivilege
	case duckdb.ErrorTypeNotImplemented, duckdb.ErrorTypeMissingExtension, duckdb.ErrorTypeAutoLoad:
		return pgerrcode.FeatureNotSupported
	case duckdb.ErrorTypeDependency:
		return pgerrcode.DependentObjectsStillExist
	case duckdb.ErrorTypeSequence:
		return pgerrcode.SequenceGeneratorLimitExceeded
	case duckdb.ErrorTypeParameterNotResolved:
		return pgerrcode.IndeterminateDatatype
	case duckdb.ErrorTypeParameterNotAllowed:
		return pgerrcode.SyntaxErrorOrAccessRuleViolation
	case duckdb.ErrorTypeSerialization:
		return pgerrcode.SerializationFailure
	}
	return pgerrcode.InternalError
}

// splitMessage removes the "<Type> Error: " prefix and splits off DuckDB's
// suggestions ("Did you mean ...") as a hint and the "LINE n:" context.
func splitMessage(m string) (msg, hint, context string) {
	if prefix, rest, ok := strings.Cut(m, ": "); ok {
		if _, known := errorPrefixes[prefix]; known {
			m = rest
		}
	}
	if i := strings.Index(m, "\nLINE "); i >= 0 {
		m, context = m[:i], m[i+1:]
	} else if strings.HasPrefix(m, "LINE ") {
		m, context = "", m
	}
	m = strings.TrimSpace(m)
	if i := strings.Index(m, "\nDid you mean"); i >= 0 {
		m, hint = strings.TrimSpace(m[:i]), strings.TrimSpace(m[i+1:])
	}
	return m, hint, context
}

// position computes the 1-based character position DuckDB's caret points
// at. The context is "LINE n: <snippet>\n<spaces>^"; the snippet may be cut
// with "..." on either side. Returns 0 if it cannot be located in query.
func position(context, query string) int {
	lines := strings.SplitN(context, "\n", 3)
	if len(lines) < 2 || query == "" {
		return 0
	}
	head, _, ok := strings.Cut(lines[0], ": ")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(head, "LINE "))
	if err != nil || n < 1 {
		return 0
	}
	caret := strings.IndexByte(lines[1], '^') - len(head) - 2
	snippet := lines[0][len(head)+2:]
	if strings.HasPrefix(snippet, "...") {
		snippet, caret = snippet[3:], caret-3
	}
	snippet = strings.TrimSuffix(snippet, "...")
	qlines := strings.SplitAfter(query, "\n")
	if n > len(qlines) || caret < 0 {
		return 0
	}
	lineStart := 0
	for _, l := range qlines[:n-1] {
		lineStart += len(l)
	}
	at := strings.Index(qlines[n-1], snippet)
	if at < 0 {
		return 0
	}
	return utf8.RuneCountInString(query[:lineStart+at+min(caret, len(snippet))]) + 1
}
